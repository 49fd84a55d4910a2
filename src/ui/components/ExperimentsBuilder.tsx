/**
 * A custom sweep over the current setup (the form on the left): methods × ranks × learning rates ×
 * seeds, as an engine experiment object (variants per method, a rank axis, an lr grid) with a verdict
 * rule the person picks (group A's metric below group B's). Expanded here, shown as a count first.
 */
import { useMemo, useState } from 'react';
import { parseExperiment, type ExperimentInput } from '../../engine/experiments/schema';
import { clauseText } from '../../engine/experiments/verdict';
import { expandForPage, type Experiment } from '../experiments';
import { startExperiment } from '../experimentsQueue';
import { defaultParams } from '../methods';
import { isActive } from '../runHistory';
import { useStudio } from '../store';

const RULE_METRICS = ['valLoss', 'probeLoss', 'probeDelta', 'finalLoss', 'meanLoss', 'intruders', 'trainableParams'];

function numbers(text: string): number[] | null {
  const v = text
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(Number);
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
  const [title, setTitle] = useState('');
  const [metric, setMetric] = useState('valLoss');
  const [ruleA, setRuleA] = useState('');
  const [ruleB, setRuleB] = useState('');

  const built = useMemo((): { exp: Experiment | null; groups: string[]; runs: number; error: string | null } => {
    const fail = (error: string) => ({ exp: null, groups: [], runs: 0, error });
    if (!base) return fail('The setup on the left has problems: fix them first.');
    const r = ranks.trim() ? numbers(ranks) : [];
    const l = lrs.trim() ? numbers(lrs) : [];
    if (!r || r.some((x) => !Number.isInteger(x))) return fail('Ranks: whole numbers, e.g. 4, 8, 16.');
    if (!l) return fail('Learning rates: positive numbers, e.g. 1e-3, 3e-3.');
    const ids = chosen.length ? chosen : [base.method.id];
    const variants = ids.map((id) => {
      const m = methods.find((x) => x.id === id);
      const params = id === base.method.id ? base.method.params : m ? defaultParams(m) : {};
      return { label: id, set: { 'method.id': id, 'method.params': params } };
    });
    const { name: _name, ...baseConfig } = base;
    const input = (verdict: ExperimentInput['verdict']): ExperimentInput => ({
      id: `custom-${Date.now().toString(36)}`.slice(0, 48),
      title:
        title.trim() ||
        `Sweep: ${ids.join(' / ')}${r.length ? ` × r ${r.join(',')}` : ''}${l.length ? ` × lr ${l.join(',')}` : ''}`,
      claim: 'A custom sweep over the studio’s current setup (no paper’s claim).',
      paper: { title: 'custom sweep', arxiv: '0000.00000' },
      base: baseConfig as Record<string, unknown>,
      variants,
      axes: r.length ? [{ path: 'method.params.rank', name: 'r', values: r }] : [],
      seeds,
      lr: l.length ? { policy: 'grid', values: l } : { policy: 'as-configured' },
      measure: ['loss', 'val', 'probe', 'params', 'optimizer-bytes', 'time'],
      verdict,
    });
    try {
      // the groups first (a placeholder rule), then the person's rule over them
      const probe = parseExperiment(
        input({ all: [{ rule: 'threshold', metric: 'finalLoss', groups: ['x'], op: '<', value: 1e30 }] }),
      );
      const { runs } = expandForPage(probe);
      const groups = [...new Set(runs.map((x) => x.group))];
      const a = groups.includes(ruleA) ? ruleA : groups[0];
      const b = groups.includes(ruleB) ? ruleB : (groups.find((g) => g !== a) ?? groups[0]);
      const verdict: ExperimentInput['verdict'] =
        groups.length > 1
          ? { all: [{ rule: 'compare', metric, a, op: '<', b }] }
          : {
              all: [
                { rule: 'threshold', metric: 'finalLoss', groups, op: '<', value: 1e30, says: 'every run finished' },
              ],
            };
      return { exp: parseExperiment(input(verdict)), groups, runs: runs.length, error: null };
    } catch (e) {
      return fail((e as Error).message);
    }
  }, [base, chosen, ranks, lrs, seeds, title, metric, ruleA, ruleB, methods]);

  const toggle = (id: string) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]));
  const clause = built.exp?.verdict.all[0];
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
          Title{' '}
          <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={120} data-testid="exp-title" />
        </label>
      </div>
      {built.groups.length > 1 && (
        <div className="exp-fields">
          <label className="small">
            Verdict: mean{' '}
            <select value={metric} onChange={(e) => setMetric(e.target.value)} data-testid="exp-rule-metric">
              {RULE_METRICS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label className="small">
            of{' '}
            <select value={clause?.a ?? ''} onChange={(e) => setRuleA(e.target.value)} data-testid="exp-rule-a">
              {built.groups.map((g) => (
                <option key={g}>{g}</option>
              ))}
            </select>
          </label>
          <label className="small">
            is below{' '}
            <select value={clause?.b ?? ''} onChange={(e) => setRuleB(e.target.value)} data-testid="exp-rule-b">
              {built.groups.map((g) => (
                <option key={g}>{g}</option>
              ))}
            </select>
          </label>
        </div>
      )}
      {clause && <p className="small muted">Rule: {clauseText(clause)}</p>}
      <div className="btn-row">
        <button
          type="button"
          className="btn primary"
          disabled={!built.exp || busy || engine !== 'ready'}
          onClick={() => built.exp && void startExperiment(built.exp)}
          data-testid="exp-builder-start"
        >
          Start {built.exp ? `${built.runs} run${built.runs > 1 ? 's' : ''}` : ''}
        </button>
        {built.error && <span className="small warn-text">{built.error}</span>}
      </div>
    </div>
  );
}
