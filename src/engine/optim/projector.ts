/**
 * Gradient projectors: the optimizer-side hook that makes a gradient-projection method (GaLore and
 * its family) one file while the trainer stays method-agnostic. A trainable tensor may carry a
 * `projector`; the trainer then keeps Adam's moments in the projector's low-rank shape and runs each
 * step as
 *
 *   refresh   every `period` steps, before the update: a new basis from the current gradient
 *             (GaLore: rSVD; DCT: best-aligned DCT columns; Flora: a fresh seeded Gaussian),
 *   project   R = map(G)                               (low-rank gradient, the shape of m and v)
 *   adam      U = −lr·Adam(R) into a zeroed scratch    (the existing adamw kernel, weight decay 0)
 *   apply     W += α·back(U)                           (one matmul with beta = 1)
 *   finish    optional second phase after the step (Fira's full-rank remainder and limiter)
 *
 * GaLore (Zhao et al. 2024, arXiv:2403.03507, Alg. 1 and galore_torch/galore_projector.py): with the
 * weight stored (m, n) — our Linear layout (inDim, outDim), the same tensor as HF GPT-2's Conv1D — a
 * matrix with m ≥ n is projected on the right (Q (r, n), R = G·Qᵀ (m, r), back = R·Q), otherwise on the
 * left (P (m, r), R = Pᵀ·G (r, n), back = P·R): the projected side is always the smaller one.
 *
 * This file is not the method: the basis comes from a `BasisSource` the method file supplies.
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';

export type ProjectionSide = 'left' | 'right';

/** The hook a trainable tensor may carry (TrainableTensor.projector). */
export interface GradientProjector {
  /** Shape of the projected gradient, of Adam's m and v, and of the update scratch. */
  readonly stateShape: number[];
  /** Elements of extra optimizer state the projector holds (its basis, limiter scalars …). */
  readonly stateElements: number;
  /** True when the basis must be (re)computed before this step's update (0-based step). */
  needsRefresh(step: number): boolean;
  /**
   * Recompute the basis from the gradient `grad` (already computed and submitted for this step).
   * `moments` may be transformed (Flora transfers momentum into the new basis).
   */
  refresh(step: number, moments: { m: GpuTensor; v: GpuTensor }): Promise<void>;
  /** Record R = map(G) into `out` (stateShape). */
  project(enc: StepEncoder, out: GpuTensor): void;
  /** Record W += α·back(update) for the update (stateShape) that Adam wrote. */
  apply(enc: StepEncoder, update: GpuTensor): void;
  /** Optional phase after the step was submitted and read back (Fira). */
  finish?(s: { step: number; lr: number; clipScale: number; projected: GpuTensor; update: GpuTensor }): Promise<void>;
  /** Projector state for resume (the basis and any scalars), and its inverse. */
  save(): Promise<Float32Array>;
  load(data: Float32Array): void;
  dispose(): void;
}

/** Where a basis comes from at a refresh. Returns the basis rows-major: right (r, n), left (m, r). */
export type BasisSource = (x: {
  gpu: Gpu;
  grad: GpuTensor; // (m, n)
  m: number;
  n: number;
  r: number;
  side: ProjectionSide;
  step: number;
  /** The current basis (before the refresh), for methods that transfer state. */
  previous: Float32Array | null;
}) => Promise<Float32Array>;

/** GaLore's side rule (galore_projector.py, proj_type 'std'): project the smaller dimension. */
export function projectionSide(m: number, n: number): ProjectionSide {
  return m >= n ? 'right' : 'left';
}

/** Shape of the projected gradient for a weight (m, n) at rank r. */
export function projectedShape(m: number, n: number, r: number): number[] {
  return projectionSide(m, n) === 'right' ? [m, r] : [r, n];
}

export interface BasisProjectorOptions {
  gpu: Gpu;
  name: string;
  param: GpuTensor; // W (m, n)
  grad: GpuTensor; // G (m, n)
  m: number;
  n: number;
  rank: number;
  /** Refresh period T in steps (GaLore's update_proj_gap). */
  period: number;
  /** α: the update is scaled by it (GaLore's `scale`). */
  scale: number;
  source: BasisSource;
  /** Called after a new basis is in place, with the old one (null at the first refresh). */
  onRefresh?: (
    x: { old: Float32Array | null; basis: Float32Array },
    moments: { m: GpuTensor; v: GpuTensor },
  ) => Promise<void>;
}

/** A projector with one basis matrix on the GPU: GaLore, GaLore-DCT and Flora share it. */
export class BasisProjector implements GradientProjector {
  readonly gpu: Gpu;
  readonly name: string;
  readonly param: GpuTensor;
  readonly grad: GpuTensor;
  readonly m: number;
  readonly n: number;
  readonly r: number;
  readonly side: ProjectionSide;
  readonly period: number;
  readonly scale: number;
  readonly stateShape: number[];
  readonly basis: GpuTensor; // right: Q (r, n); left: P (m, r)
  private host: Float32Array | null = null;
  private readonly o: BasisProjectorOptions;

