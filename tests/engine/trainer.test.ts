/**
 * The Trainer end to end on the `micro` preset (full fine-tuning, real kernels on Dawn): bit-identical
 * reruns, the loss going down, NaN/Inf stopping the run with the parameters of the last good step,
 * config errors that name the field and its range, and resume = uninterrupted run.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { applyOverrides, ConfigError, parseRunConfig, RUN_PRESETS, type RunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { NonFiniteError, Trainer } from '../../src/engine/train';

type Snapshot = Awaited<ReturnType<Trainer['snapshot']>>;

function microConfig(...overrides: string[]): RunConfig {
  return parseRunConfig(applyOverrides(RUN_PRESETS.micro, overrides));
}

const inputsCache = new Map<string, Promise<RunInputs>>();

/** Inputs per config, cached (tokenizing the dataset costs ~1 s; trainers only read their inputs). */
function inputsFor(...overrides: string[]): Promise<RunInputs> {
  const config = microConfig(...overrides);
  const key = JSON.stringify(config);
  let p = inputsCache.get(key);
  if (!p) {
    p = resolveInputs(config);
    inputsCache.set(key, p);
    p.catch(() => inputsCache.delete(key));
  }
  return p;
}

async function losses(gpu: Gpu, inputs: RunInputs, steps: number): Promise<number[]> {
  const tr = await Trainer.create(gpu, inputs);
  try {
    const out: number[] = [];
    for (let s = 0; s < steps; s++) out.push((await tr.trainStep()).loss);
    return out;
  } finally {
    tr.dispose();
  }
}

/** Exact equality, NaN-safe and bit-level (Object.is per element); reports the first difference. */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const fa = Float32Array.from(a),
    fb = Float32Array.from(b);
  const ua = new Uint32Array(fa.buffer),
    ub = new Uint32Array(fb.buffer);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return `[${i}] ${fa[i]} vs ${fb[i]}`;
  return null;
}

function expectSameSnapshot(after: Snapshot, before: Snapshot): void {
  expect(after.step).toBe(before.step);
  expect(Object.keys(after.tensors).sort()).toEqual(Object.keys(before.tensors).sort());
  for (const [k, v] of Object.entries(before.tensors)) expect(sameBits(after.tensors[k], v), k).toBeNull();
}

