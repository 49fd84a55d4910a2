import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { adamwStep, createStepScalars, writeStepScalars, ADAMW_DEFAULTS } from '../../src/gpu/kernels/adamw';
import { sumSquaresInto, globalNormClip } from '../../src/gpu/kernels/reduce';
import { adamwStepRef, type AdamwRefState } from '../../src/engine/ref/adamw';
import { globalNormClipRef, sumSquaresRef } from '../../src/engine/ref/reduce';
import { learningRate } from '../../src/engine/optim/schedule';

const { beta1, beta2, eps } = ADAMW_DEFAULTS;

describe('AdamW step', () => {
  it('writeStepScalars stores [lr, β1, β2, eps, 1−β1^t, 1−β2^t, 1−β1, 1−β2]', async () => {
    const gpu = await testGpu();
    const step = createStepScalars(gpu);
    writeStepScalars(gpu, step, { lr: 3e-4, beta1, beta2, eps, t: 3 });
    const got = await gpu.read(step);
    expect(Array.from(got)).toEqual(
      Array.from(Float32Array.of(3e-4, beta1, beta2, eps, 1 - 0.9 ** 3, 1 - 0.999 ** 3, 1 - 0.9, 1 - 0.999)),
    );
    expect(() => writeStepScalars(gpu, step, { lr: 1e-3, beta1, beta2, eps, t: 0 })).toThrow(/t must be/);
    gpu.release(step);
  });

  it('first step matches the hand-computed update', async () => {
    const gpu = await testGpu();
    // t = 1: m̂ = g, v̂ = g², so the Adam direction is g/(|g| + eps) ≈ sign(g).
    const p0 = Float32Array.of(1, -2, 0.5, 0);
    const grad = Float32Array.of(0.2, 0.4, -1, 0);
    const lr = 0.01,
      wd = 0.1,
      lrScale = 2,
      clipScale = 0.5;
    const param = gpu.upload(p0, [4], 'param');
    const g = gpu.upload(grad, [4], 'grad');
    const m = gpu.zeros([4], 'm');
    const v = gpu.zeros([4], 'v');
    const clip = gpu.upload(Float32Array.of(123, clipScale), [2], 'clip');
    const step = createStepScalars(gpu);
    writeStepScalars(gpu, step, { lr, beta1, beta2, eps, t: 1 });
    const enc = gpu.encoder('adamw-first');
    adamwStep(enc, { param, grad: g, m, v, clip, step, weightDecay: wd, lrScale });
    enc.submit();
    // by hand: gc = g·0.5 = [0.1, 0.2, -0.5, 0]; direction = gc/(|gc| + 1e-8) = [1, 1, -1, 0] (to 1e-7)
    // p1 = p0 − 0.02·(direction + 0.1·p0)
    const want = [1 - 0.02 * (1 + 0.1), -2 - 0.02 * (1 - 0.2), 0.5 - 0.02 * (-1 + 0.05), 0];
    expectClose(await gpu.read(param), want, { atol: 1e-6, rtol: 1e-6, label: 'param after step 1' });
    expectClose(await gpu.read(m), [0.01, 0.02, -0.05, 0], { atol: 1e-8, rtol: 1e-6, label: 'm after step 1' });
    expectClose(await gpu.read(v), [1e-5, 4e-5, 2.5e-4, 0], { atol: 1e-12, rtol: 1e-5, label: 'v after step 1' });
    for (const t of [param, g, m, v, clip, step]) gpu.release(t);
  });

  it('several steps vs CPU reference: schedule, weight decay, lrScale, clip scale', async () => {
    const gpu = await testGpu();
    const n = 1003;
    const sched = { lr: 1e-2, warmupSteps: 2, totalSteps: 6, schedule: 'cosine' as const };
    const p0 = randn(n, 1, 1, 'param');
    const param = gpu.upload(p0, [n], 'param');
    const m = gpu.zeros([n], 'm');
    const v = gpu.zeros([n], 'v');
    const g = gpu.tensor([n], 'grad');
    const clip = gpu.tensor([2], 'clip');
    const step = createStepScalars(gpu);
    let ref: AdamwRefState = { param: p0, m: new Float32Array(n), v: new Float32Array(n) };
    const wd = 0.05,
      lrScale = 16,
      clipScales = [1, 0.5, 0.25, 1, 0.75, 0.1];
    for (let s = 0; s < sched.totalSteps; s++) {
      const grad = randn(n, 100 + s, 0.3 + s, 'grad');
      const lr = learningRate(s, sched);
      gpu.write(g, grad);
      gpu.write(clip, Float32Array.of(0, clipScales[s]));
      writeStepScalars(gpu, step, { lr, beta1, beta2, eps, t: s + 1 });
      const enc = gpu.encoder(`adamw-${s}`);
      adamwStep(enc, { param, grad: g, m, v, clip, step, weightDecay: wd, lrScale });
      enc.submit();
      ref = adamwStepRef(ref, grad, {
        lr,
        beta1,
        beta2,
        eps,
        t: s + 1,
        weightDecay: wd,
        lrScale,
        clipScale: clipScales[s],
      });
      expectClose(await gpu.read(m), ref.m, { atol: 1e-7, rtol: 1e-5, label: `m step ${s + 1}` });
      expectClose(await gpu.read(v), ref.v, { atol: 1e-9, rtol: 1e-5, label: `v step ${s + 1}` });
      expectClose(await gpu.read(param), ref.param, { atol: 1e-6, rtol: 1e-5, label: `param step ${s + 1}` });
    }
    for (const t of [param, m, v, g, clip, step]) gpu.release(t);
  });

  it('clip omitted = no clipping; lrScale 0 freezes the parameter but still updates moments', async () => {
    const gpu = await testGpu();
    const n = 300;
    const p0 = randn(n, 3, 1, 'param');
    const grad = randn(n, 4, 1, 'grad');
    const param = gpu.upload(p0, [n], 'param');
    const frozen = gpu.upload(p0, [n], 'frozen');
    const g = gpu.upload(grad, [n], 'grad');
    const m1 = gpu.zeros([n], 'm1'),
      v1 = gpu.zeros([n], 'v1'),
      m2 = gpu.zeros([n], 'm2'),
      v2 = gpu.zeros([n], 'v2');
    const step = createStepScalars(gpu);
    writeStepScalars(gpu, step, { lr: 1e-3, beta1, beta2, eps, t: 1 });
    const enc = gpu.encoder('adamw-noclip');
    adamwStep(enc, { param, grad: g, m: m1, v: v1, step, weightDecay: 0.01 });
    adamwStep(enc, { param: frozen, grad: g, m: m2, v: v2, step, weightDecay: 0.01, lrScale: 0 });
    enc.submit();
    const ref = adamwStepRef({ param: p0, m: new Float32Array(n), v: new Float32Array(n) }, grad, {
      lr: 1e-3,
      beta1,
      beta2,
      eps,
      t: 1,
      weightDecay: 0.01,
    });
    expectClose(await gpu.read(param), ref.param, { atol: 1e-6, rtol: 1e-5, label: 'no clip' });
    expect(Array.from(await gpu.read(frozen))).toEqual(Array.from(p0));
    expectClose(await gpu.read(m2), ref.m, { atol: 1e-8, rtol: 1e-5, label: 'frozen m' });
    for (const t of [param, frozen, g, m1, v1, m2, v2, step]) gpu.release(t);
  });

  it('2-D grid for tensors past 65535 workgroups (limit lowered to exercise it)', async () => {
    const gpu = await testGpu();
    const limits = gpu.description.limits;
    const saved = limits.maxComputeWorkgroupsPerDimension;
    const n = 7 * 256 * 3 + 5; // 22 workgroups → grid (7, 4)
    const p0 = randn(n, 21, 1, 'param');
    const grad = randn(n, 22, 1, 'grad');
    const param = gpu.upload(p0, [n], 'param');
    const g = gpu.upload(grad, [n], 'grad');
    const m = gpu.zeros([n], 'm'),
      v = gpu.zeros([n], 'v');
    const step = createStepScalars(gpu);
    writeStepScalars(gpu, step, { lr: 1e-3, beta1, beta2, eps, t: 1 });
    const enc = gpu.encoder('adamw-2d');
    try {
      limits.maxComputeWorkgroupsPerDimension = 7;
      adamwStep(enc, { param, grad: g, m, v, step, weightDecay: 0 });
    } finally {
      limits.maxComputeWorkgroupsPerDimension = saved;
    }
    enc.submit();
    const ref = adamwStepRef({ param: p0, m: new Float32Array(n), v: new Float32Array(n) }, grad, {
      lr: 1e-3,
      beta1,
      beta2,
      eps,
      t: 1,
      weightDecay: 0,
    });
    expectClose(await gpu.read(param), ref.param, { atol: 1e-6, rtol: 1e-5, label: '2-D grid' });
    for (const t of [param, g, m, v, step]) gpu.release(t);
  });

  it('one encoder: Σg² per tensor → global norm clip → AdamW on every tensor', async () => {
    const gpu = await testGpu();
    const sizes = [513, 7, 2048];
    const maxNorm = 1.0;
    const grads = sizes.map((n, i) => randn(n, 50 + i, 0.2, 'grad'));
    const params0 = sizes.map((n, i) => randn(n, 60 + i, 1, 'param'));
    const tp = params0.map((p, i) => gpu.upload(p, [p.length], `p${i}`));
    const tg = grads.map((g, i) => gpu.upload(g, [g.length], `g${i}`));
    const tm = sizes.map((n, i) => gpu.zeros([n], `m${i}`));
    const tv = sizes.map((n, i) => gpu.zeros([n], `v${i}`));
    const partials = gpu.tensor([sizes.length], 'partials');
    const clip = gpu.tensor([2], 'clip');
    const step = createStepScalars(gpu);
    writeStepScalars(gpu, step, { lr: 1e-3, beta1, beta2, eps, t: 1 });
    const enc = gpu.encoder('opt-step');
    tg.forEach((g, i) => sumSquaresInto(enc, { x: g, partials, slot: i }));
    globalNormClip(enc, { partials, count: sizes.length, maxNorm, clip });
    sizes.forEach((_, i) =>
      adamwStep(enc, {
        param: tp[i],
        grad: tg[i],
        m: tm[i],
        v: tv[i],
        clip,
        step,
        weightDecay: 0.1,
        lrScale: i === 1 ? 4 : 1,
      }),
    );
    enc.submit();
    const [norm, scale] = globalNormClipRef(
      grads.map((g) => sumSquaresRef(g)),
      maxNorm,
    );
    expect(norm).toBeGreaterThan(maxNorm); // the clip is active in this test
    const gotClip = await gpu.read(clip);
    expectClose(gotClip, [norm, scale], { atol: 1e-6, rtol: 1e-5, label: 'clip' });
    for (let i = 0; i < sizes.length; i++) {
      const ref = adamwStepRef(
        { param: params0[i], m: new Float32Array(sizes[i]), v: new Float32Array(sizes[i]) },
        grads[i],
        { lr: 1e-3, beta1, beta2, eps, t: 1, weightDecay: 0.1, lrScale: i === 1 ? 4 : 1, clipScale: gotClip[1] },
      );
      expectClose(await gpu.read(tp[i]), ref.param, { atol: 1e-6, rtol: 1e-5, label: `param ${i}` });
    }
    for (const t of [...tp, ...tg, ...tm, ...tv, partials, clip, step]) gpu.release(t);
  });
});
