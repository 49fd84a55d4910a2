/** Runs the worker's GPU-vs-CPU matmul self-test and shows ok / max diff / time. */
import { runSelfTest } from '../engine';
import { useStudio } from '../store';

export function SelfTestPanel() {
  const engine = useStudio((s) => s.engine);
  const st = useStudio((s) => s.selfTest);
  const busy = st.phase === 'running';
  return (
    <section className="card" data-testid="selftest-panel" data-phase={st.phase}>
      <h2 className="card-title">Self-test</h2>
      <p className="muted small">One tiled matmul on the GPU, checked against the CPU reference.</p>
      <button
        type="button"
        className="btn"
        data-testid="selftest-run"
        disabled={engine !== 'ready' || busy}
        onClick={() => void runSelfTest()}
      >
        {busy ? 'Running…' : st.phase === 'idle' ? 'Run self-test' : 'Run again'}
      </button>
      {st.phase === 'done' && (
        <dl className="kv selftest-result" data-testid="selftest-result" data-ok={String(st.report.ok)}>
          <dt>result</dt>
          <dd data-testid="selftest-ok" className={st.report.ok ? 'ok' : 'bad'}>
            {st.report.ok ? 'pass' : 'FAIL'}
          </dd>
          <dt>kernel</dt>
          <dd>
            {st.report.kernel} {st.report.shape.join('×')}
          </dd>
          <dt>max |diff|</dt>
          <dd data-testid="selftest-maxdiff" data-value={st.report.maxAbsDiff}>
            {st.report.maxAbsDiff.toExponential(2)}
          </dd>
          <dt>time</dt>
          <dd data-testid="selftest-ms" data-value={st.report.ms}>
            {st.report.ms.toFixed(1)} ms
          </dd>
          {!st.report.ok && <dd className="full bad">{st.report.message}</dd>}
        </dl>
      )}
      {st.phase === 'error' && (
        <p className="bad small" data-testid="selftest-error">
          {st.message}
        </p>
      )}
    </section>
  );
}
