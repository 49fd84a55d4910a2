/**
 * Whole-model gradients, three ways, on a tiny GPT-2 with every parameter trainable:
 *   GPU (Gpt2Model on the WGSL kernels)  vs  CPU reference (src/engine/ref/gpt2.ts)  — every element,
 *   and both vs central finite differences of the CPU float64 loss on coordinates of EVERY tensor.
 * Weights are random with non-trivial LayerNorm gains/biases and linear biases (GPT-2's own init has
 * gains 1 and biases 0, which would hide gradients that only flow through them), one masked-out target,
 * one fractional mask weight, one ignored target id, repeated tokens (embedding scatter) and a context
 * longer than T (wpe rows that must get exactly zero gradient).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { testGpu, expectClose } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { Gpt2Model, gpt2ParamSpecs } from '../../src/engine/model/gpt2';
import type { ModelConfig } from '../../src/engine/model/config';
import { gpt2ForwardBackwardRef, gpt2LossRef, type Gpt2RefBatch, type Gpt2RefResult } from '../../src/engine/ref/gpt2';
import { Rng } from '../../src/engine/rng';

const cfg: ModelConfig = {
  arch: 'gpt2',
  vocabSize: 11,
  contextLength: 6,
  nLayer: 2,
  nHead: 2,
  nEmbd: 8,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
};
const B = 2,
  T = 5,
  N = B * T;

function tinyWeights(seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const s of gpt2ParamSpecs(cfg)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const r = new Rng(seed, `tiny:${s.name}`).fillNormal(new Float32Array(n), 1);
    let w: Float32Array;
    if (s.name.endsWith('ln_1.weight') || s.name.endsWith('ln_2.weight') || s.name === 'ln_f.weight')
      w = r.map((x) => 1 + 0.3 * x);
    else if (s.name.endsWith('.bias')) w = r.map((x) => 0.2 * x);
    else w = r.map((x) => (s.name === 'wte.weight' ? 0.5 : 0.35) * x);
    out.set(s.name, w);
  }
  return out;
}

const batch: Gpt2RefBatch & { tokens: Int32Array; targets: Int32Array; mask: Float32Array } = {
  B,
  T,
  tokens: Int32Array.of(3, 7, 3, 0, 10, 5, 5, 1, 9, 3),
  targets: Int32Array.of(7, 3, 0, 10, 2, 5, 1, -100, 3, 8), // -100: PyTorch's ignore_index, contributes nothing
  mask: Float32Array.of(1, 1, 0, 1, 1, 1, 0.5, 1, 1, 1),
};

/** Coordinates to finite-difference: all of a small tensor, else a fixed spread including both ends. */
function coords(n: number, max = 400): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>([0, n - 1]);
  const rng = new Rng(5, 'fd-coords');
  while (out.size < max) out.add(Math.floor(rng.uniform() * n));
  return [...out].sort((a, b) => a - b);
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

