/**
 * The adapter conformance suite (ARCHITECTURE.md §4): every method the registry lists — adding a
 * method file adds it here — on one tiny GPT-2 (1 layer, C = 16, T = 8, B = 2, every linear module
 * targeted, random init from the run seed), through the real Trainer:
 *   (a) init leaves the logits unchanged when the method says so (`preservesFunctionAtInit`);
 *   (b) the gradients of the trainable tensors match central differences of the loss, at a point where
 *       every trainable has been moved off its initial value (so B = 0 or λ = 0 cannot hide a wrong
 *       sign or a missing scale), on the coordinates with the largest gradients;
 *   (c) after a few steps only trainable tensors changed: base weights bit-identical (compared after
 *       init, so residual inits like PiSSA count as init), frozen low-rank factors (lora-asym's A) and
 *       replaced bases (PiSSA's W_res) bit-identical, and every trainable tensor moved;
 *   (d) the validation loss (fixed evaluation batches, so batch-to-batch noise cannot fake it) falls
 *       over 30 steps;
 *   (e) the method's params survive the run link: RunConfig JSON → parseRunConfig (and the share-link
 *       encoder) → the same resolved params.
 * The GPT-2 part runs twice: with the fused low-rank kernels (shaders/lowrank.wgsl, the default where
 * the device supports them) and with the unfused matmul sequence (setLowrankFused(gpu, false)), so a
 * method's numbers are pinned on both paths; the other families run on the default path.
 * Detached quantities (DoRA's norm) are held constant during finite differences through the adapter's
 * `freezeNorm` hook: the gradient is the detached one by definition (PEFT, DoRA §4.3).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig, type RunConfig, type RunConfigInput } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { Gpt2Model } from '../../src/engine/model/gpt2';
import type { LanguageModel } from '../../src/engine/model/language-model';
import { createModel } from '../../src/engine/model/families';
import type { ModelConfig } from '../../src/engine/model/config';
import { listMethods, resolveMethodParams } from '../../src/engine/adapters/registry';
import type { AdapterMethod, MethodParamSpec } from '../../src/engine/adapters/types';
import { Rng } from '../../src/engine/rng';
import { LowRankAdapter } from '../../src/engine/adapters/lowrank';
import { lowrankFusedSupported, setLowrankFused } from '../../src/gpu/kernels/lowrank';
import { DoraAdapter } from '../../src/engine/adapters/dora-adapter';
import { decodeConfig, encodeConfig } from '../../src/ui/share';

const B = 2,
  T = 8;
const STEPS = 30;
const ARCH: ModelConfig = {
  arch: 'gpt2',
  vocabSize: 256,
  contextLength: T,
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
};
const MODULES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;

/** Method params for the tiny model: rank 4 where there is a rank (every module is ≥ 16 wide), defaults otherwise. */
function tinyParams(m: AdapterMethod): Record<string, number | boolean | string> {
  const p: Record<string, number | boolean | string> = {};
  for (const s of m.params) if (s.key === 'rank') p.rank = 4;
  return p;
}

function configFor(
  m: AdapterMethod,
  train: Partial<RunConfigInput['train']> = {},
  arch: ModelConfig = ARCH,
  modules: string[] = [...MODULES],
): RunConfig {
  return parseRunConfig({
    model: { source: 'preset', id: 'micro', arch },
    dataset: { source: 'builtin', id: 'english' },
    method: { id: m.id, params: tinyParams(m) },
    targets: { modules, layers: null, rankOverrides: {} },
    train: {
      steps: STEPS,
      batchSize: B,
      contextLength: T,
      lr: 1e-2,
      warmupSteps: 0,
      schedule: 'constant',
      gradClip: 0,
      ...train,
    },
    eval: { every: 0, batches: 1 },
    // GQA's k/v projections are 8 wide here: keep the spectra's top-k within every matrix
    analysis: { every: 0, k: 4, eps: 0.5 },
    seed: 3,
  });
}

/**
 * (d)'s learning rate where 1e-2 is too small for the method to move this random micro model's loss by
 * 0.01 in 30 steps, with why. HRA's update is an orthogonal map W₀·H (a product of reflections): on a
 * random W₀ rotations change the loss slowly (5.5529 → 5.5461 at 1e-2); on the pretrained base it trains
 * as fast as LoRA (val 2.008 vs 2.010, scripts/lr-sweep.sh shape).
 */
