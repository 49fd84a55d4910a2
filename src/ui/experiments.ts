/**
 * Experiments on the page (issue 13): an experiment is ONE serialisable object — the claim it tests,
 * the exact RunConfigs of its runs (expanded from a base config and sweep axes, stored explicitly so a
 * link or a file reproduces the same runs whatever this version's defaults are) and the verdict rule.
 * This file is pure (no DOM, no store): the spec schema, the sweep expansion, the per-run measurements,
 * mean ± spread over seeds, the verdict, CSV/JSON export and the `#exp=` link codec. The queue that
 * runs an experiment lives in experimentsQueue.ts; the views in components/Experiments*.tsx.
 *
 * The engine's own experiment module (src/engine/experiments/, helper D1) was not there when this was
 * written; the page's schema is kept small and plain so it can be swapped for the engine's in one place.
 */
import { deflateSync } from 'fflate';
import { z } from 'zod';
import { RunConfigSchema, type RunConfig } from '../engine/config';
import { issuesOneLine } from '../engine/strings';
import { canonicalJson } from './draft';
import { fromBase64Url, inflateCapped, LinkError, safeJsonParse, toBase64Url } from './share';

export const EXPERIMENT_FORMAT = 'rankscope-experiment';
/** Most runs one experiment may hold (a link or a file asking for more is refused). */
export const MAX_RUNS = 64;
const MAX_EXP_LINK_CHARS = 24_000;
const MAX_EXP_JSON_BYTES = 512 * 1024;

/** What a verdict compares: a metric of one group against another, lower is better. */
export const METRICS = ['valLoss', 'probeLoss', 'finalLoss', 'intruders', 'trainableParams'] as const;
export type MetricId = (typeof METRICS)[number];
export const METRIC_LABEL: Record<MetricId, string> = {
  valLoss: 'final val loss',
  probeLoss: 'final forgetting-probe loss',
  finalLoss: 'final train loss',
  intruders: 'intruders (all matrices, last snapshot)',
  trainableParams: 'trainable parameters',
};

/** A group is every run sharing one value of `by` ('method' id, 'rank', 'lr'). */
const GroupRef = z.strictObject({
  by: z.enum(['method', 'rank', 'lr']),
  value: z.union([z.string().max(64), z.number()]),
});

export const RuleSchema = z.strictObject({
  metric: z.enum(METRICS),
  /** The claim in numbers: `a`'s metric is lower than `b`'s. */
  a: GroupRef,
  b: GroupRef,
});
export type Rule = z.infer<typeof RuleSchema>;

export const ExperimentSpecSchema = z.strictObject({
  format: z.literal(EXPERIMENT_FORMAT),
  version: z.literal(1),
  name: z.string().min(1).max(120),
  /** The gallery preset it came from, if any. */
  preset: z.string().max(64).optional(),
  claim: z.string().max(1000).optional(),
  paper: z.string().max(300).optional(),
  /** Budget the runs were built with ("smoke" in CI, "full" for the README figures). */
  budget: z.enum(['smoke', 'full', 'custom']).default('custom'),
  /** The axes as the person chose them (documentation: `runs` is what executes). */
  axes: z
    .strictObject({
      method: z.array(z.string().max(32)).max(16).optional(),
      rank: z.array(z.number()).max(16).optional(),
      lr: z.array(z.number()).max(16).optional(),
      seed: z.array(z.number()).max(16).optional(),
    })
    .default({}),
  runs: z.array(RunConfigSchema).min(1).max(MAX_RUNS),
  rule: RuleSchema.optional(),
});
export type ExperimentSpec = z.infer<typeof ExperimentSpecSchema>;
export type ExperimentSpecInput = z.input<typeof ExperimentSpecSchema>;

export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

export function parseExperiment(input: unknown): ExperimentSpec {
  const r = ExperimentSpecSchema.safeParse(input);
  if (!r.success) throw new ExperimentError(`not a valid experiment: ${issuesOneLine(r.error.issues)}`);
  return r.data;
}

// ---- sweep expansion -----------------------------------------------------------------------------

