/**
 * The LoRA family's shared pieces, used by every method built from LowRankAdapters (lora, rslora,
 * loraplus, lora-asym, lora-a-only, dylora, eva, pissa, milora, lora-ga, the residual-basis methods)
 * and by the methods that reuse its parameters (dora, nola, svfit): the rank and α parameter schema, PEFT's
 * Kaiming-uniform init of lora_A, `initLoraFamily` (a LowRankAdapter on every target) and
 * `loraInstance` (the MethodInstance of any set of LowRankAdapters). Methods stay one file each in
 * methods/; this module holds no method record.
 */
import { Rng } from '../rng';
import type { MethodContext, MethodInstance, TrainableTensor } from './types';
import { LowRankAdapter, type LowRankInit } from './lowrank';
import type { Linear } from '../model/linear';
import { mergedWeights } from './merge';

export const RANK_PARAM = {
  key: 'rank',
  label: 'Rank r',
  type: 'int',
  default: 8,
  min: 1,
  max: 256,
  help: 'Rank of the update ΔW = B·A',
} as const;
export const ALPHA_PARAM = {
  key: 'alpha',
  label: 'α',
  type: 'float',
  default: 16,
  min: 0,
  max: 4096,
  help: 'Scaling numerator: s = α/r (LoRA) or α/√r (rsLoRA)',
} as const;

/** PEFT's kaiming_uniform_(a=√5) for lora_A: U(−1/√in, 1/√in). */
export function kaimingA(seed: number, name: string, r: number, inDim: number): Float32Array {
  const bound = 1 / Math.sqrt(inDim);
  return new Rng(seed, `lora_A:${name}`).fillUniform(new Float32Array(r * inDim), -bound, bound);
}

/**
 * The frozen random B of A-only LoRA (out, r): kaimingA's draw mirrored, U(−1/√out, 1/√out), so that
 * A-only on W is B-only (lora-asym) on Wᵀ with the same init distribution and the two arms differ only
 * in which side is frozen. (torch's kaiming_uniform_ on the (out, r) tensor would use fan_in = r,
 * i.e. U(±1/√r): √(out/r)× larger and no longer a like-for-like comparison.)
 */
export function kaimingB(seed: number, name: string, r: number, outDim: number): Float32Array {
  const bound = 1 / Math.sqrt(outDim);
  return new Rng(seed, `lora_B:${name}`).fillUniform(new Float32Array(outDim * r), -bound, bound);
}

export interface LoraVariantOptions<A extends LowRankAdapter = LowRankAdapter> {
  scaling: (alpha: number, r: number) => number;
  trainA: boolean;
  lrScaleB: number;
  /** A-only LoRA: B is a frozen random draw (kaimingB), A starts at zero and is the only trainable. */
  frozenRandomB?: boolean;
  /** Builds each layer's adapter from PEFT's init (DyLoRA's subclass); a plain LowRankAdapter by default. */
  adapter?: (layer: Linear, init: LowRankInit) => A;
}

/**
 * A LowRankAdapter on every target with PEFT's LoRA init (A Kaiming-uniform, B = 0, s from `scaling`;
 * `frozenRandomB` swaps the roles for A-only LoRA),
 * and its trainables (lora_A when trained, lora_B with `lrScaleB`). Methods that add step hooks (ReLoRA)
 * or their own adapter class (DyLoRA) start here and build their instance with `loraInstance`.
 */
export function attachLoraFamily<A extends LowRankAdapter = LowRankAdapter>(
  ctx: MethodContext,
  o: LoraVariantOptions<A>,
): { adapters: A[]; trainables: TrainableTensor[] } {
  const alpha = Number(ctx.params.alpha);
  const adapters: A[] = [];
  const trainables: TrainableTensor[] = [];
  for (const layer of ctx.targets) {
    const r = ctx.rankFor(layer);
    const onlyA = o.frozenRandomB === true;
    const init: LowRankInit = {
      rank: r,
      scaling: o.scaling(alpha, r),
      // one factor random, the other zero, so ΔW = 0 at step 0 either way
      A: onlyA ? new Float32Array(r * layer.inDim) : kaimingA(ctx.seed, layer.name, r, layer.inDim),
      B: onlyA ? kaimingB(ctx.seed, layer.name, r, layer.outDim) : new Float32Array(layer.outDim * r),
      trainA: o.trainA || onlyA,
      trainB: !onlyA,
    };
    const ad = o.adapter ? o.adapter(layer, init) : (new LowRankAdapter(ctx.gpu, layer, init) as A);
    layer.adapter = ad;
    adapters.push(ad);
    if (ad.dA) trainables.push({ name: `${layer.name}.lora_A`, param: ad.A, grad: ad.dA, decay: true, lrScale: 1 });
    if (ad.dB)
      trainables.push({ name: `${layer.name}.lora_B`, param: ad.B, grad: ad.dB, decay: true, lrScale: o.lrScaleB });
  }
  return { adapters, trainables };
}

/** Attach a LowRankAdapter to every target; shared by lora, rslora, loraplus, lora-asym and lora-a-only. */
export async function initLoraFamily(ctx: MethodContext, o: LoraVariantOptions): Promise<MethodInstance> {
  const { adapters, trainables } = attachLoraFamily(ctx, o);
  return loraInstance(ctx, adapters, trainables);
}

/** The MethodInstance of any method built from LowRankAdapters. */
export function loraInstance(
  ctx: MethodContext,
  adapters: LowRankAdapter[],
  trainables: TrainableTensor[],
  extra: Partial<MethodInstance> = {},
): MethodInstance {
  const byName = new Map(adapters.map((a) => [a.layer.name, a]));
  return {
    trainables,
    zeroGrads(enc) {
      for (const a of adapters) a.zeroGrads(enc);
    },
    merged: () =>
      mergedWeights(ctx.model, adapters, async (a) =>
        a.baseWeight === a.layer.weight ? null : ctx.gpu.read(a.baseWeight),
      ),
    async state() {
      const tensors = new Map<string, Float32Array>();
      for (const a of adapters) {
        tensors.set(`${a.layer.name}.lora_A`, await ctx.gpu.read(a.A));
        tensors.set(`${a.layer.name}.lora_B`, await ctx.gpu.read(a.B));
      }
      const meta = {
        ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
        scaling: Object.fromEntries(adapters.map((a) => [a.layer.name, a.scaling])),
      };
      return { tensors, meta };
    },
    async deltaOf(layer) {
      return (await byName.get(layer)?.delta()) ?? null;
    },
    dispose() {
      for (const a of adapters) a.dispose();
    },
    ...extra,
  };
}
