/**
 * Test access to real WebGPU in Node (Dawn). When no adapter is found the tests FAIL with the reason
 * and the fix — they are never skipped, so CI cannot pass without exercising the kernels.
 */
import { expect } from 'vitest';
import { nodeGpu, NODE_ADAPTER_HELP } from '../../src/gpu/node';
import type { Gpu } from '../../src/gpu/device';
import { compareArrays } from '../../src/engine/ref/compare';
import { Rng } from '../../src/engine/rng';

export async function testGpu(): Promise<Gpu> {
  try {
    return await nodeGpu();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${NODE_ADAPTER_HELP}`, { cause: e });
  }
}

export function expectClose(gpu: ArrayLike<number>, ref: ArrayLike<number>, opts: { atol?: number; rtol?: number; label?: string } = {}): void {
  const rep = compareArrays(gpu, ref, opts);
  if (!rep.ok) console.error(rep.message);
  expect(rep.ok, rep.message).toBe(true);
}

export function randn(n: number, seed: number, std = 1, purpose = 'test'): Float32Array {
  return new Rng(seed, purpose).fillNormal(new Float32Array(n), std);
}
