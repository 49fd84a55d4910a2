/**
 * Merge math of the adapter methods, on ΔW in our (in, out) Conv1D layout, as PEFT computes it
 * (lora/layer.py get_delta_weight, dora.py): loraDelta, mergeLora/unmergeLora, mergeDora/unmergeDora,
 * and `mergedWeights`, the merged parameters of an additive adapter method. The PEFT exporter
 * (io/peft.ts) and the adapter analysis import it from here.
 */
import type { LanguageModel } from '../model/language-model';
import type { Linear } from '../model/linear';

/** A merge whose inputs do not fit together (sizes, a zero DoRA magnitude on unmerge). */
export class MergeError extends Error {
  override name = 'MergeError';
}

/** ΔW (in, out) = s·(B·A)ᵀ for A (r, in), B (out, r): PEFT's get_delta_weight with fan_in_fan_out. */
export function loraDelta(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  r: number,
  inDim: number,
  outDim: number,
  scaling: number,
): Float32Array {
  if (A.length !== r * inDim) throw new MergeError(`lora_A has ${A.length} values, expected r·in = ${r}·${inDim}`);
  if (B.length !== outDim * r) throw new MergeError(`lora_B has ${B.length} values, expected out·r = ${outDim}·${r}`);
  const out = new Float32Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += B[o * r + k] * A[k * inDim + i];
      out[i * outDim + o] = scaling * acc;
    }
  }
  return out;
}

/** W + ΔW (a new array). */
export function mergeLora(W: ArrayLike<number>, delta: ArrayLike<number>): Float32Array {
  if (W.length !== delta.length) throw new MergeError(`merge: weight has ${W.length} values, ΔW ${delta.length}`);
  const out = new Float32Array(W.length);
  for (let i = 0; i < out.length; i++) out[i] = W[i] + delta[i];
  return out;
}

/** W' − ΔW: undoes mergeLora up to float32 rounding. */
export function unmergeLora(merged: ArrayLike<number>, delta: ArrayLike<number>): Float32Array {
  if (merged.length !== delta.length)
    throw new MergeError(`unmerge: weight has ${merged.length} values, ΔW ${delta.length}`);
  const out = new Float32Array(merged.length);
  for (let i = 0; i < out.length; i++) out[i] = merged[i] - delta[i];
  return out;
}

/**
 * DoRA merge (PEFT dora.py): W' = (m / ‖W + ΔW‖_col) ⊙ (W + ΔW), columns of our (in, out) layout =
 * rows of PyTorch's. Returns the pre-merge norms too: unmerging needs them (PEFT caches them), since
 * ‖W'[:, o]‖ = |m[o]| no longer carries ‖W + ΔW‖.
 */
export function mergeDora(
  W: ArrayLike<number>,
  delta: ArrayLike<number>,
  m: ArrayLike<number>,
  inDim: number,
  outDim: number,
): { merged: Float32Array; norm: Float32Array } {
  if (W.length !== inDim * outDim || delta.length !== W.length)
    throw new MergeError(`DoRA merge: weight/ΔW sizes ${W.length}/${delta.length} ≠ ${inDim}·${outDim}`);
  if (m.length !== outDim) throw new MergeError(`DoRA merge: magnitude has ${m.length} values, expected ${outDim}`);
  const merged = new Float32Array(W.length),
    norm = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let sq = 0;
    for (let i = 0; i < inDim; i++) sq += (W[i * outDim + o] + delta[i * outDim + o]) ** 2;
    const n = Math.sqrt(sq);
    norm[o] = n;
    const f = n === 0 ? 0 : m[o] / n;
    for (let i = 0; i < inDim; i++) merged[i * outDim + o] = f * (W[i * outDim + o] + delta[i * outDim + o]);
  }
  return { merged, norm };
}

/** Undo mergeDora given the cached pre-merge norms: W = W'·(‖W+ΔW‖/m) − ΔW. Columns with m = 0 cannot be recovered. */
export function unmergeDora(
  merged: ArrayLike<number>,
  delta: ArrayLike<number>,
  m: ArrayLike<number>,
  norm: ArrayLike<number>,
  inDim: number,
  outDim: number,
): Float32Array {
  if (merged.length !== inDim * outDim || delta.length !== merged.length)
    throw new MergeError(`DoRA unmerge: sizes ${merged.length}/${delta.length} ≠ ${inDim}·${outDim}`);
  const out = new Float32Array(merged.length);
  for (let o = 0; o < outDim; o++) {
    if (m[o] === 0 && norm[o] !== 0)
      throw new MergeError(`DoRA unmerge: magnitude of output ${o} is 0; the weight column cannot be recovered`);
    const f = m[o] === 0 ? 0 : norm[o] / m[o];
    for (let i = 0; i < inDim; i++) out[i * outDim + o] = merged[i * outDim + o] * f - delta[i * outDim + o];
  }
  return out;
}

// ---- merged weights of a method ------------------------------------------------------------------------

export interface AdditiveAdapter {
  layer: Linear;
  /** ΔW in the layer's (in, out) layout. */
  delta(): Promise<Float32Array>;
}

/**
 * W + ΔW for every adapted layer (PEFT's merge), every other parameter as the model holds it.
 * `baseOf` supplies a replaced base weight (PiSSA-style residuals); default: the model's own.
 */
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
