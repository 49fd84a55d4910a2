/**
 * SVFit (Sun et al. 2024, arXiv:2409.05926): fine-tune only the top-r singular values of each
 * pretrained weight. With W (PyTorch (out, in) layout) = U·Σ·Vᵀ, the tuned weight is
 *   W' = W + U_r·diag(Δσ)·V_rᵀ,   Δσ ∈ R^r trainable, starting at 0 (the function is unchanged),
 * i.e. the top-r singular values become σ_r + Δσ while every singular vector stays fixed — r numbers
 * per matrix.
 *
 * The branch is VeRA's (adapters/vera-adapter.ts) with per-layer, non-random projections: A = V_rᵀ
 * (r, in), B = U_r (out, r), λ_b = 1 frozen and λ_d = Δσ trainable, so forward, backward and the
 * merge reuse its kernels. The SVD is the GPU randomized SVD with `niter` power iterations (0 = the
 * exact float64 Jacobi SVD), as PiSSA does.
 */
import type { AdapterMethod, MethodInstance, TrainableTensor } from '../types';
import { RANK_PARAM } from '../lora-family';
import { matrixTriplets, factorsFromTriplets } from '../residual';
import { VeraAdapter, type VeraShared } from '../vera-adapter';
import { mergedWeights } from '../merge';

export const method: AdapterMethod = {
  id: 'svfit',
  order: 220,
  peft: {
    kind: 'none',
    note: 'SVFit trains the singular values of the principal part: no LoRA factors PEFT loads; export the merged model',
  },
  label: 'SVFit',
  paper: 'https://arxiv.org/abs/2409.05926',
  description:
    'Train only the top-r singular values of each weight (ΔW = U_r·diag(Δσ)·V_rᵀ); the singular vectors stay fixed — r numbers per matrix.',
  params: [
    RANK_PARAM,
    {
      key: 'niter',
      label: 'SVD power iterations',
      type: 'int',
      default: 4,
      min: 0,
      max: 64,
      help: 'Power iterations of the randomized SVD; 0 = exact SVD',
    },
    {
      key: 'lrScale',
      label: 'Δσ learning-rate ×',
      type: 'float',
      default: 10,
      min: 0.01,
      max: 1000,
      help: 'Δσ trains at lr × this: r scalars per matrix move far less per step than a LoRA factor',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const { gpu } = ctx;
    const niter = Number(ctx.params.niter),
      lrScale = Number(ctx.params.lrScale);
    const adapters: VeraAdapter[] = [];
    const shared: VeraShared[] = [];
    const trainables: TrainableTensor[] = [];
    const sigmas: Record<string, number[]> = {};
    for (const layer of ctx.targets) {
      const r = ctx.rankFor(layer);
      const t = await matrixTriplets(gpu, layer.weight, layer.inDim, layer.outDim, {
        which: 'top',
        k: r,
        niter,
        seed: ctx.seed,
      });
      sigmas[layer.name] = Array.from(t.S);
      const { A, B } = factorsFromTriplets(
        t,
        layer.inDim,
        layer.outDim,
        () => 1,
        () => 1,
      );
      const sh: VeraShared = {
        r,
        maxIn: layer.inDim,
        maxOut: layer.outDim,
        A: gpu.upload(A, [r, layer.inDim], `${layer.name}.svfit_V`, 'adapter'),
        B: gpu.upload(B, [layer.outDim, r], `${layer.name}.svfit_U`, 'adapter'),
      };
      shared.push(sh);
      const ad = new VeraAdapter(gpu, layer, sh, {
        lambdaD: new Float32Array(r),
        lambdaB: new Float32Array(layer.outDim).fill(1),
      });
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push({
        name: `${layer.name}.svfit_delta_sigma`,
        param: ad.lambdaD,
        grad: ad.dLambdaD,
        decay: false,
        lrScale,
      });
    }
    const byName = new Map(adapters.map((a) => [a.layer.name, a]));
    const inst: MethodInstance = {
      trainables,
      zeroGrads(enc) {
        for (const a of adapters) a.zeroGrads(enc);
      },
      merged: () => mergedWeights(ctx.model, adapters),
      async state() {
        const tensors = new Map<string, Float32Array>();
        for (const [i, a] of adapters.entries()) {
          tensors.set(`${a.layer.name}.svfit_delta_sigma`, await gpu.read(a.lambdaD));
          tensors.set(`${a.layer.name}.svfit_V`, await gpu.read(shared[i].A));
          tensors.set(`${a.layer.name}.svfit_U`, await gpu.read(shared[i].B));
        }
        return {
          tensors,
          meta: {
            niter,
            lrScale,
            sigma: sigmas,
            ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.shared.r])),
          },
        };
      },
      async deltaOf(layer) {
        return (await byName.get(layer)?.delta()) ?? null;
      },
      dispose() {
        for (const a of adapters) a.dispose();
        for (const s of shared) {
          gpu.release(s.A);
          gpu.release(s.B);
        }
      },
    };
    return inst;
  },
};
