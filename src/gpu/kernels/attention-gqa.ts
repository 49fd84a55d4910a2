/**
 * Host side of shaders/attention-gqa.wgsl: causal self-attention for the HF decoder families — MHA or
 * grouped-query, any scale, optional sliding window, q/k/v as strided views. Forward 1 dispatch,
 * backward 2; deterministic (no atomics). Records into a StepEncoder; never submits. The GPT-2 path
 * (attention.ts, fused (B,T,3C) only) is unchanged.
 *
 * API (for model files):
 *   gqaForward(enc, { q, k, v, out, att, B, T, NH, NKV, HS, scale?, window? })
 *   gqaBackward(enc, { dout, q, k, v, att, dq, dk, dv, datt?, B, T, NH, NKV, HS, scale?, window? })
 *     q  (B·T, NH·HS), k, v (B·T, NKV·HS) by default — separate projections (Llama, Qwen, GPT-Neo).
 *     Fused buffers: pass the same tensor as q, k, v with views, e.g. GPT-NeoX's per-head
 *       (N, NH, 3·HS):  qView { off: 0, row: 3·NH·HS, head: 3·HS }, kView { off: HS, … }, vView { off: 2·HS, … }
 *     out, dout (B·T, NH·HS) contiguous. att (B, NH, T, T): probabilities saved by the forward.
 *     dq, dk, dv are OVERWRITTEN, with the views of q, k, v (they may all be one dqkv buffer).
 *     scale defaults to 1/√HS (GPT-Neo: 1). window 0/undefined = global; w > 0: key s visible from
 *     query t iff t − w < s ≤ t (GPT-Neo local layers, `window_size`).
 *     datt: (B, NH, T, T) scratch; a per-device shared buffer when absent.
 *   gqaDecode(enc, { q, kc, vc, out, att, Tq, pos0, S, NH, NKV, HS, scale?, window?, qView?, kcView?, vcView? })
 *     generation with a KV cache: Tq new query rows (q (Tq, NH·HS), or a view) at positions pos0 … attend
 *     to cache rows kc, vc (S, NKV·HS) by default (row s = position s, rows ≤ pos0+Tq−1 filled, RoPE already
 *     applied to the cached keys), or views of whole fused rows: GPT-NeoX caches its (S, NH, 3·HS) qkv rows,
 *     kc = vc, kcView { off: HS, row: 3·NH·HS, head: 3·HS }, vcView { off: 2·HS, … }; out (Tq, NH·HS);
 *     att (Tq, NH, S) scratch. Twin: gqaDecodeRef.
 * Needs HS ≤ 128 and NH divisible by NKV. Cost O(B·NH·T²·HS), att memory B·NH·T² floats (as attention.ts).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../device';
import { Params } from '../device';
import { ceilDiv } from '../grid';

const SHADER = 'attention-gqa';
const WG = 64;
export const GQA_MAX_HS = 128; // shader const MAX_HS

/** Element (b, t, head, i) at off + (b·T + t)·row + head·head + i. */
export interface HeadView {
  off?: number;
  row?: number;
  head?: number;
}

export interface GqaDims {
  B: number;
  T: number;
  NH: number; // query heads
  NKV: number; // key/value heads; NH % NKV == 0 (NKV = NH: plain multi-head)
  HS: number; // head size
  scale?: number; // default 1/√HS
  window?: number; // 0 or undefined: global causal
  qView?: HeadView;
  kView?: HeadView;
  vView?: HeadView;
}

export interface GqaForwardArgs extends GqaDims {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  out: GpuTensor; // (B·T, NH·HS)
  att: GpuTensor; // (B, NH, T, T)
  label?: string;
}

export interface GqaBackwardArgs extends GqaDims {
  dout: GpuTensor; // (B·T, NH·HS)
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  att: GpuTensor; // from the forward
  dq: GpuTensor; // overwritten, q's view
  dk: GpuTensor; // overwritten, k's view
  dv: GpuTensor; // overwritten, v's view
  datt?: GpuTensor; // scratch (B, NH, T, T); on return holds dpreatt
  label?: string;
}

interface Resolved {
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
  scale: number;
  window: number;
  q: Required<HeadView>;
  k: Required<HeadView>;
  v: Required<HeadView>;
}

