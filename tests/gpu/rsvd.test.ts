/**
 * GPU randomized SVD (src/gpu/kernels/rsvd.ts + shaders/rsvd.wgsl) and the Philox fills of
 * shaders/random.wgsl, against src/engine/rng.ts, the float64 CPU reference (src/engine/ref/rsvd.ts,
 * same Gaussian sketch) and ml-matrix's SVD as an independent oracle.
 */
import { describe, it, expect } from 'vitest';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { testGpu } from '../helpers/gpu';
import { Rng } from '../../src/engine/rng';
import {
  gaussianSketchGpu,
  lowRankOperator,
  orthonormalize,
  orthWorkspace,
  randomNormal,
  randomU32,
  randomUniform,
  releaseOrthWorkspace,
} from '../../src/gpu/kernels/rsvd';
import { rsvd } from '../../src/engine/rsvd';
import { exactSvd, orthogonalityError } from '../../src/engine/linalg';
import { gaussianSketch, matrixWithSpectrum, rsvdRef } from '../../src/engine/ref/rsvd';

function mlSvd(a: ArrayLike<number>, M: number, N: number) {
  const rows: number[][] = [];
  for (let i = 0; i < M; i++) rows.push(Array.from({ length: N }, (_, j) => a[i * N + j]));
  const s = new SingularValueDecomposition(new Matrix(rows), { autoTranspose: true });
  return { S: s.diagonal, U: s.leftSingularVectors, V: s.rightSingularVectors };
}

