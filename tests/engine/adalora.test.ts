/**
 * AdaLoRA (src/engine/adapters/methods/adalora.ts) on the micro model through the real Trainer:
 * PEFT's cubic budget schedule; gradients of A, E, B against central differences at a point where the
 * factors are O(1) (at PEFT's init — E = 0, A, B ~ N(0, 0.02²) — every gradient is below the
 * conformance suite's finite-difference floor); the budget reached by masking E across layers; the
 * orthogonality regulariser reported per step; and a resume mid-schedule that is bit-identical (the
 * importance EMAs travel as method state).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig, type RunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { Rng } from '../../src/engine/rng';
import { budgetSchedule } from '../../src/engine/adapters/methods/adalora';
import { exportPeft, importPeft } from '../../src/engine/io/peft';

const B = 2,
  T = 8;

describe('adalora', () => {
  let gpu: Gpu;
  let config: RunConfig;
  let inputs: RunInputs;
  beforeAll(async () => {
    gpu = await testGpu();
    config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'adalora', params: { rank: 4, targetR: 2, tinit: 1, tfinal: 2, deltaT: 1 } },
      targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} },
      train: { steps: 8, batchSize: B, contextLength: T, lr: 1e-2, warmupSteps: 0, schedule: 'constant' },
      eval: { every: 0, batches: 1 },
      seed: 4,
    });
    inputs = await resolveInputs(config);
  });

  it("PEFT's budget schedule: full budget to tinit, cubic decrease, target from T − tfinal", () => {
    const o = { initBgt: 48, targetBgt: 16, tinit: 10, tfinal: 20, total: 100, deltaT: 5 };
    expect(budgetSchedule(0, o)).toEqual({ budget: 48, mask: false });
    expect(budgetSchedule(10, o)).toEqual({ budget: 48, mask: false });
    expect(budgetSchedule(15, o)).toEqual({ budget: Math.trunc(32 * (1 - 5 / 70) ** 3 + 16), mask: true });
    expect(budgetSchedule(16, o).mask).toBe(false);
    expect(budgetSchedule(80, o)).toEqual({ budget: 16, mask: true });
    expect(budgetSchedule(81, o)).toEqual({ budget: 16, mask: true });
  });

  it('gradients of lora_A, lora_E, lora_B match central differences at O(1) factors', async () => {
    const tr = await Trainer.create(gpu, inputs);
    try {
      const rng = new Rng(1, 'adalora-fd');
      for (const t of tr.method.trainables)
        gpu.write(t.param, rng.fillNormal(new Float32Array(t.param.size), t.name.endsWith('lora_E') ? 1 : 0.4));
      const tokens = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 7 + 3) % 26));
      const lossOf = async () => {
        tr.model.setBatch(B, T, tokens, tokens, null);
        const enc = gpu.encoder('fd loss');
        tr.model.forward(enc, B, T);
        tr.model.loss(enc, B, T);
        enc.submit();
        return (await gpu.read(tr.model.activations.losses, B * T)).reduce((a, b) => a + b, 0) / (B * T);
      };
      tr.model.setBatch(B, T, tokens, tokens, null);
      const enc = gpu.encoder('fd grads');
      tr.model.zeroGrads(enc);
      tr.method.zeroGrads!(enc);
      tr.model.forward(enc, B, T);
      tr.model.backward(enc, B, T, 1 / (B * T));
      enc.submit();
      let checked = 0;
      for (const t of tr.method.trainables) {
        const g = await gpu.read(t.grad);
        const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 2);
        for (const idx of order) {
          const v = await gpu.read(t.param);
          const x0 = v[idx],
            eps = 5e-3 * Math.max(1, Math.abs(x0));
          v[idx] = x0 + eps;
          gpu.write(t.param, v);
          const lp = await lossOf();
          v[idx] = x0 - eps;
          gpu.write(t.param, v);
          const lm = await lossOf();
          v[idx] = x0;
          gpu.write(t.param, v);
          const fd = (lp - lm) / (2 * eps);
          expect(Math.abs(g[idx]), `${t.name}[${idx}] gradient large enough to check`).toBeGreaterThan(2e-3);
          expect(Math.abs(fd - g[idx]), `${t.name}[${idx}]: ${g[idx]} vs fd ${fd}`).toBeLessThan(
            5e-4 + 0.05 * Math.abs(g[idx]),
          );
          checked++;
        }
      }
      expect(checked).toBe(2 * tr.method.trainables.length);
    } finally {
      tr.dispose();
    }
  });

  it('masks E down to the target budget across layers, reports the regulariser, resumes bit for bit', async () => {
    const tr = await Trainer.create(gpu, inputs);
    const losses: number[] = [];
    let snap: Awaited<ReturnType<Trainer['snapshot']>> | null = null;
    const eNames = tr.method.trainables.filter((t) => t.name.endsWith('lora_E'));
    const initBgt = eNames.reduce((a, t) => a + t.param.size, 0);
    try {
      for (let s = 0; s < 8; s++) {
        const m = await tr.trainStep();
        losses.push(m.loss);
        expect(m.extra?.adaloraBudget).toBe(
          budgetSchedule(s, { initBgt, targetBgt: 2 * eNames.length, tinit: 1, tfinal: 2, total: 8, deltaT: 1 }).budget,
        );
        expect(m.extra?.adaloraOrthReg).toBeGreaterThan(0);
        if (s === 3) snap = await tr.snapshot();
      }
      let kept = 0;
      for (const t of eNames) kept += (await gpu.read(t.param)).filter((v) => v !== 0).length;
      expect(kept).toBe(2 * eNames.length); // target_r × layers
      const st = await tr.method.state();
      expect([...st.tensors.keys()].filter((k) => k.endsWith('lora_E')).length).toBe(eNames.length);
    } finally {
      tr.dispose();
    }
    const tr2 = await Trainer.create(gpu, inputs);
    try {
      tr2.restore(snap!);
      const rest: number[] = [];
      for (let s = 4; s < 8; s++) rest.push((await tr2.trainStep()).loss);
      expect(rest).toEqual(losses.slice(4));
    } finally {
      tr2.dispose();
    }
  });
});

describe('adalora PEFT export (peft_type ADALORA)', () => {
  it('round-trips: the imported factors give every module’s trained ΔW, with PEFT’s rank_pattern of the kept triplets', async () => {
    const gpu = await testGpu();
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'adalora', params: { rank: 4, targetR: 2, tinit: 1, tfinal: 1, deltaT: 1 } },
      targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} },
      train: { steps: 5, batchSize: B, contextLength: T, lr: 1e-2, warmupSteps: 0, schedule: 'constant' },
      eval: { every: 0, batches: 1 },
      seed: 4,
    });
    const tr = await Trainer.create(gpu, await resolveInputs(config));
    try {
      for (let s = 0; s < 5; s++) await tr.trainStep();
      const state = await tr.method.state();
      const ex = exportPeft(config, state);
      const cfg = JSON.parse(new TextDecoder().decode(ex.files[0].bytes)) as Record<string, unknown>;
      expect(cfg).toMatchObject({ peft_type: 'ADALORA', init_r: 4, target_r: 2, tinit: 1, tfinal: 1, total_step: 5 });
      const pattern = cfg.rank_pattern as Record<string, boolean[]>;
      const kept = Object.values(pattern).reduce((a, p) => a + p.filter(Boolean).length, 0);
      expect(kept).toBe(2 * Object.keys(pattern).length);
      expect(Object.keys(pattern)[0]).toMatch(/^base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_E$/);
      const im = importPeft(ex.files);
      expect(im.modules.length).toBe(Object.keys(pattern).length);
      for (const m of im.modules) {
        const want = (await tr.method.deltaOf!(m.module))!;
        let maxErr = 0,
          maxAbs = 0;
        for (let i = 0; i < m.inDim; i++)
          for (let o = 0; o < m.outDim; o++) {
            let acc = 0;
            for (let k = 0; k < m.r; k++) acc += m.B[o * m.r + k] * m.A[k * m.inDim + i];
            maxErr = Math.max(maxErr, Math.abs(m.scaling * acc - want[i * m.outDim + o]));
            maxAbs = Math.max(maxAbs, Math.abs(want[i * m.outDim + o]));
          }
        expect(maxAbs).toBeGreaterThan(0);
        expect(maxErr, m.module).toBeLessThan(1e-5 * maxAbs + 1e-9);
      }
    } finally {
      tr.dispose();
    }
  });
});
