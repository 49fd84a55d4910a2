/**
 * Method metadata for the page (issue 15 item 1): the adapter registry lives in the worker, and the page
 * gets each method's record as plain data (protocol.ts MethodMeta) through the `methods` request, keeps
 * it in its store and reads it from there — the main thread never bundles the registry or a method file.
 * A method's own cross-field checks are code, so they run here too (`checkMethod`).
 */
import { listMethods, tryGetMethod } from '../engine/adapters/registry';
import { RunConfigSchema } from '../engine/config';
import type { MethodMeta } from './protocol';

export function methodCatalog(): MethodMeta[] {
  return listMethods().map((m) => ({
    id: m.id,
    label: m.label,
    order: m.order,
    paper: m.paper,
    description: m.description,
    params: m.params.map((p) => ({ ...p, ...(p.options ? { options: [...p.options] } : {}) })),
    trainsBase: m.trainsBase,
    ...(m.defaultLr ? { defaultLr: { ...m.defaultLr } } : {}),
    peft: { ...m.peft },
    crossChecks: !!m.validate,
  }));
}

/**
 * The method's `validate(params, config)` on a draft, as validateRun (src/engine/validate.ts) calls it:
 * only on a config the schema accepts, a throw becoming its message. [] for an unknown method or one
 * without cross-field checks.
 */
export function checkMethod(input: unknown): string[] {
  const parsed = RunConfigSchema.safeParse(input);
  if (!parsed.success) return [];
  const m = tryGetMethod(parsed.data.method.id);
  if (!m?.validate) return [];
  try {
    return m.validate(parsed.data.method.params as Record<string, unknown>, parsed.data);
  } catch (e) {
    return [(e as Error).message];
  }
}