export interface Axes {
  method?: string[];
  rank?: number[];
  lr?: number[];
  seed?: number[];
}

/**
 * Every combination of the axes over `base`, in the order method → rank → lr → seed (seeds innermost,
 * so one configuration's repeats run back to back). `paramsFor(method)` gives a method's default
 * parameters when the method axis switches methods; the rank axis sets `rank` only on methods that
 * have one (full fine-tuning appears once per lr and seed, not once per rank).
 */
export function expandRuns(
  base: RunConfig,
  axes: Axes,
  paramsFor: (method: string) => Record<string, number | string | boolean> | null = () => null,
): RunConfig[] {
  const methods = axes.method?.length ? axes.method : [base.method.id];
  const ranks: (number | null)[] = axes.rank?.length ? axes.rank : [null];
  const lrs = axes.lr?.length ? axes.lr : [base.train.lr];
  const seeds = axes.seed?.length ? axes.seed : [base.seed];
  const out: RunConfig[] = [];
  const seen = new Set<string>();
  for (const m of methods) {
    const params = m === base.method.id ? { ...base.method.params } : { ...(paramsFor(m) ?? {}) };
    for (const r of ranks) {
      const p = { ...params };
      if (r !== null && 'rank' in p) p.rank = r;
      for (const lr of lrs)
        for (const seed of seeds) {
          const c: RunConfig = structuredClone({
            ...base,
            name: undefined,
            method: { id: m, params: p },
            train: { ...base.train, lr },
            seed,
          });
          delete c.name;
          const key = canonicalJson(c);
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(c);
        }
    }
  }
  if (out.length > MAX_RUNS)
    throw new ExperimentError(`the sweep has ${out.length} runs; an experiment holds at most ${MAX_RUNS}`);
  return out;
}

const rankOf = (c: RunConfig): number | null => {
  const p = c.method.params as Record<string, unknown>;
  return typeof p.rank === 'number' ? p.rank : null;
};

export function fmtLr(lr: number): string {
  return lr.toExponential(0).replace('e-', 'e-');
}

/** "lora r8 · lr 1e-3" — the configuration without its seed (one group of repeats). */
export function groupLabel(c: RunConfig): string {
  const r = rankOf(c);
  return `${c.method.id}${r !== null ? ` r${r}` : ''} · lr ${fmtLr(c.train.lr)}`;
}

/** Identity of a configuration up to its seed: repeats over seeds share it. */
export function groupKey(c: RunConfig): string {
  const { seed: _seed, name: _name, ...rest } = c;
  return canonicalJson(rest);
}

function groupValue(c: RunConfig, by: Rule['a']['by']): string | number | null {
  return by === 'method' ? c.method.id : by === 'rank' ? rankOf(c) : c.train.lr;
}

// ---- measurements ----------------------------------------------------------------------------------

/** What one finished run measured (from the page's store or the CLI's output). */
export interface RunResult {
  index: number;
  config: RunConfig;
  runId: string | null;
  status: 'done' | 'skipped' | 'error' | 'pending';
  /** Exact train loss of every step (losses[i] is step i+1). */
  losses: number[];
  finalLoss: number;
  valLoss: number;
  probeLoss: number;
  intruders: number;
  trainableParams: number;
  seconds: number;
}

export function metricOf(r: RunResult, m: MetricId): number {
  return r[m];
}

export interface GroupStats {
  key: string;
  label: string;
  config: RunConfig;
  n: number;
  mean: Record<MetricId, number>;
  /** Half the range over seeds (max − min)/2; 0 with one seed. */
  spread: Record<MetricId, number>;
}

/** Mean ± spread over the seeds of each configuration, in the order the groups first appear. */
export function groupStats(results: RunResult[]): GroupStats[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    if (r.status !== 'done') continue;
    const k = groupKey(r.config);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups].map(([key, rs]) => {
    const mean = {} as Record<MetricId, number>;
    const spread = {} as Record<MetricId, number>;
    for (const m of METRICS) {
      const v = rs.map((r) => metricOf(r, m)).filter(Number.isFinite);
      mean[m] = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
      spread[m] = v.length ? (Math.max(...v) - Math.min(...v)) / 2 : NaN;
    }
    return { key, label: groupLabel(rs[0].config), config: rs[0].config, n: rs.length, mean, spread };
  });
}

