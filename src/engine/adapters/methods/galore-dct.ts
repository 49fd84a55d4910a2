/**
 * GaLore with the SVD-free DCT projector (Modoranu et al. 2025, "SVD-free low-rank adaptive gradient
 * optimization", methods-catalog §1.5): a complete orthonormal basis — the DCT-II matrix D (d, d) —
 * is fixed once; every T steps the r basis vectors best aligned with the gradient are chosen: one
 * product S = G·Dᵀ (or D·G) on the GPU and a sort of the column (row) norms of S on the CPU. Adam and
 * the update are GaLore's (optim/projector.ts). Only the chosen indices would need storing; we keep the
 * selected rows as the projector's basis so the update is one matmul, and count them as its state.
 */
import type { AdapterMethod } from '../types';
import { matmul } from '../../../gpu/kernels/matmul';
import { BasisProjector } from '../../optim/projector';
import { basisOptions, initProjected, PERIOD_PARAM, PROJ_RANK_PARAM, SCALE_PARAM } from '../../optim/projector-method';

/** Orthonormal DCT-II matrix (d, d): row k is the k-th basis vector, D[k][i] = c_k·cos(π(i + ½)k/d). */
export function dctMatrix(d: number): Float32Array {
  const D = new Float32Array(d * d);
  for (let k = 0; k < d; k++) {
    const c = Math.sqrt((k === 0 ? 1 : 2) / d);
    for (let i = 0; i < d; i++) D[k * d + i] = c * Math.cos((Math.PI * (i + 0.5) * k) / d);
  }
  return D;
}

/** Indices of the r largest scores, ties by the lower index (a deterministic sort). */
export function topIndices(scores: ArrayLike<number>, r: number): number[] {
  return [...Array(scores.length).keys()].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, r);
}

export const method: AdapterMethod = {
  id: 'galore-dct',
  order: 170,
  peft: {
    kind: 'none',
    note: 'GaLore-DCT trains every weight (its projection is on the optimizer side): no adapter; export the merged model',
  },
  label: 'GaLore (DCT)',
  paper: 'https://arxiv.org/abs/2505.17967',
  description:
    'GaLore without an SVD: the projection takes the r DCT basis vectors best aligned with the gradient (one matmul and a sort every T steps).',
  params: [PROJ_RANK_PARAM, PERIOD_PARAM, SCALE_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    const gpu = ctx.gpu;
    return initProjected(ctx, (t) => {
      const p: BasisProjector = new BasisProjector({
        ...basisOptions(ctx, t),
        source: async ({ grad, m, n, r, side }) => {
          const d = side === 'right' ? n : m;
          const Dh = dctMatrix(d);
          const D = gpu.upload(Dh, [d, d], `dct:${t.name}`);
          const S = gpu.tensor([m, n], `dct-scores:${t.name}`);
          const enc = gpu.encoder(`dct alignment ${t.name}`);
          // right: S = G·Dᵀ, column k = G·D[k]ᵀ; left: S = D·G, row k = D[k]·G.
          if (side === 'right') matmul(enc, { a: grad, b: D, c: S, M: m, K: n, N: n, transB: true });
          else matmul(enc, { a: D, b: grad, c: S, M: m, K: m, N: n });
          enc.submit();
          const s = await gpu.read(S);
          gpu.release(D);
          gpu.release(S);
          const score = new Float64Array(d);
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) score[side === 'right' ? j : i] += s[i * n + j] * s[i * n + j];
          const pick = topIndices(score, r);
          const basis = new Float32Array(r * d);
          pick.forEach((k, c) => {
            for (let i = 0; i < d; i++) {
              if (side === 'right')
                basis[c * d + i] = Dh[k * d + i]; // Q (r, n): rows of D
              else basis[i * r + c] = Dh[k * d + i]; // P (m, r): columns are rows of D
            }
          });
          return basis;
        },
      });
      return p;
    });
  },
};
