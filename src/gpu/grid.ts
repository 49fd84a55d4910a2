/**
 * Dispatch-grid arithmetic, in one place for every kernel host under src/gpu: how many workgroups cover
 * n items (`ceilDiv`), how a workgroup count too large for one grid dimension folds into two
 * (`flatGrid`), and the per-dimension limit (`gridLimit`). Leaf module: imports nothing, so device.ts
 * and the kernels can both use it.
 */

/** Guaranteed minimum of maxComputeWorkgroupsPerDimension in WebGPU. */
export const MAX_GRID_DIM = 65535;

/** ⌈n / d⌉ for n ≥ 0, d > 0: the number of blocks of d that cover n items. */
export function ceilDiv(n: number, d: number): number {
  return Math.ceil(n / d);
}

/** The device's maxComputeWorkgroupsPerDimension, or WebGPU's guaranteed 65535 when it is not reported. */
export function gridLimit(gpu: { description: { limits: Record<string, number | undefined> } }): number {
  return gpu.description.limits.maxComputeWorkgroupsPerDimension ?? MAX_GRID_DIM;
}

/**
 * `count` workgroups as a 2D grid [x, y] with x, y ≤ maxDim: [count, 1] when it fits, else y rows of
 * x = ⌈count / y⌉ (the fewest rows, balanced, so fewer than y workgroups are spare). Kernels recover
 * the flat index as wg.x + wg.y·nwg.x and ignore the indices ≥ count in the last row.
 */
export function flatGrid(count: number, maxDim: number = MAX_GRID_DIM): [number, number] {
  if (count <= maxDim) return [count, 1];
  const y = ceilDiv(count, maxDim);
  return [ceilDiv(count, y), y];
}
