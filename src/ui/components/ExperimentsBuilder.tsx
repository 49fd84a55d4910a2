/**
 * A custom sweep over the current setup (the form on the left): methods × ranks × learning rates ×
 * seeds, as an engine experiment object (variants per method, a rank axis, an lr grid) with a verdict
 * rule the person builds from clauses of every kind the engine judges (compare, within, ratio, trend,
 * threshold, speedup; experimentsVerdict.ts) over the sweep's own groups, validated by the engine's
 * schema. Expanded here, shown as a count first.
 */
import { useMemo, useState } from 'react';
import { parseExperiment, type Clause, type ExperimentInput } from '../../engine/experiments/schema';
import { ruleText } from '../../engine/experiments/verdict';
import { expandForPage, type Experiment } from '../experiments';
import { startExperiment } from '../experimentsQueue';
import { defaultParams } from '../methods';
import { engineBusy } from '../runs';
import { useStudio } from '../store';
import {
  fitDraft,
  newDraft,
  readsIntruders,
  RULE_HELP,
  RULE_METRICS,
  verdictOfDrafts,
  VERDICT_RULES,
  type ClauseDraft,
  type Op,
  type VerdictRuleId,
} from '../experimentsVerdict';

const MAX_CLAUSES = 8;

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
  const busy = useStudio((s) => !!engineBusy(s)); // a run, or the worker measuring an experiment's run
  const engine = useStudio((s) => s.engine);
  const [chosen, setChosen] = useState<string[]>([]);
  const [ranks, setRanks] = useState('');
  const [lrs, setLrs] = useState('');
  const [seeds, setSeeds] = useState(1);
  const [title, setTitle] = useState('');
  /** The person's clauses (none: the default rule). */
  const [drafts, setDrafts] = useState<ClauseDraft[]>([]);
  const [addRule, setAddRule] = useState<VerdictRuleId>('compare');

  const built = useMemo((): { exp: Experiment | null; groups: string[]; runs: number; error: string | null } => {
    const fail = (error: string, groups: string[] = [], runs = 0) => ({ exp: null, groups, runs, error });
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
    const input = (verdict: ExperimentInput['verdict'], intruders = false): ExperimentInput => ({
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
      measure: [
        'loss',
        'val',
        'probe',
        ...(intruders ? (['intruders'] as const) : []),
        'params',
        'optimizer-bytes',
        'time',
      ],
      verdict,
    });
    try {
      // the groups first (a placeholder rule), then the person's rule over them
      const probe = parseExperiment(
        input({ all: [{ rule: 'threshold', metric: 'finalLoss', groups: ['x'], op: '<', value: 1e30 }] }),
      );
      const { runs } = expandForPage(probe);
      const groups = [...new Set(runs.map((x) => x.group))];
      let verdict: ExperimentInput['verdict'];
      if (drafts.length) {
        const v = verdictOfDrafts(drafts.map((d) => fitDraft(d, groups)));
        if ('error' in v) return fail(v.error, groups, runs.length);
        verdict = v;
      } else
        verdict =
          groups.length > 1
            ? { all: [{ rule: 'compare', metric: 'valLoss', a: groups[0], op: '<', b: groups[1] }] }
            : {
                all: [
                  { rule: 'threshold', metric: 'finalLoss', groups, op: '<', value: 1e30, says: 'every run finished' },
                ],
              };
      try {
        const exp = parseExperiment(input(verdict, readsIntruders(verdict.all as Clause[])));
        return { exp, groups, runs: runs.length, error: null };
      } catch (e) {
        return fail((e as Error).message, groups, runs.length);
      }
    } catch (e) {
      return fail((e as Error).message);
    }
  }, [base, chosen, ranks, lrs, seeds, title, drafts, methods]);

  const toggle = (id: string) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]));
  const editDraft = (i: number, d: Partial<ClauseDraft>) =>
    setDrafts((ds) => ds.map((x, k) => (k === i ? { ...fitDraft(x, built.groups), ...d } : x)));
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
      {built.groups.length > 0 && (
        <fieldset className="exp-verdict-builder" data-testid="exp-rule-builder">
          <legend className="small">
            Verdict: the sweep’s claim holds when every clause holds (groups: {built.groups.join(', ')})
          </legend>
          {drafts.length === 0 && (
            <p className="small muted" data-testid="exp-rule-default">
              No clause yet: the default rule (
              {groups1(built.groups)
                ? 'every run finishes'
                : `mean valLoss of ${built.groups[0]} below ${built.groups[1]}`}
              ). Add clauses to state your own claim.
            </p>
          )}
          {drafts.map((raw, i) => (
            <ClauseEditor
              key={i}
              index={i}
              draft={fitDraft(raw, built.groups)}
              groups={built.groups}
              onChange={(d) => editDraft(i, d)}
              onRemove={() => setDrafts((ds) => ds.filter((_, k) => k !== i))}
            />
          ))}
          <div className="exp-fields">
            <label className="small">
              Add a clause{' '}
              <select
                value={addRule}
                onChange={(e) => setAddRule(e.target.value as VerdictRuleId)}
                data-testid="exp-clause-kind"
              >
                {VERDICT_RULES.map((r) => (
                  <option key={r} value={r}>
                    {r} — {RULE_HELP[r]}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className="btn small"
              disabled={drafts.length >= MAX_CLAUSES}
              onClick={() => setDrafts((ds) => [...ds, newDraft(addRule, built.groups)])}
              data-testid="exp-clause-add"
            >
              Add
            </button>
          </div>
        </fieldset>
      )}
      {built.exp && (
        <p className="small muted" data-testid="exp-rule-text">
          Rule: {ruleText(built.exp)}
        </p>
      )}
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
        {built.error && (
          <span className="small warn-text" data-testid="exp-builder-error">
            {built.error}
          </span>
        )}
      </div>
    </div>
  );
}

const groups1 = (groups: string[]) => groups.length < 2;
const OPS: Op[] = ['<', '<=', '>', '>='];

/** One clause: its metric, groups and numbers, the fields its rule reads (verdict.ts). */
function ClauseEditor({
  index,
  draft: d,
  groups,
  onChange,
  onRemove,
}: {
  index: number;
  draft: ClauseDraft;
  groups: string[];
  onChange: (d: Partial<ClauseDraft>) => void;
  onRemove: () => void;
}) {
  const id = (x: string) => `exp-clause-${index}-${x}`;
  const pick = (name: 'a' | 'b', label: string) => (
    <label className="small">
      {label}{' '}
      <select value={d[name]} onChange={(e) => onChange({ [name]: e.target.value })} data-testid={id(name)}>
        {groups.map((g) => (
          <option key={g}>{g}</option>
        ))}
      </select>
    </label>
  );
  const text = (name: 'margin' | 'bound', label: string, hint: string) => (
    <label className="small">
      {label}{' '}
      <input
        value={d[name]}
        onChange={(e) => onChange({ [name]: e.target.value })}
        placeholder={hint}
        size={8}
        data-testid={id(name)}
      />
    </label>
  );
  const op = (
    <select value={d.op} onChange={(e) => onChange({ op: e.target.value as Op })} data-testid={id('op')}>
      {OPS.map((o) => (
        <option key={o}>{o}</option>
      ))}
    </select>
  );
  const groupBoxes = (
    <span className="small">
      {d.rule === 'trend' ? 'along (in order)' : 'for'}{' '}
      {groups.map((g) => (
        <label key={g} className="exp-clause-group">
          <input
            type="checkbox"
            checked={d.groups.includes(g)}
            onChange={() =>
              onChange({
                groups: d.groups.includes(g)
                  ? d.groups.filter((x) => x !== g)
                  : groups.filter((x) => x === g || d.groups.includes(x)),
              })
            }
            data-testid={id(`group-${g}`)}
          />
          {g}
        </label>
      ))}
    </span>
  );
  return (
    <div className="exp-fields exp-clause-edit" data-testid="exp-clause-edit" data-rule={d.rule}>
      <b className="small">
        {index + 1}. {d.rule}
      </b>
      {d.rule !== 'speedup' && (
        <label className="small">
          mean{' '}
          <select value={d.metric} onChange={(e) => onChange({ metric: e.target.value })} data-testid={id('metric')}>
            {RULE_METRICS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
      )}
      {d.rule === 'compare' && (
        <>
          {pick('a', 'of')}
          {op}
          {pick('b', 'that of')}
          {text('margin', 'by at least (relative)', '0.02')}
        </>
      )}
      {d.rule === 'within' && (
        <>
          {pick('a', 'of')}
          {text('margin', 'within (relative)', '0.05')}
          {pick('b', 'of')}
        </>
      )}
      {d.rule === 'ratio' && (
        <>
          {pick('a', 'of')}
          {pick('b', '÷ that of')}
          <select
            value={d.boundKind}
            onChange={(e) => onChange({ boundKind: e.target.value as 'max' | 'min' })}
            data-testid={id('boundkind')}
          >
            <option value="max">at most</option>
            <option value="min">at least</option>
          </select>
          {text('bound', '', '1')}
        </>
      )}
      {d.rule === 'trend' && (
        <>
          <select
            value={d.direction}
            onChange={(e) => onChange({ direction: e.target.value as 'up' | 'down' })}
            data-testid={id('direction')}
          >
            <option value="down">falls</option>
            <option value="up">rises</option>
          </select>
          {groupBoxes}
          {text('margin', 'slack (relative)', '0')}
        </>
      )}
      {d.rule === 'threshold' && (
        <>
          {op}
          {text('bound', '', '3')}
          {groupBoxes}
        </>
      )}
      {d.rule === 'speedup' && (
        <>
          {pick('a', ': group')}
          {pick('b', 'reaches the final training loss of')}
          {text('bound', 'at least ×', '1.5')}
          <span className="small muted">faster (steps)</span>
        </>
      )}
      <button
        type="button"
        className="btn small"
        onClick={onRemove}
        aria-label={`Remove clause ${index + 1}`}
        data-testid={id('remove')}
      >
        ×
      </button>
    </div>
  );
}