describe('GPT-2 whole-model gradients (GPU vs CPU ref vs finite differences)', () => {
  let gpu: Gpu;
  let model: Gpt2Model;
  const weights = tinyWeights(17);
  let ref: Gpt2RefResult;
  let gpuLoss = NaN;
  const gpuGrads = new Map<string, Float32Array>();
  let gpuLogits: Float32Array;
  /** Finite differences of the CPU float64 loss: name → (coordinate → ∂L/∂p). */
  const fd = new Map<string, Map<number, number>>();

  beforeAll(async () => {
    gpu = await testGpu();
    model = Gpt2Model.fromWeights(gpu, cfg, weights);
    model.setTrainable(model.specs.map((s) => s.name));
    model.setBatch(B, T, batch.tokens, batch.targets, batch.mask);
    let maskSum = 0;
    for (const m of batch.mask) maskSum += m;
    const enc = gpu.encoder('model-grad');
    model.zeroGrads(enc);
    model.forward(enc, B, T);
    model.backward(enc, B, T, 1 / maskSum);
    enc.submit();
    const losses = await gpu.read(model.activations.losses, N);
    gpuLoss = losses.reduce((a, b) => a + b, 0) / maskSum;
    gpuLogits = await model.readLogits(B, T);
    for (const s of model.specs) gpuGrads.set(s.name, await gpu.read(model.grads.get(s.name)!));
    gpu.throwIfFailed();

    ref = gpt2ForwardBackwardRef(cfg, weights, batch);

    const h = 1e-5;
    for (const s of model.specs) {
      const base = Float64Array.from(weights.get(s.name)!);
      const params = new Map<string, ArrayLike<number>>(weights);
      params.set(s.name, base);
      const per = new Map<number, number>();
      for (const i of coords(base.length)) {
        const x0 = base[i];
        base[i] = x0 + h;
        const lp = gpt2LossRef(cfg, params, batch);
        base[i] = x0 - h;
        const lm = gpt2LossRef(cfg, params, batch);
        base[i] = x0;
        per.set(i, (lp - lm) / (2 * h));
      }
      fd.set(s.name, per);
    }
  });

  afterAll(() => model?.destroy());

  it('the loss and logits agree GPU vs CPU', () => {
    expect(Number.isFinite(ref.loss) && ref.loss > 0).toBe(true);
    expect(Math.abs(gpuLoss - ref.loss)).toBeLessThan(1e-5 * ref.loss + 1e-6);
    expectClose(gpuLogits, ref.logits, { atol: 2e-5, rtol: 1e-4, label: 'logits' });
  });

  it('covers every parameter of the model', () => {
    const names = model.specs.map((s) => s.name).sort();
    expect([...ref.grads.keys()].sort()).toEqual(names);
    expect(names).toHaveLength(4 + 12 * cfg.nLayer);
    // Each tensor carries signal (a gradient that is identically zero would make the checks vacuous)…
    for (const name of names) expect(maxAbs(ref.grads.get(name)!), name).toBeGreaterThan(1e-4);
    // …except wpe rows past T, which no position reads.
    expect(maxAbs(ref.grads.get('wpe.weight')!.subarray(T * cfg.nEmbd))).toBe(0);
    expect(maxAbs(gpuGrads.get('wpe.weight')!.subarray(T * cfg.nEmbd))).toBe(0);
  });

  it('GPU gradients match the CPU reference elementwise, every tensor', () => {
    for (const s of model.specs) {
      const r = ref.grads.get(s.name)!;
      // atol scaled by the tensor's own gradient size: float32 accumulation over N·V terms.
      expectClose(gpuGrads.get(s.name)!, r, { atol: 1e-5 * maxAbs(r) + 1e-7, rtol: 1e-3, label: `grad ${s.name}` });
    }
  });

  it('the CPU reference gradients match finite differences of the float64 loss', () => {
    for (const s of model.specs) {
      const per = fd.get(s.name)!;
      const r = ref.grads.get(s.name)!;
      const idx = [...per.keys()];
      expect(idx.length, s.name).toBeGreaterThan(0);
      expectClose(
        idx.map((i) => r[i]),
        idx.map((i) => per.get(i)!),
        { atol: 1e-6 * maxAbs(r) + 1e-9, rtol: 1e-5, label: `ref vs fd ${s.name}` },
      );
    }
  });

  it('the GPU gradients match finite differences of the float64 loss', () => {
    for (const s of model.specs) {
      const per = fd.get(s.name)!;
      const g = gpuGrads.get(s.name)!;
      const idx = [...per.keys()];
      expectClose(
        idx.map((i) => g[i]),
        idx.map((i) => per.get(i)!),
        { atol: 1e-5 * maxAbs(ref.grads.get(s.name)!) + 1e-7, rtol: 1e-3, label: `gpu vs fd ${s.name}` },
      );
    }
  });
});