// ---- verdict -------------------------------------------------------------------------------------------

export interface Verdict {
  holds: boolean | null;
  reason: string;
  /** The rule in words, shown beside the verdict. */
  rule: string;
  numbers: Record<string, number>;
}

export function ruleText(rule: Rule): string {
  const name = (g: Rule['a']) => (g.by === 'method' ? g.value : `${g.by} ${g.value}`);
  return (
    `holds when the mean ${METRIC_LABEL[rule.metric]} of ${name(rule.a)} is below ${name(rule.b)}'s by more than ` +
    `the larger seed spread (half the range over seeds), at the best lr of each (by val loss); does not hold when ` +
    `it is above by more than that; otherwise, or when the ordering flips across the lr grid, inconclusive.`
  );
}

/** The verdict computed from the numbers (never written by hand). */
export function computeVerdict(rule: Rule, results: RunResult[]): Verdict {
  const text = ruleText(rule);
  const stats = groupStats(results);
  const pick = (g: Rule['a']) => stats.filter((s) => groupValue(s.config, g.by) === g.value);
  const A = pick(rule.a),
    B = pick(rule.b);
  if (!A.length || !B.length)
    return {
      holds: null,
      reason: `no finished runs for ${!A.length ? String(rule.a.value) : String(rule.b.value)}`,
      rule: text,
      numbers: {},
    };
  // best configuration of each side by validation loss (the per-method lr choice, issue 13 §3)
  const best = (gs: GroupStats[]) =>
    gs.reduce((x, y) => (Number.isFinite(y.mean.valLoss) && !(y.mean.valLoss >= x.mean.valLoss) ? y : x));
  const a = best(A),
    b = best(B);
  const m = rule.metric;
  const diff = b.mean[m] - a.mean[m];
  const noise = Math.max(a.spread[m], b.spread[m]);
  const numbers = {
    a: a.mean[m],
    aSpread: a.spread[m],
    b: b.mean[m],
    bSpread: b.spread[m],
    difference: diff,
    noise,
  };
  if (!Number.isFinite(diff))
    return { holds: null, reason: `${METRIC_LABEL[m]} was not measured`, rule: text, numbers };
  // does the ordering flip across the lr grid (same lr on both sides)?
  const lrs = [...new Set([...A, ...B].map((s) => s.config.train.lr))];
  const signs = new Set<number>();
  for (const lr of lrs) {
    const x = A.find((s) => s.config.train.lr === lr),
      y = B.find((s) => s.config.train.lr === lr);
    if (x && y && Number.isFinite(y.mean[m] - x.mean[m])) signs.add(Math.sign(y.mean[m] - x.mean[m]));
  }
  if (signs.has(1) && signs.has(-1))
    return {
      holds: null,
      reason: `the ordering flips across the lr grid (${lrs.map(fmtLr).join(', ')}): the claim depends on the learning rate`,
      rule: text,
      numbers,
    };
  const f = (v: number) => v.toPrecision(4);
  if (Math.abs(diff) <= noise)
    return {
      holds: null,
      reason: `the difference (${f(diff)}) is within the spread across seeds (${f(noise)})`,
      rule: text,
      numbers,
    };
  return diff > 0
    ? {
        holds: true,
        reason: `${a.label}: ${f(a.mean[m])} ± ${f(a.spread[m])} < ${b.label}: ${f(b.mean[m])} ± ${f(b.spread[m])}`,
        rule: text,
        numbers,
      }
    : {
        holds: false,
        reason: `${a.label}: ${f(a.mean[m])} ± ${f(a.spread[m])} > ${b.label}: ${f(b.mean[m])} ± ${f(b.spread[m])}`,
        rule: text,
        numbers,
      };
}

// ---- export ----------------------------------------------------------------------------------------------

