/**
 * Host side of shaders/reduce.wgsl: deterministic reductions recorded into a StepEncoder (never
 * submitted here). Used for the gradient norm (per-tensor Σ g² into slots, then `globalNormClip`),
 * the loss (Σ of per-token losses) and diagnostics (max |x|).
 *
 * Work assignment is a pure function of n (see `reducePlan`): up to SINGLE_MAX elements one workgroup
 * reduces everything; beyond, ≤ MAX_CHUNKS workgroups each reduce one contiguous chunk into a per-device
 * scratch, and one more workgroup reduces those partials in index order. Same n, same order, same bits.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';

/** Largest n reduced by a single workgroup (one dispatch). */
export const SINGLE_MAX = 1 << 16;
/** Most first-level partials (the scratch size). */
export const MAX_CHUNKS = 1024;
const WG = 256;
/** Smallest chunk of the two-level scheme, so small tensors do not spread over idle workgroups. */
const MIN_CHUNK = 64 * WG;

const OP = { sum: 0, sumSquares: 1, maxAbs: 2 } as const;
type ReduceOp = keyof typeof OP;

export interface ReducePlan {
  chunks: number; // first-level workgroups (1 = single level)
  chunk: number; // elements per chunk, a multiple of 256
}

/** The fixed work assignment for n elements. Exported so tests and benchmarks can see it. */
export function reducePlan(n: number): ReducePlan {
  if (n <= SINGLE_MAX) return { chunks: 1, chunk: Math.max(n, 1) };
  const target = Math.min(MAX_CHUNKS, Math.ceil(n / MIN_CHUNK));
  const chunk = Math.ceil(n / target / WG) * WG;
  return { chunks: Math.ceil(n / chunk), chunk };
}

const scratchByGpu = new WeakMap<Gpu, GpuTensor>();

function scratch(gpu: Gpu): GpuTensor {
  let t = scratchByGpu.get(gpu);
  if (!t) {
    t = gpu.tensor([MAX_CHUNKS], 'reduce-partials', 'scratch');
    scratchByGpu.set(gpu, t);
  }
  return t;
}

function params(n: number, chunk: number, outIndex: number, off: number, maxNorm = 0): ArrayBuffer {
  return new Params().u32(n, chunk, outIndex, off).f32(maxNorm).u32(0, 0, 0).build();
}

function checkInto(name: string, x: GpuTensor, n: number, off: number, out: GpuTensor, slot: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`${name}: n must be an integer ≥ 0, got ${n}`);
  if (off + n > x.size) throw new Error(`${name}: ${x.label} has ${x.size} elements, needs offset ${off} + n ${n}`);
  if (!(Number.isInteger(slot) && slot >= 0 && slot < out.size))
    throw new Error(`${name}: slot ${slot} outside ${out.label} (${out.size} elements)`);
  if (x.buffer === out.buffer) throw new Error(`${name}: input and output must be different buffers`);
}

/** Bindings cover whole buffers (StepEncoder), so a buffer over the adapter's binding limit cannot be read at all. */
function bindable(enc: StepEncoder, name: string, t: GpuTensor): void {
  const max = enc.gpu.description.limits.maxStorageBufferBindingSize;
  if (max !== undefined && t.buffer.size > max) {
    throw new Error(
      `${name}: ${t.label} is ${t.buffer.size} bytes, over this adapter's ${max}-byte storage binding limit; split the tensor`,
    );
  }
}

