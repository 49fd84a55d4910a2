/**
 * The VeRA branch (Kopiczko, Blankevoort & Asano 2024, arXiv:2310.11454) on one linear layer:
 *   ΔW (PyTorch (out, in) layout) = diag(λ_b)·B_sl·diag(λ_d)·A_sl
 * with A (r, maxIn) and B (maxOut, r) frozen, random and SHARED by every adapted layer (sliced to the
 * layer's shape, A_sl = A[:, :in], B_sl = B[:out, :] as PEFT's VeRA does), and per-layer trainable
 * vectors λ_d (r) and λ_b (out).
 *
 * Both diagonals fold into one effective up-projection, Beff (out, r) = diag(λ_b)·B_sl·diag(λ_d),
 * recomputed each forward (vera_scale_b), after which the branch is LoRA's:
 *   forward   h (N, r) = x·A_slᵀ,   y += h·Beffᵀ
 *   backward  G (out, r) = dyᵀ·h  (= ∂L/∂Beff),
 *             dλ_b[o] += Σ_k G[o,k]·B[o,k]·λ_d[k],  dλ_d[k] += Σ_o G[o,k]·B[o,k]·λ_b[o]   (vera_grad_b/_d)
 *             dh = dy·Beff,  dx += dh·A_sl
 * so the expensive N-long reductions are matmuls and the λ gradients are small fixed-order reductions
 * over (out, r) — deterministic, no atomics. No (N, out) scratch is needed.
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { veraGradB, veraGradD, veraScaleB } from '../../gpu/kernels/vera';
import { linearBaseBackward, linearBaseForward, type Linear, type LinearAdapter } from '../model/linear';

/** The frozen projections shared by all VeRA layers of one model. */
export interface VeraShared {
  r: number;
  maxIn: number;
  maxOut: number;
  A: GpuTensor; // (r, maxIn)
  B: GpuTensor; // (maxOut, r)
}

export class VeraAdapter implements LinearAdapter {
  readonly gpu: Gpu;
  readonly layer: Linear;
  readonly shared: VeraShared;
  readonly lambdaD: GpuTensor; // (r)
  readonly lambdaB: GpuTensor; // (out)
  readonly dLambdaD: GpuTensor; // (r)
  readonly dLambdaB: GpuTensor; // (out)
  private readonly beff: GpuTensor; // (out, r)
  private readonly G: GpuTensor; // (out, r)
  private h: GpuTensor | null = null; // (Nmax, r)
  private dh: GpuTensor | null = null; // (Nmax, r)

  constructor(gpu: Gpu, layer: Linear, shared: VeraShared, init: { lambdaD: Float32Array; lambdaB: Float32Array }) {
    const { r } = shared;
    if (layer.inDim > shared.maxIn || layer.outDim > shared.maxOut)
      throw new Error(
        `${layer.name}: ${layer.inDim}×${layer.outDim} exceeds the shared VeRA projections (${shared.maxIn}×${shared.maxOut})`,
      );
    if (init.lambdaD.length !== r || init.lambdaB.length !== layer.outDim)
      throw new Error(`${layer.name}: λ_d needs ${r} and λ_b ${layer.outDim} values`);
    this.gpu = gpu;
    this.layer = layer;
    this.shared = shared;
    this.lambdaD = gpu.upload(init.lambdaD, [r], `${layer.name}.vera_lambda_d`, 'adapter');
    this.lambdaB = gpu.upload(init.lambdaB, [layer.outDim], `${layer.name}.vera_lambda_b`, 'adapter');
    this.dLambdaD = gpu.zeros([r], `grad:${layer.name}.vera_lambda_d`, 'gradients');
    this.dLambdaB = gpu.zeros([layer.outDim], `grad:${layer.name}.vera_lambda_b`, 'gradients');
    this.beff = gpu.tensor([layer.outDim, r], `${layer.name}.vera_Beff`, 'adapter');
    this.G = gpu.tensor([layer.outDim, r], `${layer.name}.vera_G`, 'adapter');
  }

