/** The top bar: product name, and the adapter the engine is running on. */
import { adapterName } from '../../worker/gpu-info';
import { useStudio } from '../store';

export function Header() {
  const engine = useStudio((s) => s.engine);
  const adapter = useStudio((s) => s.adapter);
  return (
    <header className="app-header">
      <h1 className="brand">
        Rankscope <span className="brand-sub">WebGPU fine-tuning studio</span>
      </h1>
      <div className="header-right">
        {adapter ? (
          <span className="chip" data-testid="header-adapter" title={adapterName(adapter)}>
            <span className="dot ok" /> {adapterName(adapter)}
            {adapter.isFallbackAdapter && (
              <span
                className="badge warn"
                data-testid="fallback-badge"
                title="A fallback adapter: WebGPU runs in software on the CPU (SwiftShader/llvmpipe), not on a GPU. Everything works and gives the same numbers, but training is 10–100× slower; keep runs small or open the studio on a machine with a GPU."
              >
                fallback · CPU
              </span>
            )}
          </span>
        ) : (
          <span className="chip muted" data-testid="header-engine-phase">
            <span className={`dot ${engine === 'failed' ? 'bad' : 'pending'}`} />{' '}
            {engine === 'failed' ? 'no GPU' : 'starting engine…'}
          </span>
        )}
      </div>
    </header>
  );
}
