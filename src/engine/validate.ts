/**
 * The one validation layer of a run (issues 15 item 2, 18, 19 item 3): `validateRun(config, model)`
 * is called by the CLI's `train`, by `Trainer.create` and by the page's setup form, so the three
 * refuse the same things with the same words. The schema (RunConfigSchema) catches types and ranges;
 * this adds what needs the model, the method, the data and the adapter:
 *
 * - method: known id, parameters known to it (a typo names the closest parameter or config field),
 *   each within its spec, the method's own cross-field checks;
 * - targets: module selectors that match a linear of this model, layers that exist and are not
 *   repeated, rank overrides naming a module or module type the model has;
 * - context ≤ the model's, warmup ≤ steps, top-k ≤ the matrix size;
 * - evaluation bounded by the data: more batches than the validation split holds is clamped with a
 *   note; evaluation that would cost far more than training is refused with the figures;
 * - the memory plan (memory-plan.ts) against the adapter's limits, before anything is allocated.
 *
 * Every issue names the config path it concerns, so the page can show it next to the control.
 */
import { ConfigError, RunConfigSchema, type RunConfig } from './config';
import type { ModelConfig } from './model/config';
import type { MethodParamSpec } from './adapters/types';
import {
  DEFAULT_LIMITS,
  describePlan,
  fmtBytes,
  linearShapes,
  moduleTypeMatches,
  planMemory,
  splitLinearName,
  type MemoryLimits,
  type MemoryPlan,
} from './memory-plan';
import { didYouMean, escapeControl, issuesOneLine } from './strings';

export interface RunIssue {
  /** Dotted config path ("train.contextLength", "method.params.rank", "targets.rankOverrides"). */
  path: string;
  message: string;
  level: 'error' | 'warning';
}

/** What validation needs of a method (the registry's record, or the page's copy of it from the worker). */
export interface MethodFacts {
  id: string;
  label: string;
  params: readonly MethodParamSpec[];
  trainsBase?: boolean;
  validate?: (params: Record<string, unknown>, config: RunConfig) => string[];
}

/** Token counts of the tokenized splits (for the evaluation bound). */
export interface DataFacts {
  trainTokens: number;
  valTokens: number;
  probeTokens?: number;
}

export interface ValidateContext {
  /** The methods on offer (the registry's list); null/absent: the method is not checked here. */
  methods?: readonly MethodFacts[] | null;
  data?: DataFacts | null;
  limits?: MemoryLimits | null;
}

export interface RunValidation {
  config: RunConfig | null;
  issues: RunIssue[];
  errors: number;
  plan: MemoryPlan | null;
  /** Validation batches per evaluation after clamping to what the split holds. */
  evalBatches: number | null;
}

/** Targets presets the model families offer (model/language-model.ts): accepted as selectors. */
const TARGET_PRESETS = ['default', 'attention', 'attention-mlp', 'all-linear'];
/** Evaluation may cost at most this many times the training tokens (and at least 1M tokens is allowed). */
const EVAL_COST_RATIO = 10;
const EVAL_COST_FLOOR = 1_000_000;
/** `sample`/generate: the most new tokens one request may ask for. */
export const MAX_GENERATION_TOKENS = 4096;

