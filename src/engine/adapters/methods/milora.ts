/**
 * MiLoRA — Minor singular component LoRA (Wang et al. 2024, arXiv:2406.09044). PiSSA's construction on
 * the *minor* end of the spectrum: the adapter starts on the r smallest singular triplets of W and the
 * frozen base keeps the principal part, W_res = W − U_min·S_min·Vh_min (the paper's §3: the principal
 * components carry the pretrained knowledge, so the update should live where W has little energy).
 *
 * Factors in PEFT's PiSSA convention (see pissa.ts): A = diag(√(S/s))·Vh_min, B = U_min·diag(√(S/s)),
 * so s·B·A = U_min·S_min·Vh_min for any α (the paper writes it with s = 1). The minor triplets need a
 * full SVD — a randomized sketch only captures the dominant subspace — so this uses the exact float64
 * one-sided Jacobi SVD on the CPU (fine for the studio's models; slow beyond ~1024 per side).
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM } from '../lora-family';
import {
  attachResidualAdapter,
  checkRanks,
  factorsFromTriplets,
  matrixTriplets,
  residualInstance,
  type ResidualLayer,
} from '../residual';

export const method: AdapterMethod = {
  id: 'milora',
  order: 60,
  peft: { kind: 'residual', note: 'MiLoRA' },
  label: 'MiLoRA',
  paper: 'https://arxiv.org/abs/2406.09044',
  description:
    'LoRA initialised on the r smallest singular triplets of W (exact SVD); the base keeps the principal components, so the update starts where W has the least energy.',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-4,
    source:
      "measured: scripts/lr-sweep.sh on the built-in base model (40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026): val loss 2.005 at 3e-4 and 2.005 at 1e-3, and the 3e-3 run did not reach step 40 — PiSSA's default, as MiLoRA shares its residual parametrisation",
  },
  async init(ctx) {
    const alpha = Number(ctx.params.alpha);
    checkRanks(ctx, (r) => r, 'MiLoRA');
    const layers: ResidualLayer[] = [];
    for (const layer of ctx.targets) {
      const r = ctx.rankFor(layer),
        s = alpha / r;
      const t = await matrixTriplets(ctx.gpu, layer.weight, layer.inDim, layer.outDim, {
        which: 'minor',
        k: r,
        niter: 0,
        seed: ctx.seed,
      });
      const sq = (j: number) => Math.sqrt(t.S[j] / s);
      const { A, B } = factorsFromTriplets(t, layer.inDim, layer.outDim, sq, sq);
      const adapter = attachResidualAdapter(ctx.gpu, layer, { rank: r, scaling: s, A, B });
      layers.push({ adapter, A0: A, B0: B });
    }
    return residualInstance(ctx, layers, { init: 'milora' });
  },
};
