/**
 * Fira (Chen et al. 2024, arXiv:2410.01623): GaLore plus the full-rank remainder. GaLore discards
 * S = G − P·PᵀG; Fira adds it back, scaled by the factor Adam applied to the low-rank part — the
 * "norm-based scaling" φ = ‖ψ(R)‖/‖R‖ with ψ = Adam (§4.1) — and caps sudden growth of that term
 * with the norm-growth limiter (§4.2): if ‖S_t‖/‖S_{t−1}‖ > γ, S_t is rescaled to γ‖S_{t−1}‖, γ = 1.01.
 * The step is W ← W − η·[α·P·ψ(R) + φ·S] (Fira's adamw.py: `project_back(norm_grad) + scaling_grad`,
 * the remainder not multiplied by α).
 *
 * Deviation: φ is matrix-wise (the paper allows matrix- or column-wise; Fira's code is column-wise),
 * which needs three norms per matrix: one extra submit and a 3-float readback per step.
 */
import type { AdapterMethod } from '../types';
import type { GpuTensor } from '../../../gpu/device';
import { sumSquaresInto } from '../../../gpu/kernels/reduce';
import { axpy, copy } from '../../../gpu/kernels/elementwise';
import { BasisProjector, type BasisProjectorOptions } from '../../optim/projector';
import {
  basisOptions,
  initProjected,
  PERIOD_PARAM,
  PROJ_RANK_PARAM,
  SCALE_PARAM,
  svdBasis,
} from '../../optim/projector-method';

/** Fira's limiter: (factor to divide S by, the norm to remember), from the scaled norm and the previous one. */
export function normGrowthLimit(norm: number, prev: number | null, gamma: number): { divide: number; keep: number } {
  if (prev === null) return { divide: 1, keep: norm };
  const divide = Math.max(norm / (prev + 1e-8), gamma) / gamma;
  return { divide, keep: norm / divide };
}

class FiraProjector extends BasisProjector {
  private prev: number | null = null;
  private readonly gamma: number;
  private readonly norms: GpuTensor; // (3) ‖update‖², ‖R‖², ‖S‖²

  constructor(o: BasisProjectorOptions, gamma: number) {
    super(o);
    this.gamma = gamma;
    this.norms = o.gpu.zeros([3], `fira-norms:${o.name}`, 'scratch');
  }

  override get stateElements(): number {
    return this.basis.size + 1;
  }

  async finish(s: { lr: number; clipScale: number; projected: GpuTensor; update: GpuTensor }) {
    if (!(s.lr > 0)) return; // a zero learning rate moves nothing (and ψ = update/lr is undefined)
    const { gpu } = this;
    const S = gpu.tensor([this.m, this.n], `fira-remainder:${this.name}`);
    try {
      let enc = gpu.encoder(`fira remainder ${this.name}`);
      copy(enc, { src: this.grad, dst: S, n: S.size });
      this.back(enc, s.projected, S, -1, 1); // S = G − back(R) (unclipped)
      sumSquaresInto(enc, { x: s.update, partials: this.norms, slot: 0 });
      sumSquaresInto(enc, { x: s.projected, partials: this.norms, slot: 1 });
      sumSquaresInto(enc, { x: S, partials: this.norms, slot: 2 });
      enc.submit();
      const [uu, rr, ss] = await gpu.read(this.norms);
      // ψ(R) = update/(−lr); R and S are clipped by clipScale like every gradient in the step.
      const phi = Math.sqrt(uu) / s.lr / (s.clipScale * Math.sqrt(rr) + 1e-8);
      const norm = Math.fround(phi * s.clipScale * Math.sqrt(ss));
      const lim = normGrowthLimit(norm, this.prev, this.gamma);
      this.prev = Math.fround(lim.keep);
      enc = gpu.encoder(`fira update ${this.name}`);
      axpy(enc, { x: S, y: this.param, n: S.size, alpha: (-s.lr * phi * s.clipScale) / lim.divide });
      enc.submit();
    } finally {
      gpu.release(S);
    }
  }

  override async save(): Promise<Float32Array> {
    const basis = await super.save();
    const out = new Float32Array(basis.length + 1);
    out.set(basis);
    out[basis.length] = this.prev ?? -1;
    return out;
  }

  override load(data: Float32Array): void {
    super.load(data.subarray(0, data.length - 1));
    const p = data[data.length - 1];
    this.prev = p < 0 ? null : p;
  }

  override dispose(): void {
    super.dispose();
    this.gpu.release(this.norms);
  }
}

export const method: AdapterMethod = {
  id: 'fira',
  order: 140,
  peft: {
    kind: 'none',
    note: 'Fira trains every weight (a projected optimizer with the full-rank remainder): no adapter; export the merged model',
  },
  label: 'Fira',
  paper: 'https://arxiv.org/abs/2410.01623',
  description:
    'GaLore plus the full-rank remainder of the gradient, scaled by the norm ratio Adam gives the low-rank part, with a norm-growth limiter.',
  params: [
    PROJ_RANK_PARAM,
    PERIOD_PARAM,
    SCALE_PARAM,
    {
      key: 'gamma',
      label: 'Limiter γ',
      type: 'float',
      default: 1.01,
      min: 1,
      max: 10,
      help: 'Norm-growth limiter: the remainder’s norm may grow by at most this factor per step',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    const gamma = Number(ctx.params.gamma);
    return initProjected(
      ctx,
      (t) => new FiraProjector({ ...basisOptions(ctx, t), source: svdBasis(ctx, t.name) }, gamma),
    );
  },
};
