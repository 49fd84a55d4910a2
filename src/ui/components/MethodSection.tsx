/** Method from the adapter registry, and its parameters rendered from the method's schema. */
import { useStudio } from '../store';
import { issuesAt } from '../validate';
import { useShallow } from 'zustand/react/shallow';
import { Field } from './Field';
import { MemoryPlanPanel } from './MemoryPlanPanel';
import { ParamControl } from './ParamControl';
import { useIssues } from './ConfigField';

export function MethodSection() {
  const methods = useStudio((s) => s.catalog.methods);
  const catalogError = useStudio((s) => s.catalog.error);
  const method = useStudio((s) => s.draft.method);
  const choose = useStudio((s) => s.chooseMethod);
  const setField = useStudio((s) => s.setField);
  const idIssues = useIssues('method.id');
  const paramIssues = useStudio(useShallow((s) => issuesAt(s.validation.issues, 'method.params', { prefix: true })));
  const info = methods.find((m) => m.id === method.id);
  const general = paramIssues.filter((i) => i.path === 'method.params');
  return (
    <div className="field-group" data-testid="section-method">
      <div className="group-title">Method</div>
      {catalogError && <p className="bad small">{catalogError}</p>}
      <Field label="Method" htmlFor="method-select" issues={[...idIssues, ...general]} testid="field-method">
        <select
          id="method-select"
          value={method.id}
          onChange={(e) => choose(e.target.value)}
          data-testid="input-method"
        >
          {!info && <option value={method.id}>{method.id}</option>}
          {methods.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
      </Field>
      <MemoryPlanPanel />
      {info && (
        <div className="field">
          <span />
          <div className="field-help" style={{ gridColumn: 'auto' }}>
            {info.description}{' '}
            {info.paper && (
              <a className="paper-link" href={info.paper} target="_blank" rel="noreferrer">
                paper
              </a>
            )}
          </div>
        </div>
      )}
      {info?.params.map((p) => (
        <ParamControl
          key={p.key}
          spec={p}
          value={(method.params as Record<string, unknown>)[p.key] ?? p.default}
          onChange={(v) => setField(`method.params.${p.key}`, v)}
          issues={paramIssues.filter((i) => i.path === `method.params.${p.key}`)}
        />
      ))}
    </div>
  );
}