const TRAIN_OVERRIDES: Record<string, Partial<RunConfigInput['train']>> = { hra: { lr: 3e-2 } };

let gpu: Gpu;
let shared: RunInputs;
const inputsFor = (config: RunConfig): RunInputs => ({ ...shared, config });

// A fixed batch of byte tokens for logits and finite differences.
const tokens = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 7 + 3) % 26));
const targets = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 11 + 5) % 26));

async function logitsOf(model: LanguageModel): Promise<Float32Array> {
  model.setBatch(B, T, tokens, targets, null);
  const enc = model.gpu.encoder('conformance logits');
  model.forward(enc, B, T);
  enc.submit();
  return model.readLogits(B, T);
}

/** Gradients vs central differences on the largest-gradient coordinates of every trainable; returns failures and the count checked. */
async function checkGradients(tr: Trainer, id: string): Promise<{ failures: string[]; checked: number }> {
  const first = await checkGradientsAt(tr, id, 0);
  if (first.checked >= Math.min(2, tr.method.trainables.length)) return first;
  // Every gradient below the noise floor (AdaLoRA: E = 0 and A, B ~ N(0, 0.02²) make B·diag(E)·A and all
  // its gradients O(1e-5)): check again at a point where every trainable is O(0.3) off its init.
  return checkGradientsAt(tr, `${id}/wide`, 0.3);
}

async function checkGradientsAt(
  tr: Trainer,
  id: string,
  minSigma: number,
): Promise<{ failures: string[]; checked: number }> {
  // Move every trainable off its init: x ← x + N(0, σ²), σ = max(0.3·rms(x), minSigma) (0.05 for
  // all-zero tensors when minSigma = 0).
  const rng = new Rng(11, `conformance/${id}`);
  for (const t of tr.method.trainables) {
    const v = await gpu.read(t.param);
    let ss = 0;
    for (const x of v) ss += x * x;
    const sigma = Math.max(ss > 0 ? 0.3 * Math.sqrt(ss / v.length) : 0.05, minSigma);
    const noise = rng.fillNormal(new Float32Array(v.length), sigma);
    for (let i = 0; i < v.length; i++) v[i] += noise[i];
    gpu.write(t.param, v);
  }
  await lossOf(tr); // one forward at the new point (DoRA's norm is computed here) …
  freezeDetached(tr, true); // … and then held: the detached norm is a constant.
  const grads = await gradsOf(tr);
  let checked = 0;
  const failures: string[] = [];
  for (const [ti, t] of tr.method.trainables.entries()) {
    const g = grads[ti];
    const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
    for (const idx of order.slice(0, 2)) {
      if (Math.abs(g[idx]) < 2e-3) continue; // below the float32 finite-difference noise floor
      const v = await gpu.read(t.param);
      const x0 = v[idx];
      const eps = 5e-3 * Math.max(1, Math.abs(x0));
      v[idx] = x0 + eps;
      gpu.write(t.param, v);
      const lp = await lossOf(tr);
      v[idx] = x0 - eps;
      gpu.write(t.param, v);
      const lm = await lossOf(tr);
      v[idx] = x0;
      gpu.write(t.param, v);
      const fd = (lp - lm) / (2 * eps);
      checked++;
      const ok = Math.abs(fd - g[idx]) <= 5e-4 + 0.05 * Math.abs(g[idx]);
      if (!ok)
        failures.push(
          `${t.name}[${idx}]: backward ${g[idx].toExponential(4)} vs finite difference ${fd.toExponential(4)}`,
        );
    }
  }
  freezeDetached(tr, false);
  return { failures, checked };
}

/** Mean loss over the fixed batch, float64 sum of the per-token float32 losses. */
async function lossOf(tr: Trainer): Promise<number> {
  const { model } = tr;
  model.setBatch(B, T, tokens, targets, null);
  const enc = gpu.encoder('conformance loss');
  model.forward(enc, B, T);
  model.loss(enc, B, T);
  enc.submit();
  const l = await gpu.read(model.activations.losses, B * T);
  let s = 0;
  for (const v of l) s += v;
  return s / (B * T);
}

