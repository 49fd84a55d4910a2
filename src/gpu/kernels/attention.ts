/**
 * Host side of shaders/attention.wgsl: causal multi-head self-attention in the GPT-2 layout
 * (llm.c), forward and backward. Records into a StepEncoder; never submits.
 *
 *   qkv  // (B, T, 3C)  q | k | v, head h = channels h*HS..(h+1)*HS, HS = C/NH
 *   att  // (B, NH, T, T) softmax probabilities, saved by the forward for the backward (0 above the diagonal)
 *   out  // (B, T, C)
 *
 * Two paths (see the shader header):
 *   - 'fused' (the default): 1 dispatch forward, 2 backward, skips the masked half of T×T. Needs HS ≤ 128.
 *   - 'unfused' (the readable one): q·kᵀ, att·v, dout·vᵀ, attᵀ·dout, dpre·k, dpreᵀ·q as batched strided
 *     matmuls (one dispatch per sequence b, batch over heads with batch stride HS) plus an in-place
 *     row softmax / softmax-backward kernel: 2B+1 dispatches forward, 4B+1 backward.
 * 'auto' picks fused when HS ≤ 128, else unfused. Both are deterministic (no atomics, fixed orders).
 *
 * Why fused by default (Dawn + llvmpipe, 2 cores, medians, noisy shared machine; forward / backward):
 *   B4 T64 C128 NH4     fused  6 / 8 ms      unfused  22 / 28 ms
 *   B8 T128 C256 NH8    fused 155 / 163 ms   unfused 167 / 236 ms
 *   B4 T256 C768 NH12   fused 0.9 / 2.0 s    unfused 2.6 / 4.3 s
 *   B1 T1024 C768 NH12  fused 2.6 / 3.1 s    unfused 2.2 / 6.9 s
 * The unfused path pays B-fold dispatches, the masked half of every product and one workgroup (with
 * barriers, expensive on CPU drivers) per row of the softmax. Re-measure on real GPUs before changing.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { matmul } from './matmul';
import { ceilDiv } from '../grid';

export type AttentionVariant = 'auto' | 'fused' | 'unfused';

/** Largest head size the fused kernels hold in private arrays (MAX_HS in the shader). */
export const FUSED_MAX_HS = 128;

export interface AttentionForwardArgs {
  qkv: GpuTensor; // (B, T, 3C)
  out: GpuTensor; // (B, T, C)
  att: GpuTensor; // (B, NH, T, T) softmax probabilities, saved for backward
  /** Optional (B, NH, T, T): when given it keeps the scaled scores q·kᵀ/√HS, for inspection (forces the unfused path). */
  preatt?: GpuTensor;
  B: number;
  T: number;
  C: number;
  NH: number;
  variant?: AttentionVariant;
}

export interface AttentionBackwardArgs {
  dout: GpuTensor; // (B, T, C)
  qkv: GpuTensor; // (B, T, 3C)
  att: GpuTensor; // (B, NH, T, T) from the forward
  dqkv: GpuTensor; // (B, T, 3C), OVERWRITTEN with d/dq | d/dk | d/dv
  /**
   * Scratch (B, NH, T, T) (`attentionScratchSizes().datt`). It is overwritten: on return it holds dpreatt
   * (the softmax backward, before the 1/√HS scale; 0 above the diagonal). When absent, `dpreatt` serves
   * as the scratch, else a per-device buffer (grown on demand, never freed).
   */
  datt?: GpuTensor;
  /** Optional (B, NH, T, T): receives dpreatt (as above), for inspection. */
  dpreatt?: GpuTensor;
  B: number;
  T: number;
  C: number;
  NH: number;
  variant?: AttentionVariant;
}

export interface AttentionScratchSizes {
  /** Elements the backward needs as scratch (pass as `datt`), B·NH·T·T. */
  datt: number;
  /** Optional tensors: sizes in elements if you want to keep them for inspection. */
  preatt: number;
  dpreatt: number;
  /** The saved softmax `att` the forward writes and the backward reads, B·NH·T·T. */
  att: number;
}

