/**
 * The verdict of an experiment, computed from its results table — never written by hand (issue 13
 * item 4). An experiment's rule is a list of clauses (schema.ts `ClauseSchema`); the claim holds when
 * every clause holds, does not hold when one is decisively false, and is inconclusive, with the reason,
 * when the numbers cannot decide:
 *   - `too-few-runs`: a group the rule names has no finished run, or under two thirds of its runs finished;
 *   - `missing-metric`: a finished run lacks the metric the rule reads;
 *   - `lr-flip`: under an lr grid, the rule's outcome differs between learning rates of the grid;
 *   - `seed-spread`: with ≥ 2 seeds, the effect (difference of the means) is smaller than the spread
 *     (max − min across seeds) of a compared group — the sign is not resolved.
 * Groups are compared at their best lr by validation loss under a grid (issue 13 item 3), otherwise at
 * the one lr they ran at. Means are over seeds.
 */
import type { Clause, Experiment } from './schema';

export type RunStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** One row of the results table (runner.ts fills it; tests build them by hand). */
export interface RunRow {
  key: string;
  group: string;
  lr: number;
  seed: number;
  status: RunStatus;
  /** Scalar metrics (null: not measured / not finite). */
  metrics: Record<string, number | null>;
  /** Per-step training loss (the speedup rule reads it). */
  curve?: number[];
}

export type InconclusiveReason = 'too-few-runs' | 'missing-metric' | 'lr-flip' | 'seed-spread' | 'no-descent';

export interface GroupStat {
  group: string;
  lr: number;
  /** Finished runs the mean is over. */
  n: number;
  mean: number | null;
  /** max − min across seeds (0 with one seed). */
  spread: number;
  values: number[];
}

export interface ClauseOutcome {
  text: string;
  holds: boolean | null;
  reason?: InconclusiveReason;
  detail: string;
  stats: GroupStat[];
  /** compare/within/ratio: a − b; speedup: the speedup; trend: the largest step against the direction. */
  effect?: number;
}

export interface Verdict {
  holds: boolean | null;
  reason: string;
  inconclusive?: InconclusiveReason;
  /** The rule in words. */
  rule: string;
  clauses: ClauseOutcome[];
  /** The lr each group was judged at (under a grid: its best by validation loss). */
  lrByGroup: Record<string, number>;
  /** With a grid: the outcome at each lr (null: undecided there). */
  byLr?: { lr: number; holds: boolean | null }[];
  finished: number;
  total: number;
}

const REL = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const num = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? 'n/a'
    : Math.abs(x) >= 1000 || (Math.abs(x) < 1e-3 && x !== 0)
      ? x.toExponential(3)
      : Number(x.toPrecision(4)).toString();

/** A clause in words, e.g. "mean valLoss[rsLoRA r=64] < mean valLoss[LoRA r=64] by ≥ 2%". */
export function clauseText(c: Clause): string {
  const m = c.metric;
  const g = (x?: string, metric = m) => `${metric}[${x ?? '?'}]`;
  let t: string;
  switch (c.rule) {
    case 'compare':
      t = `mean ${g(c.a)} ${c.op ?? '<'} mean ${g(c.b, c.metricB)}${c.margin ? ` by ≥ ${REL(c.margin)}` : ''}`;
      break;
    case 'within':
      t = `mean ${g(c.a)} within ${REL(c.margin ?? 0.05)} of mean ${g(c.b, c.metricB)}`;
      break;
    case 'ratio':
      t = `mean ${g(c.a)} / mean ${g(c.b, c.metricB)}${c.max !== undefined ? ` ≤ ${c.max}` : ''}${c.min !== undefined ? ` ≥ ${c.min}` : ''}`;
      break;
    case 'trend':
      t = `mean ${m} ${c.direction === 'up' ? 'rises' : 'falls'} along ${(c.groups ?? []).join(' → ')}${c.margin ? ` (slack ${REL(c.margin)})` : ''}`;
      break;
    case 'threshold':
      t = `mean ${m} ${c.op ?? '<='} ${c.value} for ${(c.groups ?? []).join(', ')}`;
      break;
    case 'speedup':
      t = `${c.a} reaches ${c.b}'s final training loss (moving average) ≥ ${c.min ?? 1}× faster`;
      break;
  }
  return c.says ? `${t} — ${c.says}` : t;
}