/** Gradients of the mean loss over the fixed batch, for every trainable (no optimizer step). */
async function gradsOf(tr: Trainer): Promise<Float32Array[]> {
  const { model, method } = tr;
  model.setBatch(B, T, tokens, targets, null);
  const enc = gpu.encoder('conformance grads');
  model.zeroGrads(enc);
  method.zeroGrads?.(enc);
  model.forward(enc, B, T);
  model.backward(enc, B, T, 1 / (B * T));
  enc.submit();
  return Promise.all(method.trainables.map((t) => gpu.read(t.grad)));
}

function freezeDetached(tr: Trainer, on: boolean): void {
  for (const l of tr.model.linears.values()) {
    const a = l.adapter as unknown as { freezeNorm?: boolean } | null;
    if (a && 'freezeNorm' in a) a.freezeNorm = on;
  }
}

/**
 * Tensors of the low-rank adapters that must not move: A when it has no gradient (lora-asym), B
 * likewise, and a replaced base weight (PiSSA's W_res), by layer.
 */
async function frozenLowRank(tr: Trainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const l of tr.model.linears.values()) {
    const a =
      l.adapter instanceof LowRankAdapter ? l.adapter : l.adapter instanceof DoraAdapter ? l.adapter.core : null;
    if (!a) continue;
    if (!a.dA) out.set(`${l.name}.lora_A`, await gpu.read(a.A));
    if (!a.dB) out.set(`${l.name}.lora_B`, await gpu.read(a.B));
    if (a.baseWeight !== l.weight) out.set(`${l.name}.weight_residual`, await gpu.read(a.baseWeight));
  }
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length),
    ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** A value for every param that differs from its default (and passes its own schema). */
function nonDefault(p: MethodParamSpec): number | boolean | string {
  switch (p.type) {
    case 'bool':
      return !p.default;
    case 'enum':
      return p.options!.find((o) => o !== p.default) ?? (p.default as string);
    case 'int': {
      const d = Number(p.default);
      return p.max !== undefined && d + 1 > p.max ? d - 1 : d + 1;
    }
    case 'float': {
      const d = Number(p.default);
      const v = d === 0 ? 0.5 : d * 1.5;
      return p.max !== undefined && v > p.max ? (p.min ?? 0) + (d - (p.min ?? 0)) / 2 : v;
    }
  }
}

const methods = listMethods();

