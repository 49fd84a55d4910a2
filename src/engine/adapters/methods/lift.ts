/**
 * LIFT — fine-tuning only the Principal Weights (Liu et al. 2025, arXiv:2506.00772): the entries of
 * W with the largest magnitude in W's rank-r approximation W_r (not in W itself) are the ones that
 * matter; LIFT updates only the top-k % of them and keeps Adam's state for those entries alone.
 *
 * Here through the optimizer hook (optim/projector.ts): the "projection" is a gather of the masked
 * entries of G (shaders/sparse.wgsl), Adam runs on that vector, and the update is scattered back into
 * W. Every `period` steps the mask is recomputed from the current W (GPU rSVD, k = r; the ranking of
 * |W_r| and the sort on the CPU, ties by index); Adam's moments are reset when the mask is refreshed,
 * since their entries no longer correspond. No weight decay (it would move the unselected entries).
 * Optimizer state: 2 floats per selected entry plus one u32 index.
 */
import type { AdapterMethod } from '../types';
import type { Gpu, GpuTensor, StepEncoder } from '../../../gpu/device';
import { rsvd } from '../../rsvd';
import { gather, scatterAxpy } from '../../../gpu/kernels/sparse';
import type { GradientProjector } from '../../optim/projector';
import { initProjected, keyedSeed, PERIOD_PARAM } from '../../optim/projector-method';
import { topIndices } from './galore-dct';

/** Indices (ascending) of the `count` largest |W_r| entries, W_r = U·diag(S)·Vt of an (m, n) matrix. */
export function principalMask(
  U: ArrayLike<number>,
  S: ArrayLike<number>,
  Vt: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
  count: number,
): Uint32Array {
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += U[i * k + t] * S[t] * Vt[t * n + j];
      mag[i * n + j] = Math.abs(s);
    }
  return Uint32Array.from(topIndices(mag, count)).sort();
}

class LiftProjector implements GradientProjector {
  readonly stateShape: number[];
  private readonly idx: GpuTensor;
  private host: Uint32Array | null = null;
  constructor(
    private readonly gpu: Gpu,
    private readonly t: { name: string; param: GpuTensor; grad: GpuTensor; m: number; n: number },
    private readonly rank: number,
    private readonly count: number,
    private readonly period: number,
    private readonly seed: number,
  ) {
    this.stateShape = [count];
    this.idx = gpu.zeros([count], `lift-mask:${t.name}`, 'optimizer');
  }
  get stateElements(): number {
    return this.count;
  }
  needsRefresh(step: number): boolean {
    return this.host === null || step % this.period === 0;
  }
  async refresh(step: number, moments: { m: GpuTensor; v: GpuTensor }): Promise<void> {
    const { m, n, name, param } = this.t;
    const k = Math.min(this.rank, m, n);
    const svd = await rsvd(this.gpu, {
      matrix: param,
      M: m,
      N: n,
      k,
      seed: keyedSeed(this.seed, `lift:${name}:${step}`),
    });
    const mask = principalMask(svd.U, svd.S, svd.Vt, m, n, k, this.count);
    const changed = !this.host || mask.some((x, i) => x !== this.host![i]);
    this.host = mask;
    this.gpu.write(this.idx, mask);
    if (changed) {
      const enc = this.gpu.encoder(`lift reset ${name}`);
      enc.clear(moments.m);
      enc.clear(moments.v);
      enc.submit();
    }
  }
  project(enc: StepEncoder, out: GpuTensor): void {
    gather(enc, { src: this.t.grad, idx: this.idx, out, n: this.count, label: `${this.t.name} lift gather` });
  }
  apply(enc: StepEncoder, update: GpuTensor): void {
    scatterAxpy(enc, {
      src: update,
      idx: this.idx,
      dst: this.t.param,
      n: this.count,
      alpha: 1,
      label: `${this.t.name} lift scatter`,
    });
  }
  async save(): Promise<Float32Array> {
    return this.host ? Float32Array.from(this.host) : new Float32Array(0);
  }
  load(data: Float32Array): void {
    if (!data.length) {
      this.host = null;
      return;
    }
    if (data.length !== this.count)
      throw new Error(`resume: LIFT mask of ${this.t.name} has ${data.length} entries, expected ${this.count}`);
    this.host = Uint32Array.from(data);
    this.gpu.write(this.idx, this.host);
  }
  dispose(): void {
    this.gpu.release(this.idx);
  }
}

export const method: AdapterMethod = {
  id: 'lift',
  order: 190,
  peft: {
    kind: 'none',
    note: 'LIFT updates a sparse set of weights of W: no low-rank adapter; export the merged model',
  },
  label: 'LIFT',
  paper: 'https://arxiv.org/abs/2506.00772',
  description:
    'Sparse fine-tuning of the Principal Weights: the top-k % entries by magnitude of the rank-r approximation of W, Adam state for those entries only, mask refreshed every T steps.',
  params: [
    {
      key: 'rank',
      label: 'Rank r of W_r',
      type: 'int',
      default: 8,
      min: 1,
      max: 4096,
      help: 'Rank of the approximation that ranks the entries',
    },
    {
      key: 'density',
      label: 'Density (%)',
      type: 'float',
      default: 5,
      min: 0.01,
      max: 100,
      help: 'Percentage of each matrix’s entries that train',
    },
    { ...PERIOD_PARAM, default: 100, help: 'Steps between mask refreshes (from the current W)' },
  ],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    const rank = Number(ctx.params.rank),
      density = Number(ctx.params.density),
      period = Number(ctx.params.period);
    return initProjected(
      ctx,
      (t) => {
        const count = Math.max(1, Math.round((density / 100) * t.m * t.n));
        if (t.m * t.n > 2 ** 24)
          throw new Error(`${t.name}: LIFT's mask indices are saved as float32 (≤ 2^24 entries)`);
        return new LiftProjector(ctx.gpu, t, rank, count, period, ctx.seed);
      },
      { decay: false },
    );
  },
};
