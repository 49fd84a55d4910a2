/**
 * HRA — Householder Reflection Adaptation (Yuan, Gao, Liu & Wen 2024, arXiv:2405.17484), as PEFT's
 * hra/layer.py implements it: each adapted weight is multiplied by a chain of r Householder reflections,
 *   W_pt' = W_pt·H,  H = Π_{k=0..r−1} (I − 2 û_k û_kᵀ),  û_k = u_k/‖u_k‖,  U = [u_0 … u_{r−1}] (in, r)
 * (PEFT's hra_u). In our (in, out) layout y = x·H_{r−1}⋯H_0·W + b: the reflections act on the layer
 * INPUT, so the adapter applies them to the activations — x_{j+1} = x_j − 2 (x_j·û)·ûᵀ, r rank-1
 * matmuls — and then runs the frozen base product on x_r. The backward walks the chain back:
 *   t = x_prev·û, dt = dx·û,  dû = −2 (x_prevᵀ·dt + dxᵀ·t),  dx_prev = dx − 2 dt·ûᵀ,
 * then the normalisation's backward (shaders/hra.wgsl, the one kernel HRA needs).
 * H − I has rank ≤ r, so W' − W = (H_{r−1}⋯H_0 − I)·W has rank ≤ r: HRA is an adaptive low-rank update
 * (tests/engine/hra.test.ts checks this numerically).
 * Init (PEFT reset_hra_parameters, init_weights=True): r/2 Kaiming-uniform columns (bound 1/√(r/2)),
 * each repeated twice (repeat_interleave), so consecutive reflections cancel and H = I at step 0 —
 * which needs an even r (PEFT only warns for odd r and then changes the function; here it is an error).
 * PEFT export/import: io/peft-hra.ts (PEFT's HRA type, hra_u as it is here; nn.Linear families only).
 * Not implemented: PEFT's apply_GS (Gram–Schmidt) variant and the paper's orthogonality regulariser
 * (PEFT does not apply it either; it lives in the paper's training script).
 */
import { Rng } from '../../rng';
import type { Gpu, GpuTensor, StepEncoder } from '../../../gpu/device';
import { matmul } from '../../../gpu/kernels/matmul';
import { hraNormalize, hraNormalizeBackward } from '../../../gpu/kernels/hra';
import { hraMerge } from '../../ref/hra';
import { linearBaseBackward, linearBaseForward, type Linear, type LinearAdapter } from '../../model/linear';
import type { AdapterMethod, MethodInstance, TrainableTensor } from '../types';
import { mergedWeights } from '../merge';

/** PEFT's symmetric init: (in, r) with columns 2j and 2j+1 equal, Kaiming-uniform over (in, r/2). */
export function hraInit(seed: number, name: string, inDim: number, r: number): Float32Array {
  if (r % 2 !== 0) throw new Error(`${name}: HRA needs an even rank for its identity init (got r = ${r})`);
  const h = r / 2;
  const bound = 1 / Math.sqrt(h); // kaiming_uniform_(a=√5) on (in, r/2): fan_in = r/2
  const half = new Rng(seed, `hra_u:${name}`).fillUniform(new Float32Array(inDim * h), -bound, bound);
  const U = new Float32Array(inDim * r);
  for (let i = 0; i < inDim; i++) for (let j = 0; j < h; j++) U[i * r + 2 * j] = U[i * r + 2 * j + 1] = half[i * h + j];
  return U;
}

export class HraAdapter implements LinearAdapter {
  readonly U: GpuTensor; // (in, r) PEFT hra_u
  readonly dU: GpuTensor;
  private readonly Ut: GpuTensor; // (r, in) normalised, transposed
  private readonly norm: GpuTensor; // (r)
  private readonly dUt: GpuTensor; // (r, in)
  private xs: GpuTensor[] = []; // x after 1 … r reflections, (N, in) each
  private t: GpuTensor | null = null; // (N)
  private dt: GpuTensor | null = null; // (N)
  private work: GpuTensor | null = null; // (N, in) dx when the caller needs none
  private cap = 0;

