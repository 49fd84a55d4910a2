/**
 * An experiment (issue 13): ONE serialisable object — a base run, sweep axes and labelled variants,
 * seeds, a budget, a learning-rate policy, the measurements wanted and the verdict rule — validated by
 * zod like RunConfig (config.ts), shareable as a link (link.ts), expanded deterministically into the
 * runs it stands for (`expandExperiment`).
 *
 * Two kinds:
 *   - `train`: every run is a normal RunConfig (the base, then the budget's, the variant's and the
 *     axes' settings by dotted path, then the lr and the seed), trained by the same Trainer as `train`;
 *   - `matrix-fit`: no model — fit a target matrix of controlled spectrum with a parameterised adapter
 *     on the GPU (matrix-fit.ts); the paths then address a FitConfig.
 */
import { z } from 'zod';
import { ConfigError, parseRunConfig, type RunConfig } from '../config';
import { getMethod, listMethods, resolveMethodParams } from '../adapters/registry';
import { assertSafeKeys, escapeControl, FORBIDDEN_KEYS, issuesOneLine } from '../strings';
import { FitConfigSchema, parseFitConfig, type FitConfig } from './matrix-fit';
import { listDatasets } from '../data/datasets';

/**
 * The studio's learning rate for methods without their own `defaultLr` (the same value as the page's
 * DEFAULT_LR in src/ui/methods.ts; the engine may not import the UI).
 */
export const DEFAULT_LR = 3e-3;

/** At most this many runs per experiment (variants × axes × lr grid × seeds). */
export const MAX_RUNS = 400;

const PATH_RE = /^[A-Za-z][\w-]{0,47}(\.[A-Za-z][\w-]{0,47}){0,5}$/;
const path = z.string().regex(PATH_RE, 'a dotted path such as "method.params.rank" or "train.lr"');
const scalar = z.union([z.number(), z.string().max(256), z.boolean(), z.null()]);
export const SettingValueSchema = z.union([
  scalar,
  z.array(z.union([z.string().max(128), z.number()])).max(64),
  /** A whole object of scalars, e.g. "method.params": {"rank": 8, "alpha": 16}. */
  z.record(z.string().max(64), scalar).refine((r) => Object.keys(r).length <= 32, 'at most 32 keys'),
]);
export type SettingValue = z.infer<typeof SettingValueSchema>;
/** Settings by dotted path, applied in key order (a record keeps insertion order). */
const settings = z.record(path, SettingValueSchema).refine((r) => Object.keys(r).length <= 32, 'at most 32 settings');

export const MEASUREMENTS = [
  'loss', // per-step training loss
  'val', // validation loss (step 0, every eval.every steps, final)
  'probe', // forgetting probe (held-out pretraining text)
  'intruders', // intruder dimensions vs ε at k (analysis.k, default 10), summed over the targeted matrices
  'params', // trainable parameters
  'optimizer-bytes', // exact optimizer-state bytes
  'time', // wall seconds
  'rank-eval', // DyLoRA: val loss at every evaluation rank in `evalRanks`
  'extract', // PHLoRA: energy captured and re-merged val loss at `extractRanks`
  'fit-error', // matrix-fit: relative Frobenius error
  'sequential', // after everything else: a second task (`secondTask`), then task 1's val loss again (runner.ts)
] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

export const VERDICT_RULES = ['compare', 'within', 'ratio', 'trend', 'threshold', 'speedup'] as const;
export type VerdictRuleId = (typeof VERDICT_RULES)[number];

