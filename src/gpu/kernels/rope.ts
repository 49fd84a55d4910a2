/**
 * Host side of shaders/rope.wgsl: rotary position embeddings, transformers' rotate_half convention,
 * full or partial (rotDim ≤ HS), in place on a strided view. Records dispatches only; never submits.
 *
 * API (for model files):
 *   const invFreq = ropeInvFreq({ rotDim, theta, scaling })      // = HF's inv_freq (f32), rotDim/2 entries
 *   const table = ropeCosSinTable(invFreq, P)                    // Float32Array (P, 2, rotDim/2); upload once
 *   ropeApply(enc, { x: q, cs, B, T, nHeads: NH, HS, rotDim })    // forward, in place, contiguous (B·T, NH, HS)
 *   ropeApply(enc, { x: dq, cs, B, T, nHeads: NH, HS, rotDim, inverse: true })   // backward (rotation by −θ)
 *   Layout: element (n = b·T + t, head h, dim i) at `offset + n·rowStride + h·headStride + i`;
 *   defaults rowStride = nHeads·HS, headStride = HS, offset = 0 (q of a separate projection). Views:
 *     GPT-2-style fused (N, 3C):          q: rowStride 3C, headStride HS, offset 0;  k: offset C
 *     GPT-NeoX fused per head (N, NH, 3·HS): q: rowStride 3C, headStride 3HS, offset 0;  k: offset HS
 *   Position of row n is pos0 + (n mod T); the table must hold pos0 + T positions.
 *
 * Why a host table for cos/sin: HF computes θ = inv_freq·t in f32 and then cos/sin of it in f32. WGSL's
 * cos/sin are only specified to 2⁻¹¹ absolute error on [−π, π] and unbounded outside, and θ reaches
 * thousands of radians. The table holds the f32 θ (Math.fround(inv_freq·t), the same product torch
 * forms) and its cos/sin evaluated in f64 and rounded: what torch's f32 cos/sin produce to ~1 ulp.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'rope';
const WG = 256; // shader const WG

/** `config.rope_scaling` (or `rope_parameters`) as transformers reads it. */
export interface RopeScaling {
  rope_type?: string;
  type?: string; // the older key
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

export interface RopeInvFreqArgs {
  /** Rotated dims per head: head_dim, or int(head_dim · partial_rotary_factor / rotary_pct). Even. */
  rotDim: number;
  /** config.rope_theta (Llama/Qwen) or rotary_emb_base (GPT-NeoX); 10000 by default. */
  theta?: number;
  scaling?: RopeScaling | null;
}

const f = Math.fround;

/**
 * HF's inv_freq, f32 step by step as torch computes it:
 *   default: 1 / theta^(arange(0, dim, 2)/dim)                  (`_compute_default_rope_parameters`)
 *   linear:  default / factor
 *   llama3:  `_compute_llama3_parameters` — wavelengths above original/low_freq_factor divided by factor,
 *            below original/high_freq_factor unchanged, smooth interpolation in between.
 * Other rope types (dynamic, yarn, longrope, …) throw: their cos/sin also carry an attention factor.
 */
export function ropeInvFreq(a: RopeInvFreqArgs): Float32Array {
  const dim = a.rotDim;
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0)
    throw new Error(`rope: rotary dim must be a positive even integer, got ${dim}`);
  const theta = a.theta ?? 10000;
  if (!(theta > 0)) throw new Error(`rope: rope_theta must be positive, got ${theta}`);
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(theta, f((2 * i) / dim))));
  const s = a.scaling;
  const type = s ? (s.rope_type ?? s.type ?? 'default') : 'default';
  if (type === 'default') return inv;
  const need = (k: keyof RopeScaling): number => {
    const v = s?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`rope: rope_scaling type ${type} needs ${k}`);
    return v;
  };
  if (type === 'linear') {
    const factor = need('factor');
    return inv.map((v) => f(v / factor));
  }
  if (type === 'llama3') {
    const factor = need('factor');
    const low = need('low_freq_factor');
    const high = need('high_freq_factor');
    const old = need('original_max_position_embeddings');
    const lowWavelen = old / low;
    const highWavelen = old / high;
    const twoPi = f(2 * Math.PI);
    return inv.map((v) => {
      const wavelen = f(twoPi / v);
      const scaled = wavelen > lowWavelen ? f(v / factor) : v; // inv_freq_llama
      if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
      const smooth = f(f(f(old / wavelen) - low) / (high - low));
      return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
    });
  }
  throw new Error(`rope: rope_scaling type "${type}" is not supported (supported: default, linear, llama3)`);
}

/** (positions, 2, half): cos then sin of the f32 angle θ = fround(inv_freq[i]·p), for p = 0 … positions−1. */
export function ropeCosSinTable(invFreq: Float32Array, positions: number): Float32Array {
  const half = invFreq.length;
  const out = new Float32Array(positions * 2 * half);
  for (let p = 0; p < positions; p++)
    for (let i = 0; i < half; i++) {
      const th = f(invFreq[i] * p);
      out[p * 2 * half + i] = Math.cos(th);
      out[(p * 2 + 1) * half + i] = Math.sin(th);
    }
  return out;
}

export interface RopeApplyArgs {
  x: GpuTensor; // the buffer holding the heads (see the layout above), rotated in place
  cs: GpuTensor; // ropeCosSinTable(invFreq, ≥ pos0 + T), uploaded
  B: number;
  T: number;
  nHeads: number; // NH for q, NKV for k
  HS: number; // head size
  rotDim: number; // ≤ HS, even; 2·invFreq.length
  rowStride?: number; // default nHeads·HS
  headStride?: number; // default HS
  offset?: number; // default 0
  pos0?: number; // position of t = 0; default 0
  /** Backward: rotate by −θ (dx = Rᵀ·dy). */
  inverse?: boolean;
  label?: string;
}

export function ropeApply(enc: StepEncoder, a: RopeApplyArgs): void {
  const op = 'ropeApply';
  const { B, T, nHeads, HS, rotDim } = a;
  for (const [k, v] of Object.entries({ B, T, nHeads, HS, rotDim })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${op}: ${k} must be a positive integer, got ${v}`);
  }
  if (rotDim % 2 !== 0 || rotDim > HS) throw new Error(`${op}: rotDim ${rotDim} must be even and ≤ head size ${HS}`);
  const half = rotDim / 2;
  const rowStride = a.rowStride ?? nHeads * HS;
  const headStride = a.headStride ?? HS;
  const offset = a.offset ?? 0;
  const pos0 = a.pos0 ?? 0;
  const rows = B * T;
  checkSize(op, 'x', a.x, offset + (rows - 1) * rowStride + (nHeads - 1) * headStride + rotDim);
  checkSize(op, 'cs', a.cs, (pos0 + T) * 2 * half);
  const n = rows * nHeads * half;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'rope_apply' },
    bindings: { 1: a.x, 2: a.cs },
    params: new Params()
      .u32(rows, T, nHeads, half, rowStride, headStride, offset, pos0)
      .f32(a.inverse ? -1 : 1)
      .u32(0, 0, 0)
      .build(),
    workgroups: flatGrid(ceilDiv(n, WG)),
    label: a.label ?? `rope ${a.inverse ? 'backward' : 'forward'} ${rows}x${nHeads}x${HS} rot${rotDim}`,
  });
}
