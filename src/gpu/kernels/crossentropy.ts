/**
 * Host side of shaders/crossentropy.wgsl: softmax + cross-entropy fused with its gradient (training),
 * the loss alone (evaluation), and row softmax with temperature (sampling). One workgroup per row,
 * deterministic tree reductions over V. Records dispatches only; never submits.
 *
 * Rows with mask 0 or a target outside [0, V) (ignore_index style) get loss 0 and zero gradient.
 * Summing `losses` (and Σmask, for gradScale = 1/Σmask) is the caller's job.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { flatGrid } from '../grid';

const SHADER = 'crossentropy';

export interface CrossEntropyArgs {
  logits: GpuTensor; // (N, V)
  targets: GpuTensor; // (N) i32
  mask: GpuTensor; // (N) f32, 1 counts, 0 ignores (fractional weights allowed)
  losses: GpuTensor; // (N) out: mask·(logsumexp − logit[target])
  N: number;
  V: number;
  label?: string;
}

function check(op: string, a: CrossEntropyArgs): void {
  checkSize(op, 'logits', a.logits, a.N * a.V);
  checkSize(op, 'targets', a.targets, a.N);
  checkSize(op, 'mask', a.mask, a.N);
  checkSize(op, 'losses', a.losses, a.N);
}

/** losses[n] = mask[n]·(logsumexp(logits[n]) − logits[n, target]); no gradient (evaluation). */
export function crossEntropyForward(enc: StepEncoder, a: CrossEntropyArgs): void {
  check('crossEntropyForward', a);
  if (a.N === 0) return;
  if (a.V === 0) throw new Error('crossEntropyForward: V = 0');
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'crossentropy_forward' },
    bindings: { 1: a.logits, 2: a.targets, 3: a.mask, 4: a.losses },
    params: new Params().u32(a.N, a.V).f32(0, 1).build(),
    workgroups: flatGrid(a.N),
    label: a.label ?? `crossentropy_forward ${a.N}x${a.V}`,
  });
}

/**
 * Losses as in `crossEntropyForward`, and dlogits[n,v] = gradScale·mask[n]·(softmax[n,v] − [v = target])
 * (overwrite). gradScale is typically 1/Σmask (mean loss over counted positions).
 */
export function crossEntropyForwardBackward(
  enc: StepEncoder,
  a: CrossEntropyArgs & { dlogits: GpuTensor; gradScale: number },
): void {
  check('crossEntropyForwardBackward', a);
  checkSize('crossEntropyForwardBackward', 'dlogits', a.dlogits, a.N * a.V);
  if (a.N === 0) return;
  if (a.V === 0) throw new Error('crossEntropyForwardBackward: V = 0');
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'crossentropy_forward_backward' },
    bindings: { 1: a.logits, 2: a.targets, 3: a.mask, 4: a.losses, 5: a.dlogits },
    params: new Params().u32(a.N, a.V).f32(a.gradScale, 1).build(),
    workgroups: flatGrid(a.N),
    label: a.label ?? `crossentropy_forward_backward ${a.N}x${a.V}`,
  });
}

/** probs[n,:] = softmax(logits[n,:] / temperature). logits, probs (N, V); temperature > 0 (default 1). */
export function softmaxRows(
  enc: StepEncoder,
  a: { logits: GpuTensor; probs: GpuTensor; N: number; V: number; temperature?: number; label?: string },
): void {
  checkSize('softmaxRows', 'logits', a.logits, a.N * a.V);
  checkSize('softmaxRows', 'probs', a.probs, a.N * a.V);
  const temperature = a.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature))
    throw new Error(`softmaxRows: temperature must be a positive number, got ${temperature}`);
  if (a.N === 0 || a.V === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'softmax_rows' },
    bindings: { 1: a.logits, 6: a.probs },
    params: new Params()
      .u32(a.N, a.V)
      .f32(0, 1 / temperature)
      .build(),
    workgroups: flatGrid(a.N),
    label: a.label ?? `softmax_rows ${a.N}x${a.V}`,
  });
}
