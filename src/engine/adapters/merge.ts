/**
 * Merged weights of an additive adapter method: W + ΔW for every adapted layer (PEFT's merge,
 * `mergeLora` in io/peft.ts), every other parameter as the model holds it.
 */
import { mergeLora } from '../io/peft';
import type { LanguageModel } from '../model/language-model';
import type { Linear } from '../model/linear';

export interface AdditiveAdapter {
  layer: Linear;
  /** ΔW in the layer's (in, out) layout. */
  delta(): Promise<Float32Array>;
}

/** `baseOf` supplies a replaced base weight (PiSSA-style residuals); default: the model's own. */
export async function mergedWeights<A extends AdditiveAdapter>(
  model: LanguageModel,
  adapters: A[],
  baseOf?: (a: A) => Promise<Float32Array | null>,
): Promise<Map<string, Float32Array>> {
  const w = await model.readWeights();
  for (const a of adapters) {
    const key = `${a.layer.name}.weight`;
    const base = (await baseOf?.(a)) ?? w.get(key)!;
    w.set(key, mergeLora(base, await a.delta()));
  }
  return w;
}
