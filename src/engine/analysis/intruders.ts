/**
 * Intruder dimensions (Shuttleworth, Jacob, Ravichander, Fan & Sengupta 2024, "LoRA vs Full
 * Fine-tuning: An Illusion of Equivalence", arXiv 2410.21228, §4; code `reeceshuttle/intruder-dimensions`
 * `find_intruder_dimensions.py`, and PEFT `tuners/lora/intruders.py`; reference §2.1–2.3):
 *
 *   U_dot = |U_tunedᵀ · U_base|           entry (j, i) = |cos(y_j, x_i)| of unit left singular vectors
 *   maxCos_j = max over ALL base vectors x_i (the thin U_base of a full SVD, min(m, n) columns)
 *   tuned vector j (among the top k by singular value) is an intruder ⇔ maxCos_j < ε
 * with the paper's defaults k = 10, ε = 0.5. Only left singular vectors (the output space of the
 * (out, in) matrix) are used. The heatmap is the top-k × top-K block of U_dot.
 *
 * Classification (issue 12 item 4): a count alone misleads. A tuned vector with max|cos| < ε may
 * still lie inside a near-degenerate cluster of W0's spectrum — a rotation among base directions of
 * almost equal σ, which any perturbation produces (Davis–Kahan: the sin of the angle a perturbation
 * E turns an eigenvector by is bounded by ‖E‖/gap, so a small gap permits large rotations by small
 * updates, Davis & Kahan 1970, SIAM J. Numer. Anal. 7(1)). Our explicit rule: with σ_j the tuned
 * vector's singular value, the cluster is the base vectors i with σ_j/1.5 ≤ σ0_i ≤ 1.5·σ_j; the
 * intruder is a ROTATION when the norm of its projection onto that cluster, √(Σ_cluster cos²), is
 * ≥ 0.5, and a NEW DIRECTION otherwise. The factor 1.5 and the threshold 0.5 are parameters.
 *
 * Also: principal angles between two subspaces given by orthonormal bases (Björck & Golub 1973):
 * cos θ_i = σ_i(U1ᵀ U2).
 */
import { jacobiSvd } from '../linalg';

export interface IntruderOptions {
  k?: number;
  eps?: number;
  /** ε values for the sweep (default 0.1, 0.2, …, 0.9). */
  epsSweep?: number[];
  /** Columns (base vectors, in singular-value order) in the heatmap block. Default 50. */
  heatmapCols?: number;
  /** σ of the tuned matrix (descending) and of the base: enables the rotation / new-direction split. */
  sigmaTuned?: ArrayLike<number>;
  sigmaBase?: ArrayLike<number>;
  /** Cluster: base σ within this factor of the tuned σ (default 1.5). */
  clusterFactor?: number;
  /** Projection norm onto the cluster at or above which an intruder is a rotation (default 0.5). */
  rotationThreshold?: number;
}

export interface IntruderResult {
  k: number;
  eps: number;
  count: number;
  /** Indices (0-based, singular-value rank) of the intruding tuned vectors. */
  indices: number[];
  /** max_i |cos(y_j, x_i)| for each of the top-k tuned vectors. */
  maxCos: number[];
  /** argmax_i of the above: the base vector each tuned vector matches best. */
  bestMatch: number[];
  sweep: { eps: number; count: number }[];
  /** |U_tunedᵀ U_base| on the top-k × top-K block, row-major (k, K). */
  heatmap: { rows: number; cols: number; values: number[] };
  /** min over the top-k of max|cos| (1 when k = 0): how close the nearest miss came. */
  minMaxCos: number;
  /** With σ given: each intruder (same order as `indices`) as a new direction or a rotation in a cluster. */
  kinds?: ('new' | 'rotation')[];
  /** ‖projection onto its σ-cluster‖ of each of the top-k tuned vectors (so any ε can be classified). */
  clusterNorm?: number[];
  newDirections?: number;
  rotations?: number;
}

export const DEFAULT_EPS_SWEEP = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * @param Ut tuned left singular vectors (M, kt) row-major, columns by descending σ
 * @param U0 base left singular vectors (M, r0) row-major — all of them (thin SVD)
 */
