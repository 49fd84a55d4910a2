/**
 * GaLore — Gradient Low-Rank Projection (Zhao et al. 2024, arXiv:2403.03507, Alg. 1). The targeted
 * weights train at full rank, but Adam sees only the projection of their gradient onto the top-r
 * singular subspace of that gradient, recomputed every T steps: R = PᵀG (or G·Qᵀ on the right for a
 * wide-enough matrix), Adam on R, W ← W − η·α·P·Adam(R). Adam's moments are (r, n) instead of (m, n).
 *
 * Deviation: the basis comes from our GPU randomized SVD (HMT subspace iteration, p = 10, q = 2,
 * src/gpu/kernels/rsvd.ts) rather than a full torch.linalg.svd; galore_torch does the same in its
 * randomized variants. The seed of each refresh is keyed by (run seed, weight, step). Moments are kept
 * across refreshes, as galore_torch does.
 */
import type { AdapterMethod } from '../types';
import { BasisProjector } from '../../optim/projector';
import {
  basisOptions,
  initProjected,
  PERIOD_PARAM,
  PROJ_RANK_PARAM,
  SCALE_PARAM,
  svdBasis,
} from '../../optim/projector-method';

export const method: AdapterMethod = {
  id: 'galore',
  order: 160,
  peft: {
    kind: 'none',
    note: 'GaLore trains every weight (its projection is on the optimizer side): no adapter; export the merged model',
  },
  label: 'GaLore',
  paper: 'https://arxiv.org/abs/2403.03507',
  description:
    'Full-rank weights, low-rank optimizer: Adam on the projection of each gradient onto its top-r singular vectors (rSVD every T steps).',
  params: [PROJ_RANK_PARAM, PERIOD_PARAM, SCALE_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    return initProjected(ctx, (t) => new BasisProjector({ ...basisOptions(ctx, t), source: svdBasis(ctx, t.name) }));
  },
};