function resolve(x: GqaDims): Resolved {
  const { B, T, NH, NKV, HS } = x;
  for (const [k, v] of Object.entries({ B, T, NH, NKV, HS })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`attention-gqa: ${k} must be a positive integer, got ${v}`);
  }
  if (NH % NKV !== 0) throw new Error(`attention-gqa: NH=${NH} query heads are not a multiple of NKV=${NKV} kv heads`);
  if (HS > GQA_MAX_HS) throw new Error(`attention-gqa: head size ${HS} is above the supported ${GQA_MAX_HS}`);
  const window = x.window ?? 0;
  if (!(Number.isInteger(window) && window >= 0))
    throw new Error(`attention-gqa: window must be a non-negative integer, got ${window}`);
  const scale = x.scale ?? 1 / Math.sqrt(HS);
  if (!Number.isFinite(scale)) throw new Error(`attention-gqa: scale must be finite, got ${scale}`);
  const view = (w: HeadView | undefined, heads: number): Required<HeadView> => ({
    off: w?.off ?? 0,
    row: w?.row ?? heads * HS,
    head: w?.head ?? HS,
  });
  return { B, T, NH, NKV, HS, scale, window, q: view(x.qView, NH), k: view(x.kView, NKV), v: view(x.vView, NKV) };
}

/** Elements a view must hold: one past its last element. */
function viewSize(r: Resolved, w: Required<HeadView>, heads: number): number {
  return w.off + (r.B * r.T - 1) * w.row + (heads - 1) * w.head + r.HS;
}

function need(enc: StepEncoder, t: GpuTensor, n: number, name: string): void {
  if (t.size < n) throw new Error(`attention-gqa: ${name} (${t.label}) has ${t.size} elements, needs ${n}`);
  const max = enc.gpu.description.limits.maxStorageBufferBindingSize;
  if (max !== undefined && t.buffer.size > max) {
    throw new Error(
      `attention-gqa: ${name} (${t.label}) is ${t.buffer.size} bytes, over this adapter's ${max}-byte storage binding limit; use a smaller batch B or context T`,
    );
  }
}

function params(r: Resolved, pos0 = 0, S = 0): ArrayBuffer {
  return new Params()
    .u32(r.B, r.T, r.NH, r.NKV, r.HS, r.window, pos0, S)
    .u32(r.q.off, r.q.row, r.q.head, 0, r.k.off, r.k.row, r.k.head, 0, r.v.off, r.v.row, r.v.head, 0)
    .f32(r.scale)
    .u32(0, 0, 0)
    .build();
}

const tag = (r: Resolved) => `B${r.B} T${r.T} NH${r.NH} NKV${r.NKV} HS${r.HS}${r.window ? ` w${r.window}` : ''}`;

export function gqaForward(enc: StepEncoder, x: GqaForwardArgs): void {
  const r = resolve(x);
  need(enc, x.q, viewSize(r, r.q, r.NH), 'q');
  need(enc, x.k, viewSize(r, r.k, r.NKV), 'k');
  need(enc, x.v, viewSize(r, r.v, r.NKV), 'v');
  need(enc, x.out, r.B * r.T * r.NH * r.HS, 'out');
  need(enc, x.att, r.B * r.NH * r.T * r.T, 'att');
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'gqa_forward' },
    bindings: { 1: x.q, 2: x.k, 3: x.v, 4: x.out, 5: x.att },
    params: params(r),
    workgroups: [ceilDiv(r.T, WG), r.NH, r.B],
    label: x.label ?? `attention-gqa fwd ${tag(r)}`,
  });
}

const scratchByGpu = new WeakMap<Gpu, GpuTensor>();

/** A per-device (B,NH,T,T) scratch. Dispatches run in recording order, so one buffer serves every layer. */
function sharedScratch(gpu: Gpu, n: number): GpuTensor {
  let t = scratchByGpu.get(gpu);
  if (!t || t.size < n) {
    // The old buffer is not released to the pool: an encoder not yet submitted may still use it.
    t = gpu.tensor([n], 'attention-gqa-scratch', 'scratch');
    scratchByGpu.set(gpu, t);
  }
  return t;
}