export function ruleText(exp: Pick<Experiment, 'verdict' | 'lr'>): string {
  const parts = exp.verdict.all.map(clauseText);
  const lr =
    exp.lr.policy === 'grid'
      ? ` (each group at its best lr of {${exp.lr.values.join(', ')}} by validation loss; a flip across the grid is inconclusive)`
      : '';
  return `holds when ${parts.join(' AND ')}${lr}`;
}

/** Groups a clause reads. */
export function clauseGroups(c: Clause): string[] {
  return [...(c.a ? [c.a] : []), ...(c.b ? [c.b] : []), ...(c.groups ?? [])];
}

function stat(rows: RunRow[], group: string, lr: number, metric: string): GroupStat {
  const done = rows.filter((r) => r.group === group && r.lr === lr && r.status === 'done');
  const values = done.map((r) => r.metrics[metric]).filter((v): v is number => v !== null && Number.isFinite(v));
  const mean =
    values.length === done.length && values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
  const spread = values.length > 1 ? Math.max(...values) - Math.min(...values) : 0;
  return { group, lr, n: done.length, mean, spread, values };
}

/** Moving average of the seeds' mean curve, window max(1, len/10). */
function smoothedMean(curves: number[][]): number[] {
  const len = Math.min(...curves.map((c) => c.length));
  if (!Number.isFinite(len) || len === 0) return [];
  const mean = Array.from({ length: len }, (_, i) => curves.reduce((a, c) => a + c[i], 0) / curves.length);
  const w = Math.max(1, Math.floor(len / 10));
  return mean.map((_, i) => {
    const lo = Math.max(0, i - w + 1);
    let s = 0;
    for (let j = lo; j <= i; j++) s += mean[j];
    return s / (i - lo + 1);
  });
}

/** First step (1-based) where the curve is at or below `target`; Infinity if never. */
export function stepsTo(curve: number[], target: number): number {
  const i = curve.findIndex((v) => v <= target);
  return i < 0 ? Infinity : i + 1;
}