export function validateRun(input: unknown, model: ModelConfig | null, ctx: ValidateContext = {}): RunValidation {
  const issues: RunIssue[] = [];
  const err = (path: string, message: string) => issues.push({ path, message, level: 'error' });
  const warn = (path: string, message: string) => issues.push({ path, message, level: 'warning' });

  const parsed = RunConfigSchema.safeParse(input);
  if (!parsed.success)
    for (const iss of parsed.error.issues)
      err(iss.path.map(String).join('.') || 'config', issuesOneLine([{ ...iss, path: [] }]));
  const cfg = parsed.success ? parsed.data : null;
  // The rules below read the raw input too, so that a form with one bad field still gets the others checked.
  const d = (input ?? {}) as Partial<RunConfig>;
  const steps = d.train?.steps;
  const T = d.train?.contextLength;

  // method and its parameters
  const methods = ctx.methods ?? null;
  const method = methods?.find((m) => m.id === d.method?.id) ?? null;
  if (methods && typeof d.method?.id === 'string' && !method)
    err(
      'method.id',
      `unknown method "${escapeControl(d.method.id)}"${
        didYouMean(
          d.method.id,
          methods.map((m) => m.id),
        ) || ` (known: ${methods.map((m) => m.id).join(', ')})`
      }`,
    );
  const params = (d.method?.params ?? {}) as Record<string, unknown>;
  if (method) {
    const known = method.params.map((p) => p.key);
    for (const k of Object.keys(params))
      if (!known.includes(k)) {
        const hint = didYouMean(k, [...known, ...configLeaves()]);
        err(
          'method.params',
          `"${escapeControl(k)}" is not a parameter of ${method.label} (its parameters: ${known.join(', ') || 'none'})${hint}`,
        );
      }
    for (const p of method.params) {
      const e = checkParamValue(p, params[p.key] ?? p.default);
      if (e) err(`method.params.${p.key}`, `${p.label} ${e}`);
    }
    if (cfg && method.validate && !issues.some((i) => i.level === 'error' && i.path.startsWith('method.')))
      try {
        for (const m of method.validate(params, cfg)) err('method.params', m);
      } catch (e) {
        err('method.params', (e as Error).message);
      }
  }

  // the model
  const lowRank = method ? !method.trainsBase : d.method?.id !== 'full';
  if (model) {
    if (typeof T === 'number' && T > model.contextLength)
      err(
        'train.contextLength',
        `the model reads at most ${model.contextLength} tokens; choose a context of 2…${model.contextLength}`,
      );
    const linears = linearShapes(model);
    const types = [...new Set(linears.map((l) => splitLinearName(l.name)!.type))];
    const layers = d.targets?.layers;
    const known = linears.length > 0; // false: a family whose module shapes the plan does not list yet
    if (Array.isArray(layers)) {
      if (layers.length === 0) err('targets.layers', 'choose at least one layer (or null for all)');
      const seen = new Set<number>();
      const dup = layers.filter((l) => (seen.has(l) ? true : (seen.add(l), false)));
      if (dup.length) err('targets.layers', `layer ${[...new Set(dup)].join(', ')} is listed twice`);
      const bad = layers.filter((l) => typeof l === 'number' && (l < 0 || l >= model.nLayer));
      if (bad.length)
        err('targets.layers', `the model has layers 0…${model.nLayer - 1}; layer ${bad.join(', ')} does not exist`);
    }
    const selectors = Array.isArray(d.targets?.modules) ? d.targets.modules : [];
    if (lowRank && known)
      for (const s of selectors)
        if (typeof s === 'string' && !TARGET_PRESETS.includes(s) && !types.some((t) => moduleTypeMatches(t, s)))
          err(
            'targets.modules',
            `"${escapeControl(s)}" names no linear of this model${didYouMean(s, types)} (its modules: ${types.join(', ')})`,
          );
    const names = new Set(linears.map((l) => l.name));
    const minDim = new Map(linears.map((l) => [l.name, Math.min(l.inDim, l.outDim)]));
    for (const [key, r] of known ? Object.entries(d.targets?.rankOverrides ?? {}) : []) {
      const shown = escapeControl(key);
      const matches = names.has(key)
        ? [key]
        : linears.filter((l) => moduleTypeMatches(splitLinearName(l.name)!.type, key)).map((l) => l.name);
      if (!matches.length) {
        const s = splitLinearName(key);
        const why =
          s && s.layer >= model.nLayer
            ? `layer ${s.layer} does not exist (the model has layers 0…${model.nLayer - 1})`
            : `no module or module type of this model is called that${didYouMean(key, [...types, ...names])}`;
        err(`targets.rankOverrides`, `rank override "${shown}": ${why}`);
        continue;
      }
      const cap = Math.min(...matches.map((n) => minDim.get(n)!));
      if (typeof r === 'number' && r > cap)
        warn('targets.rankOverrides', `rank override "${shown}" = ${r} exceeds the matrix size (${cap})`);
    }
    if (lowRank && method && known) {
      const cap = Math.min(...linears.map((l) => Math.min(l.inDim, l.outDim)));
      for (const k of ['rank', 'r'])
        if (
          typeof params[k] === 'number' &&
          (params[k] as number) > cap &&
          !issues.some((i) => i.path === `method.params.${k}`)
        )
          warn(
            `method.params.${k}`,
            `rank ${params[k] as number} exceeds the size of the target matrices (${cap}): ΔW cannot have rank above ${cap}, so the extra rank only adds parameters`,
          );
    }
    const k = d.analysis?.k;
    const kCap = Math.min(...linears.map((l) => Math.min(l.inDim, l.outDim)));
    if (known && typeof k === 'number' && k > kCap) err('analysis.k', `top-k ${k} exceeds the matrix size (${kCap})`);
  }

  // schedule
  const warm = d.train?.warmupSteps;
  if (typeof steps === 'number' && typeof warm === 'number' && warm > steps)
    warn(
      'train.warmupSteps',
      `warmup (${warm} steps) is longer than the run (${steps} steps): the learning rate never reaches its peak (warmup is cut to ${steps})`,
    );

  // evaluation bounded by the data
  let evalBatchCount: number | null = cfg ? cfg.eval.batches : null;
  if (cfg && ctx.data) {
    const perBatch = cfg.train.batchSize * cfg.train.contextLength;
    const windows = Math.max(0, Math.ceil((ctx.data.valTokens - 1) / cfg.train.contextLength));
    const available = Math.ceil(windows / cfg.train.batchSize);
    if (cfg.eval.every > 0 && available === 0)
      err(
        'eval.every',
        `the validation split has ${ctx.data.valTokens} tokens: too few to evaluate with context ${cfg.train.contextLength}`,
      );
    else if (cfg.eval.batches > available && cfg.eval.every > 0) {
      warn(
        'eval.batches',
        `the validation split holds ${available} batch(es) of ${cfg.train.batchSize}×${cfg.train.contextLength} tokens; evaluating ${available}, not ${cfg.eval.batches}`,
      );
      evalBatchCount = available;
    }
    if (cfg.eval.every > 0 && evalBatchCount !== null) {
      const evals = Math.floor(cfg.train.steps / cfg.eval.every) + 1;
      const evalTokens = evals * evalBatchCount * perBatch * (ctx.data.probeTokens ? 2 : 1);
      const trainTokens = cfg.train.steps * perBatch;
      if (evalTokens > Math.max(EVAL_COST_FLOOR, EVAL_COST_RATIO * trainTokens))
        err(
          'eval.batches',
          `evaluation would process ${evalTokens.toLocaleString('en-US')} tokens against ${trainTokens.toLocaleString('en-US')} for training (${(evalTokens / trainTokens).toFixed(0)}×); raise eval.every or lower eval.batches`,
        );
    }
  }

  // memory, before anything is allocated
  let plan: MemoryPlan | null = null;
  if (cfg && model) {
    plan = planMemory(model, cfg, ctx.limits ?? DEFAULT_LIMITS, { trainsBase: method?.trainsBase });
    // one issue per exceeded limit; what would fit instead goes with the last one
    plan.problems.forEach((p, i) =>
      err(
        'model',
        i === plan!.problems.length - 1 && plan!.suggestions.length ? `${p}; ${plan!.suggestions.join('; ')}` : p,
      ),
    );
  }

  const errors = issues.filter((i) => i.level === 'error').length;
  return {
    config: errors ? null : cfg,
    issues: dedupe(issues),
    errors,
    plan,
    evalBatches: errors ? null : evalBatchCount,
  };
}

