/**
 * AdaLoRA — adaptive budget allocation (Zhang et al. 2023, arXiv:2303.10512), as PEFT's adalora
 * (layer.py SVDLinear + RankAllocator, model.py) implements it:
 *   ΔW = B·diag(E)·A · α/(r + 1e-5)     A (r, in) "right singular vectors", E (r) "singular values",
 *                                       B (out, r) "left" — PEFT's lora_A / lora_E / lora_B, ranknum = r
 *   init: E = 0 (function unchanged), A, B ~ N(0, 0.02²)
 *   loss += γ · mean over all A and B of ‖A·Aᵀ − I‖_F and ‖Bᵀ·B − I‖_F   (PEFT: the Frobenius norm, not
 *           squared; the paper writes the squared form) — γ = orth_reg_weight
 *   after each optimizer step t (update_and_allocate), while t < T − tfinal: for every entry of A, E, B
 *     I = |θ·∂L/∂θ|, Ī ← β1·Ī + (1−β1)·I, Ū ← β2·Ū + (1−β2)·|I − Ī|, score = Ī·Ū;
 *     triplet k of a layer: score(E_k) + mean_i score(A_k,i) + mean_o score(B_o,k);
 *     budget b(t): init_bgt for t ≤ tinit, target_bgt for t > T − tfinal, else the cubic
 *       target + (init − target)·(1 − (t − tinit)/(T − tfinal − tinit))³ (int), masking every deltaT steps;
 *     masking zeroes E_k for the (init_bgt − b) lowest triplet scores over ALL layers (kthvalue, ≤);
 *   from T − tfinal on: the mask of that step is kept (rank_pattern) and reapplied every step.
 * init_bgt = Σ r over adapted layers, target_bgt = Σ min(target_r, r) (PEFT: target_r × layers; the
 * min keeps a layer whose r is below target_r from asking for more than it has).
 * Where this differs from PEFT: the importance uses the unclipped gradients (HF's Trainer clips them in
 * place before update_and_allocate); T is the run's step count (PEFT's total_step).
 * diag(E) enters as an (r, r) matrix (scatter of E onto the diagonal, shaders/sparse.wgsl) so that the
 * branch is the fused LoRA kernel on A_e = diag(E)·A; the chain rule back to A and E is two matmuls and a
 * gather. Importance, budget and masking run on the CPU after the step (readbacks of A, E, B and their
 * grads: small for the studio's models). Resume: the EMAs and the final rank pattern are method state.
 */
import { Rng } from '../../rng';
import type { Gpu, GpuTensor, StepEncoder } from '../../../gpu/device';
import { matmul } from '../../../gpu/kernels/matmul';
import { axpy } from '../../../gpu/kernels/elementwise';
import { gather, scatterAxpy } from '../../../gpu/kernels/sparse';
import type { Linear, LinearAdapter } from '../../model/linear';
import type { AdapterMethod, MethodInstance, TrainableTensor } from '../types';
import { LowRankAdapter } from '../lowrank';
import { mergedWeights } from '../merge';
import { ALPHA_PARAM, RANK_PARAM } from '../lora-family';

export class AdaLoraAdapter implements LinearAdapter {
  readonly inner: LowRankAdapter; // A = A_e = diag(E)·A (derived), B = lora_B
  readonly A: GpuTensor; // (r, in) lora_A
  readonly dA: GpuTensor;
  readonly E: GpuTensor; // (r) lora_E
  readonly dE: GpuTensor;
  private readonly D: GpuTensor; // (r, r) diag(E)
  private readonly dD: GpuTensor; // (r, r)
  private readonly diag: GpuTensor; // (r) u32 indices k·(r+1)
  private readonly dEtmp: GpuTensor; // (r)

