/**
 * src/engine/analysis (ranks, power-law α, intruder dimensions, principal angles, analyzeMatrix) and the
 * float64 linear algebra under it (src/engine/linalg.ts), checked against ml-matrix and against
 * matrices whose answers are known by construction.
 */
import { describe, it, expect } from 'vitest';
import { Matrix, SingularValueDecomposition, EigenvalueDecomposition } from 'ml-matrix';
import { testGpu } from '../helpers/gpu';
import { Rng } from '../../src/engine/rng';
import { jacobiSvd, qrThin, singularValues, symmetricEigenvalues, orthogonalityError } from '../../src/engine/linalg';
import {
  analyzeMatrix,
  asOutIn,
  effectiveRank,
  energyRank,
  fitPowerLaw,
  gradientStats,
  intruderDimensions,
  layoutForName,
  matrixEntropy,
  numericalRank,
  principalAngles,
  stableRank,
  computeBaseSvd,
} from '../../src/engine/analysis';

const randn = (n: number, seed: number, std = 1) => new Rng(seed, 'analysis-test').fillNormal(new Float32Array(n), std);

function toMl(a: ArrayLike<number>, M: number, N: number): Matrix {
  const rows: number[][] = [];
  for (let i = 0; i < M; i++) rows.push(Array.from({ length: N }, (_, j) => a[i * N + j]));
  return new Matrix(rows);
}

function mlSvd(a: ArrayLike<number>, M: number, N: number) {
  const s = new SingularValueDecomposition(toMl(a, M, N), { autoTranspose: true });
  return { S: s.diagonal, U: s.leftSingularVectors };
}

/** The paper's rule on ml-matrix factors: max_i |<u_tuned_j, u_base_i>| for the top-k tuned vectors. */
function mlIntruders(base: ArrayLike<number>, tuned: ArrayLike<number>, M: number, N: number, k: number, eps: number) {
  const b = mlSvd(base, M, N);
  const t = mlSvd(tuned, M, N);
  const r = Math.min(M, N);
  const maxCos: number[] = [];
  for (let j = 0; j < k; j++) {
    let mx = 0;
    for (let i = 0; i < r; i++) {
      let d = 0;
      for (let m = 0; m < M; m++) d += t.U.get(m, j) * b.U.get(m, i);
      mx = Math.max(mx, Math.abs(d));
    }
    maxCos.push(mx);
  }
  return { maxCos, count: maxCos.filter((c) => c < eps).length };
}

function addRankUpdate(w: Float32Array, M: number, N: number, rank: number, scale: number, seed: number): Float32Array {
  const out = Float32Array.from(w);
  const u = randn(M * rank, seed);
  const v = randn(N * rank, seed + 1);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++)
      for (let t = 0; t < rank; t++) out[i * N + j] += scale * (rank - t) * u[i * rank + t] * v[j * rank + t];
  return out;
}

describe('float64 linear algebra (linalg.ts) vs ml-matrix', () => {
  it('Jacobi SVD on awkward and rank-deficient shapes', () => {
    const shapes: [number, number][] = [
      [1, 1],
      [1, 7],
      [7, 1],
      [33, 127],
      [127, 33],
      [65, 64],
      [200, 9],
    ];
    for (const [M, N] of shapes) {
      const a = randn(M * N, M * 31 + N);
      const s = jacobiSvd(a, M, N);
      const ml = mlSvd(a, M, N);
      const r = Math.min(M, N);
      for (let i = 0; i < r; i++) expect(Math.abs(s.S[i] - ml.S[i])).toBeLessThan(1e-9 * ml.S[0]);
      expect(orthogonalityError(s.U!, M, r)).toBeLessThan(1e-10);
    }
    // rank 3 of 40×30: the zero singular values get an orthonormal completion of U
    const lowRank = new Float32Array(40 * 30);
    const u = randn(40 * 3, 1);
    const v = randn(30 * 3, 2);
    for (let i = 0; i < 40; i++)
      for (let j = 0; j < 30; j++) for (let t = 0; t < 3; t++) lowRank[i * 30 + j] += u[i * 3 + t] * v[j * 3 + t];
    const s = jacobiSvd(lowRank, 40, 30);
    expect(s.S[3]).toBeLessThan(1e-5 * s.S[0]);
    expect(orthogonalityError(s.U!, 40, 30)).toBeLessThan(1e-8);
  });

  it('values only: the float64 Gram route and the symmetric eigensolver agree with Jacobi / ml-matrix', () => {
    const [M, N] = [180, 170];
    const a = randn(M * N, 4);
    const j = singularValues(a, M, N, { method: 'jacobi' });
    const g = singularValues(a, M, N, { method: 'gram' });
    for (let i = 0; i < N; i++) expect(Math.abs(j[i] - g[i])).toBeLessThan(1e-10 * j[0]);
    const sym = new Float64Array(50 * 50);
    const b = randn(50 * 50, 5);
    for (let p = 0; p < 50; p++) for (let q = 0; q < 50; q++) sym[p * 50 + q] = b[p * 50 + q] + b[q * 50 + p];
    const ev = symmetricEigenvalues(sym, 50);
    const mlEv = new EigenvalueDecomposition(toMl(sym, 50, 50), { assumeSymmetric: true }).realEigenvalues.sort(
      (x, y) => x - y,
    );
    for (let i = 0; i < 50; i++) expect(Math.abs(ev[i] - mlEv[i])).toBeLessThan(1e-10);
  });
});

