/** Under the learning-rate control: the chosen method's default lr, where it comes from, and a way back to it. */
import { useStudio } from '../store';
import { DEFAULT_LR, defaultLrFor } from '../methods';

export function LrDefaultHint() {
  const methods = useStudio((s) => s.catalog.methods);
  const methodId = useStudio((s) => s.draft.method.id);
  const lr = useStudio((s) => s.draft.train.lr);
  const setField = useStudio((s) => s.setField);
  const m = methods.find((x) => x.id === methodId);
  const d = defaultLrFor(methods, methodId);
  const source = m?.defaultLr?.source ?? `the studio's default for LoRA-style adapters (${DEFAULT_LR})`;
  return (
    <div className="small muted" data-testid="lr-default" title={source} style={{ margin: '-2px 0 4px' }}>
      {m?.label ?? methodId} default: <strong data-testid="lr-default-value">{d.toExponential(0)}</strong>
      {lr !== d && (
        <>
          {' '}
          (yours: {typeof lr === 'number' ? lr.toExponential(1) : String(lr)}){' '}
          <button
            type="button"
            className="btn small"
            onClick={() => setField('train.lr', d)}
            data-testid="lr-use-default"
          >
            use default
          </button>
        </>
      )}
      {' · '}
      <abbr className="term" title={source} tabIndex={0} data-testid="lr-default-source">
        source
      </abbr>
    </div>
  );
}
