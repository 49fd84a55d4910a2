/**
 * VeRA — Vector-based Random Matrix Adaptation (Kopiczko, Blankevoort & Asano 2024, arXiv:2310.11454).
 * One pair of frozen random projections A (r, max_in) and B (max_out, r) is shared by every adapted
 * layer; each layer trains only two scaling vectors, λ_d (r) and λ_b (out):
 *   ΔW = diag(λ_b)·B[:out]·diag(λ_d)·A[:, :in]      (the branch: adapters/vera-adapter.ts)
 *
 * Following PEFT's VeraConfig / VeraModel (reference §1.7):
 *   - A and B are Kaiming-uniform (bound √(6/fan_in): √(6/max_in) for A, √(6/r) for B), drawn from the
 *     seed `projectionSeed` (PEFT's projection_prng_key, default 0) — here from the Philox streams
 *     (projectionSeed, "vera/A") and (projectionSeed, "vera/B"), so they are reproducible from the run
 *     link and need not be stored (PEFT's save_projection=True stores them; `state()` includes them too).
 *   - max_in / max_out are the largest in/out features over the TARGETED layers.
 *   - λ_d = d_initial (default 0.1), λ_b = 0: ΔW = 0 at init, the function is unchanged.
 *   - No α scaling (VeRA has none).
 * Deviation: PEFT's default rank is 256; the studio's default is 32, which suits its small models
 * (a rank above the layer width adds nothing but cost).
 * The λ vectors are scaling vectors: no weight decay, like biases and norms. They train at lr × `lrScale`
 * (default 30): the paper tunes VeRA at learning rates one to two orders of magnitude above LoRA's
 * (its appendix hyperparameters), and a studio run shares one lr across methods; at LoRA's lr, and
 * at small ranks (the update has only r + out free numbers per layer), VeRA barely moves in tens of
 * steps — at rank 4 on the micro preset 10× still did not lower the loss in 20 steps, 30× did. Set
 * lrScale = 1 for PEFT's behaviour (one lr for everything).
 */
import { Rng } from '../../rng';
import type { AdapterMethod, MethodInstance, TrainableTensor } from '../types';
import { VeraAdapter, type VeraShared } from '../vera-adapter';
import { mergedWeights } from '../merge';

/** PEFT's `_kaiming_init` bound for a (rows, cols) tensor: √3·√2/√fan_in with fan_in = cols. */
export function veraProjections(
  seed: number,
  r: number,
  maxIn: number,
  maxOut: number,
): { A: Float32Array; B: Float32Array } {
  const bA = Math.sqrt(6 / maxIn),
    bB = Math.sqrt(6 / r);
  return {
    A: new Rng(seed, 'vera/A').fillUniform(new Float32Array(r * maxIn), -bA, bA),
    B: new Rng(seed, 'vera/B').fillUniform(new Float32Array(maxOut * r), -bB, bB),
  };
}

export const method: AdapterMethod = {
  id: 'vera',
  order: 100,
  peft: {
    kind: 'none',
    note: "VeRA is PEFT's VERA adapter type, not LORA; its shared projections and λ vectors have no LoRA names",
  },
  label: 'VeRA',
  paper: 'https://arxiv.org/abs/2310.11454',
  description:
    'Frozen random projections A and B shared by every layer (from a seed); each layer trains only two scaling vectors, λ_d (r) and λ_b (out): ΔW = Λ_b·B·Λ_d·A.',
  params: [
    {
      key: 'rank',
      label: 'Rank r',
      type: 'int',
      default: 32,
      min: 1,
      max: 1024,
      help: 'Rank of the shared projections (PEFT default 256; 32 suits small models)',
    },
    {
      key: 'dInitial',
      label: 'd initial',
      type: 'float',
      default: 0.1,
      min: 0,
      max: 10,
      help: 'Initial value of every λ_d entry (PEFT d_initial)',
    },
    {
      key: 'lrScale',
      label: 'λ learning-rate ×',
      type: 'float',
      default: 30,
      min: 0.01,
      max: 1000,
      help: "λ_d and λ_b train at lr × this (VeRA is tuned at 10–100× LoRA's learning rates)",
    },
    {
      key: 'projectionSeed',
      label: 'Projection seed',
      type: 'int',
      default: 0,
      min: 0,
      max: 2 ** 32 - 1,
      help: 'Seed of the shared random A and B (PEFT projection_prng_key)',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const { gpu, targets } = ctx;
    const r = Number(ctx.params.rank),
      dInitial = Number(ctx.params.dInitial),
      projectionSeed = Number(ctx.params.projectionSeed),
      lrScale = Number(ctx.params.lrScale);
    const maxIn = Math.max(...targets.map((l) => l.inDim)),
      maxOut = Math.max(...targets.map((l) => l.outDim));
    const proj = veraProjections(projectionSeed, r, maxIn, maxOut);
    const shared: VeraShared = {
      r,
      maxIn,
      maxOut,
      A: gpu.upload(proj.A, [r, maxIn], 'vera_A', 'adapter'),
      B: gpu.upload(proj.B, [maxOut, r], 'vera_B', 'adapter'),
    };
    const adapters: VeraAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    for (const layer of targets) {
      const ad = new VeraAdapter(gpu, layer, shared, {
        lambdaD: new Float32Array(r).fill(dInitial),
        lambdaB: new Float32Array(layer.outDim),
      });
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push({
        name: `${layer.name}.vera_lambda_d`,
        param: ad.lambdaD,
        grad: ad.dLambdaD,
        decay: false,
        lrScale,
      });
      trainables.push({
        name: `${layer.name}.vera_lambda_b`,
        param: ad.lambdaB,
        grad: ad.dLambdaB,
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
        const tensors = new Map<string, Float32Array>([
          ['vera_A', proj.A],
          ['vera_B', proj.B],
        ]);
        for (const a of adapters) {
          tensors.set(`${a.layer.name}.vera_lambda_d`, await gpu.read(a.lambdaD));
          tensors.set(`${a.layer.name}.vera_lambda_b`, await gpu.read(a.lambdaB));
        }
        return {
          tensors,
          meta: { rank: r, projectionSeed, dInitial, lrScale, maxIn, maxOut, rngPurposes: ['vera/A', 'vera/B'] },
        };
      },
      async deltaOf(layer) {
        return (await byName.get(layer)?.delta()) ?? null;
      },
      dispose() {
        for (const a of adapters) a.dispose();
        gpu.release(shared.A);
        gpu.release(shared.B);
      },
    };
    return inst;
  },
};
