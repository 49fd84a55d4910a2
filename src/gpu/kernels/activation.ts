/**
 * Host side of shaders/activation.wgsl: exact (erf) GELU and SwiGLU, forward and backward. Every
 * function records one dispatch (never submits); outputs are OVERWRITTEN and may not alias inputs.
 *
 * API (for model files):
 *   geluErfForward(enc, { x, out, n })                    out = ½x·erfc(−x/√2)   (hidden_act "gelu")
 *   geluErfBackward(enc, { x, dout, dx, n })              dx = dout·gelu'(x)
 *   swigluForward(enc, { gate, up, out, n })              out = silu(gate)·up    (n = N·I; gate_proj and
 *   swigluBackward(enc, { gate, up, dout, dgate, dup, n })                        up_proj outputs, separate
 *                                                                                (N, I) tensors, as the two
 *                                                                                HF Linears produce them)
 * The tanh GELU ("gelu_new", GPT-2) stays in elementwise.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'activation';
const WG = 256; // shader const WG

function run(enc: StepEncoder, entry: string, n: number, bindings: Record<number, GpuTensor>, label?: string): void {
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry },
    bindings,
    params: new Params().u32(n, 0, 0, 0).build(),
    workgroups: flatGrid(ceilDiv(n, WG)),
    label: label ?? `${entry} n=${n}`,
  });
}

function sizes(op: string, n: number, ts: Record<string, GpuTensor>): void {
  for (const [k, t] of Object.entries(ts)) checkSize(op, k, t, n);
}

/** out = gelu(x), erf form. x, out (n). */
export function geluErfForward(enc: StepEncoder, a: { x: GpuTensor; out: GpuTensor; n: number; label?: string }): void {
  sizes('geluErfForward', a.n, { x: a.x, out: a.out });
  run(enc, 'gelu_erf_forward', a.n, { 1: a.x, 3: a.out }, a.label);
}

/** dx = dout·gelu'(x), erf form (overwrites dx). x, dout, dx (n). */
export function geluErfBackward(
  enc: StepEncoder,
  a: { x: GpuTensor; dout: GpuTensor; dx: GpuTensor; n: number; label?: string },
): void {
  sizes('geluErfBackward', a.n, { x: a.x, dout: a.dout, dx: a.dx });
  run(enc, 'gelu_erf_backward', a.n, { 1: a.x, 2: a.dout, 3: a.dx }, a.label);
}

/** out = silu(gate)·up. gate, up, out (n). */
export function swigluForward(
  enc: StepEncoder,
  a: { gate: GpuTensor; up: GpuTensor; out: GpuTensor; n: number; label?: string },
): void {
  sizes('swigluForward', a.n, { gate: a.gate, up: a.up, out: a.out });
  run(enc, 'swiglu_forward', a.n, { 1: a.gate, 2: a.up, 3: a.out }, a.label);
}

/** dgate = dout·up·silu'(gate), dup = dout·silu(gate) (both overwritten). All (n). */
export function swigluBackward(
  enc: StepEncoder,
  a: { gate: GpuTensor; up: GpuTensor; dout: GpuTensor; dgate: GpuTensor; dup: GpuTensor; n: number; label?: string },
): void {
  sizes('swigluBackward', a.n, { gate: a.gate, up: a.up, dout: a.dout, dgate: a.dgate, dup: a.dup });
  run(enc, 'swiglu_backward', a.n, { 1: a.gate, 2: a.up, 4: a.dout, 3: a.dgate, 5: a.dup }, a.label);
}