const groupRef = z.string().min(1).max(120);
export const ClauseSchema = z
  .strictObject({
    rule: z.enum(VERDICT_RULES),
    /** A metric of the results table (verdict.ts lists them), e.g. "valLoss", "intruders", "probeDelta". */
    metric: z.string().regex(/^[A-Za-z][\w@.-]{0,63}$/, 'a metric name such as "valLoss"'),
    /** compare / within / ratio: b's metric when it differs (DyLoRA's valLoss@r4 against LoRA r=4's valLoss). */
    metricB: z
      .string()
      .regex(/^[A-Za-z][\w@.-]{0,63}$/, 'a metric name such as "valLoss"')
      .optional(),
    /** compare / within / ratio / speedup: group a against group b (labels of the expanded groups). */
    a: groupRef.optional(),
    b: groupRef.optional(),
    /** trend / threshold: groups in order. */
    groups: z.array(groupRef).min(1).max(32).optional(),
    /** compare: '<' a below b; '>' a above b. threshold: each group's mean op value. */
    op: z.enum(['<', '>', '<=', '>=']).optional(),
    /** compare: a must beat b by at least this relative margin (0.02 = 2 %). within: relative tolerance. */
    margin: z.number().min(0).max(100).optional(),
    /** ratio: a/b at most max; speedup: b's steps / a's steps at least min; threshold: the value. */
    max: z.number().optional(),
    min: z.number().optional(),
    value: z.number().optional(),
    /** trend: 'up' non-decreasing, 'down' non-increasing along `groups` (with a relative slack `margin`). */
    direction: z.enum(['up', 'down']).optional(),
    /** What the clause says in words (shown next to the rule). */
    says: z.string().max(300).optional(),
  })
  .superRefine((c, ctx) => {
    // what each rule reads (verdict.ts): a rule without it would judge nothing
    const need = (ok: boolean, path: string, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [path], message: `a ${c.rule} clause ${message}` });
    };
    if (['compare', 'within', 'ratio', 'speedup'].includes(c.rule)) {
      need(c.a !== undefined, 'a', 'needs group a');
      need(c.b !== undefined, 'b', 'needs group b');
      need(
        c.a === undefined || c.a !== c.b || (c.metricB !== undefined && c.metricB !== c.metric),
        'b',
        'compares two different groups (or two metrics)',
      );
    }
    if (c.rule === 'ratio') need(c.max !== undefined || c.min !== undefined, 'max', 'needs a bound: max, min or both');
    if (c.rule === 'trend')
      need(c.groups !== undefined && c.groups.length !== 1, 'groups', 'needs at least two groups in order'); // [] : min(1)'s message
    if (c.rule === 'threshold') {
      need(c.groups !== undefined, 'groups', 'needs the groups it holds for');
      need(c.value !== undefined, 'value', 'needs the value to compare with');
    }
  });
export type Clause = z.infer<typeof ClauseSchema>;

/**
 * The second task of the 'sequential' measurement: a built-in dataset (an upload would need a second
 * file the queue does not carry) and its number of steps; the rest of the run's settings carry over.
 * A budget may override it by path ("secondTask.steps": 3 in smoke).
 */
export const SecondTaskSchema = z.strictObject({
  dataset: z.strictObject({
    source: z.literal('builtin', { error: 'a second task must be a built-in dataset (source "builtin")' }),
    id: z.string().min(1).max(256),
  }),
  steps: z.int().min(1).max(100_000),
});
export type SecondTask = z.infer<typeof SecondTaskSchema>;

export const LrPolicySchema = z.discriminatedUnion('policy', [
  /** Each method's documented default (AdapterMethod.defaultLr, else DEFAULT_LR), unless a variant sets train.lr. */
  z.strictObject({ policy: z.literal('per-method-defaults') }),
  /** Every variant at every lr of the grid; each group is judged at its best lr by validation loss. */
  z.strictObject({ policy: z.literal('grid'), values: z.array(z.number().positive().max(10)).min(1).max(8) }),
  /** Exactly the lr the configs carry (matrix-fit, or a claim about one shared lr). */
  z.strictObject({ policy: z.literal('as-configured') }),
]);
export type LrPolicy = z.infer<typeof LrPolicySchema>;