describe('ranks and norms', () => {
  it('effective rank, stable rank, matrix entropy, energy and numerical rank on known spectra', () => {
    expect(effectiveRank([1, 1, 1, 1])).toBeCloseTo(4, 12);
    expect(effectiveRank([3, 0, 0])).toBeCloseTo(1, 12);
    expect(effectiveRank([])).toBe(0);
    // p = (0.5, 0.25, 0.25): exp(1.5 ln 2) = 2^1.5
    expect(effectiveRank([2, 1, 1])).toBeCloseTo(2 ** 1.5, 12);
    expect(stableRank([2, 1, 1])).toBeCloseTo(6 / 4, 12);
    expect(stableRank([0, 0])).toBe(0);
    expect(matrixEntropy([1, 1, 1])).toBeCloseTo(1, 12);
    expect(energyRank([3, 1, 1], 0.9)).toBe(2); // 9/11 < 0.9 ≤ 10/11
    expect(numericalRank([1, 1e-3, 1e-6], 1e-4)).toBe(2);
  });
});

describe('power-law α (WeightWatcher WWFit)', () => {
  it('recovers α of a Pareto tail above a bulk, and picks the KS-optimal xmin', () => {
    const rng = new Rng(11, 'pareto');
    const alpha = 2.5;
    const xmin = 1;
    const evals: number[] = [];
    for (let i = 0; i < 1500; i++) evals.push(xmin * rng.uniform() ** (-1 / (alpha - 1)));
    for (let i = 0; i < 500; i++) evals.push(0.05 + 0.9 * rng.uniform() * xmin); // bulk below xmin
    const fit = fitPowerLaw(evals)!;
    console.log(
      `power law: true α=${alpha}, fitted α=${fit.alpha.toFixed(3)} ± ${fit.alphaStdErr.toFixed(3)}, xmin=${fit.xmin.toFixed(3)}, D=${fit.D.toFixed(4)}, tail ${fit.nTail}/${fit.n}`,
    );
    expect(Math.abs(fit.alpha - alpha)).toBeLessThan(0.15);
    expect(fit.xmin).toBeGreaterThan(0.8);
    expect(fit.xmin).toBeLessThan(1.3);
    // the reported α is the MLE at the reported xmin
    const tail = evals.filter((x) => x >= fit.xmin);
    const mle = 1 + tail.length / tail.reduce((s, x) => s + Math.log(x / fit.xmin), 0);
    expect(fit.alpha).toBeCloseTo(mle, 9);
    expect(fit.nTail).toBe(tail.length);
  });

  it('applies the 1e-5 eigenvalue threshold and needs ≥ 10 eigenvalues', () => {
    expect(fitPowerLaw([1, 2, 3, 1e-7, 1e-9])).toBeNull();
    const fit = fitPowerLaw([...Array.from({ length: 12 }, (_, i) => 1 + i), 0, 1e-6])!;
    expect(fit.n).toBe(12);
    expect(fit.warning).toMatch(/50/);
  });
});

