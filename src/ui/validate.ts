/**
 * Setup validation for the form: every problem is attached to the control it concerns (a dotted
 * path such as "train.contextLength" or "method.params.rank"), in words, before a run can start.
 * The schema (RunConfigSchema) catches types and ranges; the rules below catch combinations the
 * schema cannot see: context longer than the model's, a rank above the matrix size, layers the
 * model does not have, warmup longer than the run, files not chosen.
 */
import { z } from 'zod';
import { RunConfigSchema, type RunConfig } from '../engine/config';
import type { ModelConfig } from '../engine/model/config';
import { checkParam, type MethodInfo } from './methods';

export interface Issue {
  path: string;
  message: string;
  level: 'error' | 'warning';
}

export interface SetupContext {
  methods: MethodInfo[];
  /** Architecture of the chosen model, when known (null: unknown yet). */
  arch: ModelConfig | null;
  /** Why the architecture could not be read. */
  archError?: string | null;
  /** The person's own model files are chosen (local source). */
  localModelReady: boolean;
  /** The uploaded dataset file is chosen (upload source). */
  uploadReady: boolean;
  /** A software adapter: warn about big models. */
  fallbackAdapter?: boolean;
}

export interface Validation {
  config: RunConfig | null;
  issues: Issue[];
  errors: number;
}

const RANK_KEYS = ['rank', 'r'];

