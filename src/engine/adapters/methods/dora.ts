/**
 * DoRA — Weight-Decomposed Low-Rank Adaptation (Liu et al. 2024, arXiv:2402.09353), as PEFT's
 * `use_dora=True`: each targeted weight is split into a magnitude m (one per output feature,
 * initialised to the norms of the pretrained weight's rows in PyTorch's (out, in) layout, i.e. the
 * columns of our (in, out) W) and a direction W + s·B·A normalised by its (detached) norm; A, B are
 * LoRA's (A Kaiming-uniform, B = 0, s = α/r), so the model is unchanged at step 0. Trainable: m, A, B.
 * The layer itself: ../dora-adapter.ts. m gets no weight decay (a scaling vector, like LayerNorm gains).
 */
import type { AdapterMethod, TrainableTensor } from '../types';
import { DoraAdapter } from '../dora-adapter';
import { ALPHA_PARAM, RANK_PARAM, kaimingA } from '../lora-family';

export const method: AdapterMethod = {
  id: 'dora',
  order: 70,
  peft: { kind: 'dora', note: 'LoRA with use_dora and the magnitude vectors' },
  label: 'DoRA',
  paper: 'https://arxiv.org/abs/2402.09353',
  description:
    'Weight-decomposed LoRA: a trainable magnitude per output feature times the LoRA-updated direction (W + s·B·A)/‖W + s·B·A‖, the norm detached as in PEFT.',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-3,
    source:
      "measured: scripts/lr-sweep.sh on the built-in base model (40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026): val loss 2.006 at 1e-3, 2.009 at 3e-3, 2.026 at 1e-2 (LoRA's range, as DoRA keeps LoRA's B = 0 init)",
  },
  async init(ctx) {
    const alpha = Number(ctx.params.alpha);
    const adapters: DoraAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    for (const layer of ctx.targets) {
      const r = ctx.rankFor(layer);
      const ad = await DoraAdapter.create(ctx.gpu, layer, {
        rank: r,
        scaling: alpha / r,
        A: kaimingA(ctx.seed, layer.name, r, layer.inDim),
        B: new Float32Array(layer.outDim * r),
      });
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push(
        { name: `${layer.name}.lora_A`, param: ad.core.A, grad: ad.core.dA!, decay: true, lrScale: 1 },
        { name: `${layer.name}.lora_B`, param: ad.core.B, grad: ad.core.dB!, decay: true, lrScale: 1 },
        { name: `${layer.name}.lora_magnitude_vector`, param: ad.m, grad: ad.dm, decay: false, lrScale: 1 },
      );
    }
    const byName = new Map(adapters.map((a) => [a.layer.name, a]));
    return {
      trainables,
      zeroGrads(enc) {
        for (const a of adapters) a.zeroGrads(enc);
      },
      async merged() {
        const w = await ctx.model.readWeights();
        for (const a of adapters) w.set(`${a.layer.name}.weight`, await a.mergedWeight());
        return w;
      },
      async state() {
        const tensors = new Map<string, Float32Array>();
        for (const a of adapters) {
          tensors.set(`${a.layer.name}.lora_A`, await ctx.gpu.read(a.core.A));
          tensors.set(`${a.layer.name}.lora_B`, await ctx.gpu.read(a.core.B));
          tensors.set(`${a.layer.name}.lora_magnitude_vector`, await ctx.gpu.read(a.m));
        }
        const meta = {
          ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
          scaling: Object.fromEntries(adapters.map((a) => [a.layer.name, a.scaling])),
          dora: true,
        };
        return { tensors, meta };
      },
      /** The dense update of the effective weight, W' − W (what spectra and intruder dimensions see). */
      async deltaOf(layer) {
        const a = byName.get(layer);
        if (!a) return null;
        const merged = await a.mergedWeight();
        const W = await ctx.gpu.read(a.layer.weight);
        for (let i = 0; i < merged.length; i++) merged[i] -= W[i];
        return merged;
      },
      dispose() {
        for (const a of adapters) a.dispose();
      },
    };
  },
};