export function gqaBackward(enc: StepEncoder, x: GqaBackwardArgs): void {
  const r = resolve(x);
  const TT = r.T * r.T;
  need(enc, x.dout, r.B * r.T * r.NH * r.HS, 'dout');
  need(enc, x.q, viewSize(r, r.q, r.NH), 'q');
  need(enc, x.k, viewSize(r, r.k, r.NKV), 'k');
  need(enc, x.v, viewSize(r, r.v, r.NKV), 'v');
  need(enc, x.dq, viewSize(r, r.q, r.NH), 'dq');
  need(enc, x.dk, viewSize(r, r.k, r.NKV), 'dk');
  need(enc, x.dv, viewSize(r, r.v, r.NKV), 'dv');
  need(enc, x.att, r.B * r.NH * TT, 'att');
  const scratch = x.datt ?? sharedScratch(enc.gpu, r.B * r.NH * TT);
  need(enc, scratch, r.B * r.NH * TT, 'datt');
  const label = x.label ?? `attention-gqa bwd ${tag(r)}`;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'gqa_backward_rows' },
    bindings: { 2: x.k, 3: x.v, 6: x.dout, 7: x.att, 8: scratch, 9: x.dq },
    params: params(r),
    workgroups: [ceilDiv(r.T, WG), r.NH, r.B],
    label: `${label} rows`,
  });
  // One buffer may not be bound twice as writable: a shared dk/dv buffer takes the one-binding entry.
  const shared = x.dk.buffer === x.dv.buffer;
  enc.dispatch({
    kernel: { shader: SHADER, entry: shared ? 'gqa_backward_cols_shared' : 'gqa_backward_cols' },
    bindings: shared
      ? { 1: x.q, 6: x.dout, 7: x.att, 8: scratch, 10: x.dk }
      : { 1: x.q, 6: x.dout, 7: x.att, 8: scratch, 10: x.dk, 11: x.dv },
    params: params(r),
    workgroups: [ceilDiv(r.T, WG), r.NKV, r.B],
    label: `${label} cols`,
  });
}

export interface GqaDecodeArgs {
  q: GpuTensor; // (Tq, NH·HS) or a view (qView)
  kc: GpuTensor; // (S, NKV·HS) cached keys, row s = position s
  vc: GpuTensor; // (S, NKV·HS) cached values
  out: GpuTensor; // (Tq, NH·HS)
  att: GpuTensor; // (Tq, NH, S) scratch
  Tq: number;
  pos0: number; // absolute position of the first new row
  S: number; // cache capacity (rows)
  NH: number;
  NKV: number;
  HS: number;
  scale?: number;
  window?: number;
  qView?: HeadView;
  /** Element (s, g, i) of the key cache at off + s·row + g·head + i; default (S, NKV·HS). */
  kcView?: HeadView;
  vcView?: HeadView;
  label?: string;
}

/** Attention of Tq new rows against a KV cache: one dispatch, grid (Tq, NH). */
export function gqaDecode(enc: StepEncoder, x: GqaDecodeArgs): void {
  const r = resolve({ ...x, B: 1, T: x.Tq, kView: x.kcView, vView: x.vcView });
  const { Tq, pos0, S } = x;
  if (!(Number.isInteger(pos0) && pos0 >= 0 && Number.isInteger(S) && pos0 + Tq <= S))
    throw new Error(`attention-gqa decode: rows ${pos0}..${pos0 + Tq - 1} do not fit a cache of ${S}`);
  const cacheSize = (w: Required<HeadView>) => w.off + (S - 1) * w.row + (r.NKV - 1) * w.head + r.HS;
  need(enc, x.q, viewSize(r, r.q, r.NH), 'q');
  need(enc, x.kc, cacheSize(r.k), 'kc');
  need(enc, x.vc, cacheSize(r.v), 'vc');
  need(enc, x.out, Tq * r.NH * r.HS, 'out');
  need(enc, x.att, Tq * r.NH * S, 'att');
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'gqa_decode' },
    bindings: { 1: x.q, 4: x.out, 5: x.att, 12: x.kc, 13: x.vc },
    params: params(r, pos0, S),
    workgroups: [Tq, r.NH, 1],
    label: x.label ?? `attention-gqa decode Tq${Tq} pos${pos0} ${tag(r)}`,
  });
}