describe('Trainer', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('is deterministic: same config and seed ⇒ bit-identical losses; another seed ⇒ different', async () => {
    const a = await losses(gpu, await inputsFor('steps=5'), 5);
    const b = await losses(gpu, await inputsFor('steps=5'), 5);
    expect(a).toHaveLength(5);
    for (let i = 0; i < 5; i++) expect(Object.is(a[i], b[i]), `step ${i + 1}: ${a[i]} vs ${b[i]}`).toBe(true);
    const c = await losses(gpu, await inputsFor('steps=5', 'seed=1'), 5);
    for (let i = 0; i < 5; i++) expect(c[i], `step ${i + 1}`).not.toBe(a[i]);
  });

  it('the loss falls on micro over 30 steps', async () => {
    const l = await losses(gpu, await inputsFor('steps=30'), 30);
    expect(l.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const first = mean(l.slice(0, 3)),
      last = mean(l.slice(-5));
    // Random init starts near ln(256) ≈ 5.55 nats; byte-level English falls well below within 30 steps.
    expect(first).toBeGreaterThan(5);
    expect(last).toBeLessThan(first - 1);
  });

  it('a non-finite gradient stops the run with NonFiniteError naming step and tensor; parameters and moments stay those of the last good step', async () => {
    const tr = await Trainer.create(gpu, await inputsFor('steps=10'));
    try {
      await tr.trainStep();
      await tr.trainStep();
      // A huge LayerNorm gain keeps the forward finite (logits ~1e29) but its gradients square to
      // Inf in Σg² — the global norm is Inf, the loss is not.
      const gf = await gpu.read(tr.model.param('ln_f.weight'));
      gf[0] = 1e30;
      gpu.write(tr.model.param('ln_f.weight'), gf);
      const before = await tr.snapshot();
      const err = await tr.trainStep().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NonFiniteError);
      const nf = err as NonFiniteError;
      expect(nf.step).toBe(3);
      expect(tr.model.specs.map((s) => s.name)).toContain(nf.tensor);
      expect(nf.message).toContain('step 3');
      expect(nf.message).toContain(nf.tensor);
      expect(tr.step).toBe(2);
      expectSameSnapshot(await tr.snapshot(), before);
    } finally {
      tr.dispose();
    }
  });

  it('a NaN parameter stops the run naming that parameter; nothing is updated', async () => {
    const tr = await Trainer.create(gpu, await inputsFor('steps=10'));
    try {
      await tr.trainStep();
      const w = await gpu.read(tr.model.param('h.1.mlp.c_fc.weight'));
      w[5] = NaN;
      gpu.write(tr.model.param('h.1.mlp.c_fc.weight'), w);
      const before = await tr.snapshot();
      const err = await tr.trainStep().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NonFiniteError);
      expect((err as NonFiniteError).step).toBe(2);
      // issue 19 item 6: the tensor that went non-finite, not "loss"
      expect((err as NonFiniteError).tensor).toBe('h.1.mlp.c_fc.weight');
      expect(tr.step).toBe(1);
      expectSameSnapshot(await tr.snapshot(), before);
    } finally {
      tr.dispose();
    }
  });

  it('invalid configs are rejected with the field and the allowed range', async () => {
    const msg = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const amsg = async (f: () => Promise<unknown>) => {
      const e = await f().then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    };
    expect(msg(() => microConfig('train.lr=-1'))).toMatch(/greater than 0[\s\S]*train\.lr/);
    expect(msg(() => microConfig('lr=1e30'))).toMatch(/(at most|less than or equal to) 10[\s\S]*train\.lr/);
    expect(msg(() => microConfig('batchSize=0'))).toMatch(/at least 1[\s\S]*train\.batchSize/);
    expect(msg(() => microConfig('seed=-1'))).toMatch(/seed/);
    // A typo in a nested key must not pass silently.
    expect(msg(() => microConfig('train.lrr=0.1'))).toMatch(/lrr[\s\S]*train|train[\s\S]*lrr/);
    // The context is checked against the model (micro: 32 positions).
    expect(await amsg(() => inputsFor('train.contextLength=64'))).toMatch(/train\.contextLength.*64.*2\.\.32/);
    // Unknown method and unknown method parameter: rejected by Trainer.create before any step.
    expect(await amsg(async () => Trainer.create(gpu, await inputsFor('method.id=nosuch')))).toMatch(
      /method\.id: unknown method "nosuch" \(known: .*full/,
    );
    expect(await amsg(async () => Trainer.create(gpu, await inputsFor('bogus=3')))).toMatch(
      /method\.params\.bogus: not a parameter of full/,
    );
  });

  it('resume: snapshot after k steps, restore into a fresh trainer, continue ⇒ the uninterrupted losses', async () => {
    const k = 3,
      n = 6;
    const full = await losses(gpu, await inputsFor(`steps=${n}`), n);
    const first = await Trainer.create(gpu, await inputsFor(`steps=${n}`));
    let snap: Snapshot;
    const head: number[] = [];
    try {
      for (let s = 0; s < k; s++) head.push((await first.trainStep()).loss);
      snap = await first.snapshot();
    } finally {
      first.dispose();
    }
    const second = await Trainer.create(gpu, await inputsFor(`steps=${n}`));
    const tail: number[] = [];
    try {
      second.restore(snap);
      expect(second.step).toBe(k);
      for (let s = k; s < n; s++) {
        const m = await second.trainStep();
        expect(m.step).toBe(s + 1);
        tail.push(m.loss);
      }
    } finally {
      second.dispose();
    }
    const resumed = [...head, ...tail];
    for (let i = 0; i < n; i++)
      expect(Object.is(resumed[i], full[i]), `step ${i + 1}: ${resumed[i]} vs ${full[i]}`).toBe(true);
  });
});