export function attentionScratchSizes(B: number, T: number, C: number, NH: number): AttentionScratchSizes {
  if (C % NH !== 0) throw new Error(`attention: C=${C} is not divisible by NH=${NH}`);
  const n = B * NH * T * T;
  return { datt: n, preatt: n, dpreatt: n, att: n };
}

interface Dims {
  B: number;
  T: number;
  C: number;
  NH: number;
  HS: number;
  scale: number;
}

function dims(x: { B: number; T: number; C: number; NH: number }): Dims {
  const { B, T, C, NH } = x;
  for (const [k, v] of Object.entries({ B, T, C, NH })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`attention: ${k} must be a positive integer, got ${v}`);
  }
  if (C % NH !== 0) throw new Error(`attention: C=${C} is not divisible by NH=${NH}`);
  const HS = C / NH;
  return { B, T, C, NH, HS, scale: 1 / Math.sqrt(HS) };
}

function need(enc: StepEncoder, t: GpuTensor, n: number, name: string): void {
  if (t.size < n) throw new Error(`attention: ${name} (${t.label}) has ${t.size} elements, needs ${n}`);
  const max = enc.gpu.description.limits.maxStorageBufferBindingSize;
  if (max !== undefined && t.buffer.size > max) {
    throw new Error(
      `attention: ${name} (${t.label}) is ${t.buffer.size} bytes, over this adapter's ${max}-byte storage binding limit; use a smaller batch B or context T`,
    );
  }
}

function pickVariant(v: AttentionVariant | undefined, HS: number): 'fused' | 'unfused' {
  const want = v ?? 'auto';
  if (want === 'fused' && HS > FUSED_MAX_HS)
    throw new Error(`attention: fused path needs HS ≤ ${FUSED_MAX_HS}, got ${HS}`);
  if (want === 'auto') return HS <= FUSED_MAX_HS ? 'fused' : 'unfused';
  return want;
}

function params(d: Dims): ArrayBuffer {
  return new Params().u32(d.B, d.T, d.C, d.NH, d.HS, 0, 0, 0).f32(d.scale).u32(0, 0, 0).build();
}

const scratchByGpu = new WeakMap<Gpu, GpuTensor>();

/** A per-device (B,NH,T,T) scratch. Dispatches run in recording order, so one buffer serves every layer. */
function sharedScratch(gpu: Gpu, n: number): GpuTensor {
  let t = scratchByGpu.get(gpu);
  if (!t || t.size < n) {
    // The old buffer is not released to the pool: an encoder not yet submitted may still use it.
    t = gpu.tensor([n], 'attention-scratch', 'scratch');
    scratchByGpu.set(gpu, t);
  }
  return t;
}

export function attentionForward(enc: StepEncoder, x: AttentionForwardArgs): void {
  const d = dims(x);
  const { B, T, C, NH, HS } = d;
  need(enc, x.qkv, B * T * 3 * C, 'qkv');
  need(enc, x.out, B * T * C, 'out');
  need(enc, x.att, B * NH * T * T, 'att');
  if (x.preatt) need(enc, x.preatt, B * NH * T * T, 'preatt');
  const variant = x.preatt ? 'unfused' : pickVariant(x.variant, HS);
  if (variant === 'fused') {
    enc.dispatch({
      kernel: { shader: 'attention', entry: 'attention_forward_fused' },
      bindings: { 1: x.qkv, 2: x.out, 3: x.att },
      params: params(d),
      workgroups: [ceilDiv(T, 64), NH, B],
      label: `attention fwd fused B${B} T${T} C${C} NH${NH}`,
    });
    return;
  }
  const TT = T * T;
  const C3 = 3 * C;
  const scores = x.preatt ?? x.att;
  for (let b = 0; b < B; b++) {
    // scores[b,h] = q[b,:,h]·k[b,:,h]ᵀ/√HS   (T, HS)·(HS, T), one dispatch over the NH heads
    matmul(enc, {
      a: x.qkv,
      b: x.qkv,
      c: scores,
      M: T,
      N: T,
      K: HS,
      transB: true,
      batch: NH,
      alpha: d.scale,
      lda: C3,
      aOffset: b * T * C3,
      aBatchStride: HS,
      ldb: C3,
      bOffset: b * T * C3 + C,
      bBatchStride: HS,
      cOffset: b * NH * TT,
      cBatchStride: TT,
      label: `attention q·kᵀ b${b}`,
    });
  }
  if (x.preatt) enc.copy(x.preatt, x.att, B * NH * TT);
  enc.dispatch({
    kernel: { shader: 'attention', entry: 'attention_softmax_forward' },
    bindings: { 3: x.att },
    params: params(d),
    workgroups: [T, NH, B],
    label: `attention softmax B${B} T${T} NH${NH}`,
  });
  for (let b = 0; b < B; b++) {
    // out[b,:,h] = att[b,h]·v[b,:,h]   (T, T)·(T, HS)
    matmul(enc, {
      a: x.att,
      b: x.qkv,
      c: x.out,
      M: T,
      N: HS,
      K: T,
      batch: NH,
      lda: T,
      aOffset: b * NH * TT,
      aBatchStride: TT,
      ldb: C3,
      bOffset: b * T * C3 + 2 * C,
      bBatchStride: HS,
      ldc: C,
      cOffset: b * T * C,
      cBatchStride: HS,
      label: `attention att·v b${b}`,
    });
  }
}

