import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import * as K from '../../src/gpu/kernels/elementwise';
import { flatGrid } from '../../src/gpu/grid';
import * as R from '../../src/engine/ref/elementwise';

/** Normal values plus the tails where a naive tanh overflows. */
function geluInputs(n: number, seed: number): Float32Array {
  const x = randn(n, seed, 2.5, 'gelu');
  const tails = [-60, -20, -9.5, -3, 0, 3, 9.5, 20, 60];
  for (let i = 0; i < Math.min(n, tails.length); i++) x[(i * 7) % n] = tails[i];
  return x;
}

const SIZES = [1, 7, 1000, 33 * 128];

describe('elementwise kernels vs CPU reference', () => {
  for (const n of SIZES) {
    it(`gelu forward/backward n=${n}`, async () => {
      const gpu = await testGpu();
      const x = geluInputs(n, n);
      const dout = randn(n, n + 1, 1, 'dout');
      const tx = gpu.upload(x, [n], 'x'),
        td = gpu.upload(dout, [n], 'dout');
      const out = gpu.upload(new Float32Array(n).fill(NaN), [n], 'out'); // overwrite: garbage must not matter
      const dx = gpu.upload(new Float32Array(n).fill(NaN), [n], 'dx');
      await record(gpu, (enc) => {
        K.geluForward(enc, { x: tx, out, n });
        K.geluBackward(enc, { x: tx, dout: td, dx, n });
      });
      expectClose(await gpu.read(out), R.geluForward({ x }), { atol: 1e-5, rtol: 1e-5, label: `gelu fwd n=${n}` });
      expectClose(await gpu.read(dx), R.geluBackward({ x, dout }), {
        atol: 1e-5,
        rtol: 1e-4,
        label: `gelu bwd n=${n}`,
      });
      release(gpu, tx, td, out, dx);
    });
  }

  it('gelu backward: reference and GPU agree with central finite differences', async () => {
    const gpu = await testGpu();
    const n = 33;
    const x = randn(n, 5, 1.5, 'gelu-fd');
    const w = randn(n, 6, 1, 'gelu-fd-w');
    const fd = numericGrad((xv) => dot(w, R.geluForwardF64({ x: xv })), x, 1e-3);
    const ref = R.geluBackward({ x, dout: w });
    expectClose(ref, fd, { atol: 1e-5, rtol: 1e-4, label: 'gelu ref vs FD' });
    const tx = gpu.upload(x, [n], 'x'),
      tw = gpu.upload(w, [n], 'w'),
      dx = gpu.tensor([n], 'dx');
    await record(gpu, (enc) => K.geluBackward(enc, { x: tx, dout: tw, dx, n }));
    expectClose(await gpu.read(dx), fd, { atol: 2e-5, rtol: 2e-4, label: 'gelu GPU vs FD' });
    release(gpu, tx, tw, dx);
  });

  for (const n of [1, 7, 1000]) {
    it(`add, axpy, scale, fill, copy n=${n}`, async () => {
      const gpu = await testGpu();
      const a = randn(n, 10 + n, 1, 'a'),
        b = randn(n, 20 + n, 1, 'b'),
        y0 = randn(n, 30 + n, 1, 'y');
      const ta = gpu.upload(a, [n], 'a'),
        tb = gpu.upload(b, [n], 'b'),
        ty = gpu.upload(y0, [n], 'y');
      const out = gpu.upload(new Float32Array(n).fill(NaN), [n], 'out');
      const sc = gpu.upload(a, [n], 'scaled'),
        fl = gpu.upload(a, [n], 'filled'),
        cp = gpu.tensor([n], 'copied');
      await record(gpu, (enc) => {
        K.add(enc, { a: ta, b: tb, out, n });
        K.axpy(enc, { x: ta, y: ty, n, alpha: -0.37 });
        K.axpy(enc, { x: tb, y: ty, n, alpha: 2 }); // y accumulates across calls
        K.scale(enc, { x: sc, n, s: 1.75 });
        K.fill(enc, { x: fl, n, value: -2.5 });
        K.copy(enc, { src: tb, dst: cp, n });
      });
      expectClose(await gpu.read(out), R.add({ a, b }), { atol: 1e-6, rtol: 1e-6, label: 'add' });
      expectClose(await gpu.read(ty), R.axpy({ x: b, y: R.axpy({ x: a, y: y0, alpha: -0.37 }), alpha: 2 }), {
        atol: 1e-6,
        rtol: 1e-5,
        label: 'axpy',
      });
      expectClose(await gpu.read(sc), R.scale({ x: a, s: 1.75 }), { atol: 1e-6, rtol: 1e-6, label: 'scale' });
      expectClose(await gpu.read(fl), R.fill({ n, value: -2.5 }), { atol: 0, rtol: 0, label: 'fill' });
      expectClose(await gpu.read(cp), b, { atol: 0, rtol: 0, label: 'copy' });
      release(gpu, ta, tb, ty, out, sc, fl, cp);
    });
  }

  it('a length shorter than the buffer touches only the first n elements', async () => {
    const gpu = await testGpu();
    const x = randn(40, 3);
    const t = gpu.upload(x, [40], 'x');
    await record(gpu, (enc) => K.fill(enc, { x: t, n: 33, value: 7 }));
    const got = await gpu.read(t);
    expectClose(got.subarray(0, 33), new Float32Array(33).fill(7), { atol: 0, rtol: 0, label: 'head' });
    expectClose(got.subarray(33), x.subarray(33), { atol: 0, rtol: 0, label: 'tail untouched' });
    release(gpu, t);
  });

  it('more than 65535 workgroups fold into a 2D grid with every element visited once', async () => {
    const gpu = await testGpu();
    const n = 65535 * 256 + 300; // 65537 workgroups of 256
    expect(flatGrid(Math.ceil(n / 256))[1]).toBe(2);
    const t = gpu.tensor([n], 'big');
    await record(gpu, (enc) => {
      enc.clear(t);
      K.fill(enc, { x: t, n, value: 1 });
      K.scale(enc, { x: t, n, s: 3 }); // visited twice would give 9 or a missed element 0
    });
    const got = await gpu.read(t);
    let bad = -1;
    for (let i = 0; i < n; i++)
      if (got[i] !== 3) {
        bad = i;
        break;
      }
    expect(bad, `first wrong element ${bad}: ${got[bad]}`).toBe(-1);
    release(gpu, t);
  });

  it('bad sizes fail on the host with a readable message', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([5], 'small');
    const enc = gpu.encoder('bad');
    expect(() => K.fill(enc, { x: t, n: 6, value: 0 })).toThrow(/small.*5 elements.*6/);
    expect(() => K.addBias(enc, { x: t, bias: t, N: 2, C: 3 })).toThrow(/addBias/);
    enc.submit();
    release(gpu, t);
  });
});