/** sin of the largest principal angle between span(X[:, :k]) and span(Y[:, :k]); X (M, cx), Y (M, cy). */
function subspaceSin(X: ArrayLike<number>, cx: number, Y: ArrayLike<number>, cy: number, M: number, k: number): number {
  // ‖(I − YYᵀ)X‖₂ ≤ ‖·‖_F; report the Frobenius bound over columns (tight enough to print and compare).
  let worst = 0;
  for (let a = 0; a < k; a++) {
    const proj = new Float64Array(k);
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += X[i * cx + a] * Y[i * cy + b];
      proj[b] = s;
    }
    let r2 = 0;
    for (let i = 0; i < M; i++) {
      let v = X[i * cx + a];
      for (let b = 0; b < k; b++) v -= proj[b] * Y[i * cy + b];
      r2 += v * v;
    }
    worst = Math.max(worst, Math.sqrt(r2));
  }
  return worst;
}

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>, k: number) => {
  let e = 0;
  for (let i = 0; i < k; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return e;
};

describe('random.wgsl: Philox4x32-10 streams equal src/engine/rng.ts', () => {
  it('uniforms are bit-identical, normals within 1e-6, raw words equal, for several seeds/purposes/counters', async () => {
    const gpu = await testGpu();
    const n = 40001; // not a multiple of 4: the last block is partial
    const cases = [
      { seed: 0, purpose: 'init', counter: 0 },
      { seed: 12345, purpose: 'rsvd.sketch', counter: 7 },
      { seed: 0xffffffff, purpose: 'data-order', counter: 2 ** 32 - 5 }, // the 64-bit counter carries
    ];
    for (const c of cases) {
      const tn = gpu.tensor([n], 'normals');
      const tu = gpu.tensor([n], 'uniforms');
      const tw = gpu.tensor([n], 'words');
      const ta = gpu.tensor([n], 'affine');
      const enc = gpu.encoder('rng-test');
      randomNormal(enc, tn, c);
      randomUniform(enc, tu, c);
      randomU32(enc, tw, c);
      randomNormal(enc, ta, { ...c, mean: 0.5, std: 0.02 });
      enc.submit();
      const [g, u, w, af] = await Promise.all([gpu.read(tn), gpu.read(tu), gpu.readInt(tw), gpu.read(ta)]);
      const refN = new Rng(c.seed, c.purpose, c.counter).fillNormal(new Float32Array(n));
      const refU = new Rng(c.seed, c.purpose, c.counter).fillUniform(new Float32Array(n), 0, 1);
      const rw = new Rng(c.seed, c.purpose, c.counter);
      const refA = new Rng(c.seed, c.purpose, c.counter).fillNormal(new Float32Array(n), 0.02, 0.5);
      let maxN = 0;
      let maxA = 0;
      let badU = 0;
      let badW = 0;
      const ub = new Uint32Array(u.buffer);
      const rb = new Uint32Array(refU.buffer);
      for (let i = 0; i < n; i++) {
        maxN = Math.max(maxN, Math.abs(g[i] - refN[i]));
        maxA = Math.max(maxA, Math.abs(af[i] - refA[i]));
        if (ub[i] !== rb[i]) badU++;
        if (w[i] >>> 0 !== rw.nextU32()) badW++;
      }
      console.log(
        `philox seed=${c.seed} purpose=${c.purpose} counter=${c.counter}: max |Δnormal| ${maxN.toExponential(2)}, affine ${maxA.toExponential(2)}, uniform mismatches ${badU}, word mismatches ${badW}`,
      );
      expect(badW).toBe(0);
      expect(badU).toBe(0);
      expect(maxN).toBeLessThanOrEqual(1e-6);
      expect(maxA).toBeLessThanOrEqual(1e-7);
      for (const t of [tn, tu, tw, ta]) gpu.release(t);
    }
  });

  it('rsvd_sketch draws Ω exactly as gaussianSketch (the CPU reference)', async () => {
    const gpu = await testGpu();
    const [rows, cols] = [97, 13];
    const t = gpu.tensor([rows, cols], 'omega');
    const enc = gpu.encoder('sketch');
    gaussianSketchGpu(enc, t, 42, rows, cols);
    enc.submit();
    const g = await gpu.read(t);
    const ref = gaussianSketch(42, rows, cols);
    let mx = 0;
    for (let i = 0; i < g.length; i++) mx = Math.max(mx, Math.abs(g[i] - ref[i]));
    expect(mx).toBeLessThanOrEqual(1e-6);
    gpu.release(t);
  });
});

describe('orthonormalize: shifted CholeskyQR2 on the GPU', () => {
  async function orth(Y: Float32Array, rows: number, l: number) {
    const gpu = await testGpu();
    const X = gpu.upload(Y, [rows, l], 'Y');
    const S = gpu.tensor([rows, l], 'Ys');
    const ws = orthWorkspace(gpu, l, 3, 1);
    const enc = gpu.encoder('orth');
    const out = orthonormalize(enc, ws, X, S, rows);
    enc.submit();
    const [Q, info] = await Promise.all([gpu.read(out), gpu.readInt(ws.info)]);
    const deflated = [0, 1, 2].map((p) => info[p * (l + 1)]);
    gpu.release(X);
    gpu.release(S);
    releaseOrthWorkspace(gpu, ws);
    return { Q, deflated };
  }

  /** ‖Y − Q QᵀY‖_F / ‖Y‖_F in float64 */
  function residual(Y: Float32Array, Q: Float32Array, rows: number, l: number): number {
    let num = 0;
    let den = 0;
    for (let c = 0; c < l; c++) {
      const p = new Float64Array(l);
      for (let b = 0; b < l; b++) for (let i = 0; i < rows; i++) p[b] += Q[i * l + b] * Y[i * l + c];
      for (let i = 0; i < rows; i++) {
        let v = Y[i * l + c];
        for (let b = 0; b < l; b++) v -= Q[i * l + b] * p[b];
        num += v * v;
        den += Y[i * l + c] ** 2;
      }
    }
    return Math.sqrt(num / den);
  }

  it('an ill-conditioned block (κ = 1e6) comes out orthonormal and spanning Y', async () => {
    const [rows, l] = [300, 17];
    const sig = Array.from({ length: l }, (_, i) => 10 ** (-6 * (i / (l - 1))));
    const { A } = matrixWithSpectrum(rows, l, sig, 11);
    const { Q, deflated } = await orth(A, rows, l);
    const oe = orthogonalityError(Q, rows, l);
    const res = residual(A, Q, rows, l);
    console.log(
      `cholqr κ=1e6: ‖QᵀQ−I‖_F ${oe.toExponential(2)}, ‖Y−QQᵀY‖/‖Y‖ ${res.toExponential(2)}, deflated per pass ${deflated}`,
    );
    expect(oe).toBeLessThan(1e-5);
    expect(res).toBeLessThan(1e-5);
  });

  it('a rank-deficient block: dependent columns are deflated, refilled and orthonormalized', async () => {
    const [rows, l] = [129, 12];
    const Y = new Float32Array(rows * l);
    const g = new Rng(3, 'cols').fillNormal(new Float32Array(rows * 4));
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < l; c++) {
        // columns 4.. are combinations of the first four; column 11 is zero
        Y[i * l + c] = c < 4 ? g[i * 4 + c] : c === 11 ? 0 : g[i * 4 + (c % 4)] * 0.5 + g[i * 4 + ((c + 1) % 4)] * 0.25;
      }
    }
    const { Q, deflated } = await orth(Y, rows, l);
    const oe = orthogonalityError(Q, rows, l);
    const res = residual(Y, Q, rows, l);
    console.log(
      `cholqr rank 4 of 12: ‖QᵀQ−I‖_F ${oe.toExponential(2)}, residual ${res.toExponential(2)}, deflated per pass ${deflated}`,
    );
    expect(deflated.reduce((a, b) => a + b, 0)).toBe(l - 4);
    expect(oe).toBeLessThan(1e-5);
    expect(res).toBeLessThan(1e-5);
    expect(Q.every((x) => Number.isFinite(x))).toBe(true);
  });

  it('an all-zero block gives an orthonormal random basis, no NaN', async () => {
    const { Q } = await orth(new Float32Array(64 * 5), 64, 5);
    expect(Q.every((x) => Number.isFinite(x))).toBe(true);
    expect(orthogonalityError(Q, 64, 5)).toBeLessThan(1e-5);
  });
});