export function attentionBackward(enc: StepEncoder, x: AttentionBackwardArgs): void {
  const d = dims(x);
  const { B, T, C, NH, HS } = d;
  const TT = T * T;
  const C3 = 3 * C;
  need(enc, x.dout, B * T * C, 'dout');
  need(enc, x.qkv, B * T * C3, 'qkv');
  need(enc, x.att, B * NH * TT, 'att');
  need(enc, x.dqkv, B * T * C3, 'dqkv');
  if (x.datt) need(enc, x.datt, B * NH * TT, 'datt');
  if (x.dpreatt) need(enc, x.dpreatt, B * NH * TT, 'dpreatt');
  const scratch = x.datt ?? x.dpreatt ?? sharedScratch(enc.gpu, B * NH * TT);
  need(enc, scratch, B * NH * TT, 'scratch');
  const variant = pickVariant(x.variant, HS);
  if (variant === 'fused') {
    const geometry: [number, number, number] = [ceilDiv(T, 64), NH, B];
    enc.dispatch({
      kernel: { shader: 'attention', entry: 'attention_backward_rows' },
      bindings: { 1: x.qkv, 4: x.dout, 5: x.att, 6: scratch, 7: x.dqkv },
      params: params(d),
      workgroups: geometry,
      label: `attention bwd rows B${B} T${T} C${C} NH${NH}`,
    });
    enc.dispatch({
      kernel: { shader: 'attention', entry: 'attention_backward_cols' },
      bindings: { 1: x.qkv, 4: x.dout, 5: x.att, 6: scratch, 7: x.dqkv },
      params: params(d),
      workgroups: geometry,
      label: `attention bwd cols B${B} T${T} C${C} NH${NH}`,
    });
    if (x.dpreatt && x.datt) enc.copy(x.datt, x.dpreatt, B * NH * TT);
    return;
  }
  for (let b = 0; b < B; b++) {
    const q0 = b * T * C3;
    const a0 = b * NH * TT;
    // datt[b,h] = dout[b,:,h]·v[b,:,h]ᵀ   (T, HS)·(HS, T)
    matmul(enc, {
      a: x.dout,
      b: x.qkv,
      c: scratch,
      M: T,
      N: T,
      K: HS,
      transB: true,
      batch: NH,
      lda: C,
      aOffset: b * T * C,
      aBatchStride: HS,
      ldb: C3,
      bOffset: q0 + 2 * C,
      bBatchStride: HS,
      cOffset: a0,
      cBatchStride: TT,
      label: `attention datt b${b}`,
    });
    // dv[b,:,h] = att[b,h]ᵀ·dout[b,:,h]   (T, T)ᵀ·(T, HS)
    matmul(enc, {
      a: x.att,
      b: x.dout,
      c: x.dqkv,
      M: T,
      N: HS,
      K: T,
      transA: true,
      batch: NH,
      lda: T,
      aOffset: a0,
      aBatchStride: TT,
      ldb: C,
      bOffset: b * T * C,
      bBatchStride: HS,
      ldc: C3,
      cOffset: q0 + 2 * C,
      cBatchStride: HS,
      label: `attention dv b${b}`,
    });
  }
  // dpreatt = att ⊙ (datt − rowsum(att ⊙ datt)), in place; zero above the diagonal
  enc.dispatch({
    kernel: { shader: 'attention', entry: 'attention_softmax_backward' },
    bindings: { 5: x.att, 6: scratch },
    params: params(d),
    workgroups: [T, NH, B],
    label: `attention softmax bwd B${B} T${T} NH${NH}`,
  });
  for (let b = 0; b < B; b++) {
    const q0 = b * T * C3;
    const a0 = b * NH * TT;
    // dq[b,:,h] = dpre[b,h]·k[b,:,h]/√HS   (T, T)·(T, HS)
    matmul(enc, {
      a: scratch,
      b: x.qkv,
      c: x.dqkv,
      M: T,
      N: HS,
      K: T,
      batch: NH,
      alpha: d.scale,
      lda: T,
      aOffset: a0,
      aBatchStride: TT,
      ldb: C3,
      bOffset: q0 + C,
      bBatchStride: HS,
      ldc: C3,
      cOffset: q0,
      cBatchStride: HS,
      label: `attention dq b${b}`,
    });
    // dk[b,:,h] = dpre[b,h]ᵀ·q[b,:,h]/√HS   (T, T)ᵀ·(T, HS)
    matmul(enc, {
      a: scratch,
      b: x.qkv,
      c: x.dqkv,
      M: T,
      N: HS,
      K: T,
      transA: true,
      batch: NH,
      alpha: d.scale,
      lda: T,
      aOffset: a0,
      aBatchStride: TT,
      ldb: C3,
      bOffset: q0,
      bBatchStride: HS,
      ldc: C3,
      cOffset: q0 + C,
      cBatchStride: HS,
      label: `attention dk b${b}`,
    });
  }
  if (x.dpreatt && x.datt) enc.copy(x.datt, x.dpreatt, B * NH * TT);
}