describe('bias add and bias gradient', () => {
  const shapes: [number, number][] = [
    [1, 7],
    [7, 33],
    [33, 128],
    [33, 7],
    [7, 128],
    [1, 1000],
  ];
  for (const [N, C] of shapes) {
    it(`addBias + biasBackward (accumulating) N=${N} C=${C}`, async () => {
      const gpu = await testGpu();
      const x = randn(N * C, N * 31 + C, 1, 'x'),
        bias = randn(C, C, 1, 'bias');
      const dout = randn(N * C, N + C * 17, 1, 'dout'),
        db0 = randn(C, 77 + C, 1, 'db0');
      const tx = gpu.upload(x, [N, C], 'x'),
        tb = gpu.upload(bias, [C], 'bias');
      const td = gpu.upload(dout, [N, C], 'dout'),
        tdb = gpu.upload(db0, [C], 'dbias');
      await record(gpu, (enc) => {
        K.addBias(enc, { x: tx, bias: tb, N, C });
        K.biasBackward(enc, { dout: td, dbias: tdb, N, C });
      });
      expectClose(await gpu.read(tx), R.addBias({ x, bias, N, C }), { atol: 1e-6, rtol: 1e-6, label: 'addBias' });
      expectClose(await gpu.read(tdb), R.biasBackward({ dout, dbias: db0, N, C }), {
        atol: 1e-5,
        rtol: 1e-5,
        label: 'biasBackward +=',
      });
      release(gpu, tx, tb, td, tdb);
    });
  }

  it('biasBackward: reference and GPU agree with finite differences; two runs are bit-identical', async () => {
    const gpu = await testGpu();
    const N = 33,
      C = 7;
    const x = randn(N * C, 1),
      bias = randn(C, 2),
      w = randn(N * C, 3);
    const fd = numericGrad((b) => dot(w, R.addBiasF64({ x, bias: b, N, C })), bias, 1e-3);
    expectClose(R.biasBackward({ dout: w, N, C }), fd, { atol: 1e-5, rtol: 1e-5, label: 'bias ref vs FD' });

    const big = { N: 1000, C: 40 };
    const dout = randn(big.N * big.C, 4, 10);
    const td = gpu.upload(dout, [big.N, big.C], 'dout');
    const runs: Float32Array[] = [];
    for (let r = 0; r < 2; r++) {
      const db = gpu.zeros([big.C], `dbias${r}`);
      await record(gpu, (enc) => K.biasBackward(enc, { dout: td, dbias: db, ...big }));
      runs.push(await gpu.read(db));
      gpu.release(db);
    }
    expect(bitsEqual(runs[0], runs[1]), 'biasBackward bit-identical').toBe(true);
    expectClose(runs[0], R.biasBackward({ dout, ...big }), { atol: 1e-3, rtol: 1e-5, label: 'biasBackward long sum' });

    const tw = gpu.upload(w, [N, C], 'w'),
      db = gpu.zeros([C], 'dbias');
    await record(gpu, (enc) => K.biasBackward(enc, { dout: tw, dbias: db, N, C }));
    expectClose(await gpu.read(db), fd, { atol: 1e-5, rtol: 1e-5, label: 'bias GPU vs FD' });
    release(gpu, td, tw, db);
  });
});