  constructor(
    readonly gpu: Gpu,
    readonly layer: Linear,
    readonly rank: number,
    init: { A: Float32Array; B: Float32Array; E: Float32Array },
    alpha: number,
  ) {
    const r = rank,
      { inDim, name } = layer;
    this.inner = new LowRankAdapter(gpu, layer, {
      rank: r,
      scaling: alpha / (r + 1e-5),
      A: new Float32Array(r * inDim),
      B: init.B,
      trainA: true,
      trainB: true,
    });
    this.A = gpu.upload(init.A, [r, inDim], `${name}.lora_A`, 'adapter');
    this.dA = gpu.zeros([r, inDim], `grad:${name}.lora_A`, 'gradients');
    this.E = gpu.upload(init.E, [r], `${name}.lora_E`, 'adapter');
    this.dE = gpu.zeros([r], `grad:${name}.lora_E`, 'gradients');
    this.D = gpu.zeros([r, r], `${name}.adalora_D`, 'adapter');
    this.dD = gpu.zeros([r, r], `${name}.adalora_dD`, 'activations');
    this.diag = gpu.upload(
      Uint32Array.from({ length: r }, (_, k) => k * (r + 1)),
      [r],
      `${name}.adalora_diag`,
      'adapter',
    );
    this.dEtmp = gpu.zeros([r], `${name}.adalora_dE`, 'activations');
  }

  get B(): GpuTensor {
    return this.inner.B;
  }
  get dB(): GpuTensor {
    return this.inner.dB!;
  }

  /** D = diag(E), A_e = D·A. */
  private prepare(enc: StepEncoder): void {
    const r = this.rank,
      l = this.layer;
    enc.clear(this.D);
    scatterAxpy(enc, { src: this.E, idx: this.diag, dst: this.D, n: r, alpha: 1, label: `${l.name} adalora diag(E)` });
    matmul(enc, { a: this.D, b: this.A, c: this.inner.A, M: r, K: r, N: l.inDim, label: `${l.name} adalora E·A` });
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    this.prepare(enc);
    this.inner.forward(enc, l, x, y, N);
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    const r = this.rank;
    enc.clear(this.inner.dA!); // dA_e of this call only
    this.inner.backward(enc, l, x, dy, dx, N);
    const dAe = this.inner.dA!;
    // dA += D·dA_e;  dD = dA_e·Aᵀ;  dE += diag(dD)
    matmul(enc, { a: this.D, b: dAe, c: this.dA, M: r, K: r, N: l.inDim, beta: 1, label: `${l.name} adalora dA` });
    matmul(enc, { a: dAe, b: this.A, c: this.dD, M: r, K: l.inDim, N: r, transB: true, label: `${l.name} adalora dD` });
    gather(enc, { src: this.dD, idx: this.diag, out: this.dEtmp, n: r, label: `${l.name} adalora diag(dD)` });
    axpy(enc, { x: this.dEtmp, y: this.dE, n: r, alpha: 1, label: `${l.name} adalora dE` });
  }

  zeroGrads(enc: StepEncoder): void {
    this.inner.zeroGrads(enc);
    enc.clear(this.dA);
    enc.clear(this.dE);
  }

  /** ΔW (in, out) = s·(B·diag(E)·A)ᵀ on the CPU. */
  async delta(): Promise<Float32Array> {
    const [A, B, E] = await Promise.all([this.A, this.B, this.E].map((t) => this.gpu.read(t)));
    const { inDim, outDim } = this.layer,
      r = this.rank,
      s = this.inner.scaling;
    const out = new Float32Array(inDim * outDim);
    for (let i = 0; i < inDim; i++)
      for (let o = 0; o < outDim; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B[o * r + k] * E[k] * A[k * inDim + i];
        out[i * outDim + o] = s * acc;
      }
    return out;
  }

  dispose(): void {
    this.inner.dispose();
    for (const t of [this.A, this.dA, this.E, this.dE, this.D, this.dD, this.diag, this.dEtmp]) this.gpu.release(t);
    this.layer.adapter = null;
  }
}

/** PEFT's budget_schedule: (budget, mask now?) at a 0-based step. */
export function budgetSchedule(
  step: number,
  o: { initBgt: number; targetBgt: number; tinit: number; tfinal: number; total: number; deltaT: number },
): { budget: number; mask: boolean } {
  if (step <= o.tinit) return { budget: o.initBgt, mask: false };
  if (step > o.total - o.tfinal) return { budget: o.targetBgt, mask: true };
  const mul = 1 - (step - o.tinit) / (o.total - o.tfinal - o.tinit);
  return {
    budget: Math.trunc((o.initBgt - o.targetBgt) * mul ** 3 + o.targetBgt),
    mask: step % o.deltaT === 0,
  };
}

