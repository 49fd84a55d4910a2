/**
 * Setup validation for the form: every problem is attached to the control it concerns (a dotted
 * path such as "train.contextLength" or "method.params.rank"), in words, before a run can start.
 * The rules are the engine's (src/engine/validate.ts `validateRun`, shared with the CLI and the
 * trainer: schema, method parameters, targets against the model, the memory plan); this file adds
 * only the form's own: files not chosen, a software adapter, measurement switched off.
 *
 * The page's method records are the worker's plain metadata (no code), so a method's own cross-field
 * checks (its `validate`) run in the worker: their answer for the current draft comes in as
 * `methodIssues` (store/setupSlice.ts methodCheck) and is reported where validateRun would report it.
 */
import type { RunConfig } from '../engine/config';
import type { ModelConfig } from '../engine/model/config';
import type { MemoryLimits } from '../engine/memory-plan';
import { validateRun } from '../engine/validate';
import { plainSchemaMessage } from '../engine/strings';
import type { MethodMeta } from '../worker/protocol';

export interface Issue {
  path: string;
  message: string;
  level: 'error' | 'warning';
}

export interface SetupContext {
  methods: MethodMeta[];
  /** The chosen method's cross-field checks on this draft, from the worker (null: none answered for it yet). */
  methodIssues?: readonly string[] | null;
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
  /** The adapter's buffer limits and a memory budget, for the memory plan (absent: WebGPU's minimums, 4 GiB). */
  limits?: MemoryLimits | null;
}

export interface Validation {
  config: RunConfig | null;
  issues: Issue[];
  errors: number;
}

export function validateSetup(draft: unknown, ctx: SetupContext): Validation {
  const issues: Issue[] = [];
  const err = (path: string, message: string) => issues.push({ path, message, level: 'error' });
  const warn = (path: string, message: string) => issues.push({ path, message, level: 'warning' });

  // The engine's one validation layer (src/engine/validate.ts) — the same rules and words as the CLI
  // and the trainer: schema, method parameters, targets/layers/overrides against the model, the
  // memory plan. The page adds only what is about the form: files chosen, measurement switched off.
  const v = validateRun(draft, ctx.arch, {
    methods: ctx.methods.length ? ctx.methods : null,
    limits: ctx.limits ?? null,
  });
  // the method's own checks, as validateRun runs them: only when its parameters passed the other checks;
  // a message that names its parameter ("method.params.rank: …") goes next to that parameter's control
  if (ctx.methodIssues?.length && !v.issues.some((i) => i.level === 'error' && i.path.startsWith('method.')))
    for (const m of ctx.methodIssues) {
      const at = /^(method\.params\.\w+): (.+)$/s.exec(m);
      v.issues.push({ path: at ? at[1] : 'method.params', message: at ? at[2] : m, level: 'error' });
    }
  // zod's own words ("Too small: expected number to be >0") become plain ones ("must be greater than 0")
  for (const i of v.issues) issues.push({ ...i, message: sentence(plainSchemaMessage(i.message)) });
  const d = (draft ?? {}) as Partial<RunConfig>;
  const method = ctx.methods.find((m) => m.id === d.method?.id);

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
  return { config: errors === 0 ? v.config : null, issues: dedupe(issues), errors };
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

/** The engine's phrase as a sentence for the form: capitalised, with a full stop. */
function sentence(msg: string): string {
  return msg.charAt(0).toUpperCase() + msg.slice(1) + (/[.?!]$/.test(msg) ? '' : '.');
}

/** Issues for one control: exact path, or any path under it ("train" gets "train.steps" only when asked). */
export function issuesAt(issues: readonly Issue[], path: string, opts: { prefix?: boolean } = {}): Issue[] {
  return issues.filter((i) => i.path === path || (opts.prefix && i.path.startsWith(path + '.')));
}
