/**
 * The DoRA linear adapter (Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation",
 * arXiv:2402.09353), in PEFT's form (reference §1.5, peft/tuners/lora/dora.py):
 *
 *   V (in, out) = W + s·Aᵀ·Bᵀ          our Conv1D layout of PEFT's W + s·B·A (out, in)
 *   y = (m / ‖V‖_col) ⊙ (x·V) + b       ‖V‖_col[o] = ‖V[:, o]‖ = PEFT's row norm of the (out, in) weight
 *
 * with the magnitude m (out) initialised to ‖W‖_col (B = 0 ⇒ the model is unchanged at step 0) and
 * trained with A and B. The norm is DETACHED (paper §4.3, PEFT `weight_norm.detach()`): recomputed
 * every forward from the current A, B but treated as a constant by the backward, so m gets
 * Σ_n dy⊙z/‖V‖ and A, B get the LoRA gradients of dz = (m/‖V‖)⊙dy.
 *
 * One forward: the norm (dora.wgsl via G = A·W and M = A·Aᵀ, never ΔW), z = x·W + s·(x·Aᵀ)·Bᵀ on the
 * fused low-rank kernels (a LowRankAdapter without bias, whose h it keeps), y = mns⊙z + b. One
 * backward: dz and dm in one pass, then the low-rank backward with dz. z (N, out) is kept for dm:
 * DoRA's extra activation memory over LoRA.
 *
 * What this is not: a method (methods/dora.ts makes one per targeted layer) or a base-weight trainer
 * (a trainable base weight under DoRA is refused).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { biasBackward } from '../../gpu/kernels/elementwise';
import { doraGrad, doraNorm, doraScale } from '../../gpu/kernels/dora';
import type { Linear, LinearAdapter } from '../model/linear';
import { LowRankAdapter } from './lowrank';
import { mergeDora } from './merge';

export interface DoraInit {
  rank: number;
  scaling: number;
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
}

export class DoraAdapter implements LinearAdapter {
  readonly gpu: Gpu;
  readonly layer: Linear;
  /** The low-rank branch (A, B, their gradients, h) run without the layer's bias. */
  readonly core: LowRankAdapter;
  readonly m: GpuTensor; // (out) magnitude
  readonly dm: GpuTensor; // (out)
  private readonly wsq: GpuTensor; // (out) ‖W[:, o]‖², W frozen
  private readonly G: GpuTensor; // (r, out) A·W
  private readonly M: GpuTensor; // (r, r) A·Aᵀ
  readonly norm: GpuTensor; // (out) ‖V‖_col of the last forward
  readonly mns: GpuTensor; // (out) m / norm
  private z: GpuTensor | null = null; // (N, out) x·V, kept for dm
  private dz: GpuTensor | null = null; // (N, out)
  private readonly inner: Linear; // the layer seen by the core: no bias, no base gradients
  /**
   * Test hook: hold the norm at its last value instead of recomputing it each forward (m/norm still
   * follows m). Finite differences of the loss then see the norm as the constant the backward assumes
   * (PEFT's detach).
   */
  freezeNorm = false;

  private constructor(gpu: Gpu, layer: Linear, init: DoraInit, wsq: Float32Array) {
    if (layer.dWeight) throw new Error(`${layer.name}: DoRA with a trainable base weight is not supported`);
    this.gpu = gpu;
    this.layer = layer;
    this.inner = { ...layer, bias: null, dWeight: null, dBias: null, adapter: null };
    this.core = new LowRankAdapter(gpu, this.inner, { ...init, trainA: true, trainB: true });
    const { outDim } = layer,
      r = init.rank;
    this.wsq = gpu.upload(wsq, [outDim], `${layer.name}.dora_wsq`, 'adapter');
    this.m = gpu.zeros([outDim], `${layer.name}.lora_magnitude_vector`, 'adapter');
    this.dm = gpu.zeros([outDim], `grad:${layer.name}.lora_magnitude_vector`, 'gradients');
    this.G = gpu.tensor([r, outDim], `${layer.name}.dora_G`, 'activations');
    this.M = gpu.tensor([r, r], `${layer.name}.dora_M`, 'activations');
    this.norm = gpu.zeros([outDim], `${layer.name}.dora_norm`, 'activations');
    this.mns = gpu.zeros([outDim], `${layer.name}.dora_scale`, 'activations');
  }

  /**
   * A DoRA adapter with m = ‖W + s·B·A‖_col (= ‖W‖_col when B = 0), computed by the same kernel as
   * every later forward so that m/‖V‖ is 1 at step 0 up to one rounding of the division.
   */
  static async create(gpu: Gpu, layer: Linear, init: DoraInit): Promise<DoraAdapter> {
    const { inDim, outDim } = layer;
    const W = await gpu.read(layer.weight);
    const wsq = new Float32Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += W[i * outDim + o] ** 2;
      wsq[o] = s;
    }
    const ad = new DoraAdapter(gpu, layer, init, wsq);
    const enc = gpu.encoder(`${layer.name} dora init`);
    ad.recordNorm(enc);
    enc.copy(ad.norm, ad.m);
    enc.submit();
    return ad;
  }

  get rank(): number {
    return this.core.rank;
  }

  get scaling(): number {
    return this.core.scaling;
  }

  private recordNorm(enc: StepEncoder, holdNorm = false): void {
    const { inDim, outDim } = this.layer;
    doraNorm(enc, {
      W: this.core.baseWeight,
      wsq: this.wsq,
      A: this.core.A,
      B: this.core.B,
      m: this.m,
      G: this.G,
      M: this.M,
      norm: this.norm,
      mns: this.mns,
      inDim,
      outDim,
      r: this.core.rank,
      scaling: this.core.scaling,
      holdNorm,
      label: `${this.layer.name} dora norm`,
    });
  }

  private scratch(N: number): { z: GpuTensor; dz: GpuTensor } {
    const n = N * this.layer.outDim;
    if (!this.z || this.z.size < n) {
      if (this.z) this.gpu.release(this.z);
      if (this.dz) this.gpu.release(this.dz);
      this.z = this.gpu.tensor([N, this.layer.outDim], `${this.layer.name}.dora_z`, 'activations');
      this.dz = this.gpu.tensor([N, this.layer.outDim], `${this.layer.name}.dora_dz`, 'activations');
    }
    return { z: this.z, dz: this.dz! };
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    const { z } = this.scratch(N);
    this.recordNorm(enc, this.freezeNorm);
    this.core.forward(enc, this.inner, x, z, N);
    doraScale(enc, { z, mns: this.mns, bias: l.bias, y, N, outDim: l.outDim, label: `${l.name} dora scale` });
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    const { z, dz } = this.scratch(N);
    doraGrad(enc, {
      dy,
      z,
      mns: this.mns,
      norm: this.norm,
      dz,
      dm: this.dm,
      N,
      outDim: l.outDim,
      label: `${l.name} dora grad`,
    });
    this.core.backward(enc, this.inner, x, dz, dx, N);
    if (l.dBias) biasBackward(enc, { dout: dy, dbias: l.dBias, N, C: l.outDim });
  }

  zeroGrads(enc: StepEncoder): void {
    this.core.zeroGrads(enc);
    enc.clear(this.dm);
  }

  /** The merged weight (in, out) = V ⊙ (m/‖V‖_col) (PEFT's DoRA merge), on the CPU. */
  async mergedWeight(): Promise<Float32Array> {
    const W = await this.gpu.read(this.core.baseWeight),
      d = await this.core.delta(),
      m = await this.gpu.read(this.m);
    return mergeDora(W, d, m, this.layer.inDim, this.layer.outDim).merged;
  }

  dispose(): void {
    this.core.dispose();
    for (const t of [this.wsq, this.m, this.dm, this.G, this.M, this.norm, this.mns, this.z, this.dz])
      if (t) this.gpu.release(t);
    this.layer.adapter = null;
  }
}