export const ExperimentSchema = z.strictObject({
  version: z.literal(1).default(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'an id such as "intruders" (a-z, 0-9, -)'),
  title: z.string().min(1).max(120),
  /** The paper's claim, quoted verbatim where the abstract says it. */
  claim: z.string().min(1).max(2000),
  paper: z.strictObject({
    title: z.string().min(1).max(300),
    arxiv: z.string().regex(/^\d{4}\.\d{4,5}$/, 'an arXiv id such as 2410.21228'),
  }),
  /** Where the design departs from the paper, and why (shown under the claim). */
  notes: z.string().max(2000).optional(),
  kind: z.enum(['train', 'matrix-fit']).default('train'),
  /** The base run (RunConfig or FitConfig input; defaults fill the rest). */
  base: z.record(z.string().max(64), z.unknown()).default({}),
  /** Settings per budget: smoke (CI, seconds) and full (the README's figures). */
  budgets: z.strictObject({ smoke: settings.default({}), full: settings.default({}) }).default({ smoke: {}, full: {} }),
  budget: z.enum(['smoke', 'full']).default('smoke'),
  /** Labelled variants (methods, scalings); none = one variant, the base. */
  variants: z
    .array(z.strictObject({ label: z.string().min(1).max(80), set: settings.default({}) }))
    .max(32)
    .default([]),
  /** Cartesian sweep axes over every variant; the label gets "name=value". */
  axes: z
    .array(
      z.strictObject({
        path,
        name: z.string().min(1).max(32).optional(),
        values: z.array(SettingValueSchema).min(1).max(16),
      }),
    )
    .max(4)
    .default([]),
  seeds: z.int().min(1).max(16).default(1),
  lr: LrPolicySchema.default({ policy: 'per-method-defaults' }),
  measure: z.array(z.enum(MEASUREMENTS)).min(1).max(MEASUREMENTS.length).default(['loss', 'val']),
  /** DyLoRA rank-eval: ranks to evaluate at; PHLoRA extract: ranks to extract at. */
  evalRanks: z.array(z.int().min(1).max(4096)).max(16).optional(),
  extractRanks: z.array(z.int().min(1).max(4096)).max(16).optional(),
  /** The 'sequential' measurement's second task (sequential two-task forgetting). */
  secondTask: SecondTaskSchema.optional(),
  /** The verdict: every clause must hold (verdict.ts). */
  verdict: z.strictObject({ all: z.array(ClauseSchema).min(1).max(8) }),
});
export type Experiment = z.infer<typeof ExperimentSchema>;
export type ExperimentInput = z.input<typeof ExperimentSchema>;

export class ExperimentError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

/** Parse and validate an experiment; throws ExperimentError with one line naming the fields. */
export function parseExperiment(input: unknown): Experiment {
  assertSafeKeys(input, 'experiment', (m) => new ExperimentError(m));
  const r = ExperimentSchema.safeParse(input);
  if (!r.success) throw new ExperimentError(`invalid experiment: ${issuesOneLine(r.error.issues)}`);
  const exp = r.data;
  const labels = new Set<string>();
  for (const v of exp.variants) {
    if (labels.has(v.label)) throw new ExperimentError(`variants: the label "${escapeControl(v.label)}" is used twice`);
    labels.add(v.label);
  }
  const sequential = exp.measure.includes('sequential');
  if (sequential && exp.kind !== 'train')
    throw new ExperimentError(`measure "sequential" needs training runs, not ${exp.kind}`);
  if (sequential && !exp.secondTask)
    throw new ExperimentError('measure "sequential" needs secondTask: { dataset: { source: "builtin", id }, steps }');
  if (exp.secondTask && !sequential)
    throw new ExperimentError('secondTask is set but measure lacks "sequential" (nothing would run it)');
  for (const b of ['smoke', 'full'] as const) secondTaskOf({ ...exp, budget: b });
  return exp;
}

/** Budget settings under this prefix address the experiment's secondTask, not the runs' configs. */
const SECOND_TASK_PATH = 'secondTask.';

/**
 * The second task of the experiment at its budget (the budget's "secondTask.…" settings applied), or
 * null without one. Throws an ExperimentError naming the budget for a bad override or an unknown dataset.
 */
