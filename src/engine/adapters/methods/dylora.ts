/**
 * DyLoRA — dynamic, search-free low-rank adaptation (Valipour et al. 2023, arXiv:2210.07558). One
 * adapter trained for every rank b ≤ r at once: each step samples b ~ U{1..r} and trains the nested
 * prefix B[:, :b]·A[:b, :] with the scaling α/b (the paper's Eq. 5: h = W₀x + (α/b)·W_up↓b·W_dw↓b·x),
 * so after training the adapter can be evaluated at any rank ≤ r (the studio's rank slider).
 *
 * Choices, stated:
 *   - The sample is a pure function of (run seed, step): b = 1 + ⌊u·r⌋ with u the first uniform of
 *     Philox block `step` of the stream (seed, "dylora/rank"). Layers with different ranks (rank
 *     overrides) share u, so their prefixes grow together.
 *   - The WHOLE prefix A[:b], B[:, :b] is trained (gradients of every component < b), not only the b-th
 *     component (the paper's "frozen" variant, §3). Components ≥ b get no gradient that step (AdamW's
 *     momentum still moves them, exactly as with a sliced torch Parameter in the authors' code).
 *   - Evaluation (and merged()/deltaOf/state) uses the evaluation rank, r unless set with
 *     `setEvalRank(b)`. The sampled rank applies to one training step only: each adapter switches back
 *     to the evaluation rank once its backward is recorded, so `Trainer.evaluate` never sees it.
 */
import { Rng, u32ToUnit } from '../../rng';
import type { Gpu, GpuTensor, StepEncoder } from '../../../gpu/device';
import type { Linear } from '../../model/linear';
import { ConfigError } from '../../config';
import { LowRankAdapter, type LowRankInit } from '../lowrank';
import type { AdapterMethod, MethodInstance } from '../types';
import { ALPHA_PARAM, RANK_PARAM, attachLoraFamily, loraInstance } from '../lora-family';

export const DYLORA_RNG_PURPOSE = 'dylora/rank';

/** The rank DyLoRA trains at `step` for a maximum rank r (1-based, uniform on 1..r). */
export function sampleDyLoraRank(seed: number, step: number, r: number): number {
  const u = u32ToUnit(new Rng(seed, DYLORA_RNG_PURPOSE).block(step)[0]);
  return Math.min(r, 1 + Math.floor(u * r));
}

/** A LowRankAdapter that trains at a sampled rank for one step and otherwise runs at its evaluation rank. */
export class DyLoraAdapter extends LowRankAdapter {
  readonly alpha: number;
  evalRank: number;

  constructor(gpu: Gpu, layer: Linear, init: LowRankInit & { alpha: number }) {
    super(gpu, layer, init);
    this.alpha = init.alpha;
    this.evalRank = init.rank;
    this.useRank(init.rank);
  }

  /** Run the nested prefix of rank b with DyLoRA's scaling α/b. */
  useRank(b: number): void {
    this.activeRank = b;
    this.scaling = this.alpha / b;
  }

  override backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    super.backward(enc, l, x, dy, dx, N);
    // The sampled rank lives for one recorded step; the next forward without beforeStep is an evaluation.
    this.useRank(this.evalRank);
  }
}

export interface DyLoraInstance extends MethodInstance {
  /** Maximum rank per layer. */
  readonly maxRank: number;
  /** Current evaluation rank (the largest layer's; each layer uses min(b, its r)). */
  evalRank(): number;
  /** Evaluate (and merge/export) at rank b ≤ r from now on. */
  setEvalRank(b: number): void;
  /** The rank sampled for a training step (what beforeStep applies). */
  rankAt(step: number): number;
}

export function isDyLoraInstance(m: MethodInstance): m is DyLoraInstance {
  return typeof (m as Partial<DyLoraInstance>).setEvalRank === 'function';
}

export const method: AdapterMethod = {
  id: 'dylora',
  order: 120,
  peft: { kind: 'lora', note: 'LoRA at the DyLoRA evaluation rank' },
  label: 'DyLoRA',
  paper: 'https://arxiv.org/abs/2210.07558',
  description:
    'LoRA trained for every rank at once: each step samples b ≤ r and trains the nested prefix with scaling α/b, so the adapter can be evaluated at any rank afterwards.',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const alpha = Number(ctx.params.alpha);
    const { adapters, trainables } = attachLoraFamily(ctx, {
      scaling: (a, r) => a / r,
      trainA: true,
      lrScaleB: 1,
      adapter: (layer, init) => new DyLoraAdapter(ctx.gpu, layer, { ...init, alpha }),
    });
    const maxRank = Math.max(...adapters.map((a) => a.rank));
    let evalRank = maxRank;
    // Each layer's rank for a shared draw: the same u scaled to its own r.
    const rankFor = (a: DyLoraAdapter, step: number) => sampleDyLoraRank(ctx.seed, step, a.rank);
    const base = loraInstance(ctx, adapters, trainables);
    const inst: DyLoraInstance = {
      ...base,
      maxRank,
      beforeStep(step) {
        for (const a of adapters) a.useRank(rankFor(a, step));
      },
      evalRank: () => evalRank,
      setEvalRank(b) {
        if (!(Number.isInteger(b) && b >= 1 && b <= maxRank))
          throw new ConfigError(`DyLoRA evaluation rank must be an integer in 1..${maxRank}, got ${b}`);
        evalRank = b;
        for (const a of adapters) {
          a.evalRank = Math.min(b, a.rank);
          a.useRank(a.evalRank);
        }
      },
      rankAt: (step) => sampleDyLoraRank(ctx.seed, step, maxRank),
      rankAllocation: () => Object.fromEntries(adapters.map((a) => [a.layer.name, a.evalRank])),
      /** The adapter AT THE EVALUATION RANK: lora_A[:b] (b, in), lora_B[:, :b] (out, b), scaling α/b — a plain LoRA. */
      async state() {
        const tensors = new Map<string, Float32Array>();
        for (const a of adapters) {
          const b = a.activeRank,
            { inDim, outDim } = a.layer;
          const A = await ctx.gpu.read(a.A),
            B = await ctx.gpu.read(a.B);
          const Bb = new Float32Array(outDim * b);
          for (let o = 0; o < outDim; o++) Bb.set(B.subarray(o * a.rank, o * a.rank + b), o * b);
          tensors.set(`${a.layer.name}.lora_A`, A.slice(0, b * inDim));
          tensors.set(`${a.layer.name}.lora_B`, Bb);
        }
        const meta = {
          ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.activeRank])),
          scaling: Object.fromEntries(adapters.map((a) => [a.layer.name, a.scaling])),
          maxRanks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
          maxRank,
          evalRank,
          mode: 'prefix',
          rngPurpose: DYLORA_RNG_PURPOSE,
        };
        return { tensors, meta };
      },
    };
    return inst;
  },
};