export function intruderDimensions(
  Ut: ArrayLike<number>,
  kt: number,
  U0: ArrayLike<number>,
  r0: number,
  M: number,
  opts: IntruderOptions = {},
): IntruderResult {
  const k = Math.min(opts.k ?? 10, kt);
  const eps = opts.eps ?? 0.5;
  const K = Math.min(opts.heatmapCols ?? 50, r0);
  // dots (k, r0) = Utᵀ(:, :k) · U0, accumulated in float64 row by row of the (M, ·) factors.
  const dots = new Float64Array(k * r0);
  for (let i = 0; i < M; i++) {
    const to = i * kt;
    const bo = i * r0;
    for (let a = 0; a < k; a++) {
      const y = Ut[to + a];
      if (y === 0) continue;
      const row = a * r0;
      for (let b = 0; b < r0; b++) dots[row + b] += y * U0[bo + b];
    }
  }
  const maxCos: number[] = [];
  const bestMatch: number[] = [];
  for (let a = 0; a < k; a++) {
    let mx = 0;
    let arg = 0;
    for (let b = 0; b < r0; b++) {
      const v = Math.abs(dots[a * r0 + b]);
      if (v > mx) {
        mx = v;
        arg = b;
      }
    }
    maxCos.push(mx);
    bestMatch.push(arg);
  }
  const indices = maxCos.map((c, j) => (c < eps ? j : -1)).filter((j) => j >= 0);
  const sweep = (opts.epsSweep ?? DEFAULT_EPS_SWEEP).map((e) => ({
    eps: e,
    count: maxCos.filter((c) => c < e).length,
  }));
  const values: number[] = [];
  for (let a = 0; a < k; a++) for (let b = 0; b < K; b++) values.push(Math.abs(dots[a * r0 + b]));
  const out: IntruderResult = {
    k,
    eps,
    count: indices.length,
    indices,
    maxCos,
    bestMatch,
    sweep,
    heatmap: { rows: k, cols: K, values },
    minMaxCos: maxCos.length ? Math.min(...maxCos) : 1,
  };
  if (opts.sigmaTuned && opts.sigmaBase) {
    const f = opts.clusterFactor ?? 1.5,
      thr = opts.rotationThreshold ?? 0.5;
    out.clusterNorm = maxCos.map((_, j) => {
      const sj = opts.sigmaTuned![j];
      let ss = 0;
      for (let b = 0; b < r0; b++) {
        const sb = opts.sigmaBase![b];
        if (sb >= sj / f && sb <= sj * f) ss += dots[j * r0 + b] ** 2;
      }
      return Math.sqrt(ss);
    });
    out.kinds = indices.map((j) => (out.clusterNorm![j] >= thr ? 'rotation' : 'new'));
    out.rotations = out.kinds.filter((x) => x === 'rotation').length;
    out.newDirections = out.kinds.length - out.rotations;
  }
  return out;
}

export interface PrincipalAngles {
  r: number;
  /** cos θ_1 ≥ … ≥ cos θ_r */
  cosines: number[];
  /** θ in degrees, ascending */
  degrees: number[];
}

/**
 * Principal angles between span(U1[:, :r]) and span(U2[:, :r]) for orthonormal column sets U1 (M, c1),
 * U2 (M, c2), row-major.
 */
export function principalAngles(
  U1: ArrayLike<number>,
  c1: number,
  U2: ArrayLike<number>,
  c2: number,
  M: number,
  r: number,
): PrincipalAngles {
  const rr = Math.max(0, Math.min(r, c1, c2));
  if (rr === 0) return { r: 0, cosines: [], degrees: [] };
  const C = new Float64Array(rr * rr);
  for (let i = 0; i < M; i++) {
    for (let a = 0; a < rr; a++) {
      const x = U1[i * c1 + a];
      if (x === 0) continue;
      for (let b = 0; b < rr; b++) C[a * rr + b] += x * U2[i * c2 + b];
    }
  }
  const s = jacobiSvd(C, rr, rr, { vectors: 'none' }).S;
  const cosines = Array.from(s, (c) => Math.min(1, c));
  return { r: rr, cosines, degrees: cosines.map((c) => (Math.acos(c) * 180) / Math.PI) };
}