interface SpectrumCase {
  name: string;
  M: number;
  N: number;
  k: number;
  sigma: (i: number, r: number) => number;
  rank?: number;
  /** bound on max relative σ error vs the truth (q = 2); null: report only */
  tol: number | null;
}

const spectra: SpectrumCase[] = [
  { name: 'exact rank 12', M: 256, N: 192, k: 12, rank: 12, sigma: (i) => 1 - 0.07 * i, tol: 1e-4 },
  { name: 'fast decay 0.8^i', M: 160, N: 256, k: 10, sigma: (i) => 0.8 ** i, tol: 1e-3 },
  { name: 'power law (i+1)^-1', M: 200, N: 200, k: 10, sigma: (i) => 1 / (i + 1), tol: 1e-3 },
  { name: 'flat 1 − 0.3·i/r', M: 192, N: 130, k: 10, sigma: (i, r) => 1 - (0.3 * i) / r, tol: null },
];

describe('rsvd on matrices with known spectra (q = 2, p = 10)', () => {
  for (const c of spectra) {
    it(`${c.name}: ${c.M}×${c.N}, k=${c.k}`, async () => {
      const gpu = await testGpu();
      const r = c.rank ?? Math.min(c.M, c.N);
      const sigma = Array.from({ length: r }, (_, i) => c.sigma(i, r));
      const { A, U: Utrue } = matrixWithSpectrum(c.M, c.N, sigma, 7);
      const t = gpu.upload(A, [c.M, c.N], 'A');
      const res = await rsvd(gpu, { matrix: t, M: c.M, N: c.N, k: c.k, seed: 3 });
      gpu.release(t);
      const ref = rsvdRef(A, c.M, c.N, { k: c.k, seed: 3 });
      const ml = mlSvd(A, c.M, c.N);
      const mlU = ml.U.to1DArray();
      const mlCols = ml.U.columns;

      const errTruth = maxRel(res.S, sigma, c.k);
      const errMl = maxRel(res.S, ml.S, c.k);
      const errRef = maxRel(res.S, ref.S, c.k);
      const refTruth = maxRel(ref.S, sigma, c.k);
      const sinTrue = subspaceSin(res.U, c.k, Utrue, r, c.M, c.k);
      const sinMl = subspaceSin(res.U, c.k, mlU, mlCols, c.M, c.k);
      console.log(
        `rsvd ${c.name} ${c.M}×${c.N} k=${c.k} l=${res.l}: max rel σ err vs truth ${errTruth.toExponential(2)}, vs ml-matrix ${errMl.toExponential(2)}, ` +
          `vs CPU ref ${errRef.toExponential(2)} (CPU ref vs truth ${refTruth.toExponential(2)}); subspace ‖(I−UUᵀ)Û‖ vs truth ${sinTrue.toExponential(2)}, ` +
          `vs ml-matrix ${sinMl.toExponential(2)}; ‖QᵀQ−I‖_F ${res.orthError.toExponential(2)}; deflated ${res.deflated}`,
      );
      expect(res.orthError).toBeLessThan(1e-5);
      // the independent oracle agrees with the construction, so "truth" is trustworthy
      expect(maxRel(ml.S, sigma, c.k)).toBeLessThan(1e-5);
      // Ritz values never exceed the true singular values (up to float32 rounding)
      for (let i = 0; i < c.k; i++) expect(res.S[i]).toBeLessThanOrEqual(sigma[i] * (1 + 1e-5));
      if (c.tol !== null) {
        expect(errTruth).toBeLessThanOrEqual(c.tol);
        expect(errMl).toBeLessThanOrEqual(c.tol);
      } else {
        expect(errTruth).toBeLessThan(0.1);
      }
      // Same Ω as the float64 reference: the two runs agree far better than either does with the truth.
      expect(errRef).toBeLessThanOrEqual(c.tol === null ? 1e-3 : Math.max(1e-5, c.tol / 10));
      // U, Vt are singular vectors of A: A·v_j = σ_j·u_j (relative to σ_1)
      let worst = 0;
      for (let j = 0; j < Math.min(3, c.k); j++) {
        for (let i = 0; i < c.M; i++) {
          let s = 0;
          for (let q = 0; q < c.N; q++) s += A[i * c.N + q] * res.Vt[j * c.N + q];
          worst = Math.max(worst, Math.abs(s - res.S[j] * res.U[i * c.k + j]));
        }
      }
      if (c.tol !== null) expect(worst).toBeLessThan(1e-3 * sigma[0]);
    });
  }

  it('same seed ⇒ bit-identical results; another seed agrees within tolerance', async () => {
    const gpu = await testGpu();
    const [M, N] = [96, 70];
    const sigma = Array.from({ length: 70 }, (_, i) => 0.7 ** i);
    const { A } = matrixWithSpectrum(M, N, sigma, 5);
    const t = gpu.upload(A, [M, N], 'A');
    const a = await rsvd(gpu, { matrix: t, M, N, k: 6, seed: 9 });
    const b = await rsvd(gpu, { matrix: t, M, N, k: 6, seed: 9 });
    const c = await rsvd(gpu, { matrix: t, M, N, k: 6, seed: 10 });
    gpu.release(t);
    expect(Array.from(a.S)).toEqual(Array.from(b.S));
    expect(Array.from(a.U)).toEqual(Array.from(b.U));
    expect(maxRel(c.S, sigma, 6)).toBeLessThan(1e-4);
  });

  it('awkward shapes: vectors, k ≥ min(M, N), a zero matrix', async () => {
    const gpu = await testGpu();
    for (const [M, N, k] of [
      [1, 37, 3],
      [41, 1, 1],
      [33, 7, 10],
      [7, 33, 7],
      [150, 120, 60], // l = 70 > 64: the products fall back to matmul.wgsl `tiled`
    ]) {
      const A = new Rng(M * 100 + N, 'awk').fillNormal(new Float32Array(M * N));
      const t = gpu.upload(A, [M, N], 'A');
      const res = await rsvd(gpu, { matrix: t, M, N, k });
      gpu.release(t);
      const ml = mlSvd(A, M, N);
      const kk = Math.min(k, M, N);
      expect(res.k).toBe(kk);
      expect(res.U.length).toBe(M * kk);
      expect(res.Vt.length).toBe(kk * N);
      // a Gaussian matrix has a flat spectrum: only the oversampled full-width cases are near exact
      expect(maxRel(res.S, ml.S, kk)).toBeLessThan(kk + 10 >= Math.min(M, N) ? 1e-4 : 0.05);
      expect(res.orthError).toBeLessThan(1e-5);
      // same sketch as the float64 reference: agreement far below the algorithm's own error
      expect(maxRel(res.S, rsvdRef(A, M, N, { k }).S, kk)).toBeLessThan(1e-4);
    }
    const Z = gpu.zeros([20, 30], 'zero');
    const res = await rsvd(gpu, { matrix: Z, M: 20, N: 30, k: 4 });
    gpu.release(Z);
    expect(Array.from(res.S)).toEqual([0, 0, 0, 0]);
    expect(res.U.every((x) => Number.isFinite(x)) && res.Vt.every((x) => Number.isFinite(x))).toBe(true);
    expect(res.orthError).toBeLessThan(1e-5);
  });
});