export interface AttentionDecodeArgs {
  qkv: GpuTensor; // (Tq, 3C) of the new rows; only q is read (k, v are already in the cache)
  kc: GpuTensor; // (S, C) cached keys, row s = position s; rows 0..pos0+Tq−1 filled
  vc: GpuTensor; // (S, C) cached values
  out: GpuTensor; // (Tq, C)
  att: GpuTensor; // (Tq, NH, S) scratch for the scores
  Tq: number;
  pos0: number; // absolute position of the first new row
  S: number; // cache capacity (rows)
  C: number;
  NH: number;
}

/**
 * Attention of Tq new query rows against a KV cache (generation): query t at position pos0+t attends
 * to cache rows s ≤ pos0+t. One dispatch, grid (Tq, NH). The CPU twin is `attentionDecodeRef`.
 */
export function attentionDecode(enc: StepEncoder, x: AttentionDecodeArgs): void {
  const d = dims({ B: 1, T: x.Tq, C: x.C, NH: x.NH });
  const { Tq, pos0, S, C, NH } = x;
  if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 + Tq <= S))
    throw new Error(`attention decode: rows ${pos0}..${pos0 + Tq - 1} do not fit a cache of ${S}`);
  need(enc, x.qkv, Tq * 3 * C, 'qkv');
  need(enc, x.kc, S * C, 'kc');
  need(enc, x.vc, S * C, 'vc');
  need(enc, x.out, Tq * C, 'out');
  need(enc, x.att, Tq * NH * S, 'att');
  enc.dispatch({
    kernel: { shader: 'attention', entry: 'attention_decode' },
    bindings: { 1: x.qkv, 2: x.out, 3: x.att, 8: x.kc, 9: x.vc },
    params: new Params().u32(1, Tq, C, NH, d.HS, pos0, S, 0).f32(d.scale).u32(0, 0, 0).build(),
    workgroups: [Tq, NH, 1],
    label: `attention decode Tq${Tq} pos${pos0} C${C} NH${NH}`,
  });
}
