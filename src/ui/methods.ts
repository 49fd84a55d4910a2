/**
 * The method list the setup form renders, from the adapter registry (src/engine/adapters/registry.ts):
 * each method's parameters are data (ParamSpec) and the form draws one control per spec.
 *
 * The registry is imported lazily, in its own chunk, so the explanation page for a browser without
 * WebGPU never loads engine code. If that import fails the studio says so and offers nothing to run
 * (a silent fallback list would let people start runs the engine cannot do).
 */

/** One control of a method's form: the registry's own spec (a type-only import: no engine code in the page's first chunk). */
import type { MethodParamSpec as ParamSpec } from '../engine/adapters/types';
export type { ParamSpec };

export interface MethodInfo {
  id: string;
  label: string;
  paper: string;
  description?: string;
  params: ParamSpec[];
  /** Trains every base weight (full fine-tuning): targets and rank do not apply. */
  trainsBase?: boolean;
  /** The learning rate the form proposes for this method, and its source (absent: DEFAULT_LR). */
  defaultLr?: { value: number; source: string };
  /** Cross-field checks with messages for the form (from the method file). */
  validate?: (params: Record<string, unknown>, config: never) => string[];
}

export async function loadMethods(): Promise<MethodInfo[]> {
  const reg = await import('../engine/adapters/registry');
  return reg.listMethods().map((m) => ({
    id: m.id,
    label: m.label,
    paper: m.paper,
    description: m.description,
    params: m.params.map((p) => ({ ...p })),
    trainsBase: m.trainsBase,
    defaultLr: m.defaultLr,
    validate: m.validate ? (params, config) => m.validate!(params, config) : undefined,
  }));
}

/** Same rules as the registry's resolveMethodParams, phrased for a form field. */
export function checkParam(p: ParamSpec, v: unknown): string | null {
  switch (p.type) {
    case 'int':
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${p.label} must be a number`;
      if (p.type === 'int' && !Number.isInteger(v)) return `${p.label} must be a whole number`;
      if (p.min !== undefined && v < p.min) return `${p.label} must be at least ${p.min}`;
      if (p.max !== undefined && v > p.max) return `${p.label} must be at most ${p.max}`;
      return null;
    }
    case 'bool':
      return typeof v === 'boolean' ? null : `${p.label} must be on or off`;
    case 'enum':
      return typeof v === 'string' && !!p.options?.includes(v)
        ? null
        : `${p.label} must be one of ${p.options?.join(', ')}`;
  }
}

/** The studio's learning rate for methods without their own default (LoRA-style zero-initialised adapters). */
export const DEFAULT_LR = 3e-3;

/** The learning rate the form proposes for a method id. */
export function defaultLrFor(methods: MethodInfo[], id: string): number {
  return methods.find((m) => m.id === id)?.defaultLr?.value ?? DEFAULT_LR;
}

/**
 * Methods compared at one shared learning rate that is far (more than `factor`×, either way) from
 * some of their defaults: one line per such method, for a warning next to a comparison.
 */
export function sharedLrWarnings(methods: MethodInfo[], runs: { method: string; lr: number }[], factor = 3): string[] {
  const ids = [...new Set(runs.map((r) => r.method))];
  const lrs = [...new Set(runs.map((r) => r.lr))];
  if (ids.length < 2 || lrs.length !== 1) return [];
  const lr = lrs[0];
  return ids
    .map((id) => ({ id, d: defaultLrFor(methods, id) }))
    .filter(({ d }) => lr > d * factor || lr < d / factor)
    .map(({ id, d }) => {
      const label = methods.find((m) => m.id === id)?.label ?? id;
      return `${label} ran at lr ${lr.toExponential(0)}, ${lr > d ? `${(lr / d).toFixed(0)}× above` : `${(d / lr).toFixed(0)}× below`} its default ${d.toExponential(0)}`;
    });
}

export function defaultParams(m: MethodInfo): Record<string, number | boolean | string> {
  return Object.fromEntries(m.params.map((p) => [p.key, p.default]));
}
