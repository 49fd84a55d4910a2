/**
 * RunConfig: one serialisable object that IS the run — the CLI's --config, the share link, the
 * IndexedDB key and the export (ARCHITECTURE.md §7). Validated by zod on every way in; errors name
 * the field and its allowed range.
 */
import { z } from 'zod';
import { ModelConfigSchema, MODEL_PRESETS, type ModelConfig } from './model/config';
import { assertSafeKeys, didYouMean, FORBIDDEN_KEYS, issuesOneLine } from './strings';

/** GPT-2's module types (the page's checkboxes for GPT-2 models); other families name their own (model/families.ts). */
export const TARGET_MODULES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
export type TargetModule = (typeof TARGET_MODULES)[number];

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest (64 hex characters)');

export const ModelRefSchema = z.discriminatedUnion('source', [
  /** An architecture preset, randomly initialised from the run seed (pretraining, tests). */
  z.strictObject({ source: z.literal('preset'), id: z.string().min(1).max(64), arch: ModelConfigSchema.optional() }),
  /** A model shipped under public/models/<id>/. */
  z.strictObject({ source: z.literal('builtin'), id: z.string().regex(/^[\w.-]{1,64}$/), hash: hash.optional() }),
  /** A person's own files (page: picked files; CLI: a directory). */
  z.strictObject({
    source: z.literal('local'),
    id: z.string().min(1).max(256),
    hash: hash.optional(),
    files: z
      .array(z.object({ name: z.string().max(256), sha256: hash }))
      .max(8)
      .optional(),
  }),
]);

export const DatasetRefSchema = z.strictObject({
  source: z.enum(['builtin', 'upload']),
  id: z.string().min(1).max(256),
  hash: hash.optional(),
});

/** How pairs and chats become training rows (src/engine/data/batcher.ts, chat.ts). */
export const DataOptionsSchema = z.strictObject({
  /** Loss only on completion / assistant tokens; false = on every token of the rendered text. */
  completionOnly: z.boolean().default(true),
  /** 'packed': windows run on across examples; 'padded': one example per row, padding ignored. */
  layout: z.enum(['packed', 'padded']).default('packed'),
  /** Chats: the model's chat_template (plain when it has none) or always the plain template. */
  chatTemplate: z.enum(['model', 'plain']).default('model'),
});

export const MethodRefSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a method id such as "lora"'),
  params: z.record(z.string().max(64), z.union([z.number(), z.string().max(256), z.boolean()])).default({}),
});

export const TargetsSchema = z.strictObject({
  /**
   * Module selectors in the model family's own names, matched as PEFT's target_modules are (the type
   * after the layer index, e.g. "attn.c_attn", "self_attn.q_proj", or its last part "q_proj"), or a
   * preset: "attention", "attention-mlp", "all-linear", or "default" — the family's own LoRA default as
   * PEFT has it (GPT-2 attn.c_attn, Llama/Qwen/GPT-Neo q_proj + v_proj, GPT-NeoX query_key_value), which
   * is what a config without modules gets. Checked against the model when the run starts.
   */
  modules: z
    .array(z.string().regex(/^[A-Za-z_][\w.-]{0,127}$/, 'a module name such as "attn.c_attn", "q_proj" or a preset'))
    .min(1)
    .default(['default']),
  /** Layer indices, or null for every layer. */
  layers: z.array(z.int().min(0).max(255)).nullable().default(null),
  /** Per-module rank overrides, e.g. {"h.0.attn.c_attn": 8} or {"mlp.c_fc": 2}. */
  rankOverrides: z.record(z.string().max(128), z.int().min(1).max(4096)).default({}),
});

export const TrainSchema = z.strictObject({
  steps: z.int().min(1).max(1_000_000).default(50),
  batchSize: z.int().min(1).max(512).default(4),
  contextLength: z.int().min(2).max(8192).default(32),
  lr: z.number().positive().max(10).default(1e-3),
  weightDecay: z.number().min(0).max(10).default(0),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().max(1).default(1e-8),
  gradClip: z.number().min(0).max(1e6).default(1),
  warmupSteps: z.int().min(0).max(1_000_000).default(0),
  schedule: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
  minLrRatio: z.number().min(0).max(1).default(0.1),
});

export const EvalSchema = z.strictObject({
  every: z.int().min(0).max(1_000_000).default(10),
  batches: z.int().min(1).max(1000).default(2),
});

export const AnalysisSchema = z.strictObject({
  every: z.int().min(0).max(1_000_000).default(0),
  k: z.int().min(1).max(64).default(10),
  eps: z.number().gt(0).lt(1).default(0.5),
});

export const RunConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    name: z.string().max(120).optional(),
    model: ModelRefSchema.default({ source: 'preset', id: 'micro' }),
    dataset: DatasetRefSchema.default({ source: 'builtin', id: 'english' }),
    data: DataOptionsSchema.default(DataOptionsSchema.parse({})),
    method: MethodRefSchema.default({ id: 'full', params: {} }),
    targets: TargetsSchema.default({ modules: ['default'], layers: null, rankOverrides: {} }),
    train: TrainSchema.default(TrainSchema.parse({})),
    eval: EvalSchema.default(EvalSchema.parse({})),
    analysis: AnalysisSchema.default(AnalysisSchema.parse({})),
    seed: z
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(0),
  })
  .strict();

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse and validate; throws ConfigError naming each bad field and what is allowed. */
export function parseRunConfig(input: unknown): RunConfig {
  // before zod: a "__proto__" key in a record (method.params) would set the output's prototype
  assertSafeKeys(input, 'run config', (m) => new ConfigError(m));
  const r = RunConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`invalid run config: ${issuesOneLine(r.error.issues)}`);
  return r.data;
}

