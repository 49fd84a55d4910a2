/**
 * LoRA-GA — Low-Rank Adaptation with Gradient Approximation (Wang, Yu & Li 2024, arXiv:2407.05000).
 * Initialise A and B so that the first step of the low-rank product follows full fine-tuning's
 * gradient, then subtract the initial product from W so the function is unchanged (residual base,
 * adapters/residual.ts).
 *
 * Exactly what this file does (the paper's Alg. 1, as in the authors' reference code and PEFT's
 * LoraGAConfig(direction="ArB2r", scale="stable")):
 *   1. G (out, in) = mean over `batches` training batches of ∂L/∂W (the full weight gradient; here the
 *      base weights are made trainable for those batches only, via model.setTrainable, then frozen again).
 *   2. Top-2r singular triplets G ≈ U·S·Vh by the GPU randomized SVD with 2r oversampling columns and 4
 *      power iterations (PEFT: torch.svd_lowrank(G, q = min(4r, min(shape)), niter = 4)).
 *   3. Direction "ArB2r": A = Vh[:r] (r, in), B = U[:, r:2r] (out, r) — disjoint slices, so B·A starts
 *      from directions the gradient actually uses while both factors get non-zero gradients.
 *   4. Scale "stable" (the paper's §3.3 scale-stability factor): A and B are both multiplied by
 *      d_out^{1/4}/√γ with γ = `gamma` (stable_gamma, default 16) and d_out = out_features.
 *   5. W_res = W − s·B·A with s = α/r (LoRA's scaling).
 * Not done: the "gd"/"unit"/"weightS" scales and other directions of the reference code, and the newer
 * PEFT variant that multiplies B by the singular values S[r:2r] instead of the stable factor.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM } from '../lora-family';
import { attachResidualAdapter, checkRanks, matrixTriplets, residualInstance, type ResidualLayer } from '../residual';
import { scale } from '../../../gpu/kernels/elementwise';

export const method: AdapterMethod = {
  id: 'lora-ga',
  order: 80,
  peft: { kind: 'residual', note: 'LoRA-GA' },
  label: 'LoRA-GA',
  paper: 'https://arxiv.org/abs/2407.05000',
  description:
    'LoRA initialised from the SVD of the full-weight gradient averaged over a few batches (A from its top right singular vectors, B from the next left ones); the initial product is subtracted from W.',
  params: [
    RANK_PARAM,
    ALPHA_PARAM,
    {
      key: 'batches',
      label: 'Gradient batches',
      type: 'int',
      default: 4,
      min: 1,
      max: 256,
      help: 'Training batches the full gradient is averaged over',
    },
    {
      key: 'gamma',
      label: 'Stable γ',
      type: 'float',
      default: 16,
      min: 1e-3,
      max: 1e6,
      help: 'Scale-stability factor: A, B ×= d_out^¼ / √γ (stable_gamma)',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const { gpu, model } = ctx;
    const alpha = Number(ctx.params.alpha),
      batches = Number(ctx.params.batches),
      gamma = Number(ctx.params.gamma);
    checkRanks(ctx, (r) => 2 * r, 'LoRA-GA');
    // 1. The averaged full gradient of every targeted weight. Base grads exist only for these batches.
    const names = ctx.targets.map((l) => `${l.name}.weight`);
    const inits: { A: Float32Array; B: Float32Array }[] = [];
    model.setTrainable(names);
    try {
      await ctx.runBatches(batches, { withGrad: true, visit: async () => {} });
      const enc = gpu.encoder('lora-ga mean gradient');
      for (const l of ctx.targets)
        scale(enc, { x: l.dWeight!, n: l.inDim * l.outDim, s: 1 / batches, label: `${l.name} mean grad` });
      enc.submit();
      for (const layer of ctx.targets) {
        const r = ctx.rankFor(layer);
        // 2. Top-2r triplets of the stored dW (in, out) = Gᵀ: U here = PyTorch's Vhᵀ, Vt here = PyTorch's Uᵀ.
        const t = await matrixTriplets(gpu, layer.dWeight!, layer.inDim, layer.outDim, {
          which: 'top',
          k: 2 * r,
          niter: 4,
          oversample: 2 * r,
          seed: ctx.seed,
        });
        const f = Math.pow(layer.outDim, 0.25) / Math.sqrt(gamma);
        const A = new Float32Array(r * layer.inDim),
          B = new Float32Array(layer.outDim * r);
        const k2 = t.k;
        for (let j = 0; j < r; j++) {
          for (let i = 0; i < layer.inDim; i++) A[j * layer.inDim + i] = f * t.U[i * k2 + j]; // Vh[j]
          for (let o = 0; o < layer.outDim; o++) B[o * r + j] = f * t.Vt[(r + j) * layer.outDim + o]; // U[:, r + j]
        }
        inits.push({ A, B });
      }
    } finally {
      model.setTrainable([]);
    }
    // 5. Attach after the base is frozen again: W_res = W − s·B·A.
    const layers: ResidualLayer[] = ctx.targets.map((layer, i) => {
      const r = ctx.rankFor(layer),
        { A, B } = inits[i];
      return { adapter: attachResidualAdapter(gpu, layer, { rank: r, scaling: alpha / r, A, B }), A0: A, B0: B };
    });
    return residualInstance(ctx, layers, { init: 'lora-ga', direction: 'ArB2r', scale: 'stable', gamma, batches });
  },
};
