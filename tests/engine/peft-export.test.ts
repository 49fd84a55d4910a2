/**
 * PEFT export against the engine: after a few real training steps (B ≠ 0), the exported adapter,
 * read back by importPeft and merged the way PEFT merges (W + s·(B·A)ᵀ, or DoRA's m/‖W + ΔW‖ column
 * scaling), must reproduce the run's own merged weights (method.merged()) — for LoRA, rsLoRA, A-only
 * LoRA, DoRA and the converted (rank-2r) PiSSA. That is what "PEFT loads the same model" means, checked without Python.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import type { ModelConfig } from '../../src/engine/model/config';
import { exportPeft, importPeft } from '../../src/engine/io/peft';
import { loraDelta, mergeDora, mergeLora } from '../../src/engine/adapters/merge';

const ARCH: ModelConfig = {
  arch: 'gpt2',
  vocabSize: 256,
  contextLength: 8,
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
};

let gpu: Gpu;
let shared: RunInputs;

function config(method: string, params: Record<string, number>, layers: number[] | null = null) {
  return parseRunConfig({
    model: { source: 'preset', id: 'micro', arch: ARCH },
    method: { id: method, params },
    targets: {
      modules: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
      layers,
      rankOverrides: { 'mlp.c_fc': 2 },
    },
    train: { steps: 4, batchSize: 2, contextLength: 8, lr: 2e-2, warmupSteps: 0 },
    seed: 5,
  });
}

describe("PEFT export reproduces the run's merged model", () => {
  beforeAll(async () => {
    gpu = await testGpu();
    shared = await resolveInputs(config('lora', { rank: 4 }));
  });

  for (const [method, params, convert, layers] of [
    ['lora', { rank: 4, alpha: 8 }, false, null],
    ['rslora', { rank: 4, alpha: 8 }, false, [1]],
    ['lora-a-only', { rank: 4, alpha: 8 }, false, null], // B a frozen random draw: non-zero in the file
    ['dora', { rank: 4, alpha: 8 }, false, null],
    ['pissa', { rank: 4, alpha: 4, niter: 0 }, true, null],
  ] as const) {
    it(`${method}${convert ? ' (--convert)' : ''}${layers ? ` layers ${layers}` : ''}`, async () => {
      const cfg = config(method, params, layers ? [...layers] : null);
      const tr = await Trainer.create(gpu, { ...shared, config: cfg });
      try {
        const base = await tr.model.readWeights(); // the pretrained weights (adapters never write them)
        for (let s = 0; s < 4; s++) await tr.trainStep();
        const merged = await tr.method.merged();
        const ex = exportPeft(cfg, await tr.method.state(), { convert, nLayer: ARCH.nLayer });
        const im = importPeft(ex.files);
        expect(ex.config.use_dora).toBe(method === 'dora');
        expect(ex.config.use_rslora).toBe(method === 'rslora');
        if (layers) expect(ex.config.target_modules.every((t) => t.startsWith('transformer.h.1.'))).toBe(true);
        // mlp.c_fc runs at rank 2 (rank override): rank_pattern carries it (×2 when converted).
        expect(Object.values(ex.config.rank_pattern)).toEqual(
          im.modules.filter((m) => m.module.endsWith('mlp.c_fc')).map(() => (convert ? 4 : 2)),
        );
        expect(im.modules.length).toBe(4 * (layers ? layers.length : ARCH.nLayer));
        for (const m of im.modules) {
          const W = base.get(`${m.module}.weight`)!;
          const d = loraDelta(m.A, m.B, m.r, m.inDim, m.outDim, m.scaling);
          const peftMerged = m.magnitude ? mergeDora(W, d, m.magnitude, m.inDim, m.outDim).merged : mergeLora(W, d);
          expectClose(peftMerged, merged.get(`${m.module}.weight`)!, {
            atol: 2e-5,
            rtol: 1e-4,
            label: `${method} ${m.module}`,
          });
          let moved = 0;
          for (let i = 0; i < W.length; i++) moved = Math.max(moved, Math.abs(peftMerged[i] - W[i]));
          expect(moved, `${m.module}: the adapter should have moved the weight`).toBeGreaterThan(1e-5);
        }
      } finally {
        tr.dispose();
      }
    });
  }
});