for (const fused of [true, false])
  describe(`adapter conformance: every registered method (low-rank path: ${fused ? 'fused' : 'unfused'})`, () => {
    beforeAll(async () => {
      gpu ??= await testGpu();
      shared ??= await resolveInputs(configFor(methods[0]));
      setLowrankFused(gpu, fused);
    });
    afterAll(() => setLowrankFused(gpu, true));

    it('the registry lists the LoRA family and the file-per-method ids', () => {
      const ids = methods.map((m) => m.id);
      for (const id of ['full', 'lora', 'rslora', 'loraplus', 'lora-asym', 'dora']) expect(ids).toContain(id);
    });

    it(`adapters take the ${fused ? 'fused' : 'unfused'} path`, async () => {
      if (fused && !lowrankFusedSupported(gpu)) return; // this device has only the unfused path: nothing to pin
      const tr = await Trainer.create(gpu, inputsFor(configFor(methods.find((m) => m.id === 'lora')!)));
      try {
        const adapters = [...tr.model.linears.values()]
          .map((l) => l.adapter)
          .filter((a) => a instanceof LowRankAdapter);
        expect(adapters.length).toBeGreaterThan(0);
        for (const a of adapters) expect(a.fused).toBe(fused);
      } finally {
        tr.dispose();
      }
    });

    for (const m of methods) {
      describe(m.id, () => {
        it(`(a) init ${m.preservesFunctionAtInit ? 'leaves the logits unchanged' : 'is allowed to change the function (declared)'}`, async () => {
          const config = configFor(m);
          const base = Gpt2Model.random(gpu, ARCH, config.seed);
          const before = await logitsOf(base);
          base.destroy();
          const tr = await Trainer.create(gpu, inputsFor(config));
          try {
            const after = await logitsOf(tr.model);
            let maxDiff = 0,
              maxAbs = 0;
            for (let i = 0; i < before.length; i++) {
              maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
              maxAbs = Math.max(maxAbs, Math.abs(before[i]));
            }
            expect(after.every(Number.isFinite)).toBe(true);
            if (m.preservesFunctionAtInit)
              expect(maxDiff, `max |Δlogit| ${maxDiff} (logits up to ${maxAbs})`).toBeLessThan(1e-5 + 1e-4 * maxAbs);
          } finally {
            tr.dispose();
          }
        });

        it('(b) gradients of the trainables match central differences of the loss', async () => {
          const tr = await Trainer.create(gpu, inputsFor(configFor(m)));
          try {
            const { failures, checked } = await checkGradients(tr, m.id);
            expect(failures, failures.join('\n')).toEqual([]);
            expect(checked, 'coordinates with gradients large enough to check').toBeGreaterThanOrEqual(
              Math.min(2, tr.method.trainables.length),
            );
          } finally {
            freezeDetached(tr, false);
            tr.dispose();
          }
        });

        it(`(c) only trainables change in training and (d) the loss falls over ${STEPS} steps`, async () => {
          const tr = await Trainer.create(gpu, inputsFor(configFor(m, TRAIN_OVERRIDES[m.id])));
          try {
            const weights0 = await tr.model.readWeights();
            const frozen0 = await frozenLowRank(tr);
            const train0 = await Promise.all(tr.method.trainables.map((t) => gpu.read(t.param)));
            const val0 = await tr.evaluate(shared.data.val, 2);
            const losses: number[] = [];
            for (let s = 0; s < 3; s++) losses.push((await tr.trainStep()).loss);
            const weights1 = await tr.model.readWeights();
            const frozen1 = await frozenLowRank(tr);
            const train1 = await Promise.all(tr.method.trainables.map((t) => gpu.read(t.param)));
            if (!m.trainsBase) {
              const changed = [...weights0.keys()].filter((k) => !sameBits(weights0.get(k)!, weights1.get(k)!));
              expect(changed, 'base weights changed by a method that does not train them').toEqual([]);
            }
            const frozenChanged = [...frozen0.keys()].filter((k) => !sameBits(frozen0.get(k)!, frozen1.get(k)!));
            expect(frozenChanged, 'frozen adapter tensors changed').toEqual([]);
            const unmoved = tr.method.trainables.filter((t, i) => sameBits(train0[i], train1[i])).map((t) => t.name);
            expect(unmoved, 'trainable tensors that did not move in 3 steps').toEqual([]);
            for (let s = 3; s < STEPS; s++) losses.push((await tr.trainStep()).loss);
            expect(losses.every(Number.isFinite)).toBe(true);
            const val1 = await tr.evaluate(shared.data.val, 2);
            const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
            const first = mean(losses.slice(0, 3)),
              last = mean(losses.slice(-5));
            if (process.env.CONFORMANCE_VERBOSE)
              console.log(
                `${m.id}: train loss ${first.toFixed(4)} → ${last.toFixed(4)}, val ${val0.toFixed(4)} → ${val1.toFixed(4)}`,
              );
            expect(val1, `validation loss ${val0.toFixed(4)} → ${val1.toFixed(4)}`).toBeLessThan(val0 - 0.01);
          } finally {
            tr.dispose();
          }
        });

        it('(e) params survive the run link round trip', () => {
          const given = Object.fromEntries(m.params.map((p) => [p.key, nonDefault(p)]));
          const resolved = resolveMethodParams(m, given);
          const config = parseRunConfig({ ...configFor(m), method: { id: m.id, params: given } });
          const viaJson = parseRunConfig(JSON.parse(JSON.stringify(config)));
          expect(viaJson).toEqual(config);
          expect(resolveMethodParams(m, viaJson.method.params)).toEqual(resolved);
          const viaLink = decodeConfig(encodeConfig(config));
          expect(resolveMethodParams(m, viaLink.method.params)).toEqual(resolved);
          for (const p of m.params) expect(resolved[p.key], p.key).toEqual(given[p.key]);
          // Defaults resolve the same way from an empty params object on both sides.
          const d = parseRunConfig(JSON.parse(JSON.stringify({ ...configFor(m), method: { id: m.id, params: {} } })));
          expect(resolveMethodParams(m, d.method.params)).toEqual(
            Object.fromEntries(m.params.map((p) => [p.key, p.default])),
          );
        });
      });
    }
  });

