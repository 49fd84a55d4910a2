/**
 * The NOLA branch (Koohpayegani et al. 2024, "NOLA: Compressing LoRA using Linear Combination of Random
 * Basis", arXiv:2310.02556) on one linear layer:
 *   A (r, in) = Σ_i α_i·A_i,   B (out, r) = Σ_j β_j·B_j,   y = x·W + b + s·(x·Aᵀ)·Bᵀ
 * with k_A + k_B trainable coefficients and random bases A_i, B_j that are never stored: they are
 * regenerated on the GPU from Philox streams (basisSeed, "nola/A:<layer>") and (basisSeed,
 * "nola/B:<layer>") whenever they are needed (random_uniform in shaders/random.wgsl — the very
 * streams src/engine/rng.ts draws on the CPU). Memory: one scratch basis buffer shared by all layers.
 *
 *   forward   basis_A (k_A, r·in) ← PRNG;  A = αᵀ·basis_A   (one (1 × k_A)·(k_A × r·in) matmul); same for B
 *             then LoRA's forward (LowRankAdapter) on the materialised A, B
 *   backward  LoRA's backward into zeroed dA, dB, then dα += basis_A·vec(dA), dβ += basis_B·vec(dB)
 *
 * Basis distributions (the paper leaves them to the code): A_i ~ U(±1/√in) — LoRA's Kaiming-uniform A —
 * and B_j ~ U(±1/√r).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { fill } from '../../gpu/kernels/elementwise';
import { randomUniform } from '../../gpu/kernels/rsvd';
import type { Linear, LinearAdapter } from '../model/linear';
import { LowRankAdapter } from './lowrank';

export interface NolaBasisSpec {
  seed: number;
  numBasisA: number;
  numBasisB: number;
}

/** Stream names and bounds of a layer's bases, shared by the GPU path and CPU checks. */
export function nolaBasisStreams(
  layerName: string,
  r: number,
  inDim: number,
): { A: { purpose: string; bound: number }; B: { purpose: string; bound: number } } {
  return {
    A: { purpose: `nola/A:${layerName}`, bound: 1 / Math.sqrt(inDim) },
    B: { purpose: `nola/B:${layerName}`, bound: 1 / Math.sqrt(r) },
  };
}

export class NolaAdapter implements LinearAdapter {
  readonly gpu: Gpu;
  readonly layer: Linear;
  readonly inner: LowRankAdapter;
  readonly spec: NolaBasisSpec;
  readonly coefA: GpuTensor; // (k_A)
  readonly coefB: GpuTensor; // (k_B)
  readonly dCoefA: GpuTensor; // (k_A)
  readonly dCoefB: GpuTensor; // (k_B)
  /** Shared scratch for one basis (≥ max(k_A·r·in, k_B·out·r) over the layers using it). */
  private readonly basis: GpuTensor;

  constructor(
    gpu: Gpu,
    layer: Linear,
    o: {
      rank: number;
      scaling: number;
      spec: NolaBasisSpec;
      coefA: Float32Array;
      coefB: Float32Array;
      basis: GpuTensor;
    },
  ) {
    const { rank: r, spec } = o;
    if (o.coefA.length !== spec.numBasisA || o.coefB.length !== spec.numBasisB)
      throw new Error(`${layer.name}: coefficient counts differ from the basis counts`);
    if (o.basis.size < Math.max(spec.numBasisA * r * layer.inDim, spec.numBasisB * layer.outDim * r))
      throw new Error(`${layer.name}: NOLA basis scratch too small`);
    this.gpu = gpu;
    this.layer = layer;
    this.spec = spec;
    this.basis = o.basis;
    this.inner = new LowRankAdapter(gpu, layer, {
      rank: r,
      scaling: o.scaling,
      A: new Float32Array(r * layer.inDim),
      B: new Float32Array(layer.outDim * r),
      trainA: true,
      trainB: true,
    });
    this.coefA = gpu.upload(o.coefA, [spec.numBasisA], `${layer.name}.nola_alpha`, 'adapter');
    this.coefB = gpu.upload(o.coefB, [spec.numBasisB], `${layer.name}.nola_beta`, 'adapter');
    this.dCoefA = gpu.zeros([spec.numBasisA], `grad:${layer.name}.nola_alpha`, 'gradients');
    this.dCoefB = gpu.zeros([spec.numBasisB], `grad:${layer.name}.nola_beta`, 'gradients');
  }

