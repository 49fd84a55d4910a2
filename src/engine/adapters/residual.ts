/**
 * Shared machinery of the *residual* initialisations — PiSSA, MiLoRA and LoRA-GA: a LowRankAdapter
 * whose initial product is subtracted from the base weight, so the model's function is unchanged at
 * step 0 while A and B start non-zero:
 *
 *   W_res (in, out) = W − s·(B₀·A₀)ᵀ   (our Conv1D layout; PEFT's `weight ← weight − scaling·B@A`)
 *   y = x·W_res + b + s·(x·Aᵀ)·Bᵀ
 *
 * W_res is a new GPU tensor that replaces `LowRankAdapter.baseWeight` (the model's own W is left
 * untouched, so merged()/export can always recover the pretrained weight). The initial A₀, B₀ are kept
 * on the CPU: `deltaOf` reports the update relative to the PRETRAINED W, s·(B·A − B₀·A₀), which is what
 * spectra and intruder dimensions compare, and `state()` carries them (`<layer>.lora_A0`, `.lora_B0`)
 * so an exporter can write the PEFT "convert to plain LoRA" form (rank 2r, [A; A₀] and [B, −B₀]).
 *
 * Also here: the singular triplets of a stored weight or gradient expressed in PEFT's PyTorch (out, in)
 * terms. The stored matrix M (in, out) = Ũ·S·Ṽᵀ is the transpose of PyTorch's, so PyTorch's left
 * vectors are our Ṽ and its right vectors (Vh) are our Ũᵀ:
 *   PEFT A = f(S)·Vh[sel]  (r, in)   ↔  A[j, i] = f(S_j)·U[i, j]
 *   PEFT B = U[:, sel]·g(S) (out, r) ↔  B[o, j] = Vt[j, o]·g(S_j)
 * What this file is not: a method (methods/ holds those) or an SVD implementation (src/engine/rsvd.ts, src/engine/linalg.ts).
 */
import type { Gpu, GpuTensor } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { exactSvd } from '../linalg';
import { rsvd } from '../rsvd';
import type { Linear } from '../model/linear';
import { ConfigError } from '../config';
import { LowRankAdapter } from './lowrank';
import { loraInstance } from './lora-family';
import type { MethodContext, MethodInstance, TrainableTensor } from './types';

/** Singular triplets of a stored (rows, cols) matrix: U (rows, k), S (k) descending, Vt (k, cols). */
export interface Triplets {
  k: number;
  U: Float32Array;
  S: Float32Array;
  Vt: Float32Array;
}

/** Columns [from, from + k) of a thin SVD as a Triplets record. */
function sliceTriplets(
  U: Float32Array,
  S: Float32Array,
  Vt: Float32Array,
  rows: number,
  cols: number,
  p: number,
  from: number,
  k: number,
): Triplets {
  const u = new Float32Array(rows * k),
    vt = new Float32Array(k * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) u[i * k + j] = U[i * p + from + j];
  for (let j = 0; j < k; j++) vt.set(Vt.subarray((from + j) * cols, (from + j + 1) * cols), j * cols);
  return { k, U: u, S: S.slice(from, from + k), Vt: vt };
}

export interface TripletOptions {
  /** 'top': the k largest singular values; 'minor': the k smallest (MiLoRA). */
  which: 'top' | 'minor';
  k: number;
  /** Power iterations of the GPU randomized SVD; 0 = exact (CPU one-sided Jacobi, float64). Ignored for 'minor'. */
  niter: number;
  /** Extra sketch columns of the randomized SVD (HMT §4.2). */
  oversample?: number;
  seed: number;
}

/**
 * Singular triplets of a (rows, cols) GPU matrix. The minor triplets always use the exact SVD: a
 * randomized sketch finds the dominant subspace only (MiLoRA, §3 of arXiv:2406.09044, uses a full SVD).
 */
export async function matrixTriplets(
  gpu: Gpu,
  matrix: GpuTensor,
  rows: number,
  cols: number,
  o: TripletOptions,
): Promise<Triplets> {
  const p = Math.min(rows, cols);
  if (!(o.k >= 1 && o.k <= p))
    throw new ConfigError(`rank ${o.k}: must be between 1 and min(in, out) = ${p} for ${matrix.label}`);
  if (o.which === 'top' && o.niter > 0) {
    const r = await rsvd(gpu, {
      matrix,
      M: rows,
      N: cols,
      k: o.k,
      oversample: o.oversample ?? 10,
      powerIters: o.niter,
      seed: o.seed,
    });
    return { k: r.k, U: r.U, S: r.S, Vt: r.Vt };
  }
  const svd = exactSvd(await gpu.read(matrix, rows * cols), rows, cols);
  return sliceTriplets(svd.U, svd.S, svd.Vt, rows, cols, p, o.which === 'top' ? 0 : p - o.k, o.k);
}