/** Per-entry importance EMAs (PEFT update_ipt) of one tensor. */
class Ipt {
  avg: Float32Array;
  unc: Float32Array;
  constructor(n: number) {
    this.avg = new Float32Array(n);
    this.unc = new Float32Array(n);
  }
  update(p: Float32Array, g: Float32Array, b1: number, b2: number): void {
    for (let i = 0; i < p.length; i++) {
      const ipt = Math.abs(p[i] * g[i]);
      this.avg[i] = b1 * this.avg[i] + (1 - b1) * ipt;
      this.unc[i] = b2 * this.unc[i] + (1 - b2) * Math.abs(ipt - this.avg[i]);
    }
  }
  score(i: number): number {
    return this.avg[i] * this.unc[i];
  }
}

const param = (key: string, label: string, def: number, min: number, max: number, help: string, int = false) =>
  ({ key, label, type: int ? 'int' : 'float', default: def, min, max, help }) as const;

export const method: AdapterMethod = {
  id: 'adalora',
  order: 130,
  peft: { kind: 'none', note: "AdaLoRA is PEFT's ADALORA type (exported natively by exportAdaLoraPeft)" },
  label: 'AdaLoRA',
  paper: 'https://arxiv.org/abs/2303.10512',
  description:
    'SVD-form update B·diag(E)·A with an orthogonality regulariser; importance scores (EMA of |θ·∂L/∂θ| × its uncertainty) prune singular values across all layers down to a cubic budget schedule.',
  params: [
    { ...RANK_PARAM, default: 12, label: 'Initial rank (init_r)', help: 'Rank of every layer before pruning' },
    param(
      'targetR',
      'Target rank (target_r)',
      8,
      1,
      256,
      'Average rank per layer at the end of the budget schedule',
      true,
    ),
    { ...ALPHA_PARAM, default: 8, help: 'Scaling numerator: s = α/r (PEFT lora_alpha, default 8)' },
    param('tinit', 'tinit (steps)', 0, 0, 1_000_000, 'Steps at the full budget before pruning starts', true),
    param('tfinal', 'tfinal (steps)', 0, 0, 1_000_000, 'Final steps at the target budget with a fixed mask', true),
    param('deltaT', 'ΔT (steps)', 1, 1, 1_000_000, 'Steps between two budget allocations', true),
    param('beta1', 'β1 (sensitivity EMA)', 0.85, 0, 0.9999, 'EMA of the sensitivity |θ·∂L/∂θ|'),
    param('beta2', 'β2 (uncertainty EMA)', 0.85, 0, 0.9999, 'EMA of its uncertainty'),
    param('orthReg', 'γ (orth_reg_weight)', 0.5, 0, 100, 'Weight of the orthogonality regulariser'),
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-3,
    source:
      'measured: scripts/lr-sweep.sh shape (built-in base model, 40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026), init_r 12, target_r 8: val loss 2.0053 at 3e-3, 2.0055 at 1e-2',
  },
  validate(params, config) {
    const p = (k: string, d: number) => Number(params[k] ?? d);
    const errs: string[] = [];
    if (p('tinit', 0) + p('tfinal', 0) >= config.train.steps)
      errs.push(
        `method.params.tinit + tfinal must be below train.steps (${p('tinit', 0)} + ${p('tfinal', 0)} ≥ ${config.train.steps}): the budget schedule needs steps in between`,
      );
    return errs;
  },
  async init(ctx): Promise<MethodInstance> {
    const P = ctx.params;
    const alpha = Number(P.alpha),
      targetR = Number(P.targetR),
      b1 = Number(P.beta1),
      b2 = Number(P.beta2),
      gamma = Number(P.orthReg);
    const sched = {
      tinit: Number(P.tinit),
      tfinal: Number(P.tfinal),
      deltaT: Number(P.deltaT),
      total: ctx.config.train.steps,
      initBgt: 0,
      targetBgt: 0,
    };
    const { gpu } = ctx;
    const adapters: AdaLoraAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    for (const layer of ctx.targets) {
      const r = ctx.rankFor(layer);
      const rng = new Rng(ctx.seed, `adalora:${layer.name}`);
      const ad = new AdaLoraAdapter(
        gpu,
        layer,
        r,
        {
          A: rng.fillNormal(new Float32Array(r * layer.inDim), 0.02),
          B: rng.fillNormal(new Float32Array(layer.outDim * r), 0.02),
          E: new Float32Array(r),
        },
        alpha,
      );
      layer.adapter = ad;
      adapters.push(ad);
      sched.initBgt += r;
      sched.targetBgt += Math.min(targetR, r);
      trainables.push({ name: `${layer.name}.lora_A`, param: ad.A, grad: ad.dA, decay: true, lrScale: 1 });
      trainables.push({ name: `${layer.name}.lora_E`, param: ad.E, grad: ad.dE, decay: true, lrScale: 1 });
      trainables.push({ name: `${layer.name}.lora_B`, param: ad.B, grad: ad.dB, decay: true, lrScale: 1 });
    }
    const ipt = adapters.map((a) => ({
      A: new Ipt(a.A.size),
      E: new Ipt(a.rank),
      B: new Ipt(a.B.size),
    }));
    // the mask fixed at T − tfinal (PEFT rank_pattern): 1 = kept; null until then
    let pattern: Float32Array[] | null = null;
    // orthogonality-gradient scratch (A and B shapes), uploaded each step and added with axpy
    const regA = adapters.map((a) => gpu.zeros(a.A.shape, `${a.layer.name}.adalora_regA`, 'scratch'));
    const regB = adapters.map((a) => gpu.zeros(a.B.shape, `${a.layer.name}.adalora_regB`, 'scratch'));
    const byName = new Map(adapters.map((a) => [a.layer.name, a]));

    /** Zero E_k for the lowest-scoring triplets so that `budget` remain; returns the kept mask per layer. */
    async function maskToBudget(budget: number): Promise<Float32Array[]> {
      const scores = adapters.map((a, li) => {
        const { inDim, outDim } = a.layer,
          r = a.rank,
          s = new Float64Array(r);
        for (let k = 0; k < r; k++) {
          let sa = 0,
            sb = 0;
          for (let i = 0; i < inDim; i++) sa += ipt[li].A.score(k * inDim + i);
          for (let o = 0; o < outDim; o++) sb += ipt[li].B.score(o * r + k);
          s[k] = ipt[li].E.score(k) + (sa / inDim + sb / outDim);
        }
        return s;
      });
      const k = sched.initBgt - budget;
      const all = Float64Array.from(scores.flatMap((s) => Array.from(s))).sort();
      const thr = k > 0 ? all[k - 1] : -Infinity; // torch.kthvalue: the k-th smallest
      const masks = scores.map((s) => Float32Array.from(s, (v) => (v <= thr ? 0 : 1)));
      await applyMasks(masks);
      return masks;
    }
    async function applyMasks(masks: Float32Array[]): Promise<void> {
      for (const [li, a] of adapters.entries()) {
        const E = await gpu.read(a.E);
        gpu.write(
          a.E,
          E.map((v, k) => (masks[li][k] ? v : 0)),
        );
      }
    }
    const normOf = (M: Float64Array) => Math.sqrt(M.reduce((s, v) => s + v * v, 0));

    return {
      trainables,
      zeroGrads(enc) {
        for (const a of adapters) a.zeroGrads(enc);
      },
      async afterBackward({ enc }) {
        if (gamma === 0) return { enc };
        // γ·mean ‖A·Aᵀ − I‖_F, ‖Bᵀ·B − I‖_F and its gradient 2(M)·A/‖M‖ resp. 2B·M/‖M‖ (M symmetric)
        let reg = 0;
        const count = 2 * adapters.length;
        for (const [li, a] of adapters.entries()) {
          const r = a.rank,
            { inDim, outDim } = a.layer;
          const [A, B] = await Promise.all([gpu.read(a.A), gpu.read(a.B)]);
          const MA = new Float64Array(r * r),
            MB = new Float64Array(r * r);
          for (let p = 0; p < r; p++)
            for (let q = 0; q < r; q++) {
              let sa = 0,
                sb = 0;
              for (let i = 0; i < inDim; i++) sa += A[p * inDim + i] * A[q * inDim + i];
              for (let o = 0; o < outDim; o++) sb += B[o * r + p] * B[o * r + q];
              MA[p * r + q] = sa - (p === q ? 1 : 0);
              MB[p * r + q] = sb - (p === q ? 1 : 0);
            }
          const nA = normOf(MA),
            nB = normOf(MB);
          reg += nA + nB;
          const gA = new Float32Array(r * inDim),
            gB = new Float32Array(outDim * r);
          const cA = nA > 0 ? (2 * gamma) / count / nA : 0,
            cB = nB > 0 ? (2 * gamma) / count / nB : 0;
          for (let p = 0; p < r; p++)
            for (let i = 0; i < inDim; i++) {
              let s = 0;
              for (let q = 0; q < r; q++) s += MA[p * r + q] * A[q * inDim + i];
              gA[p * inDim + i] = cA * s;
            }
          for (let o = 0; o < outDim; o++)
            for (let q = 0; q < r; q++) {
              let s = 0;
              for (let p = 0; p < r; p++) s += B[o * r + p] * MB[p * r + q];
              gB[o * r + q] = cB * s;
            }
          gpu.write(regA[li], gA);
          gpu.write(regB[li], gB);
          axpy(enc, { x: regA[li], y: a.dA, n: a.A.size, alpha: 1, label: `${a.layer.name} adalora orth A` });
          axpy(enc, { x: regB[li], y: a.dB, n: a.B.size, alpha: 1, label: `${a.layer.name} adalora orth B` });
        }
        return { enc, metrics: { adaloraOrthReg: (gamma * reg) / count } };
      },
      async afterStep({ step }) {
        const { total, tfinal } = sched;
        if (step < total - tfinal)
          for (const [li, a] of adapters.entries()) {
            const [A, dA, E, dE, B, dB] = await Promise.all([a.A, a.dA, a.E, a.dE, a.B, a.dB].map((t) => gpu.read(t)));
            ipt[li].A.update(A, dA, b1, b2);
            ipt[li].E.update(E, dE, b1, b2);
            ipt[li].B.update(B, dB, b1, b2);
          }
        const { budget, mask } = budgetSchedule(step, sched);
        if (step > total - tfinal && pattern) await applyMasks(pattern);
        else if (mask || step === total - tfinal) {
          const masks = await maskToBudget(budget);
          if (step === total - tfinal) pattern = masks;
        }
        return { adaloraBudget: budget };
      },
      async extraState() {
        const out: Record<string, Float32Array> = {};
        for (const [li, a] of adapters.entries())
          for (const k of ['A', 'E', 'B'] as const) {
            out[`${a.layer.name}.ipt_${k}`] = ipt[li][k].avg.slice();
            out[`${a.layer.name}.unc_${k}`] = ipt[li][k].unc.slice();
          }
        if (pattern)
          for (const [li, a] of adapters.entries()) out[`${a.layer.name}.rank_pattern`] = pattern[li].slice();
        return out;
      },
      loadExtraState(t) {
        for (const [li, a] of adapters.entries())
          for (const k of ['A', 'E', 'B'] as const) {
            const avg = t[`${a.layer.name}.ipt_${k}`],
              unc = t[`${a.layer.name}.unc_${k}`];
            if (!avg || !unc || avg.length !== ipt[li][k].avg.length)
              throw new Error(`resume: AdaLoRA checkpoint lacks the importance of ${a.layer.name}.lora_${k}`);
            ipt[li][k].avg.set(avg);
            ipt[li][k].unc.set(unc);
          }
        pattern = adapters.every((a) => t[`${a.layer.name}.rank_pattern`])
          ? adapters.map((a) => t[`${a.layer.name}.rank_pattern`].slice())
          : null;
      },
      merged: () => mergedWeights(ctx.model, adapters),
      async state() {
        const tensors = new Map<string, Float32Array>();
        const ranks: Record<string, number> = {};
        for (const a of adapters) {
          tensors.set(`${a.layer.name}.lora_A`, await gpu.read(a.A));
          tensors.set(`${a.layer.name}.lora_B`, await gpu.read(a.B));
          const E = await gpu.read(a.E);
          tensors.set(`${a.layer.name}.lora_E`, E);
          ranks[a.layer.name] = E.filter((v) => v !== 0).length;
        }
        return {
          tensors,
          meta: {
            ranks: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
            ranknum: Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank])),
            scaling: Object.fromEntries(adapters.map((a) => [a.layer.name, a.inner.scaling])),
            activeRanks: ranks,
          },
        };
      },
      rankAllocation() {
        return Object.fromEntries(adapters.map((a) => [a.layer.name, a.rank]));
      },
      async deltaOf(layer) {
        return (await byName.get(layer)?.delta()) ?? null;
      },
      dispose() {
        for (const a of adapters) a.dispose();
        for (const t of [...regA, ...regB]) gpu.release(t);
      },
    };
  },
};