function reduceInto(
  enc: StepEncoder,
  op: ReduceOp,
  x: GpuTensor,
  n: number,
  off: number,
  out: GpuTensor,
  slot: number,
  name: string,
): void {
  checkInto(name, x, n, off, out, slot);
  bindable(enc, name, x);
  const plan = reducePlan(n);
  const kernel = { shader: 'reduce', entry: 'reduce_chunks', constants: { OP: OP[op] } };
  if (plan.chunks === 1) {
    enc.dispatch({
      kernel,
      bindings: { 1: x, 2: out },
      params: params(n, plan.chunk, slot, off),
      workgroups: [1],
      label: `${name} n=${n}`,
    });
    return;
  }
  const partials = scratch(enc.gpu);
  enc.dispatch({
    kernel,
    bindings: { 1: x, 2: partials },
    params: params(n, plan.chunk, 0, off),
    workgroups: [plan.chunks],
    label: `${name} n=${n} chunks`,
  });
  // Second level: Σ x² partials are summed plainly; max-abs partials are maxed.
  const combine = { shader: 'reduce', entry: 'reduce_chunks', constants: { OP: op === 'maxAbs' ? OP.maxAbs : OP.sum } };
  enc.dispatch({
    kernel: combine,
    bindings: { 1: partials, 2: out },
    params: params(plan.chunks, plan.chunks, slot, 0),
    workgroups: [1],
    label: `${name} n=${n} combine`,
  });
}

export interface ReduceIntoArgs {
  x: GpuTensor;
  /** Elements to reduce (default x.size − offset). */
  n?: number;
  /** First element (default 0). */
  offset?: number;
}

/** partials[slot] = Σ x[offset .. offset+n)². One slot per gradient tensor, then `globalNormClip`. */
export function sumSquaresInto(enc: StepEncoder, a: ReduceIntoArgs & { partials: GpuTensor; slot: number }): void {
  const off = a.offset ?? 0;
  reduceInto(enc, 'sumSquares', a.x, a.n ?? a.x.size - off, off, a.partials, a.slot, 'sumSquares');
}

/** out[slot] = Σ x[offset .. offset+n) (the loss from per-token losses). */
export function sumInto(enc: StepEncoder, a: ReduceIntoArgs & { out: GpuTensor; slot: number }): void {
  const off = a.offset ?? 0;
  reduceInto(enc, 'sum', a.x, a.n ?? a.x.size - off, off, a.out, a.slot, 'sum');
}

/** out[slot] = max |x[offset .. offset+n)| (0 for n = 0). NaN handling is the driver's (WGSL max). */
export function maxAbsInto(enc: StepEncoder, a: ReduceIntoArgs & { out: GpuTensor; slot: number }): void {
  const off = a.offset ?? 0;
  reduceInto(enc, 'maxAbs', a.x, a.n ?? a.x.size - off, off, a.out, a.slot, 'maxAbs');
}

export interface GlobalNormClipArgs {
  partials: GpuTensor; // (≥ count) per-tensor Σ g² from sumSquaresInto
  count: number;
  /** Clip threshold; ≤ 0 disables clipping (scale 1). */
  maxNorm: number;
  clip: GpuTensor; // (2) ← [globalNorm, clipScale]; a different buffer from partials
}

/** clip = [√Σ partials[0..count), min(1, maxNorm/(norm + 1e-6))] (PyTorch clip_grad_norm_), scale 1 when maxNorm ≤ 0. */
export function globalNormClip(enc: StepEncoder, a: GlobalNormClipArgs): void {
  if (!(Number.isInteger(a.count) && a.count >= 0 && a.count <= a.partials.size)) {
    throw new Error(`globalNormClip: count ${a.count} outside ${a.partials.label} (${a.partials.size} elements)`);
  }
  if (a.clip.size < 2) throw new Error(`globalNormClip: clip (${a.clip.label}) needs 2 elements`);
  if (a.clip.buffer === a.partials.buffer)
    throw new Error('globalNormClip: clip and partials must be different buffers');
  if (!Number.isFinite(a.maxNorm)) throw new Error(`globalNormClip: maxNorm must be finite, got ${a.maxNorm}`);
  enc.dispatch({
    kernel: { shader: 'reduce', entry: 'global_norm_clip' },
    bindings: { 1: a.partials, 2: a.clip },
    params: params(a.count, 0, 0, 0, a.maxNorm),
    workgroups: [1],
    label: `globalNormClip count=${a.count}`,
  });
}