export function validateSetup(draft: unknown, ctx: SetupContext): Validation {
  const issues: Issue[] = [];
  const err = (path: string, message: string) => issues.push({ path, message, level: 'error' });
  const warn = (path: string, message: string) => issues.push({ path, message, level: 'warning' });

  const r = RunConfigSchema.safeParse(draft);
  if (!r.success) {
    for (const iss of r.error.issues) err(iss.path.map(String).join('.') || 'config', humanIssue(iss));
  }
  const cfg = r.success ? r.data : null;
  const d = (draft ?? {}) as Partial<RunConfig>;

  // method and its parameters
  const method = ctx.methods.find((m) => m.id === d.method?.id);
  if (d.method?.id && ctx.methods.length && !method)
    err(
      'method.id',
      `Unknown method "${d.method.id}"; this version offers ${ctx.methods.map((m) => m.id).join(', ')}.`,
    );
  const params = (d.method?.params ?? {}) as Record<string, unknown>;
  if (method) {
    for (const p of method.params) {
      const e = checkParam(p, params[p.key] ?? p.default);
      if (e) err(`method.params.${p.key}`, e + '.');
    }
    const known = new Set(method.params.map((p) => p.key));
    for (const k of Object.keys(params))
      if (!known.has(k)) err('method.params', `"${k}" is not a parameter of ${method.label}.`);
    if (cfg && method.validate) {
      try {
        for (const m of method.validate(params, cfg as never)) err('method.params', m);
      } catch (e) {
        err('method.params', (e as Error).message);
      }
    }
  }

  // model
  if (d.model?.source === 'local' && !ctx.localModelReady)
    err(
      'model',
      d.model.id.startsWith('hf:')
        ? 'Download a Hugging Face model, or use one from the model library.'
        : 'Choose the model files (config.json + model.safetensors, and tokenizer.json if the model has one).',
    );
  if (ctx.archError) err('model', ctx.archError);
  const arch = ctx.arch;
  if (arch) {
    const T = d.train?.contextLength;
    if (typeof T === 'number' && T > arch.contextLength)
      err(
        'train.contextLength',
        `The model reads at most ${arch.contextLength} tokens; choose a context of 2…${arch.contextLength}.`,
      );
    const layers = d.targets?.layers;
    if (Array.isArray(layers)) {
      if (layers.length === 0) err('targets.layers', 'Choose at least one layer (or all).');
      const bad = layers.filter((l) => typeof l === 'number' && l >= arch.nLayer);
      if (bad.length)
        err('targets.layers', `The model has layers 0…${arch.nLayer - 1}; layer ${bad.join(', ')} does not exist.`);
    }
    const maxRank = arch.nEmbd; // every GPT-2 target matrix has min(in, out) = C
    if (method && !method.trainsBase) {
      for (const k of RANK_KEYS) {
        const v = params[k];
        // one message per control: the spec's own range comes first
        if (issues.some((i) => i.path === `method.params.${k}` && i.level === 'error')) continue;
        // wasteful rather than invalid (VeRA, for one, may want r > C); methods whose init cannot
        // take more than min(in, out) directions (SVD-based) say so through their own validate()
        if (typeof v === 'number' && v > maxRank)
          warn(
            `method.params.${k}`,
            `Rank ${v} exceeds the size of the target matrices (${maxRank}): ΔW cannot have rank above ${maxRank}, so the extra rank only adds parameters.`,
          );
      }
    }
    for (const [name, v] of Object.entries(d.targets?.rankOverrides ?? {})) {
      if (typeof v === 'number' && v > maxRank)
        warn('targets.rankOverrides', `Rank override ${name} = ${v} exceeds the matrix size (${maxRank}).`);
    }
    const k = d.analysis?.k;
    if (typeof k === 'number' && k > maxRank) err('analysis.k', `Top-k ${k} exceeds the matrix size (${maxRank}).`);
    const params_ = paramCountOf(arch);
    if (ctx.fallbackAdapter && params_ > 20e6)
      warn(
        'model',
        `This model has ${(params_ / 1e6).toFixed(0)}M parameters and the GPU adapter is a software fallback: expect minutes per step.`,
      );
  }

  // dataset
  if (d.dataset?.source === 'upload' && !ctx.uploadReady) err('dataset', 'Choose the dataset file (.txt or .jsonl).');

  // schedule and measurement
  const steps = d.train?.steps;
  const warm = d.train?.warmupSteps;
  if (typeof steps === 'number' && typeof warm === 'number' && Number.isFinite(steps) && warm > steps) {
    err(
      'train.warmupSteps',
      `Warmup (${warm} steps) is longer than the run (${steps} steps): the learning rate would never reach its peak.`,
    );
  }
  const ev = d.eval?.every;
  if (ev === 0) warn('eval.every', 'Validation and forgetting losses are off (every = 0).');
  else if (typeof ev === 'number' && typeof steps === 'number' && ev > steps)
    warn('eval.every', `Every ${ev} steps is longer than the run (${steps}): no validation loss will be measured.`);
  const an = d.analysis?.every;
  if (an === 0) warn('analysis.every', 'Spectra are measured only when you ask (Analyze), not during training.');
  else if (typeof an === 'number' && typeof steps === 'number' && an > steps)
    warn('analysis.every', `Every ${an} steps is longer than the run (${steps}): spectra only on demand.`);
  if (method?.trainsBase && d.targets?.rankOverrides && Object.keys(d.targets.rankOverrides).length) {
    warn('targets.rankOverrides', 'Full fine-tuning has no rank: overrides are ignored.');
  }

  const errors = issues.filter((i) => i.level === 'error').length;
  return { config: errors === 0 ? cfg : null, issues: dedupe(issues), errors };
}

function paramCountOf(a: ModelConfig): number {
  const C = a.nEmbd;
  return a.vocabSize * C + a.contextLength * C + a.nLayer * (12 * C * C + 13 * C);
}

function dedupe(xs: Issue[]): Issue[] {
  const seen = new Set<string>();
  return xs.filter((i) => {
    const k = `${i.path}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function humanIssue(iss: z.core.$ZodIssue): string {
  const msg = iss.message;
  // zod's own phrases are clear enough; capitalise and end with a period
  return msg.charAt(0).toUpperCase() + msg.slice(1) + (msg.endsWith('.') ? '' : '.');
}

/** Issues for one control: exact path, or any path under it ("train" gets "train.steps" only when asked). */
export function issuesAt(issues: readonly Issue[], path: string, opts: { prefix?: boolean } = {}): Issue[] {
  return issues.filter((i) => i.path === path || (opts.prefix && i.path.startsWith(path + '.')));
}
