/**
 * Test access to real WebGPU in Node (Dawn). When no adapter is found the tests FAIL with the reason
 * and the fix — they are never skipped, so CI cannot pass without exercising the kernels.
 */
import { expect } from 'vitest';
import { nodeGpu, NODE_ADAPTER_HELP } from '../../src/gpu/node';
import type { Gpu, GpuTensor } from '../../src/gpu/device';
import { compareArrays } from '../../src/engine/ref/compare';
import { Rng } from '../../src/engine/rng';

export async function testGpu(): Promise<Gpu> {
  try {
    return await nodeGpu();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${NODE_ADAPTER_HELP}`, { cause: e });
  }
}

export function expectClose(
  gpu: ArrayLike<number>,
  ref: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; label?: string } = {},
): void {
  const rep = compareArrays(gpu, ref, opts);
  if (!rep.ok) console.error(rep.message);
  expect(rep.ok, rep.message).toBe(true);
}

export function randn(n: number, seed: number, std = 1, purpose = 'test'): Float32Array {
  return new Rng(seed, purpose).fillNormal(new Float32Array(n), std);
}

/** Record dispatches into one encoder and submit it. */
export async function record(gpu: Gpu, fn: (enc: ReturnType<Gpu['encoder']>) => void): Promise<void> {
  const enc = gpu.encoder('crossentropy-test');
  fn(enc);
  enc.submit();
}

/** Return tensors to the pool. */
export function release(gpu: Gpu, ...ts: GpuTensor[]): void {
  for (const t of ts) gpu.release(t);
}

/** Bit-for-bit equality of two float arrays (determinism checks). */
export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length),
    ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}
