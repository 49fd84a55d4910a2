/**
 * What every gradient-projection method (galore, fira, galore-dct, flora) shares: the targeted
 * weight matrices become trainable, each with a projector on its gradient; nothing else trains (the
 * embeddings, biases and norms stay frozen so the comparison with LoRA on the same targets is like for
 * like). The method files only say where a basis comes from.
 *
 * This is not the trainer's hook (projector.ts) and not a method (methods/<id>.ts).
 */
import type { MethodContext, MethodInstance, MethodParamSpec, TrainableTensor } from '../adapters/types';
import type { BasisProjectorOptions, BasisSource, GradientProjector } from './projector';
import { purposeTag } from '../../gpu/purposes';
import { rsvd } from '../rsvd';

export const PERIOD_PARAM: MethodParamSpec = {
  key: 'period',
  label: 'Refresh period T',
  type: 'int',
  default: 200,
  min: 1,
  max: 100000,
  help: 'Steps between projection refreshes (GaLore update_proj_gap; 200 in the paper)',
};

export const SCALE_PARAM: MethodParamSpec = {
  key: 'scale',
  label: 'Scale α',
  type: 'float',
  default: 0.25,
  min: 0,
  max: 100,
  help: 'The projected update is multiplied by α (GaLore scale; 0.25 in the paper’s pre-training runs)',
};

export const PROJ_RANK_PARAM: MethodParamSpec = {
  key: 'rank',
  label: 'Projection rank r',
  type: 'int',
  default: 8,
  min: 1,
  max: 4096,
  help: 'Rank of the gradient projection: Adam’s moments are (max side, r) instead of (m, n)',
};

/** A u32 seed for (run seed, purpose): distinct streams for each layer and refresh step. */
export function keyedSeed(seed: number, purpose: string): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ purposeTag(purpose)) >>> 0;
}

/** One targeted weight as a projection method sees it. */
export interface ProjectedTarget {
  name: string;
  param: TrainableTensor['param'];
  grad: TrainableTensor['grad'];
  m: number;
  n: number;
}

/** The options every basis projector of a method shares: the target and the method's rank, period and scale. */
export function basisOptions(ctx: MethodContext, t: ProjectedTarget): Omit<BasisProjectorOptions, 'source'> {
  return {
    gpu: ctx.gpu,
    ...t,
    rank: Number(ctx.params.rank),
    period: Number(ctx.params.period),
    scale: Number(ctx.params.scale),
  };
}

/**
 * GaLore's basis (Zhao et al. 2024, Alg. 1): the top-r singular vectors of the current gradient, from the
 * GPU randomized SVD, seeded by (run seed, weight, step) — Q (r, n) on the right, P (m, r) on the left.
 * Fira uses the same basis, under the same seed purpose.
 */
export function svdBasis(ctx: MethodContext, name: string): BasisSource {
  return async ({ gpu, grad, m, n, r, side, step }) => {
    const svd = await rsvd(gpu, {
      matrix: grad,
      M: m,
      N: n,
      k: r,
      seed: keyedSeed(ctx.seed, `galore:${name}:${step}`),
    });
    return side === 'right' ? svd.Vt : svd.U;
  };
}

export function initProjected(
  ctx: MethodContext,
  make: (t: ProjectedTarget) => GradientProjector,
  opts: { decay?: boolean } = {},
): MethodInstance {
  const { model } = ctx;
  const names = ctx.targets.map((l) => `${l.name}.weight`);
  model.setTrainable(names);
  const projectors: GradientProjector[] = [];
  const trainables: TrainableTensor[] = ctx.targets.map((l) => {
    const name = `${l.name}.weight`;
    const param = model.param(name);
    const grad = model.grads.get(name)!;
    const projector = make({ name, param, grad, m: l.inDim, n: l.outDim });
    projectors.push(projector);
    return { name, param, grad, decay: opts.decay ?? true, lrScale: 1, projector };
  });
  return {
    trainables,
    merged: () => model.readWeights(),
    async state() {
      const all = await model.readWeights();
      const tensors = new Map<string, Float32Array>();
      for (const n of names) tensors.set(n, all.get(n)!);
      return { tensors, meta: { projected: names } };
    },
    dispose() {
      for (const p of projectors) p.dispose();
    },
  };
}