describe('intruder dimensions and principal angles', () => {
  it('counts exactly on constructed singular vectors, with the ε sweep and the heatmap block', () => {
    const M = 64;
    const r0 = 40;
    const full = qrThin(randn(M * M, 21), M, M).Q; // orthonormal (M, M)
    const U0 = new Float64Array(M * r0); // base: first 40 columns
    for (let i = 0; i < M; i++) for (let j = 0; j < r0; j++) U0[i * r0 + j] = full[i * M + j];
    const kt = 4;
    const Ut = new Float64Array(M * kt);
    for (let i = 0; i < M; i++) {
      Ut[i * kt + 0] = full[i * M + 5]; // a base vector: maxCos 1
      Ut[i * kt + 1] = full[i * M + 50]; // orthogonal to every base vector: maxCos 0
      Ut[i * kt + 2] = 0.6 * full[i * M + 1] + 0.8 * full[i * M + 2]; // maxCos 0.8
      Ut[i * kt + 3] = 0.45 * full[i * M + 3] + Math.sqrt(1 - 0.45 ** 2) * full[i * M + 60]; // maxCos 0.45
    }
    const res = intruderDimensions(Ut, kt, U0, r0, M, { k: 4, eps: 0.5, heatmapCols: 8 });
    expect(res.maxCos.map((c) => Number(c.toFixed(9)))).toEqual([1, 0, 0.8, 0.45]);
    expect(res.count).toBe(2);
    expect(res.indices).toEqual([1, 3]);
    expect(res.bestMatch[0]).toBe(5);
    expect(res.sweep.find((s) => s.eps === 0.9)!.count).toBe(3);
    expect(res.sweep.find((s) => s.eps === 0.1)!.count).toBe(1);
    expect(res.heatmap.rows).toBe(4);
    expect(res.heatmap.cols).toBe(8);
    expect(res.heatmap.values[0 * 8 + 5]).toBeCloseTo(1, 9);
  });

  it('principal angles of subspaces with known angles', () => {
    const M = 5;
    const th = (25 * Math.PI) / 180;
    const U1 = [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]; // (5, 2): e1, e2
    const U2 = [1, 0, 0, Math.cos(th), 0, Math.sin(th), 0, 0, 0, 0]; // e1, cos·e2 + sin·e3
    const pa = principalAngles(U1, 2, U2, 2, M, 2);
    expect(pa.degrees[0]).toBeCloseTo(0, 6);
    expect(pa.degrees[1]).toBeCloseTo(25, 6);
  });
});