/**
 * validateRun for code paths that must stop: throws one ConfigError with one line per error
 * ("path: message"), and returns the config, the plan and the warnings (notes) otherwise.
 */
export function assertValidRun(
  input: unknown,
  model: ModelConfig | null,
  ctx: ValidateContext = {},
): { config: RunConfig; plan: MemoryPlan | null; notes: string[]; evalBatches: number } {
  const v = validateRun(input, model, ctx);
  if (v.errors || !v.config)
    throw new ConfigError(
      v.issues
        .filter((i) => i.level === 'error')
        .map((i) => `${i.path}: ${i.message}`)
        .join('\n'),
    );
  return {
    config: v.config,
    plan: v.plan,
    notes: v.issues.filter((i) => i.level === 'warning').map((i) => `${i.path}: ${i.message}`),
    evalBatches: v.evalBatches ?? v.config.eval.batches,
  };
}

/** Bounds on a generation request (CLI `sample`, the page's Generate tab). Returns the problems. */
export function validateGeneration(opts: { maxTokens: number; temperature: number; topK: number }): string[] {
  const out: string[] = [];
  const { maxTokens, temperature, topK } = opts;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_GENERATION_TOKENS)
    out.push(`tokens must be an integer in 1…${MAX_GENERATION_TOKENS}, got ${maxTokens}`);
  if (!(temperature >= 0 && temperature <= 100)) out.push(`temperature must be in 0…100, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) out.push(`top-k must be a whole number ≥ 0, got ${topK}`);
  return out;
}

export { describePlan, fmtBytes };

/** A parameter value against its spec: the problem in words, or null. */
export function checkParamValue(p: MethodParamSpec, v: unknown): string | null {
  switch (p.type) {
    case 'int':
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v))
        return `must be a number, got ${JSON.stringify(v) ?? String(v)}`;
      if (p.type === 'int' && !Number.isInteger(v)) return `must be a whole number, got ${v}`;
      if (p.min !== undefined && v < p.min) return `must be at least ${p.min}, got ${v}`;
      if (p.max !== undefined && v > p.max) return `must be at most ${p.max}, got ${v}`;
      return null;
    }
    case 'bool':
      return typeof v === 'boolean' ? null : `must be true or false, got ${JSON.stringify(v)}`;
    case 'enum':
      return typeof v === 'string' && !!p.options?.includes(v)
        ? null
        : `must be one of ${p.options?.join(', ')}, got ${JSON.stringify(v)}`;
  }
}

/** Dotted names of the config's fields ("train.steps", "seed"): suggestions for a misplaced --param. */
function configLeaves(): string[] {
  const out: string[] = [];
  const walk = (o: unknown, prefix: string) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (k === 'params' || k === 'rankOverrides') continue;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, p);
      else out.push(p, k);
    }
  };
  walk(RunConfigSchema.parse({}), '');
  return out;
}

function dedupe(xs: RunIssue[]): RunIssue[] {
  const seen = new Set<string>();
  return xs.filter((i) => {
    const k = `${i.path}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
