/**
 * The memory plan before Start: for the chosen model, batch and context, what every method needs
 * (weights, gradients, optimizer states, activations) against this adapter's buffer limits and a
 * memory budget, from the engine's own plan (src/engine/memory-plan.ts) — the figures the trainer
 * refuses a run with, not a second estimate. WebGPU does not report device memory, so the budget is
 * the plan's default unless the person sets one.
 */
import { useMemo, useState } from 'react';
import { DEFAULT_LIMITS, fmtBytes, planMemory, type MemoryLimits } from '../../engine/memory-plan';
import { useStudio } from '../store';
import { defaultParams } from '../methods';

export function MemoryPlanPanel() {
  const arch = useStudio((s) => s.arch);
  const draft = useStudio((s) => s.draft);
  const methods = useStudio((s) => s.catalog.methods);
  const adapter = useStudio((s) => s.adapter);
  const [budgetGiB, setBudgetGiB] = useState(DEFAULT_LIMITS.budgetBytes / 2 ** 30);
  const limits: MemoryLimits = useMemo(
    () => ({
      maxStorageBufferBindingSize:
        adapter?.limits.maxStorageBufferBindingSize ?? DEFAULT_LIMITS.maxStorageBufferBindingSize,
      maxBufferSize: adapter?.limits.maxBufferSize ?? DEFAULT_LIMITS.maxBufferSize,
      budgetBytes: budgetGiB * 2 ** 30,
    }),
    [adapter, budgetGiB],
  );
  const rows = useMemo(() => {
    if (!arch) return [];
    return methods.map((m) => {
      const params = m.id === draft.method.id ? draft.method.params : defaultParams(m);
      try {
        const plan = planMemory(
          arch,
          { method: { id: m.id, params }, targets: draft.targets, train: draft.train },
          limits,
          {
            trainsBase: m.trainsBase,
          },
        );
        return { id: m.id, label: m.label, plan, error: null };
      } catch (e) {
        return { id: m.id, label: m.label, plan: null, error: (e as Error).message };
      }
    });
  }, [arch, methods, draft.method, draft.targets, draft.train, limits]);
  if (!arch || rows.length === 0) return null;
  const cur = rows.find((r) => r.id === draft.method.id);
  const fitting = rows.filter((r) => r.plan && r.plan.problems.length === 0).map((r) => r.id);
  return (
    <div className="field memory-plan" data-testid="memory-plan">
      <span className="label">Memory plan</span>
      <div>
        {cur?.plan && (
          <div
            className={cur.plan.problems.length ? 'field-msg' : 'field-help'}
            data-testid="memory-plan-current"
            data-fits={cur.plan.problems.length === 0}
          >
            {cur.label}: {fmtBytes(cur.plan.bytes.total)} in all (weights {fmtBytes(cur.plan.bytes.weights)}, gradients{' '}
            {fmtBytes(cur.plan.bytes.gradients)}, optimizer {fmtBytes(cur.plan.bytes.optimizer)}, activations{' '}
            {fmtBytes(cur.plan.bytes.activations)}).{' '}
            {cur.plan.problems.length === 0
              ? 'Fits this adapter.'
              : `${cur.plan.problems.join(' ')} ${cur.plan.suggestions.join(' ')}${fitting.length ? ` Methods that fit: ${fitting.join(', ')}.` : ''}`}
          </div>
        )}
        <details>
          <summary className="small muted">Every method for this model, batch and context</summary>
          <table className="plan-table small" data-testid="memory-plan-table">
            <thead>
              <tr>
                <th>method</th>
                <th>trainable</th>
                <th>total</th>
                <th>fits</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-method={r.id} data-fits={r.plan ? r.plan.problems.length === 0 : false}>
                  <td>{r.id}</td>
                  <td className="mono">{r.plan ? r.plan.trainableParams.toLocaleString() : '—'}</td>
                  <td className="mono">{r.plan ? fmtBytes(r.plan.bytes.total) : '—'}</td>
                  <td title={r.plan?.problems.join(' ') ?? r.error ?? ''}>
                    {r.plan ? (r.plan.problems.length === 0 ? 'yes' : 'no') : 'n/a'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <label className="small">
            Memory budget{' '}
            <input
              type="number"
              min={0.25}
              step={0.25}
              value={budgetGiB}
              data-testid="input-memory-budget"
              onChange={(e) =>
                setBudgetGiB(Math.max(0.25, Number(e.target.value) || DEFAULT_LIMITS.budgetBytes / 2 ** 30))
              }
              style={{ width: '5em' }}
            />{' '}
            GiB (WebGPU does not say how much memory the GPU has). Buffer limits from this adapter: binding{' '}
            {fmtBytes(limits.maxStorageBufferBindingSize)}, buffer {fmtBytes(limits.maxBufferSize)}.
          </label>
        </details>
      </div>
    </div>
  );
}