describe('analyzeMatrix', () => {
  // A Conv1D weight stored (in, out) = (40, 96), analysed as (out, in) = (96, 40).
  const [IN, OUT] = [40, 96];
  const stored = randn(IN * OUT, 31, 0.1);
  const W0 = asOutIn(stored, IN, OUT, 'in-out'); // (96, 40)
  const bigUpdate = addRankUpdate(W0.data, OUT, IN, 2, 0.5, 77); // rank 2, ‖ΔW‖ ≫ ‖W0‖
  const noise = Float32Array.from(W0.data, (x, i) => x + 1e-5 * Math.sin(i * 12.9898));
  /** (out, in) → the stored (in, out) layout */
  const storedOf = (w: Float32Array) => asOutIn(w, OUT, IN, 'in-out').data;

  it('layout: c_attn/c_proj/c_fc weights are (in, out) and get transposed', () => {
    expect(layoutForName('h.3.attn.c_attn.weight')).toBe('in-out');
    expect(layoutForName('transformer.h.0.mlp.c_fc.weight')).toBe('in-out');
    expect(layoutForName('model.layers.0.self_attn.q_proj.weight')).toBe('out-in');
    expect(W0.M).toBe(OUT);
    expect(W0.data[5 * IN + 7]).toBe(stored[7 * OUT + 5]);
  });

  it('a large rank-2 update creates 2 intruders; tiny noise none — matching ml-matrix', async () => {
    const baseSvd = computeBaseSvd(W0.data, OUT, IN);
    const big = await analyzeMatrix(null, {
      name: 'h.0.mlp.c_fc.weight',
      base: stored,
      tuned: storedOf(bigUpdate),
      rows: IN,
      cols: OUT,
      layout: 'in-out',
      baseSvd,
    });
    const ref = mlIntruders(W0.data, bigUpdate, OUT, IN, 10, 0.5);
    console.log(
      `analyzeMatrix rank-2 update: maxCos ${big.intruders.maxCos.map((c) => c.toFixed(3)).join(' ')}; ml-matrix ${ref.maxCos.map((c) => c.toFixed(3)).join(' ')}`,
    );
    expect(big.intruders.count).toBe(2);
    expect(big.intruders.count).toBe(ref.count);
    for (let j = 0; j < 10; j++) expect(Math.abs(big.intruders.maxCos[j] - ref.maxCos[j])).toBeLessThan(1e-4);
    expect(big.shape).toEqual([OUT, IN]);
    expect(big.transposed).toBe(true);
    // ΔW is exactly rank 2: its figures follow from its two singular values (ml-matrix)
    const dm = mlSvd(
      Float32Array.from(bigUpdate, (x, i) => x - W0.data[i]),
      OUT,
      IN,
    ).S;
    expect(big.delta.numericalRank).toBe(2);
    expect(big.delta.spectralNorm).toBeCloseTo(dm[0], 3);
    expect(big.delta.frobenius).toBeCloseTo(Math.hypot(dm[0], dm[1]), 3);
    expect(big.delta.erank).toBeCloseTo(effectiveRank([dm[0], dm[1]]), 4);
    expect(big.delta.stableRank).toBeCloseTo((dm[0] ** 2 + dm[1] ** 2) / dm[0] ** 2, 4);
    // the update's column space is (nearly) orthogonal to W0's top-2 subspace
    expect(big.angles.r).toBe(2);
    expect(big.angles.degrees[0]).toBeGreaterThan(45);
    // tuned full spectrum vs ml-matrix, and α exists over a 40-value ESD
    const tm = mlSvd(bigUpdate, OUT, IN).S;
    for (let i = 0; i < IN; i++) expect(Math.abs(big.tuned.sigma[i] - tm[i])).toBeLessThan(1e-5 * tm[0]);
    expect(big.tuned.powerLaw).not.toBeNull();
    expect(big.tuned.esd.counts.reduce((a, b) => a + b, 0)).toBe(big.tuned.powerLaw!.n);

    const quiet = await analyzeMatrix(null, {
      name: 'h.0.mlp.c_fc.weight',
      base: stored,
      tuned: storedOf(noise),
      rows: IN,
      cols: OUT,
      layout: 'in-out',
      baseSvd,
    });
    const refQ = mlIntruders(W0.data, noise, OUT, IN, 10, 0.5);
    expect(quiet.intruders.count).toBe(0);
    expect(refQ.count).toBe(0);
    expect(JSON.parse(JSON.stringify(quiet)).intruders.count).toBe(0); // plain JSON-able
  });

  it('Conv1D (in, out) with layout in-out equals the transposed (out, in) matrix with layout out-in', async () => {
    const a = await analyzeMatrix(null, {
      name: 'x',
      base: stored,
      tuned: storedOf(bigUpdate),
      rows: IN,
      cols: OUT,
      layout: 'in-out',
    });
    const b = await analyzeMatrix(null, {
      name: 'x',
      base: W0.data,
      tuned: bigUpdate,
      rows: OUT,
      cols: IN,
      layout: 'out-in',
    });
    expect(a.intruders.maxCos).toEqual(b.intruders.maxCos);
    expect(a.tuned.sigma).toEqual(b.tuned.sigma);
  });

  it('the GPU randomized path (tunedMethod rsvd) finds the same intruders as the exact one', async () => {
    const gpu = await testGpu();
    const exact = await analyzeMatrix(gpu, {
      name: 'w',
      base: W0.data,
      tuned: bigUpdate,
      rows: OUT,
      cols: IN,
      k: 4,
      tunedMethod: 'exact',
    });
    const fast = await analyzeMatrix(gpu, {
      name: 'w',
      base: W0.data,
      tuned: bigUpdate,
      rows: OUT,
      cols: IN,
      k: 4,
      tunedMethod: 'rsvd',
      powerIters: 6,
    });
    console.log(
      `rsvd vs exact maxCos: ${fast.intruders.maxCos.map((c) => c.toFixed(4)).join(' ')} | ${exact.intruders.maxCos.map((c) => c.toFixed(4)).join(' ')}`,
    );
    expect(fast.intruders.method).toBe('rsvd');
    expect(fast.intruders.count).toBe(exact.intruders.count);
    for (let j = 0; j < 2; j++)
      expect(Math.abs(fast.intruders.maxCos[j] - exact.intruders.maxCos[j])).toBeLessThan(1e-3);
    expect(fast.angles.degrees[0]).toBeCloseTo(exact.angles.degrees[0], 1);
  });

  it('gradientStats: effective rank and nuclear norm of a gradient', () => {
    const g = new Float32Array(30 * 20);
    const u = randn(30, 1);
    const v = randn(20, 2);
    for (let i = 0; i < 30; i++) for (let j = 0; j < 20; j++) g[i * 20 + j] = u[i] * v[j];
    const st = gradientStats(g, 30, 20);
    const norm = Math.hypot(...u) * Math.hypot(...v);
    expect(st.erank).toBeCloseTo(1, 4);
    expect(st.nuclear).toBeCloseTo(norm, 4);
    expect(st.spectralNorm).toBeCloseTo(norm, 4);
  });
});
