/**
 * NOLA (Koohpayegani, Navaneet, Nooralinejad, Kolouri & Pirsiavash, ICLR 2024, arXiv:2310.02556): LoRA
 * whose factors are linear combinations of random bases, A = Σ_i α_i·A_i and B = Σ_j β_j·B_j, with
 * only the mixture coefficients trained. The trainable-parameter count (k_A + k_B per layer) is
 * decoupled from the rank and the layer shape; the bases are regenerated from `basisSeed`, never stored
 * (adapters/nola-adapter.ts). ΔW = s·B·A with s = α/r, as LoRA.
 *
 * Init: β = 0, so B = 0 and the function is unchanged; α ~ N(0, 1/k_A) from the run seed, which gives
 * A entries of LoRA's Kaiming-uniform variance (the bases are U(±1/√in)). Coefficients are not decayed.
 * Deviation, named: the brief's `seed` parameter is `basisSeed` here — a method param called `seed` would
 * be shadowed by the run seed in the CLI's `--param seed=…` shorthand.
 */
import { Rng } from '../../rng';
import type { AdapterMethod, MethodInstance, TrainableTensor } from '../types';
import { NolaAdapter } from '../nola-adapter';
import { ALPHA_PARAM, RANK_PARAM } from '../lora-family';
import { mergedWeights } from '../merge';

export const method: AdapterMethod = {
  id: 'nola',
  order: 110,
  peft: { kind: 'materialized', note: 'NOLA' },
  label: 'NOLA',
  paper: 'https://arxiv.org/abs/2310.02556',
  description:
    'LoRA with A and B as linear combinations of seeded random bases; only the k_A + k_B mixture coefficients per layer are trained.',
  params: [
    RANK_PARAM,
    ALPHA_PARAM,
    {
      key: 'numBasisA',
      label: 'Bases for A (k_A)',
      type: 'int',
      default: 64,
      min: 1,
      max: 4096,
      help: 'Random bases (and trainable coefficients) for A',
    },
    {
      key: 'numBasisB',
      label: 'Bases for B (k_B)',
      type: 'int',
      default: 64,
      min: 1,
      max: 4096,
      help: 'Random bases (and trainable coefficients) for B',
    },
    {
      key: 'basisSeed',
      label: 'Basis seed',
      type: 'int',
      default: 0,
      min: 0,
      max: 2 ** 32 - 1,
      help: 'Seed of the random bases (regenerated, never stored)',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const { gpu, targets } = ctx;
    const alpha = Number(ctx.params.alpha),
      kA = Number(ctx.params.numBasisA),
      kB = Number(ctx.params.numBasisB),
      basisSeed = Number(ctx.params.basisSeed);
    const spec = { seed: basisSeed, numBasisA: kA, numBasisB: kB };
    const scratch = Math.max(
      ...targets.map((l) => Math.max(kA * ctx.rankFor(l) * l.inDim, kB * l.outDim * ctx.rankFor(l))),
    );
    const basis = gpu.tensor([scratch], 'nola:basis', 'adapter');
    const adapters: NolaAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    for (const layer of targets) {
      const r = ctx.rankFor(layer);
      const coefA = new Rng(ctx.seed, `nola/alpha:${layer.name}`).fillNormal(new Float32Array(kA), 1 / Math.sqrt(kA));
      const ad = new NolaAdapter(gpu, layer, {
        rank: r,
        scaling: alpha / r,
        spec,
        coefA,
        coefB: new Float32Array(kB),
        basis,
      });
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push({ name: `${layer.name}.nola_alpha`, param: ad.coefA, grad: ad.dCoefA, decay: false, lrScale: 1 });
      trainables.push({ name: `${layer.name}.nola_beta`, param: ad.coefB, grad: ad.dCoefB, decay: false, lrScale: 1 });
    }
    const byName = new Map(adapters.map((a) => [a.layer.name, a]));
    const inst: MethodInstance = {
      trainables,
      zeroGrads(enc) {
        for (const a of adapters) a.zeroGrads(enc);
      },
      merged: () => mergedWeights(ctx.model, adapters),
      /** The coefficients, plus the materialised lora_A / lora_B (a plain LoRA with the same ΔW, for export). */
      async state() {
        const tensors = new Map<string, Float32Array>();
        for (const a of adapters) {
          tensors.set(`${a.layer.name}.nola_alpha`, await gpu.read(a.coefA));
          tensors.set(`${a.layer.name}.nola_beta`, await gpu.read(a.coefB));
          const f = await a.factors();
          tensors.set(`${a.layer.name}.lora_A`, f.A);
          tensors.set(`${a.layer.name}.lora_B`, f.B);
        }
        const meta = {
          ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
          scaling: Object.fromEntries(adapters.map((a) => [a.layer.name, a.inner.scaling])),
          basisSeed,
          numBasisA: kA,
          numBasisB: kB,
          materialized: ['lora_A', 'lora_B'],
        };
        return { tensors, meta };
      },
      async deltaOf(layer) {
        return (await byName.get(layer)?.delta()) ?? null;
      },
      dispose() {
        for (const a of adapters) a.dispose();
        gpu.release(basis);
      },
    };
    return inst;
  },
};