function evalClause(c: Clause, rows: RunRow[], lrOf: (g: string) => number, seedCheck: boolean): ClauseOutcome {
  const text = clauseText(c);
  const groups = clauseGroups(c);
  if (c.rule === 'speedup') {
    const curves = (g: string) =>
      rows
        .filter((r) => r.group === g && r.lr === lrOf(g) && r.status === 'done' && r.curve?.length)
        .map((r) => r.curve!);
    const ca = curves(c.a!),
      cb = curves(c.b!);
    const stats = [c.a!, c.b!].map((g) => stat(rows, g, lrOf(g), c.metric));
    if (!ca.length || !cb.length)
      return { text, holds: null, reason: 'missing-metric', detail: 'no loss curve recorded', stats };
    const sa = smoothedMean(ca),
      sb = smoothedMean(cb);
    const target = sb[sb.length - 1];
    const na = stepsTo(sa, target),
      nb = stepsTo(sb, target);
    // "Steps to b's final loss" only measures speed when b's loss fell beyond its batch-to-batch noise.
    // If b's smoothed curve is already at its final value inside the first smoothing window, both
    // counts are noise (a 60-step budget on the built-in model: LoRA "reached" its final loss at step 3).
    const window = Math.max(1, Math.floor(sb.length / 10));
    if (nb <= window)
      return {
        text,
        holds: null,
        reason: 'no-descent',
        detail: `${c.b}'s smoothed training loss is at its final value ${num(target)} by step ${nb}, inside the first ${window}-step smoothing window: it did not fall beyond its noise, so steps-to-target measure nothing`,
        stats,
      };
    const speedup = Number.isFinite(na) ? nb / na : 0;
    const holds = speedup >= (c.min ?? 1);
    return {
      text,
      holds,
      detail: `target ${num(target)}: ${c.a} in ${Number.isFinite(na) ? na : 'never (within the run)'} steps, ${c.b} in ${nb}; speedup ${num(speedup)}×`,
      stats,
      effect: speedup,
    };
  }
  const pair = c.rule === 'compare' || c.rule === 'within' || c.rule === 'ratio';
  const stats = groups.map((g, i) => stat(rows, g, lrOf(g), pair && i === 1 ? (c.metricB ?? c.metric) : c.metric));
  const missing = stats.find((s) => s.mean === null);
  if (missing)
    return {
      text,
      holds: null,
      reason: 'missing-metric',
      detail: `${c.metric} is missing for ${missing.group} (${missing.n} finished run${missing.n === 1 ? '' : 's'})`,
      stats,
    };
  const m = stats.map((s) => s.mean!);
  const show = stats
    .map((s) => `${s.group} ${num(s.mean)}${s.values.length > 1 ? ` ± ${num(s.spread / 2)}` : ''}`)
    .join(', ');
  const spreadTooLarge = (i: number, j: number): boolean =>
    seedCheck && Math.abs(m[i] - m[j]) < Math.max(stats[i].spread, stats[j].spread);
  switch (c.rule) {
    case 'compare': {
      const op = c.op ?? '<';
      const slack = (c.margin ?? 0) * Math.abs(m[1]);
      const holds =
        op === '<'
          ? m[0] < m[1] - slack
          : op === '<='
            ? m[0] <= m[1] - slack
            : op === '>'
              ? m[0] > m[1] + slack
              : m[0] >= m[1] + slack;
      const eff = m[0] - m[1];
      if (spreadTooLarge(0, 1) && eff !== 0)
        return {
          text,
          holds: null,
          reason: 'seed-spread',
          detail: `effect ${num(eff)} is smaller than the seed spread (${num(Math.max(stats[0].spread, stats[1].spread))}): ${show}`,
          stats,
          effect: eff,
        };
      return { text, holds, detail: show, stats, effect: eff };
    }
    case 'within': {
      const tol = (c.margin ?? 0.05) * Math.abs(m[1]);
      const eff = m[0] - m[1];
      return {
        text,
        holds: Math.abs(eff) <= tol,
        detail: `${show}; difference ${num(eff)} (tolerance ${num(tol)})`,
        stats,
        effect: eff,
      };
    }
    case 'ratio': {
      const ratio = m[1] === 0 ? Infinity : m[0] / m[1];
      const holds = (c.max === undefined || ratio <= c.max) && (c.min === undefined || ratio >= c.min);
      if (spreadTooLarge(0, 1) && !holds)
        return {
          text,
          holds: null,
          reason: 'seed-spread',
          detail: `${show}; ratio ${num(ratio)} within the seed spread`,
          stats,
          effect: ratio,
        };
      return { text, holds, detail: `${show}; ratio ${num(ratio)}`, stats, effect: ratio };
    }
    case 'trend': {
      const up = c.direction === 'up';
      let worst = -Infinity,
        worstAt = 0,
        spreadHit = false;
      for (let i = 0; i + 1 < m.length; i++) {
        const against = up ? m[i] - m[i + 1] : m[i + 1] - m[i]; // > 0: a step against the direction
        const rel = against - (c.margin ?? 0) * Math.abs(m[i]);
        if (rel > worst) {
          worst = rel;
          worstAt = i;
        }
        if (spreadTooLarge(i, i + 1)) spreadHit = true;
      }
      const holds = worst <= 0;
      const detail = `${show}${holds ? '' : `; against the trend between ${stats[worstAt].group} and ${stats[worstAt + 1].group}`}`;
      if (spreadHit && m.length > 1)
        return {
          text,
          holds: null,
          reason: 'seed-spread',
          detail: `a step is smaller than the seed spread: ${show}`,
          stats,
          effect: worst,
        };
      return { text, holds, detail, stats, effect: worst };
    }
    case 'threshold': {
      const v = c.value ?? 0;
      const op = c.op ?? '<=';
      const ok = (x: number) => (op === '<' ? x < v : op === '<=' ? x <= v : op === '>' ? x > v : x >= v);
      const bad = stats.filter((s) => !ok(s.mean!));
      return {
        text,
        holds: bad.length === 0,
        detail: `${show}${bad.length ? `; fails for ${bad.map((s) => s.group).join(', ')}` : ''}`,
        stats,
      };
    }
  }
}

const INCONCLUSIVE_WORDS: Partial<Record<InconclusiveReason, string>> = {
  'seed-spread': 'spread across seeds larger than the effect',
  'no-descent': 'the baseline loss did not fall at this budget',
};