/**
 * Every method on every other family: tiny random models of each `model_type` (1–2 layers, C = 16,
 * byte vocabulary) with the family's own module names (`all-linear` preset), through the real Trainer:
 * (a) init keeps the logits where the method says so and (b) the trainables' gradients match finite
 * differences — for every method; (d) the validation loss falls over 20 steps for a subset (full, lora,
 * dora, pissa, eva, vera) that covers each adapter mechanism (plain low-rank, DoRA's norm, a replaced
 * residual base, activation capture through `linearInput`, shared projections): running all 16 methods'
 * training loops on five more families would multiply this file's runtime by six on the CPU driver.
 */
const FAMILY_ARCHS: Record<string, ModelConfig> = {
  gpt_neo: {
    ...ARCH,
    arch: 'gpt_neo',
    nLayer: 2,
    attentionLayers: ['global', 'local'],
    windowSize: 3,
  },
  gpt_neox: {
    ...ARCH,
    arch: 'gpt_neox',
    intermediateSize: 32,
    rotaryPct: 0.5,
    ropeTheta: 10000,
    parallelResidual: true,
    tieWordEmbeddings: false,
  },
  llama: { ...ARCH, arch: 'llama', nKvHead: 1, intermediateSize: 24, ropeTheta: 10000, tieWordEmbeddings: true },
  qwen2: { ...ARCH, arch: 'qwen2', nKvHead: 1, intermediateSize: 24, ropeTheta: 10000, tieWordEmbeddings: false },
  qwen3: {
    ...ARCH,
    arch: 'qwen3',
    nKvHead: 1,
    headDim: 12,
    intermediateSize: 24,
    ropeTheta: 10000,
    tieWordEmbeddings: true,
  },
};
const TRAIN_SUBSET = new Set(['full', 'lora', 'dora', 'pissa', 'eva', 'vera']);

describe('adapter conformance: every method on every family', () => {
  beforeAll(async () => {
    gpu ??= await testGpu();
    shared ??= await resolveInputs(configFor(methods[0]));
  });
  for (const [family, arch] of Object.entries(FAMILY_ARCHS)) {
    describe(family, () => {
      for (const m of methods) {
        it(`${m.id}: (a) init and (b) gradients vs finite differences`, async () => {
          const config = configFor(m, {}, arch, ['all-linear']);
          const base = createModel(gpu, arch, null, config.seed);
          const before = await logitsOf(base);
          base.destroy();
          const tr = await Trainer.create(gpu, { ...inputsFor(config), modelConfig: arch });
          try {
            expect(tr.model.cfg.arch).toBe(arch.arch);
            expect(tr.method.trainables.length).toBeGreaterThan(0);
            const after = await logitsOf(tr.model);
            let maxDiff = 0,
              maxAbs = 0;
            for (let i = 0; i < before.length; i++) {
              maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
              maxAbs = Math.max(maxAbs, Math.abs(before[i]));
            }
            if (m.preservesFunctionAtInit)
              expect(maxDiff, `max |Δlogit| ${maxDiff}`).toBeLessThan(1e-5 + 1e-4 * maxAbs);
            const { failures, checked } = await checkGradients(tr, `${family}/${m.id}`);
            expect(failures, failures.join('\n')).toEqual([]);
            expect(checked).toBeGreaterThanOrEqual(Math.min(2, tr.method.trainables.length));
          } finally {
            tr.dispose();
          }
        });
        if (TRAIN_SUBSET.has(m.id))
          it(`${m.id}: (d) the validation loss falls`, async () => {
            const tr = await Trainer.create(gpu, {
              ...inputsFor(configFor(m, { steps: 20 }, arch, ['all-linear'])),
              modelConfig: arch,
            });
            try {
              const val0 = await tr.evaluate(shared.data.val, 2);
              for (let s = 0; s < 20; s++) expect(Number.isFinite((await tr.trainStep()).loss)).toBe(true);
              const val1 = await tr.evaluate(shared.data.val, 2);
              expect(val1, `validation loss ${val0.toFixed(4)} → ${val1.toFixed(4)}`).toBeLessThan(val0 - 0.01);
            } finally {
              tr.dispose();
            }
          });
      }
    });
  }
});
