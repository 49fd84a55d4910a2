/**
 * The low-rank branch shared by the LoRA family (Hu et al. 2021, arXiv:2106.09685):
 *   y (N, out) = x·W + b + s·(x·Aᵀ)·Bᵀ,   A (r, in), B (out, r)   — PEFT's lora_A / lora_B layouts.
 * ΔW = s·B·A is never materialised. The (N, r) intermediate h = x·Aᵀ is kept from the forward for
 * the backward:
 *   dB += s·dyᵀ·h,  dh = s·dy·B,  dA += dhᵀ·x,  dx = dy·Wᵀ + dh·A.
 * Two paths with one contract, chosen by `fused`:
 *   - fused (default where the device supports it): shaders/lowrank.wgsl, the base product, the bias and
 *     the low-rank term in one output pass — 2 dispatches forward, 2 backward (src/gpu/kernels/lowrank.ts);
 *   - unfused: the readable sequence of matmuls below (base, bias, h, up; dB, dh, dA, dx), kept as the
 *     second oracle and the fallback.
 * `recordForward`/`recordBackward` (the low-rank term alone, added to a base someone else computed)
 * follow the same switch.
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { biasBackward } from '../../gpu/kernels/elementwise';
import { lowrankBackward, lowrankForward, lowrankFusedSupported } from '../../gpu/kernels/lowrank';
import { linearBaseBackward, linearBaseForward, type Linear, type LinearAdapter } from '../model/linear';

export interface LowRankInit {
  rank: number;
  scaling: number;
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
  trainA: boolean;
  trainB: boolean;
}

export class LowRankAdapter implements LinearAdapter {
  readonly gpu: Gpu;
  readonly layer: Linear;
  readonly rank: number;
  scaling: number;
  readonly A: GpuTensor; // (r, in)
  readonly B: GpuTensor; // (out, r)
  readonly dA: GpuTensor | null;
  readonly dB: GpuTensor | null;
  /** Base weight used in the forward (PiSSA/LoRA-GA replace it by a residual); defaults to the layer's own. */
  baseWeight: GpuTensor;
  /** Active rank ≤ rank (DyLoRA trains nested prefixes). */
  activeRank: number;
  /** Fused kernels (shaders/lowrank.wgsl) or the unfused matmul sequence; same results up to rounding. */
  fused: boolean;
  private h: GpuTensor | null = null; // (Nmax, r) saved x·Aᵀ
  private dh: GpuTensor | null = null; // (Nmax, r)

  constructor(gpu: Gpu, layer: Linear, init: LowRankInit) {
    const { rank: r } = init;
    if (init.A.length !== r * layer.inDim) throw new Error(`${layer.name}: A needs ${r}×${layer.inDim} values`);
    if (init.B.length !== layer.outDim * r) throw new Error(`${layer.name}: B needs ${layer.outDim}×${r} values`);
    this.gpu = gpu;
    this.layer = layer;
    this.rank = r;
    this.activeRank = r;
    this.scaling = init.scaling;
    this.A = gpu.upload(init.A, [r, layer.inDim], `${layer.name}.lora_A`, 'adapter');
    this.B = gpu.upload(init.B, [layer.outDim, r], `${layer.name}.lora_B`, 'adapter');
    this.dA = init.trainA ? gpu.zeros([r, layer.inDim], `grad:${layer.name}.lora_A`, 'gradients') : null;
    this.dB = init.trainB ? gpu.zeros([layer.outDim, r], `grad:${layer.name}.lora_B`, 'gradients') : null;
    this.baseWeight = layer.weight;
    this.fused = lowrankFusedSupported(gpu);
  }

  private scratch(N: number): { h: GpuTensor; dh: GpuTensor } {
    if (!this.h || this.h.size < N * this.rank) {
      if (this.h) this.gpu.release(this.h);
      if (this.dh) this.gpu.release(this.dh);
      this.h = this.gpu.tensor([N, this.rank], `${this.layer.name}.lora_h`, 'activations');
      this.dh = this.gpu.tensor([N, this.rank], `${this.layer.name}.lora_dh`, 'activations');
    }
    return { h: this.h, dh: this.dh! };
  }

  private dims(N: number) {
    const l = this.layer;
    return {
      N,
      inDim: l.inDim,
      outDim: l.outDim,
      r: this.activeRank,
      ldr: this.rank,
      scaling: this.scaling,
      label: `${l.name} lora`,
    };
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    if (this.fused) {
      // y = x·W + b + s·h·Bᵀ, one pass over y.
      const { h } = this.scratch(N);
      lowrankForward(enc, { ...this.dims(N), x, A: this.A, B: this.B, h, y, W: this.baseWeight, bias: l.bias });
      return;
    }
    linearBaseForward(enc, l, x, y, N, this.baseWeight);
    this.recordForward(enc, x, y, N);
  }

  /** y += s·(x·Aᵀ)·Bᵀ, keeping h = x·Aᵀ. Only the first activeRank components take part. */
  recordForward(enc: StepEncoder, x: GpuTensor, y: GpuTensor, N: number): void {
    const { h } = this.scratch(N);
    if (this.fused) {
      lowrankForward(enc, { ...this.dims(N), x, A: this.A, B: this.B, h, y, W: null, accumulate: true });
      return;
    }
    const r = this.activeRank,
      R = this.rank,
      l = this.layer;
    // h (N, r) = x (N, in) · A[:r]ᵀ
    matmul(enc, { a: x, b: this.A, c: h, M: N, K: l.inDim, N: r, transB: true, ldc: R, label: `${l.name} lora h` });
    // y (N, out) += s · h (N, r) · B[:, :r]ᵀ
    matmul(enc, {
      a: h,
      b: this.B,
      c: y,
      M: N,
      K: r,
      N: l.outDim,
      transB: true,
      lda: R,
      ldb: R,
      alpha: this.scaling,
      beta: 1,
      label: `${l.name} lora up`,
    });
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    if (this.fused) {
      // dx = dy·Wᵀ + dh·A written once; dA, dB accumulate. A trainable base (rare) keeps its own products.
      const { h, dh } = this.scratch(N);
      lowrankBackward(enc, {
        ...this.dims(N),
        x,
        dy,
        A: this.A,
        B: this.B,
        h,
        dh,
        dx,
        dA: this.dA,
        dB: this.dB,
        W: this.baseWeight,
      });
      if (l.dWeight)
        matmul(enc, {
          a: x,
          b: dy,
          c: l.dWeight,
          M: l.inDim,
          K: N,
          N: l.outDim,
          transA: true,
          beta: 1,
          label: `${l.name} dW`,
        });
      if (l.dBias) biasBackward(enc, { dout: dy, dbias: l.dBias, N, C: l.outDim });
      return;
    }
    linearBaseBackward(enc, l, x, dy, dx, N, this.baseWeight);
    this.recordBackward(enc, x, dy, dx, N);
  }

  /** dB += s·dyᵀ·h, dh = s·dy·B, dA += dhᵀ·x, dx += dh·A (dx already holds dy·Wᵀ). */
  recordBackward(enc: StepEncoder, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    const { h, dh } = this.scratch(N);
    if (this.fused) {
      lowrankBackward(enc, {
        ...this.dims(N),
        x,
        dy,
        A: this.A,
        B: this.B,
        h,
        dh,
        dx,
        dA: this.dA,
        dB: this.dB,
        W: null,
        accumulateDx: true,
      });
      return;
    }
    const r = this.activeRank,
      R = this.rank,
      l = this.layer;
    if (this.dB)
      matmul(enc, {
        a: dy,
        b: h,
        c: this.dB,
        M: l.outDim,
        K: N,
        N: r,
        transA: true,
        ldb: R,
        ldc: R,
        alpha: this.scaling,
        beta: 1,
        label: `${l.name} lora dB`,
      });
    if (!this.dA && !dx) return;
    matmul(enc, {
      a: dy,
      b: this.B,
      c: dh,
      M: N,
      K: l.outDim,
      N: r,
      ldb: R,
      ldc: R,
      alpha: this.scaling,
      label: `${l.name} lora dh`,
    });
    if (this.dA)
      matmul(enc, {
        a: dh,
        b: x,
        c: this.dA,
        M: r,
        K: N,
        N: l.inDim,
        transA: true,
        lda: R,
        beta: 1,
        label: `${l.name} lora dA`,
      });
    if (dx)
      matmul(enc, { a: dh, b: this.A, c: dx, M: N, K: r, N: l.inDim, lda: R, beta: 1, label: `${l.name} lora dx` });
  }

  zeroGrads(enc: StepEncoder): void {
    if (this.dA) enc.clear(this.dA);
    if (this.dB) enc.clear(this.dB);
  }

  /** ΔW in the layer's (in, out) layout: s·(B·A)ᵀ = s·Aᵀ·Bᵀ, on the CPU. */
  async delta(): Promise<Float32Array> {
    const A = await this.gpu.read(this.A),
      B = await this.gpu.read(this.B);
    const { inDim, outDim } = this.layer,
      R = this.rank,
      r = this.activeRank;
    const out = new Float32Array(inDim * outDim);
    for (let i = 0; i < inDim; i++) {
      for (let o = 0; o < outDim; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B[o * R + k] * A[k * inDim + i];
        out[i * outDim + o] = this.scaling * acc;
      }
    }
    return out;
  }

  dispose(): void {
    for (const t of [this.A, this.B, this.dA, this.dB, this.h, this.dh]) if (t) this.gpu.release(t);
    if (this.baseWeight !== this.layer.weight) this.gpu.release(this.baseWeight);
    this.layer.adapter = null;
  }
}
