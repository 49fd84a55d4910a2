/**
 * The setup form's working copy of a RunConfig. It may hold invalid values while a person types
 * (the validator explains them); helpers here set one dotted path immutably and build defaults.
 */
import { RunConfigSchema, type RunConfig } from '../engine/config';
import type { MethodMeta } from '../worker/protocol';
import { DEFAULT_LR, defaultParams } from './methods';

/** Small, quick defaults: the studio's first run should finish in seconds even on a software adapter. */
export function defaultDraft(methods: MethodMeta[] = [], modelKey = 'preset:micro'): RunConfig {
  const method = methods.find((m) => m.id === 'lora') ?? methods[0];
  const [source, id] = modelKey.split(':');
  return RunConfigSchema.parse({
    model: source === 'builtin' ? { source: 'builtin', id } : { source: 'preset', id: id ?? 'micro' },
    dataset: { source: 'builtin', id: 'brown-news' },
    method: { id: method?.id ?? 'full', params: method ? defaultParams(method) : {} },
    targets: { modules: ['attn.c_attn'], layers: null, rankOverrides: {} },
    train: {
      steps: 40,
      batchSize: 4,
      contextLength: 32,
      lr: method?.defaultLr?.value ?? DEFAULT_LR,
      warmupSteps: 4,
      schedule: 'cosine',
      gradClip: 1,
    },
    eval: { every: 10, batches: 2 },
    analysis: { every: 10, k: 10, eps: 0.5 },
    seed: 0,
  });
}

/** Set `path` (dotted) to `value`, copying only the objects on the way. */
export function setIn<T>(obj: T, path: string, value: unknown): T {
  const keys = path.split('.');
  const rec = (o: unknown, i: number): unknown => {
    const base = o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {};
    const k = keys[i];
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new Error(`refusing to set ${path}`);
    return { ...base, [k]: i === keys.length - 1 ? value : rec(base[k], i + 1) };
  };
  return rec(obj, 0) as T;
}

export function getIn(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Stable text form for comparing configs (key order normalised). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A readable default name that says what usually differs between runs (method, rank, lr, steps), then
 * the data, model and seed: "lora r8 · lr 3e-3 · 40 steps · brown-news · micro · seed 0".
 */
export function runName(c: RunConfig): string {
  const p = c.method.params as Record<string, unknown>;
  const rank = typeof p.rank === 'number' ? ` r${p.rank}` : typeof p.r === 'number' ? ` r${p.r}` : '';
  const lr = Number(c.train.lr).toExponential(0).replace('e-', 'e-').replace('e+', 'e');
  return `${c.method.id}${rank} · lr ${lr} · ${c.train.steps} steps · ${c.dataset.id} · ${c.model.id} · seed ${c.seed}`;
}