  constructor(
    readonly gpu: Gpu,
    readonly layer: Linear,
    readonly rank: number,
    U: Float32Array,
  ) {
    const { inDim } = layer;
    this.U = gpu.upload(U, [inDim, rank], `${layer.name}.hra_u`, 'adapter');
    this.dU = gpu.zeros([inDim, rank], `grad:${layer.name}.hra_u`, 'gradients');
    this.Ut = gpu.zeros([rank, inDim], `${layer.name}.hra_unit`, 'adapter');
    this.norm = gpu.zeros([rank], `${layer.name}.hra_norm`, 'adapter');
    this.dUt = gpu.zeros([rank, inDim], `${layer.name}.hra_dunit`, 'activations');
  }

  private scratch(N: number): void {
    if (N <= this.cap) return;
    this.releaseScratch();
    const { inDim, name } = this.layer;
    this.xs = Array.from({ length: this.rank }, (_, j) =>
      this.gpu.tensor([N, inDim], `${name}.hra_x${j + 1}`, 'activations'),
    );
    this.t = this.gpu.tensor([N], `${name}.hra_t`, 'activations');
    this.dt = this.gpu.tensor([N], `${name}.hra_dt`, 'activations');
    this.work = this.gpu.tensor([N, inDim], `${name}.hra_dx`, 'activations');
    this.cap = N;
  }

  private releaseScratch(): void {
    for (const t of [...this.xs, this.t, this.dt, this.work]) if (t) this.gpu.release(t);
    this.xs = [];
    this.cap = 0;
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    const { inDim } = l,
      r = this.rank;
    this.scratch(N);
    hraNormalize(enc, { U: this.U, Ut: this.Ut, norm: this.norm, inDim, r, label: `${l.name} hra û` });
    let prev = x;
    for (let j = 0; j < r; j++) {
      const k = r - 1 - j, // y = x·H_{r−1}⋯H_0·W: H_{r−1} acts first
        cur = this.xs[j];
      // t = prev·û_k;  cur = prev − 2 t·û_kᵀ
      matmul(enc, {
        a: prev,
        b: this.Ut,
        c: this.t!,
        M: N,
        K: inDim,
        N: 1,
        transB: true,
        bOffset: k * inDim,
        label: `${l.name} hra t${k}`,
      });
      enc.copy(prev, cur, N * inDim);
      matmul(enc, {
        a: this.t!,
        b: this.Ut,
        c: cur,
        M: N,
        K: 1,
        N: inDim,
        bOffset: k * inDim,
        alpha: -2,
        beta: 1,
        label: `${l.name} hra H${k}`,
      });
      prev = cur;
    }
    linearBaseForward(enc, l, prev, y, N);
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    const { inDim } = l,
      r = this.rank;
    this.scratch(N);
    const work = dx ?? this.work!;
    linearBaseBackward(enc, l, this.xs[r - 1], dy, work, N);
    for (let j = r - 1; j >= 0; j--) {
      const k = r - 1 - j,
        prev = j === 0 ? x : this.xs[j - 1],
        off = k * inDim;
      const t = this.t!,
        dt = this.dt!;
      matmul(enc, {
        a: prev,
        b: this.Ut,
        c: t,
        M: N,
        K: inDim,
        N: 1,
        transB: true,
        bOffset: off,
        label: `${l.name} hra t${k}`,
      });
      matmul(enc, {
        a: work,
        b: this.Ut,
        c: dt,
        M: N,
        K: inDim,
        N: 1,
        transB: true,
        bOffset: off,
        label: `${l.name} hra dt${k}`,
      });
      // dû_k = −2 (dtᵀ·x_prev + tᵀ·dx)   (row k of dÛt)
      matmul(enc, {
        a: dt,
        b: prev,
        c: this.dUt,
        M: 1,
        K: N,
        N: inDim,
        transA: true,
        cOffset: off,
        alpha: -2,
        label: `${l.name} hra dû${k}`,
      });
      matmul(enc, {
        a: t,
        b: work,
        c: this.dUt,
        M: 1,
        K: N,
        N: inDim,
        transA: true,
        cOffset: off,
        alpha: -2,
        beta: 1,
        label: `${l.name} hra dû${k}'`,
      });
      // dx_prev = dx − 2 dt·û_kᵀ
      matmul(enc, {
        a: dt,
        b: this.Ut,
        c: work,
        M: N,
        K: 1,
        N: inDim,
        bOffset: off,
        alpha: -2,
        beta: 1,
        label: `${l.name} hra dx${k}`,
      });
    }
    hraNormalizeBackward(enc, {
      dUt: this.dUt,
      Ut: this.Ut,
      norm: this.norm,
      dU: this.dU,
      inDim,
      r,
      label: `${l.name} hra dU`,
    });
  }