/** Fail before anything is allocated when a target cannot hold its rank (k(r) triplets of min(in, out)). */
export function checkRanks(ctx: MethodContext, need: (r: number) => number, method: string): void {
  for (const l of ctx.targets) {
    const r = ctx.rankFor(l),
      p = Math.min(l.inDim, l.outDim);
    if (need(r) > p)
      throw new ConfigError(
        `method.params.rank: ${method} needs ${need(r) === r ? 'r' : `${need(r) / r}r`} ≤ min(in, out); ${l.name} is ${l.inDim}×${l.outDim}, so r ≤ ${Math.floor(p / (need(r) / r))} (got ${r})`,
      );
  }
}

/** A (r, in) and B (out, r) from the triplets of a stored (in, out) weight: A = f·Vh, B = U·g in PEFT terms. */
export function factorsFromTriplets(
  t: Triplets,
  inDim: number,
  outDim: number,
  f: (j: number) => number,
  g: (j: number) => number,
): { A: Float32Array; B: Float32Array } {
  const { k } = t;
  const A = new Float32Array(k * inDim),
    B = new Float32Array(outDim * k);
  for (let j = 0; j < k; j++) {
    const fj = f(j),
      gj = g(j);
    for (let i = 0; i < inDim; i++) A[j * inDim + i] = fj * t.U[i * k + j];
    for (let o = 0; o < outDim; o++) B[o * k + j] = gj * t.Vt[j * outDim + o];
  }
  return { A, B };
}

/**
 * Attach a LowRankAdapter with these initial factors to `layer` and replace its base weight by the
 * residual W − s·(B·A)ᵀ, computed on the GPU (copy W, then one rank-r matmul with alpha = −s).
 */
export function attachResidualAdapter(
  gpu: Gpu,
  layer: Linear,
  init: { rank: number; scaling: number; A: Float32Array; B: Float32Array },
): LowRankAdapter {
  const ad = new LowRankAdapter(gpu, layer, { ...init, trainA: true, trainB: true });
  const { inDim, outDim } = layer;
  const wres = gpu.tensor([inDim, outDim], `${layer.name}.weight_residual`, 'adapter');
  const enc = gpu.encoder(`${layer.name} residual`);
  enc.copy(layer.weight, wres);
  // W_res (in, out) −= s · Aᵀ (in, r) · Bᵀ (r, out)
  matmul(enc, {
    a: ad.A,
    b: ad.B,
    c: wres,
    M: inDim,
    K: init.rank,
    N: outDim,
    transA: true,
    transB: true,
    alpha: -init.scaling,
    beta: 1,
    label: `${layer.name} W − s·BA`,
  });
  enc.submit();
  ad.baseWeight = wres;
  layer.adapter = ad;
  return ad;
}

export interface ResidualLayer {
  adapter: LowRankAdapter;
  A0: Float32Array; // (r, in)
  B0: Float32Array; // (out, r)
}

/** The trainable A and B of residual adapters (both trained, weight decay on, as LoRA). */
export function residualTrainables(layers: ResidualLayer[]): TrainableTensor[] {
  const out: TrainableTensor[] = [];
  for (const { adapter: a } of layers) {
    out.push({ name: `${a.layer.name}.lora_A`, param: a.A, grad: a.dA!, decay: true, lrScale: 1 });
    out.push({ name: `${a.layer.name}.lora_B`, param: a.B, grad: a.dB!, decay: true, lrScale: 1 });
  }
  return out;
}

/** s·(B·A − B₀·A₀) in the layer's (in, out) layout: the update relative to the pretrained weight. */
export async function residualDelta(gpu: Gpu, l: ResidualLayer): Promise<Float32Array> {
  const a = l.adapter;
  const A = await gpu.read(a.A),
    B = await gpu.read(a.B);
  const { inDim, outDim } = a.layer,
    r = a.rank;
  const out = new Float32Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += B[o * r + k] * A[k * inDim + i] - l.B0[o * r + k] * l.A0[k * inDim + i];
      out[i * outDim + o] = a.scaling * acc;
    }
  }
  return out;
}

/** The MethodInstance of a residual method: LoRA's, with deltaOf relative to W and A₀/B₀ in the state. */
export function residualInstance(
  ctx: MethodContext,
  layers: ResidualLayer[],
  meta: Record<string, unknown>,
): MethodInstance {
  const adapters = layers.map((l) => l.adapter);
  const base = loraInstance(ctx, adapters, residualTrainables(layers));
  const byName = new Map(layers.map((l) => [l.adapter.layer.name, l]));
  return {
    ...base,
    async state() {
      const s = await base.state();
      for (const l of layers) {
        s.tensors.set(`${l.adapter.layer.name}.lora_A0`, l.A0);
        s.tensors.set(`${l.adapter.layer.name}.lora_B0`, l.B0);
      }
      return { tensors: s.tensors, meta: { ...s.meta, ...meta, residualBase: true } };
    },
    async deltaOf(layer) {
      const l = byName.get(layer);
      return l ? residualDelta(ctx.gpu, l) : null;
    },
  };
}