function combine(outs: ClauseOutcome[]): { holds: boolean | null; reason: string; inconclusive?: InconclusiveReason } {
  const fail = outs.find((o) => o.holds === false);
  if (fail) return { holds: false, reason: `does not hold: ${fail.text} is false (${fail.detail})` };
  const und = outs.find((o) => o.holds === null);
  if (und)
    return {
      holds: null,
      inconclusive: und.reason,
      reason: `inconclusive (${INCONCLUSIVE_WORDS[und.reason!] ?? und.reason}): ${und.detail}`,
    };
  return { holds: true, reason: `holds: ${outs.map((o) => o.detail).join('; ')}` };
}

/** The verdict of `exp` on `rows` (every run of the expansion, finished or not). */
export function judge(exp: Pick<Experiment, 'verdict' | 'lr' | 'seeds'>, rows: RunRow[]): Verdict {
  const rule = ruleText(exp);
  const groupsNamed = [...new Set(exp.verdict.all.flatMap(clauseGroups))];
  const total = rows.length;
  const finished = rows.filter((r) => r.status === 'done').length;
  const base = { rule, finished, total };
  // too few runs: a named group without a finished run, or under 2/3 of the named groups' runs finished
  const unknown = groupsNamed.filter((g) => !rows.some((r) => r.group === g));
  if (unknown.length)
    return {
      ...base,
      holds: null,
      inconclusive: 'too-few-runs',
      reason: `inconclusive: the rule names groups with no runs: ${unknown.join(', ')}`,
      clauses: [],
      lrByGroup: {},
    };
  const named = rows.filter((r) => groupsNamed.includes(r.group));
  const namedDone = named.filter((r) => r.status === 'done').length;
  const empty = groupsNamed.filter((g) => !named.some((r) => r.group === g && r.status === 'done'));
  if (empty.length || namedDone * 3 < named.length * 2)
    return {
      ...base,
      holds: null,
      inconclusive: 'too-few-runs',
      reason: `inconclusive (too few runs finished): ${namedDone} of ${named.length}${empty.length ? `; no finished run for ${empty.join(', ')}` : ''}`,
      clauses: [],
      lrByGroup: {},
    };
  const grid = exp.lr.policy === 'grid' ? [...new Set(rows.map((r) => r.lr))].sort((a, b) => a - b) : null;
  const lrByGroup: Record<string, number> = {};
  for (const g of groupsNamed) {
    const lrs = [...new Set(named.filter((r) => r.group === g && r.status === 'done').map((r) => r.lr))];
    // best lr by validation loss (final training loss when not measured); ties: the smaller lr
    const score = (lr: number) => {
      const s = stat(rows, g, lr, 'valLoss');
      return s.mean ?? stat(rows, g, lr, 'finalLoss').mean ?? Infinity;
    };
    lrByGroup[g] = lrs.sort((a, b) => score(a) - score(b) || a - b)[0];
  }
  const seedCheck = exp.seeds > 1;
  const clauses = exp.verdict.all.map((c) => evalClause(c, rows, (g) => lrByGroup[g], seedCheck));
  let byLr: Verdict['byLr'];
  if (grid && grid.length > 1) {
    byLr = grid.map((lr) => {
      const complete = groupsNamed.every((g) => rows.some((r) => r.group === g && r.lr === lr && r.status === 'done'));
      if (!complete) return { lr, holds: null };
      return { lr, holds: combine(exp.verdict.all.map((c) => evalClause(c, rows, () => lr, seedCheck))).holds };
    });
    const decided = byLr.filter((b) => b.holds !== null);
    if (decided.some((b) => b.holds) && decided.some((b) => b.holds === false))
      return {
        ...base,
        holds: null,
        inconclusive: 'lr-flip',
        reason: `inconclusive (the verdict flips across the lr grid): ${decided.map((b) => `${b.holds ? 'holds' : 'does not hold'} at lr=${b.lr}`).join(', ')}`,
        clauses,
        lrByGroup,
        byLr,
      };
  }
  return { ...base, ...combine(clauses), clauses, lrByGroup, ...(byLr ? { byLr } : {}) };
}