export function secondTaskOf(exp: Pick<Experiment, 'secondTask' | 'budgets' | 'budget'>): SecondTask | null {
  const over = Object.entries(exp.budgets[exp.budget]).filter(([p]) => p.startsWith(SECOND_TASK_PATH));
  if (!exp.secondTask) {
    if (over.length)
      throw new ExperimentError(`budgets.${exp.budget}: ${over[0][0]} is set but the experiment has no secondTask`);
    return null;
  }
  const t: Record<string, unknown> = structuredClone(exp.secondTask);
  for (const [p, v] of over) setPath(t, p.slice(SECOND_TASK_PATH.length), v);
  const r = SecondTaskSchema.safeParse(t);
  if (!r.success)
    throw new ExperimentError(
      `secondTask${over.length ? ` (with budgets.${exp.budget}'s overrides)` : ''}: ${issuesOneLine(r.error.issues)}`,
    );
  const known = listDatasets().map((d) => d.id);
  if (!known.includes(r.data.dataset.id))
    throw new ExperimentError(
      `secondTask.dataset.id: unknown built-in dataset "${escapeControl(r.data.dataset.id)}" (known: ${known.join(', ')})`,
    );
  return r.data;
}

/** One run of an expanded experiment. */
interface ExpandedBase {
  /** Unique and stable: the queue's key for resume ("<group> · lr=… · seed=…"). */
  key: string;
  /** The group the verdict compares (variant label plus axis values, without lr and seed). */
  group: string;
  label: string;
  lr: number;
  seed: number;
  /** Axis values by axis name (for trend plots). */
  axes: Record<string, SettingValue>;
}
export type ExpandedRun =
  (ExpandedBase & { kind: 'train'; config: RunConfig }) | (ExpandedBase & { kind: 'matrix-fit'; fit: FitConfig });

/** Method ids an experiment names (base and variants) that the registry does not hold. */
export function waitingFor(exp: Pick<Experiment, 'kind' | 'base' | 'variants' | 'axes'>): string[] {
  if (exp.kind !== 'train') return [];
  const known = new Set(listMethods().map((m) => m.id));
  const ids = new Set<string>();
  const baseMethod = (exp.base.method as { id?: unknown } | undefined)?.id;
  if (typeof baseMethod === 'string') ids.add(baseMethod);
  for (const v of exp.variants) if (typeof v.set['method.id'] === 'string') ids.add(v.set['method.id']);
  for (const a of exp.axes) if (a.path === 'method.id') for (const x of a.values) if (typeof x === 'string') ids.add(x);
  return [...ids].filter((id) => !known.has(id)).sort();
}

function fmt(v: SettingValue): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.join('+');
  if (v !== null && typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}:${String(x)}`)
      .join(',');
  return String(v);
}

/** Set a dotted path in a plain object (intermediate objects created); forbidden keys refused. */
export function setPath(o: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  for (const k of keys)
    if (FORBIDDEN_KEYS.has(k)) throw new ExperimentError(`path ${dotted}: "${k}" is not allowed in a path`);
  let cur = o;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = cur[keys[i]];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) cur[keys[i]] = {};
    cur = cur[keys[i]] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = structuredClone(value);
}

/** The lr a train config gets under the per-method-defaults policy. */
export function defaultLrOf(methodId: string): number {
  return getMethod(methodId).defaultLr?.value ?? DEFAULT_LR;
}

/**
 * Every run of the experiment, in a fixed order: variants (as listed) × axes (first axis slowest) ×
 * lr grid × seeds. Pure: the same experiment gives the same list (labels, keys, configs). Variants
 * whose method is not in the registry are refused (a preset lists them as `waiting`).
 */
export function expandExperiment(expIn: Experiment | ExperimentInput): ExpandedRun[] {
  const exp = parseExperiment(expIn);
  const missing = waitingFor(exp);
  if (missing.length)
    throw new ExperimentError(
      `experiment ${exp.id} is waiting for methods not in the engine yet: ${missing.join(', ')}`,
    );
  const variants = exp.variants.length ? exp.variants : [{ label: exp.id, set: {} }];
  let combos: { label: string; set: Record<string, SettingValue>; axes: Record<string, SettingValue> }[] = variants.map(
    (v) => ({ label: v.label, set: { ...v.set }, axes: {} }),
  );
  for (const axis of exp.axes) {
    const name = axis.name ?? axis.path.split('.').pop()!;
    combos = combos.flatMap((c) =>
      axis.values.map((val) => ({
        label: `${c.label} ${name}=${fmt(val)}`,
        set: { ...c.set, [axis.path]: val },
        axes: { ...c.axes, [name]: val },
      })),
    );
  }
  const total = combos.length * (exp.lr.policy === 'grid' ? exp.lr.values.length : 1) * exp.seeds;
  if (total > MAX_RUNS) throw new ExperimentError(`the experiment expands to ${total} runs (at most ${MAX_RUNS})`);
  const out: ExpandedRun[] = [];
  const second = secondTaskOf(exp);
  // "secondTask.…" settings belong to the second task (secondTaskOf), not to the run configs
  const budget = Object.fromEntries(
    Object.entries(exp.budgets[exp.budget]).filter(([p]) => !p.startsWith(SECOND_TASK_PATH)),
  );
  for (const c of combos) {
    const input = structuredClone(exp.base) as Record<string, unknown>;
    for (const [p, v] of Object.entries(budget)) setPath(input, p, v);
    for (const [p, v] of Object.entries(c.set)) setPath(input, p, v);
    if (exp.kind === 'matrix-fit') {
      const base = parseFitIn(input, c.label);
      const lrs = exp.lr.policy === 'grid' ? exp.lr.values : [base.lr];
      for (const lr of lrs)
        for (let s = 0; s < exp.seeds; s++) {
          const fit = parseFitIn({ ...input, lr, seed: base.seed + s }, c.label);
          const key = keyOf(c.label, exp.lr.policy === 'grid' ? lr : null, fit.seed);
          out.push({ kind: 'matrix-fit', key, group: c.label, label: key, lr, seed: fit.seed, axes: c.axes, fit });
        }
      continue;
    }
    const base = parseIn(input, c.label);
    if (second && base.dataset.source === 'builtin' && base.dataset.id === second.dataset.id)
      throw new ExperimentError(
        `variant "${escapeControl(c.label)}": secondTask.dataset is the run's own dataset (${escapeControl(second.dataset.id)}); the second task must be another dataset`,
      );
    const setsLr = 'train.lr' in c.set || 'train.lr' in budget;
    const lrs =
      exp.lr.policy === 'grid'
        ? exp.lr.values
        : exp.lr.policy === 'per-method-defaults' && !setsLr
          ? [defaultLrOf(base.method.id)]
          : [base.train.lr];
    for (const lr of lrs)
      for (let s = 0; s < exp.seeds; s++) {
        const seed = base.seed + s;
        if (seed > 2 ** 32 - 1)
          throw new ExperimentError(`variant "${escapeControl(c.label)}": seed ${seed} exceeds 2^32 − 1`);
        const label = keyOf(c.label, exp.lr.policy === 'grid' ? lr : null, seed);
        // lr (schema: positive, ≤ 10) and seed (checked above) are within RunConfig's ranges, so the
        // parsed base is reused instead of parsing every run again.
        const config: RunConfig = {
          ...structuredClone(base),
          name: label.slice(0, 120),
          seed,
          train: { ...base.train, lr },
        };
        out.push({ kind: 'train', key: label, group: c.label, label, lr, seed, axes: c.axes, config });
      }
  }
  const keys = new Set<string>();
  for (const r of out) {
    if (keys.has(r.key)) throw new ExperimentError(`two runs share the label "${escapeControl(r.key)}"`);
    keys.add(r.key);
  }
  return out;
}

function keyOf(group: string, lr: number | null, seed: number): string {
  return `${group}${lr === null ? '' : ` · lr=${lr}`} · seed=${seed}`;
}

function parseIn(input: unknown, label: string): RunConfig {
  try {
    const cfg = parseRunConfig(input);
    const m = getMethod(cfg.method.id);
    const params = resolveMethodParams(m, cfg.method.params); // a typo or out-of-range param fails here, not at run 7
    const problems = m.validate?.(params, cfg) ?? [];
    if (problems.length) throw new ConfigError(problems.join('; '));
    return cfg;
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ExperimentError(`variant "${escapeControl(label)}": ${e.message.replace(/\s*\n\s*/g, '; ')}`);
    throw e;
  }
}

function parseFitIn(input: unknown, label: string): FitConfig {
  try {
    return parseFitConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) throw new ExperimentError(`variant "${escapeControl(label)}": ${e.message}`);
    throw e;
  }
}

export { FitConfigSchema };
