/**
 * A-only LoRA (src/engine/adapters/methods/lora-a-only.ts, arXiv:2402.16842's weaker arm): at init A
 * is zero and B the frozen mirror of lora-asym's A draw, U(±1/√out) — the shared conformance suite checks
 * the function is preserved, the gradients, that B never moves and the loss falls; this pins the init.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig } from '../../src/engine/config';
import { resolveInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { LowRankAdapter } from '../../src/engine/adapters/lowrank';
import { peftSupport } from '../../src/engine/io/peft';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('lora-a-only', () => {
  it('A = 0 and trainable, B random in ±1/√out and frozen; PEFT reads it as plain LoRA', async () => {
    const cfg = parseRunConfig({
      model: { source: 'builtin', id: 'micro' },
      method: { id: 'lora-a-only', params: { rank: 4, alpha: 8 } },
      train: { steps: 2, batchSize: 2, contextLength: 16 },
    });
    const tr = await Trainer.create(gpu, await resolveInputs(cfg));
    try {
      expect(tr.method.trainables.map((t) => t.name).every((n) => n.endsWith('.lora_A'))).toBe(true);
      for (const l of tr.model.linears.values()) {
        const a = l.adapter;
        if (!(a instanceof LowRankAdapter)) continue;
        expect(a.dB).toBeNull();
        expect(a.scaling).toBe(2);
        expect((await gpu.read(a.A)).every((v) => v === 0)).toBe(true);
        const B = await gpu.read(a.B);
        const bound = 1 / Math.sqrt(l.outDim);
        expect(B.every((v) => Math.abs(v) <= bound)).toBe(true);
        expect(Math.max(...B.map(Math.abs))).toBeGreaterThan(bound / 2);
      }
    } finally {
      tr.dispose();
    }
    expect(peftSupport('lora-a-only').kind).toBe('lora');
  });
});
