/**
 * A linear layer in Hugging Face GPT-2's Conv1D layout: W is stored (inDim, outDim), so
 *   y (N, outDim) = x (N, inDim) · W + b.
 * Adapter methods (LoRA and family) attach here: a layer with an adapter delegates its forward and
 * backward to it (the adapter decides whether the base weight is used as is, replaced by a residual,
 * rescaled as in DoRA, and whether W gets a gradient).
 */
import type { GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { addBias, biasBackward } from '../../gpu/kernels/elementwise';

export interface Linear {
  /** Hugging Face module path, e.g. "h.0.attn.c_attn". */
  name: string;
  inDim: number;
  outDim: number;
  weight: GpuTensor; // (inDim, outDim)
  bias: GpuTensor | null; // (outDim)
  /** Gradient buffers, present only when the base weight/bias are trainable. */
  dWeight: GpuTensor | null;
  dBias: GpuTensor | null;
  adapter: LinearAdapter | null;
}

export interface LinearAdapter {
  /** y (N, outDim) = the adapted layer applied to x (N, inDim), base weight and bias included. */
  forward(enc: StepEncoder, layer: Linear, x: GpuTensor, y: GpuTensor, N: number): void;
  /**
   * Given dy, OVERWRITE dx (N, inDim) with ∂L/∂x, and ACCUMULATE the adapter's own gradients (and
   * the base weight's, if layer.dWeight is set).
   */
  backward(enc: StepEncoder, layer: Linear, x: GpuTensor, dy: GpuTensor, dx: GpuTensor | null, N: number): void;
}

/** y = x·W + b (no adapter). */
export function linearBaseForward(
  enc: StepEncoder,
  l: Linear,
  x: GpuTensor,
  y: GpuTensor,
  N: number,
  weight = l.weight,
): void {
  matmul(enc, { a: x, b: weight, c: y, M: N, K: l.inDim, N: l.outDim, label: `${l.name} fwd` });
  if (l.bias) addBias(enc, { x: y, bias: l.bias, N, C: l.outDim });
}

/** dx = dy·Wᵀ (overwrite), dW += xᵀ·dy, db += Σ dy — for the parts that are trainable. */
export function linearBaseBackward(
  enc: StepEncoder,
  l: Linear,
  x: GpuTensor,
  dy: GpuTensor,
  dx: GpuTensor | null,
  N: number,
  weight = l.weight,
): void {
  if (dx) matmul(enc, { a: dy, b: weight, c: dx, M: N, K: l.outDim, N: l.inDim, transB: true, label: `${l.name} dx` });
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
}

export function linearForward(enc: StepEncoder, l: Linear, x: GpuTensor, y: GpuTensor, N: number): void {
  if (l.adapter) l.adapter.forward(enc, l, x, y, N);
  else linearBaseForward(enc, l, x, y, N);
}

export function linearBackward(
  enc: StepEncoder,
  l: Linear,
  x: GpuTensor,
  dy: GpuTensor,
  dx: GpuTensor | null,
  N: number,
): void {
  if (l.adapter) l.adapter.backward(enc, l, x, dy, dx, N);
  else linearBaseBackward(enc, l, x, dy, dx, N);
}