describe('rsvd of an implicit operator W0 + s·B·A (not materialised)', () => {
  it('matches the dense matrix, with and without the base', async () => {
    const gpu = await testGpu();
    const [M, N, r, s] = [150, 90, 4, 2.5];
    const W0 = new Rng(1, 'w0').fillNormal(new Float32Array(M * N), 0.05);
    const B = new Rng(2, 'B').fillNormal(new Float32Array(M * r));
    const A = new Rng(3, 'A').fillNormal(new Float32Array(r * N));
    const dense = new Float32Array(M * N);
    const delta = new Float32Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let v = 0;
        for (let t = 0; t < r; t++) v += B[i * r + t] * A[t * N + j];
        delta[i * N + j] = s * v;
        dense[i * N + j] = W0[i * N + j] + s * v;
      }
    }
    const tW = gpu.upload(W0, [M, N], 'W0');
    const tB = gpu.upload(B, [M, r], 'B');
    const tA = gpu.upload(A, [r, N], 'A');
    const op = lowRankOperator(gpu, { base: tW, B: tB, A: tA, M, N, r, scale: s });
    const full = await rsvd(gpu, { operator: op, k: 8, seed: 4 });
    const tDense = gpu.upload(dense, [M, N], 'dense');
    const viaDense = await rsvd(gpu, { matrix: tDense, M, N, k: 8, seed: 4 });
    gpu.release(tDense);
    const opD = lowRankOperator(gpu, { base: null, B: tB, A: tA, M, N, r, scale: s });
    const upd = await rsvd(gpu, { operator: opD, k: r });
    op.dispose?.();
    opD.dispose?.();
    for (const t of [tW, tB, tA]) gpu.release(t);
    const mlFull = mlSvd(dense, M, N);
    const mlDelta = mlSvd(delta, M, N);
    const e0 = maxRel(full.S, viaDense.S, 8);
    const e1 = maxRel(full.S, mlFull.S, r);
    const e2 = maxRel(upd.S, mlDelta.S, r);
    console.log(
      `operator rsvd: W0+sBA vs the same rsvd of the dense matrix ${e0.toExponential(2)}; top-${r} vs ml-matrix ${e1.toExponential(2)} ` +
        `(σ_5..8 sit in the dense Marchenko–Pastur bulk: ${maxRel(full.S.subarray(r), mlFull.S.slice(r), 8 - r).toExponential(2)}); ` +
        `sBA alone (exact rank ${r}) ${e2.toExponential(2)}, deflated ${upd.deflated}`,
    );
    expect(e0).toBeLessThan(1e-4);
    expect(e1).toBeLessThan(1e-5);
    expect(e2).toBeLessThan(1e-4);
  });
});

describe('exactSvd (float64 one-sided Jacobi) vs ml-matrix', () => {
  it('full thin SVD of awkward shapes: σ, orthogonality, reconstruction', () => {
    for (const [M, N] of [
      [1, 1],
      [1, 9],
      [9, 1],
      [33, 127],
      [127, 33],
      [64, 64],
    ]) {
      const A = new Rng(M + 1000 * N, 'exact').fillNormal(new Float32Array(M * N));
      const s = exactSvd(A, M, N);
      const ml = mlSvd(A, M, N);
      const r = Math.min(M, N);
      expect(maxRel(s.S, ml.S, r)).toBeLessThan(1e-5);
      expect(orthogonalityError(s.U, M, r)).toBeLessThan(1e-5);
      let rec = 0;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let v = 0;
          for (let t = 0; t < r; t++) v += s.U[i * r + t] * s.S[t] * s.Vt[t * N + j];
          rec = Math.max(rec, Math.abs(v - A[i * N + j]));
        }
      }
      expect(rec).toBeLessThan(1e-5);
    }
  });
});