/** The architecture a config trains: a preset's, or its explicit `arch`. Built-in/local models come from their files. */
export function presetArchitecture(cfg: RunConfig): ModelConfig | null {
  if (cfg.model.source !== 'preset') return null;
  const arch = cfg.model.arch ?? MODEL_PRESETS[cfg.model.id];
  if (!arch)
    throw new ConfigError(
      `model.id: unknown preset "${cfg.model.id}" (known: ${Object.keys(MODEL_PRESETS).join(', ')})`,
    );
  return arch;
}

/** Built-in run presets for `--config <name>`. */
export const RUN_PRESETS: Record<string, RunConfigInput> = {
  micro: {
    model: { source: 'preset', id: 'micro' },
    dataset: { source: 'builtin', id: 'english' },
    method: { id: 'full', params: {} },
    train: { steps: 20, batchSize: 4, contextLength: 32, lr: 3e-3, warmupSteps: 2 },
    eval: { every: 0, batches: 1 },
  },
  'gpt2-small': {
    model: { source: 'preset', id: 'gpt2-small' },
    dataset: { source: 'builtin', id: 'english' },
    method: { id: 'full', params: {} },
    train: { steps: 10, batchSize: 1, contextLength: 128, lr: 6e-4, warmupSteps: 0 },
    eval: { every: 0, batches: 1 },
  },
};

/**
 * Apply `key=value` overrides (CLI `--param`). A key is a dotted path (`train.lr`) or a unique leaf
 * name (`lr`, `seed`, `steps`); unknown leaves go to `method.params` (e.g. `rank`, `alpha`), which
 * the method's own schema validates. Values are parsed as JSON when possible (numbers, booleans).
 */
export function applyOverrides(input: RunConfigInput, overrides: string[]): RunConfigInput {
  const cfg = structuredClone(input) as Record<string, unknown>;
  const base = parseRunConfig(cfg) as unknown as Record<string, unknown>; // a ConfigError in one line, not a ZodError
  for (const ov of overrides) {
    const eq = ov.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--param "${ov}": expected key=value`);
    const key = ov.slice(0, eq).trim();
    const raw = ov.slice(eq + 1);
    const segments = key.split('.');
    const bad = segments.find((k) => FORBIDDEN_KEYS.has(k) || k === '');
    if (bad !== undefined)
      throw new ConfigError(
        `--param ${key}: ${bad === '' ? 'empty path segment' : `"${bad}" is not allowed in a path`}`,
      );
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const path = key.includes('.') ? segments : (findLeaf(base, key) ?? ['method', 'params', key]);
    if (key.includes('.')) checkDottedPath(base, path, key);
    assertSafeKeys(value, `--param ${key}`, (m) => new ConfigError(m));
    setPath(cfg, path, value);
  }
  return cfg as RunConfigInput;
}

/** Fields an object may hold that its default (parsed) value does not show. */
const OPTIONAL_FIELDS: Record<string, string[]> = { '': ['name'], model: ['arch', 'hash', 'files'], dataset: ['hash'] };
/** Objects whose keys are free (records): anything below them is the method's or the model's to check. */
const FREE_OBJECTS = new Set(['method.params', 'targets.rankOverrides', 'model.arch']);

/** A dotted --param path must name a field that exists ("train.lrr" is a typo, not a new field). */
function checkDottedPath(base: Record<string, unknown>, path: string[], key: string): void {
  let cur: unknown = base;
  for (let i = 0; i < path.length; i++) {
    const parent = path.slice(0, i).join('.');
    if (FREE_OBJECTS.has(parent)) return;
    const known = [...Object.keys((cur ?? {}) as object), ...(OPTIONAL_FIELDS[parent] ?? [])];
    if (!known.includes(path[i])) {
      const full = known.map((k) => (parent ? `${parent}.${k}` : k));
      throw new ConfigError(
        `--param ${key}: no field "${path.slice(0, i + 1).join('.')}"${didYouMean(path.slice(0, i + 1).join('.'), full) || ` (${parent || 'the config'} has ${known.join(', ')})`}`,
      );
    }
    cur = (cur as Record<string, unknown>)[path[i]];
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return;
  }
}

function findLeaf(obj: Record<string, unknown>, leaf: string): string[] | null {
  const hits: string[][] = [];
  const walk = (o: unknown, path: string[]) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      if (k === leaf) hits.push([...path, k]);
      if (path.length < 2 && k !== 'params') walk(v, [...path, k]);
    }
  };
  walk(obj, []);
  if (hits.length > 1) {
    // Prefer the shortest (e.g. "seed" at top level over a nested seed).
    hits.sort((a, b) => a.length - b.length);
    if (hits[0].length === hits[1].length)
      throw new ConfigError(
        `--param ${leaf}: ambiguous (${hits.map((h) => h.join('.')).join(', ')}); use the dotted path`,
      );
  }
  return hits[0] ?? null;
}

function setPath(o: Record<string, unknown>, path: string[], value: unknown) {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (cur[k] === undefined || typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}
