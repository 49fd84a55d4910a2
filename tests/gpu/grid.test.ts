/**
 * src/gpu/grid.ts: the one place kernel hosts compute dispatch grids. Pure arithmetic, no device.
 */
import { describe, expect, it } from 'vitest';
import { ceilDiv, flatGrid, gridLimit, MAX_GRID_DIM } from '../../src/gpu/grid';

describe('grid helpers', () => {
  it('ceilDiv counts the blocks that cover n items', () => {
    expect([0, 1, 63, 64, 65, 128].map((n) => ceilDiv(n, 64))).toEqual([0, 1, 1, 1, 2, 2]);
  });

  it('flatGrid keeps counts that fit as [count, 1] and folds larger ones into ≤ maxDim rows and columns', () => {
    for (const n of [0, 1, 255, MAX_GRID_DIM]) expect(flatGrid(n)).toEqual([n, 1]);
    for (const [n, maxDim] of [
      [MAX_GRID_DIM + 1, MAX_GRID_DIM],
      [3 * MAX_GRID_DIM + 7, MAX_GRID_DIM],
      [1000, 64],
      [4096, 64],
    ]) {
      const [x, y] = flatGrid(n, maxDim);
      expect(x).toBeLessThanOrEqual(maxDim);
      expect(y).toBe(Math.ceil(n / maxDim)); // the fewest rows
      expect(x * y).toBeGreaterThanOrEqual(n); // every index covered …
      expect(x * y - n).toBeLessThan(y); // … with fewer than one spare workgroup per row
    }
  });

  it('gridLimit reads the device limit and falls back to WebGPU’s guaranteed 65535', () => {
    expect(gridLimit({ description: { limits: { maxComputeWorkgroupsPerDimension: 1 << 20 } } })).toBe(1 << 20);
    expect(gridLimit({ description: { limits: {} } })).toBe(MAX_GRID_DIM);
  });
});