const CSV_COLUMNS = [
  'run',
  'run_id',
  'status',
  'method',
  'rank',
  'lr',
  'seed',
  'steps',
  'final_loss',
  'val_loss',
  'probe_loss',
  'intruders',
  'trainable_params',
  'seconds',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per run (its final metrics), then one row per (run, step) with the exact train loss. */
export function resultsCsv(results: RunResult[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const r of results) {
    const c = r.config;
    rows.push(
      [
        r.index + 1,
        r.runId,
        r.status,
        c.method.id,
        rankOf(c),
        c.train.lr,
        c.seed,
        c.train.steps,
        r.finalLoss,
        r.valLoss,
        r.probeLoss,
        r.intruders,
        r.trainableParams,
        r.seconds,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  rows.push('', 'run,step,loss');
  for (const r of results) r.losses.forEach((l, i) => rows.push(`${r.index + 1},${i + 1},${csvCell(l)}`));
  return rows.join('\n') + '\n';
}

export function resultsJson(spec: ExperimentSpec, results: RunResult[], verdict: Verdict | null): string {
  return JSON.stringify(
    {
      format: 'rankscope-experiment-result',
      version: 1,
      experiment: spec,
      verdict,
      groups: groupStats(results),
      runs: results.map((r) => ({
        ...r,
        config: undefined,
        losses: r.losses.map((l) => (Number.isFinite(l) ? l : null)),
      })),
    },
    (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    1,
  );
}

// ---- links -------------------------------------------------------------------------------------------------

export function isExperimentFragment(hash: string): boolean {
  return /^#?exp=/.test(hash);
}

/** `exp=<base64url(deflate(JSON spec))>` (the same primitives and defences as run links, share.ts). */
export function experimentFragment(spec: ExperimentSpec): string {
  const json = JSON.stringify(ExperimentSpecSchema.parse(spec));
  return `exp=${toBase64Url(deflateSync(new TextEncoder().encode(json), { level: 9 }))}`;
}

export function experimentLink(baseUrl: string, spec: ExperimentSpec): string {
  return `${baseUrl.split('#')[0]}#${experimentFragment(spec)}`;
}

/** Decode a location hash; never throws: a bad link is one line for the person. */
export function decodeExperimentFragment(
  hash: string,
): { ok: true; spec: ExperimentSpec } | { ok: false; error: string } {
  try {
    const h = hash.startsWith('#') ? hash.slice(1) : hash;
    if (!h.startsWith('exp=')) throw new LinkError('the link has no "exp=" part');
    const payload = h.slice(4);
    if (!payload) throw new LinkError('the link has no experiment data after "exp="');
    if (payload.length > MAX_EXP_LINK_CHARS)
      throw new LinkError(
        `the link is too long (${payload.length} characters; an experiment link has at most ${MAX_EXP_LINK_CHARS})`,
      );
    const bytes = inflateCapped(fromBase64Url(payload), MAX_EXP_JSON_BYTES);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new LinkError('the link data is not text');
    }
    const value = safeJsonParse(text);
    const r = ExperimentSpecSchema.safeParse(value);
    if (!r.success) throw new LinkError(`the link's experiment is invalid: ${issuesOneLine(r.error.issues)}`);
    return { ok: true, spec: r.data };
  } catch (e) {
    return {
      ok: false,
      error: e instanceof LinkError ? e.message : `the link could not be read (${(e as Error)?.message ?? String(e)})`,
    };
  }
}

// ---- time estimate ----------------------------------------------------------------------------------------

/** Seconds an experiment should take, from one calibration (ms per step, per evaluation, per preparation). */
export function estimateSeconds(runs: RunConfig[], cal: { prepareMs: number; stepMs: number; evalMs: number }): number {
  let ms = 0;
  for (const c of runs) {
    const evals = c.eval.every > 0 ? Math.floor(c.train.steps / c.eval.every) + 2 : 0;
    ms += cal.prepareMs + c.train.steps * cal.stepMs + evals * cal.evalMs;
  }
  return ms / 1000;
}