  get rank(): number {
    return this.inner.rank;
  }

  /** basis ← the k bases of A (which = 'A', (k_A, r·in)) or B ((k_B, out·r)) of this layer. */
  private generate(enc: StepEncoder, which: 'A' | 'B'): number {
    const { inDim, outDim } = this.layer,
      r = this.inner.rank;
    const s = nolaBasisStreams(this.layer.name, r, inDim)[which];
    const k = which === 'A' ? this.spec.numBasisA : this.spec.numBasisB;
    const size = which === 'A' ? r * inDim : outDim * r;
    randomUniform(enc, this.basis, {
      seed: this.spec.seed,
      purpose: s.purpose,
      count: k * size,
      lo: -s.bound,
      hi: s.bound,
    });
    return size;
  }

  /** Record A = Σ α_i·A_i and B = Σ β_j·B_j into the inner adapter's tensors. */
  materialize(enc: StepEncoder): void {
    const name = this.layer.name;
    let size = this.generate(enc, 'A');
    matmul(enc, {
      a: this.coefA,
      b: this.basis,
      c: this.inner.A,
      M: 1,
      K: this.spec.numBasisA,
      N: size,
      label: `${name} nola A = αᵀ·basis`,
    });
    size = this.generate(enc, 'B');
    matmul(enc, {
      a: this.coefB,
      b: this.basis,
      c: this.inner.B,
      M: 1,
      K: this.spec.numBasisB,
      N: size,
      label: `${name} nola B = βᵀ·basis`,
    });
  }

  forward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
    this.materialize(enc);
    this.inner.forward(enc, l, x, y, N);
  }

  backward(enc: StepEncoder, l: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void {
    const name = this.layer.name;
    const dA = this.inner.dA!,
      dB = this.inner.dB!;
    fill(enc, { x: dA, n: dA.size, value: 0, label: `${name} nola dA = 0` });
    fill(enc, { x: dB, n: dB.size, value: 0, label: `${name} nola dB = 0` });
    this.inner.backward(enc, l, x, dy, dx, N);
    // dα (k_A) += basis_A (k_A, r·in) · vec(dA);  dβ likewise.
    let size = this.generate(enc, 'A');
    matmul(enc, {
      a: this.basis,
      b: dA,
      c: this.dCoefA,
      M: this.spec.numBasisA,
      K: size,
      N: 1,
      beta: 1,
      label: `${name} nola dα`,
    });
    size = this.generate(enc, 'B');
    matmul(enc, {
      a: this.basis,
      b: dB,
      c: this.dCoefB,
      M: this.spec.numBasisB,
      K: size,
      N: 1,
      beta: 1,
      label: `${name} nola dβ`,
    });
  }

  zeroGrads(enc: StepEncoder): void {
    enc.clear(this.dCoefA);
    enc.clear(this.dCoefB);
  }

  /** Materialise A and B now (one submit) and read them: A (r, in), B (out, r). */
  async factors(): Promise<{ A: Float32Array; B: Float32Array }> {
    const enc = this.gpu.encoder(`${this.layer.name} nola materialize`);
    this.materialize(enc);
    enc.submit();
    return { A: await this.gpu.read(this.inner.A), B: await this.gpu.read(this.inner.B) };
  }

  /** ΔW = s·(B·A)ᵀ in the layer's (in, out) layout. */
  async delta(): Promise<Float32Array> {
    await this.factors();
    return this.inner.delta();
  }

  dispose(): void {
    for (const t of [this.coefA, this.coefB, this.dCoefA, this.dCoefB]) this.gpu.release(t);
    this.inner.dispose();
  }
}