  private scratch(N: number): { h: GpuTensor; dh: GpuTensor } {
    const r = this.shared.r;
    if (!this.h || this.h.size < N * r) {
      if (this.h) this.gpu.release(this.h);
      if (this.dh) this.gpu.release(this.dh);
      this.h = this.gpu.tensor([N, r], `${this.layer.name}.vera_h`, 'activations');
      this.dh = this.gpu.tensor([N, r], `${this.layer.name}.vera_dh`, 'activations');
    }
    return { h: this.h, dh: this.dh! };
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    linearBaseForward(enc, l, x, y, N);
    const { h } = this.scratch(N);
    const { r, maxIn, A, B } = this.shared;
    veraScaleB(enc, {
      B,
      lb: this.lambdaB,
      ld: this.lambdaD,
      beff: this.beff,
      outDim: l.outDim,
      r,
      label: `${l.name} vera Beff`,
    });
    // h (N, r) = x (N, in) · A[:, :in]ᵀ
    matmul(enc, { a: x, b: A, c: h, M: N, K: l.inDim, N: r, transB: true, ldb: maxIn, label: `${l.name} vera h` });
    // y (N, out) += h · Beffᵀ
    matmul(enc, {
      a: h,
      b: this.beff,
      c: y,
      M: N,
      K: r,
      N: l.outDim,
      transB: true,
      beta: 1,
      label: `${l.name} vera up`,
    });
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    linearBaseBackward(enc, l, x, dy, dx, N);
    const { h, dh } = this.scratch(N);
    const { r, maxIn, A, B } = this.shared;
    // G (out, r) = dyᵀ · h, then the two λ reductions.
    matmul(enc, { a: dy, b: h, c: this.G, M: l.outDim, K: N, N: r, transA: true, label: `${l.name} vera G` });
    veraGradB(enc, {
      G: this.G,
      B,
      ld: this.lambdaD,
      dlb: this.dLambdaB,
      outDim: l.outDim,
      r,
      label: `${l.name} vera dλ_b`,
    });
    veraGradD(enc, {
      G: this.G,
      B,
      lb: this.lambdaB,
      dld: this.dLambdaD,
      outDim: l.outDim,
      r,
      label: `${l.name} vera dλ_d`,
    });
    if (!dx) return;
    // dh (N, r) = dy · Beff;  dx (N, in) += dh · A[:, :in]
    matmul(enc, { a: dy, b: this.beff, c: dh, M: N, K: l.outDim, N: r, label: `${l.name} vera dh` });
    matmul(enc, { a: dh, b: A, c: dx, M: N, K: r, N: l.inDim, ldb: maxIn, beta: 1, label: `${l.name} vera dx` });
  }

  zeroGrads(enc: StepEncoder): void {
    enc.clear(this.dLambdaD);
    enc.clear(this.dLambdaB);
  }

  /** ΔW in the layer's (in, out) layout: ΔW[i, o] = λ_b[o]·Σ_k B[o,k]·λ_d[k]·A[k,i], on the CPU. */
  async delta(): Promise<Float32Array> {
    const { r, maxIn } = this.shared;
    const [A, B, ld, lb] = await Promise.all([
      this.gpu.read(this.shared.A),
      this.gpu.read(this.shared.B, this.layer.outDim * r),
      this.gpu.read(this.lambdaD),
      this.gpu.read(this.lambdaB),
    ]);
    const { inDim, outDim } = this.layer;
    const out = new Float32Array(inDim * outDim);
    for (let i = 0; i < inDim; i++) {
      for (let o = 0; o < outDim; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B[o * r + k] * ld[k] * A[k * maxIn + i];
        out[i * outDim + o] = lb[o] * acc;
      }
    }
    return out;
  }

  dispose(): void {
    for (const t of [this.lambdaD, this.lambdaB, this.dLambdaD, this.dLambdaB, this.beff, this.G, this.h, this.dh])
      if (t) this.gpu.release(t);
    this.layer.adapter = null;
  }
}