  zeroGrads(enc: StepEncoder): void {
    enc.clear(this.dU);
  }

  /** ΔW = H_{r−1}⋯H_0·W − W in the (in, out) layout, on the CPU (float64 accumulation). */
  async delta(): Promise<Float32Array> {
    const { inDim, outDim } = this.layer;
    const W = await this.gpu.read(this.layer.weight);
    const merged = hraMerge(W, await this.gpu.read(this.U), inDim, outDim, this.rank);
    for (let i = 0; i < merged.length; i++) merged[i] -= W[i];
    return merged;
  }

  dispose(): void {
    this.releaseScratch();
    for (const t of [this.U, this.dU, this.Ut, this.norm, this.dUt]) this.gpu.release(t);
    this.layer.adapter = null;
  }
}

export const method: AdapterMethod = {
  id: 'hra',
  order: 180,
  peft: {
    kind: 'none',
    note: "HRA is PEFT's HRA type (exported natively by exportHraPeft, io/peft-hra.ts: hra_u [in, r], HRAConfig), not LORA; PEFT's HRA layer takes nn.Linear only, so GPT-2's Conv1D models export the merged model",
  },
  label: 'HRA',
  paper: 'https://arxiv.org/abs/2405.17484',
  description:
    'Orthogonal fine-tuning by a chain of r Householder reflections on the layer input: W′ = W·H, H = Π(I − 2ûûᵀ); W′ − W has rank ≤ r. Reflections start in equal pairs, so H = I at init.',
  params: [
    {
      key: 'rank',
      label: 'Reflections r',
      type: 'int',
      default: 8,
      min: 2,
      max: 256,
      help: 'Number of Householder reflections (even: PEFT pairs them so the model is unchanged at init)',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-3,
    source:
      'measured: scripts/lr-sweep.sh shape (built-in base model, 40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026), r = 8: val loss 2.008 at 3e-3, 2.017 at 1e-2, 2.023 at 3e-2',
  },
  validate(params, config) {
    const odd = [['rank', params.rank ?? 8], ...Object.entries(config.targets.rankOverrides)].filter(
      ([, r]) => Number(r) % 2 !== 0,
    );
    return odd.map(([k, r]) => `method.params.rank: HRA needs an even number of reflections (${k} = ${String(r)})`);
  },
  async init(ctx): Promise<MethodInstance> {
    const adapters: HraAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    for (const layer of ctx.targets) {
      const r = ctx.rankFor(layer);
      const ad = new HraAdapter(ctx.gpu, layer, r, hraInit(ctx.seed, layer.name, layer.inDim, r));
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push({ name: `${layer.name}.hra_u`, param: ad.U, grad: ad.dU, decay: true, lrScale: 1 });
    }
    const byName = new Map(adapters.map((a) => [a.layer.name, a]));
    return {
      trainables,
      zeroGrads(enc) {
        for (const a of adapters) a.zeroGrads(enc);
      },
      merged: () => mergedWeights(ctx.model, adapters),
      async state() {
        const tensors = new Map<string, Float32Array>();
        for (const a of adapters) tensors.set(`${a.layer.name}.hra_u`, await ctx.gpu.read(a.U));
        return { tensors, meta: { ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])) } };
      },
      async deltaOf(layer) {
        return (await byName.get(layer)?.delta()) ?? null;
      },
      dispose() {
        for (const a of adapters) a.dispose();
      },
    };
  },
};
