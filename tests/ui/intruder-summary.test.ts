/** The page's intruder totals: adapted matrices only, split into new directions vs rotations, with the figures beside. */
import { describe, it, expect } from 'vitest';
import { intruderSummary } from '../../src/ui/spectra';
import { snapshot } from './fixtures';

describe('intruderSummary', () => {
  it('splits by the cluster-norm rule, skips unadapted matrices, keeps min max|cos| and ‖ΔW‖/‖W₀‖', () => {
    const a = snapshot('h.0.attn.c_attn', 10, [0.9, 0.3, 0.2, 0.8]);
    a.intruders.clusterNorm = Float32Array.of(1, 0.9, 0.1, 0.2); // vector 1 rotates in its cluster, 2 is new
    a.intruders.relFrobenius = 0.02;
    const b = snapshot('h.0.mlp.c_fc', 10, [0.1, 0.95]);
    b.intruders.relFrobenius = 0; // untouched by the method: excluded from the totals
    const s = intruderSummary({ [a.name]: a, [b.name]: b }, 0.5);
    expect(s).toEqual({
      count: 2,
      newDirections: 1,
      rotations: 1,
      minMaxCos: expect.closeTo(0.2, 6),
      relFrobenius: 0.02,
      matrices: 1,
    });
    expect(intruderSummary({ [a.name]: a }, 0.25).count).toBe(1);
  });
});