  constructor(o: BasisProjectorOptions) {
    this.o = o;
    this.gpu = o.gpu;
    this.name = o.name;
    this.param = o.param;
    this.grad = o.grad;
    this.m = o.m;
    this.n = o.n;
    this.side = projectionSide(o.m, o.n);
    this.r = Math.min(o.rank, o.m, o.n);
    this.period = o.period;
    this.scale = o.scale;
    this.stateShape = this.side === 'right' ? [o.m, this.r] : [this.r, o.n];
    const basisShape = this.side === 'right' ? [this.r, o.n] : [o.m, this.r];
    this.basis = o.gpu.zeros(basisShape, `projector:${o.name}`, 'optimizer');
  }

  get stateElements(): number {
    return this.basis.size;
  }

  needsRefresh(step: number): boolean {
    return this.host === null || step % this.period === 0;
  }

  async refresh(step: number, moments: { m: GpuTensor; v: GpuTensor }): Promise<void> {
    const { gpu, grad, m, n, r, side } = this;
    const basis = await this.o.source({ gpu, grad, m, n, r, side, step, previous: this.host });
    if (basis.length !== this.basis.size)
      throw new Error(`projector ${this.name}: basis has ${basis.length} values, expected ${this.basis.size}`);
    const old = this.host;
    this.host = basis;
    gpu.write(this.basis, basis);
    await this.o.onRefresh?.({ old, basis }, moments);
  }

  project(enc: StepEncoder, out: GpuTensor): void {
    const { m, n, r } = this;
    if (this.side === 'right')
      matmul(enc, { a: this.grad, b: this.basis, c: out, M: m, K: n, N: r, transB: true, label: `${this.name} G·Qᵀ` });
    else
      matmul(enc, { a: this.basis, b: this.grad, c: out, M: r, K: m, N: n, transA: true, label: `${this.name} Pᵀ·G` });
  }

  apply(enc: StepEncoder, update: GpuTensor): void {
    const { m, n, r } = this;
    const args = { c: this.param, M: m, N: n, K: r, alpha: this.scale, beta: 1 as const };
    if (this.side === 'right') matmul(enc, { a: update, b: this.basis, ...args, label: `${this.name} W += α·U·Q` });
    else matmul(enc, { a: this.basis, b: update, ...args, label: `${this.name} W += α·P·U` });
  }

  /** back(x) = x·Q or P·x into out (m, n), overwriting (beta 0) or accumulating with alpha. */
  back(enc: StepEncoder, x: GpuTensor, out: GpuTensor, alpha: number, beta: 0 | 1): void {
    const { m, n, r } = this;
    const args = { c: out, M: m, N: n, K: r, alpha, beta };
    if (this.side === 'right') matmul(enc, { a: x, b: this.basis, ...args, label: `${this.name} back` });
    else matmul(enc, { a: this.basis, b: x, ...args, label: `${this.name} back` });
  }

  async save(): Promise<Float32Array> {
    return this.host ? this.host.slice() : new Float32Array(0);
  }

  load(data: Float32Array): void {
    if (data.length === 0) {
      this.host = null;
      return;
    }
    if (data.length !== this.basis.size)
      throw new Error(`resume: projector ${this.name} state has ${data.length} values, expected ${this.basis.size}`);
    this.host = data.slice();
    this.gpu.write(this.basis, this.host);
  }

  dispose(): void {
    this.gpu.release(this.basis);
  }
}

// ---- optimizer-state memory -------------------------------------------------------------------------

/** Exact optimizer-state bytes by category (float32 elements × 4; buffer rounding excluded). */
export interface OptimizerStateBytes {
  /** Adam's first and second moments. */
  moments: number;
  /** Projection bases and projector scalars. */
  projection: number;
  total: number;
}

export interface PlanTensor {
  name: string;
  shape: number[];
  /** Rank of a projector on this tensor (projected methods), none for plain Adam. */
  projectRank?: number;
  /** Extra projector scalars beyond the basis (Fira's limiter keeps one). */
  projectorScalars?: number;
}

/**
 * Optimizer-state bytes of a set of trainable tensors without building anything: the plan the README's
 * GPT-2-small figures come from. The trainer reports the same figure from its live state
 * (Trainer.memory().optimizerState); a test checks they agree on the micro model.
 */
export function optimizerStatePlan(tensors: readonly PlanTensor[]): OptimizerStateBytes {
  let moments = 0,
    projection = 0;
  for (const t of tensors) {
    if (t.projectRank !== undefined && t.shape.length === 2) {
      const [m, n] = t.shape;
      const r = Math.min(t.projectRank, m, n);
      const state = projectedShape(m, n, r);
      moments += 2 * state[0] * state[1];
      projection += (projectionSide(m, n) === 'right' ? r * n : m * r) + (t.projectorScalars ?? 0);
    } else {
      moments += 2 * t.shape.reduce((a, b) => a * b, 1);
    }
  }
  return { moments: moments * 4, projection: projection * 4, total: (moments + projection) * 4 };
}
