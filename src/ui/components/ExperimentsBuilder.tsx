/**
 * A custom sweep over the current setup (the form on the left): methods × ranks × learning rates ×
 * seeds, with an optional verdict rule (method A's metric below method B's). The runs are expanded
 * here and shown as a count before anything starts.
 */
import { useMemo, useState } from 'react';
import {
  EXPERIMENT_FORMAT,
  expandRuns,
  METRIC_LABEL,
  METRICS,
  parseExperiment,
  ruleText,
  type ExperimentSpec,
  type MetricId,
} from '../experiments';
import { startExperiment } from '../experimentsQueue';
import { defaultParams } from '../methods';
import { isActive } from '../runs';
import { useStudio } from '../store';

function numbers(text: string): number[] | null {
  const parts = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const v = parts.map(Number);
  return v.every((x) => Number.isFinite(x) && x > 0) ? v : null;
}

export function ExperimentsBuilder() {
  const methods = useStudio((s) => s.catalog.methods);
  const base = useStudio((s) => s.validation.config);
  const busy = useStudio((s) => (s.engineRunId ? isActive(s.runs[s.engineRunId]) : false));
  const engine = useStudio((s) => s.engine);
  const [chosen, setChosen] = useState<string[]>([]);
  const [ranks, setRanks] = useState('');
  const [lrs, setLrs] = useState('');
  const [seeds, setSeeds] = useState(1);
  const [name, setName] = useState('');
  const [metric, setMetric] = useState<MetricId | ''>('');
  const [ruleA, setRuleA] = useState('');
  const [ruleB, setRuleB] = useState('');

  const built = useMemo((): { spec: ExperimentSpec | null; error: string | null } => {
    if (!base) return { spec: null, error: 'The setup on the left has problems: fix them first.' };
    const r = ranks.trim() ? numbers(ranks) : [];
    const l = lrs.trim() ? numbers(lrs) : [];
    if (!r || r.some((x) => !Number.isInteger(x))) return { spec: null, error: 'Ranks: whole numbers, e.g. 4, 8, 16.' };
    if (!l) return { spec: null, error: 'Learning rates: positive numbers, e.g. 1e-3, 3e-3.' };
    const axes = {
      method: chosen.length ? chosen : [base.method.id],
      rank: r,
      lr: l,
      seed: Array.from({ length: seeds }, (_, i) => base.seed + i),
    };
    try {
      const runs = expandRuns(base, axes, (id) => {
        const m = methods.find((x) => x.id === id);
        return m ? defaultParams(m) : null;
      });
      const rule =
        metric && ruleA && ruleB && ruleA !== ruleB
          ? { metric, a: { by: 'method' as const, value: ruleA }, b: { by: 'method' as const, value: ruleB } }
          : undefined;
      const spec = parseExperiment({
        format: EXPERIMENT_FORMAT,
        version: 1,
        name:
          name.trim() ||
          `Sweep: ${axes.method.join(' / ')}${r.length ? ` × r ${r.join(',')}` : ''}${l.length ? ` × lr ${l.join(',')}` : ''} × ${seeds} seed${seeds > 1 ? 's' : ''}`,
        budget: 'custom',
        axes,
        runs,
        ...(rule ? { rule } : {}),
      });
      return { spec, error: null };
    } catch (e) {
      return { spec: null, error: (e as Error).message };
    }
  }, [base, chosen, ranks, lrs, seeds, name, metric, ruleA, ruleB, methods]);

  const toggle = (id: string) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]));
  const ruleMethods = chosen.length ? chosen : base ? [base.method.id] : [];
  return (
    <div className="card" data-testid="exp-builder">
      <h3 className="card-title">Custom sweep over the current setup</h3>
      <p className="small muted">
        Every combination of the axes below runs with the rest of the setup on the left (model, data, steps, targets,
        evaluation){base ? ` — now ${base.model.id} / ${base.dataset.id}, ${base.train.steps} steps` : ''}.
      </p>
      <fieldset className="exp-axes">
        <legend className="small">Methods (none ticked: the setup’s method)</legend>
        {methods.map((m) => (
          <label key={m.id} className="small exp-method">
            <input
              type="checkbox"
              checked={chosen.includes(m.id)}
              onChange={() => toggle(m.id)}
              data-testid={`exp-axis-method-${m.id}`}
            />
            {m.id}
          </label>
        ))}
      </fieldset>
      <div className="exp-fields">
        <label className="small">
          Ranks{' '}
          <input
            value={ranks}
            onChange={(e) => setRanks(e.target.value)}
            placeholder="4, 8"
            data-testid="exp-axis-rank"
          />
        </label>
        <label className="small">
          Learning rates{' '}
          <input
            value={lrs}
            onChange={(e) => setLrs(e.target.value)}
            placeholder="1e-3, 3e-3"
            data-testid="exp-axis-lr"
          />
        </label>
        <label className="small">
          Seeds{' '}
          <input
            type="number"
            min={1}
            max={8}
            value={seeds}
            onChange={(e) => setSeeds(Math.max(1, Math.min(8, Math.round(Number(e.target.value) || 1))))}
            data-testid="exp-axis-seeds"
          />
        </label>
        <label className="small">
          Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={120} data-testid="exp-name" />
        </label>
      </div>
      <div className="exp-fields">
        <label className="small">
          Verdict: mean{' '}
          <select
            value={metric}
            onChange={(e) => setMetric(e.target.value as MetricId | '')}
            data-testid="exp-rule-metric"
          >
            <option value="">(no rule)</option>
            {METRICS.map((m) => (
              <option key={m} value={m}>
                {METRIC_LABEL[m]}
              </option>
            ))}
          </select>
        </label>
        <label className="small">
          of{' '}
          <select value={ruleA} onChange={(e) => setRuleA(e.target.value)} data-testid="exp-rule-a">
            <option value="">—</option>
            {ruleMethods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="small">
          is below{' '}
          <select value={ruleB} onChange={(e) => setRuleB(e.target.value)} data-testid="exp-rule-b">
            <option value="">—</option>
            {ruleMethods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
      </div>
      {built.spec?.rule && <p className="small muted">Rule: {ruleText(built.spec.rule)}</p>}
      <div className="btn-row">
        <button
          type="button"
          className="btn primary"
          disabled={!built.spec || busy || engine !== 'ready'}
          onClick={() => built.spec && void startExperiment(built.spec)}
          data-testid="exp-builder-start"
        >
          Start {built.spec ? `${built.spec.runs.length} run${built.spec.runs.length > 1 ? 's' : ''}` : ''}
        </button>
        {built.error && <span className="small warn-text">{built.error}</span>}
      </div>
    </div>
  );
}
