/**
 * The methods the studio offers, as the worker describes them (issue 15 item 1): the adapter registry
 * (src/engine/adapters/registry.ts) and every method file live in the engine worker, which answers the
 * typed `methods` request with plain metadata (protocol.ts MethodMeta). The page keeps that list in its
 * store (`catalog.methods`, filled by setupActions.loadCatalog once the engine is ready) and every
 * component reads it from there; until then the store's list is empty and the setup form shows its
 * loading state. The main entry chunk therefore holds no method code (tests/ui/main-chunk.test.ts).
 *
 * A method's parameters are data (ParamSpec) and the form draws one control per spec. If the request
 * fails the studio says so and offers nothing to run (a silent fallback list would let people start
 * runs the engine cannot do).
 */
import type { MethodParamSpec as ParamSpec } from '../engine/adapters/types';
import type { MethodMeta } from '../worker/protocol';

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
export function defaultLrFor(methods: MethodMeta[], id: string): number {
  return methods.find((m) => m.id === id)?.defaultLr?.value ?? DEFAULT_LR;
}

/**
 * Methods compared at one shared learning rate that is far (more than `factor`×, either way) from
 * some of their defaults: one line per such method, for a warning next to a comparison.
 */
export function sharedLrWarnings(methods: MethodMeta[], runs: { method: string; lr: number }[], factor = 3): string[] {
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

export function defaultParams(m: MethodMeta): Record<string, number | boolean | string> {
  return Object.fromEntries(m.params.map((p) => [p.key, p.default]));
}
