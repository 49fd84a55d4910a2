/**
 * Flora — low-rank adapters are secretly gradient compressors (Hao, Cao & Mou 2024, arXiv:2402.03293).
 * The gradient is compressed by a seeded Gaussian projection A ~ N(0, 1/r) — R = G·Aᵀ (right) or AᵀG
 * (left), decompressed as R·A (or A·R), E[AᵀA] = I — with Adam's state kept in the compressed space.
 * Every T steps a new A is drawn (seed keyed by (run seed, weight, step), so nothing but the seed needs
 * storing) and the first moment is carried over: M ← M·A_old·A_newᵀ (Flora Alg. 2, momentum transfer).
 *
 * Deviation: Flora's algorithm is stated for momentum/Adafactor; with Adam we transfer m and keep v
 * as is (there is no linear transfer of a second moment; GaLore keeps both across refreshes).
 */
import type { AdapterMethod } from '../types';
import { Rng } from '../../rng';
import { matmul } from '../../../gpu/kernels/matmul';
import { copy } from '../../../gpu/kernels/elementwise';
import { BasisProjector } from '../../optim/projector';
import {
  basisOptions,
  initProjected,
  keyedSeed,
  PERIOD_PARAM,
  PROJ_RANK_PARAM,
  SCALE_PARAM,
} from '../../optim/projector-method';

/** C (r, r) with right: C = A_old·A_newᵀ (rows of A are the r projections); left: C = P_newᵀ·P_old. */
export function transferMatrix(
  old: Float32Array,
  next: Float32Array,
  side: 'left' | 'right',
  r: number,
  d: number,
): Float32Array {
  const C = new Float32Array(r * r);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let s = 0;
      if (side === 'right') for (let k = 0; k < d; k++) s += old[i * d + k] * next[j * d + k];
      else for (let k = 0; k < d; k++) s += next[k * r + i] * old[k * r + j];
      C[i * r + j] = s;
    }
  return C;
}

export const method: AdapterMethod = {
  id: 'flora',
  order: 150,
  peft: {
    kind: 'none',
    note: 'Flora trains every weight (random projections on the optimizer side): no adapter; export the merged model',
  },
  label: 'Flora',
  paper: 'https://arxiv.org/abs/2402.03293',
  description:
    'Adam on a seeded random projection of each gradient, resampled every T steps with momentum transferred; SVD-free and the projection is never stored.',
  params: [PROJ_RANK_PARAM, { ...PERIOD_PARAM, default: 100 }, { ...SCALE_PARAM, default: 1 }],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    const gpu = ctx.gpu;
    return initProjected(ctx, (t) => {
      const p: BasisProjector = new BasisProjector({
        ...basisOptions(ctx, t),
        source: async ({ m, n, r, step }) => {
          const size = p.side === 'right' ? r * n : m * r;
          return new Rng(keyedSeed(ctx.seed, `flora:${t.name}:${step}`), 'flora.projection').fillNormal(
            new Float32Array(size),
            1 / Math.sqrt(r),
          );
        },
        async onRefresh({ old, basis }, moments) {
          if (!old) return;
          const r = p.r,
            d = p.side === 'right' ? p.n : p.m;
          const C = gpu.upload(transferMatrix(old, basis, p.side, r, d), [r, r], `flora-transfer:${t.name}`);
          const tmp = gpu.tensor(moments.m.shape, `flora-momentum:${t.name}`);
          const enc = gpu.encoder(`flora transfer ${t.name}`);
          if (p.side === 'right') matmul(enc, { a: moments.m, b: C, c: tmp, M: p.m, K: r, N: r });
          else matmul(enc, { a: C, b: moments.m, c: tmp, M: r, K: r, N: p.n });
          copy(enc, { src: tmp, dst: moments.m, n: tmp.size });
          enc.submit();
          gpu.release(C);
          gpu.release(tmp);
        },
      });
      return p;
    });
  },
};
