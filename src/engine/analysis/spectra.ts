/**
 * Singular spectra of weight matrices: orientation, full spectra (values only), the exact SVD of a
 * base matrix (cacheable), and top-k left singular vectors by exact SVD or GPU randomized SVD.
 *
 * Orientation convention. Every matrix is analysed as the PyTorch-style (out, in) matrix W, so that
 * W·x maps inputs to outputs and the LEFT singular vectors live in the output space, as in the
 * intruder-dimensions paper (which analyses nn.Linear weights). GPT-2's Conv1D weights are stored
 * (in, out) — Hugging Face's layout, which our model keeps (`c_attn.weight` is (C, 3C)) — so they are
 * transposed first: layout 'in-out'. nn.Linear-style weights (out, in) are used as stored: 'out-in'.
 */
import type { Gpu } from '../../gpu/device';
import { rsvd } from '../rsvd';
import { exactSvd, singularValues } from '../linalg';
import { rsvdRef } from '../ref/rsvd';

export type WeightLayout = 'out-in' | 'in-out';

/** GPT-2 Conv1D parameter names (stored (in, out)). */
const CONV1D = /(^|\.)(c_attn|c_proj|c_fc)\.weight$/;

/** The stored layout a weight name implies: Conv1D weights of GPT-2 are (in, out), everything else (out, in). */
export function layoutForName(name: string): WeightLayout {
  return CONV1D.test(name) ? 'in-out' : 'out-in';
}

/** The (out, in) matrix (M = out, N = in) of a stored (rows, cols) weight. */
export function asOutIn(
  data: ArrayLike<number>,
  rows: number,
  cols: number,
  layout: WeightLayout,
): { data: Float32Array; M: number; N: number } {
  if (data.length !== rows * cols)
    throw new Error(`weight has ${data.length} values, shape (${rows}, ${cols}) needs ${rows * cols}`);
  if (layout === 'out-in')
    return { data: data instanceof Float32Array ? data : Float32Array.from(data), M: rows, N: cols };
  const out = new Float32Array(rows * cols); // (cols, rows)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return { data: out, M: cols, N: rows };
}

/** All singular values, descending, float64 (values only: Jacobi when small, float64 Gram eigenvalues otherwise). */
export function singularSpectrum(data: ArrayLike<number>, M: number, N: number): Float64Array {
  return singularValues(data, M, N);
}

/** Exact thin SVD of a base matrix, left side only: what intruder detection needs, cached per layer. */
export interface BaseSvd {
  M: number;
  N: number;
  r: number;
  U: Float32Array; // (M, r), all left singular vectors
  S: Float64Array; // (r) descending
}

export function computeBaseSvd(data: ArrayLike<number>, M: number, N: number): BaseSvd {
  const s = exactSvd(data, M, N, { vectors: 'left' });
  return { M, N, r: Math.min(M, N), U: s.U, S: s.S64 };
}

export type TopMethod = 'exact' | 'rsvd';

export interface TopLeft {
  method: TopMethod;
  k: number;
  U: Float32Array; // (M, k)
  S: Float64Array; // (k)
  /** Full spectrum when the method produced it (exact). */
  allS?: Float64Array;
  orthError?: number;
}

export interface TopLeftOptions {
  method: TopMethod;
  powerIters?: number;
  oversample?: number;
  seed?: number;
}

/**
 * Top-k left singular vectors of an (M, N) matrix. 'exact': Jacobi (float64, CPU). 'rsvd': randomized
 * SVD on the GPU when one is given, else the float64 CPU randomized SVD.
 */
export async function topLeftSingular(
  gpu: Gpu | null,
  data: Float32Array,
  M: number,
  N: number,
  k: number,
  o: TopLeftOptions,
): Promise<TopLeft> {
  const r = Math.min(M, N);
  const kk = Math.max(0, Math.min(k, r));
  if (o.method === 'exact') {
    const s = exactSvd(data, M, N, { vectors: 'left' });
    const U = new Float32Array(M * kk);
    for (let i = 0; i < M; i++) for (let j = 0; j < kk; j++) U[i * kk + j] = s.U[i * r + j];
    return { method: 'exact', k: kk, U, S: s.S64.slice(0, kk), allS: s.S64 };
  }
  const powerIters = o.powerIters ?? 4;
  const oversample = o.oversample ?? Math.max(10, kk);
  if (kk === 0) return { method: 'rsvd', k: 0, U: new Float32Array(0), S: new Float64Array(0) };
  if (gpu) {
    const t = gpu.upload(data, [M, N], 'analysis:matrix', 'analysis');
    try {
      const res = await rsvd(gpu, { matrix: t, M, N, k: kk, powerIters, oversample, seed: o.seed ?? 0 });
      return { method: 'rsvd', k: kk, U: res.U, S: Float64Array.from(res.S), orthError: res.orthError };
    } finally {
      gpu.release(t);
    }
  }
  const res = rsvdRef(data, M, N, { k: kk, powerIters, oversample, seed: o.seed ?? 0 });
  return { method: 'rsvd', k: kk, U: Float32Array.from(res.U), S: res.S, orthError: res.orthError };
}
