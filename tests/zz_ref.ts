import { jacobiSvd, singularValues, symmetricEigenvalues, rsvdRef, matrixWithSpectrum, orthogonalityError } from '../src/engine/ref/rsvd';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { Rng } from '../src/engine/rng';
function rnd(n: number, seed: number) { return new Rng(seed, 'x').fillNormal(new Float32Array(n)); }
for (const [M, N] of [[7, 5], [5, 7], [64, 64], [200, 60], [60, 200], [33, 127]] as const) {
  const a = rnd(M * N, M + N);
  const t = performance.now();
  const s = jacobiSvd(a, M, N);
  const dt = performance.now() - t;
  const ml = new SingularValueDecomposition(new Matrix(Array.from({ length: M }, (_, i) => Array.from(a.subarray(i * N, i * N + N)))), { autoTranspose: true });
  let maxd = 0;
  for (let i = 0; i < s.r; i++) maxd = Math.max(maxd, Math.abs(s.S[i] - ml.diagonal[i]) / ml.diagonal[0]);
  // reconstruction
  let rec = 0;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) { let v = 0; for (let t2 = 0; t2 < s.r; t2++) v += s.U![i * s.r + t2] * s.S[t2] * s.Vt![t2 * N + j]; rec = Math.max(rec, Math.abs(v - a[i * N + j])); }
  const oU = orthogonalityError(s.U!, M, s.r), oV = orthogonalityError(Array.from({length: N * s.r}, (_, e) => s.Vt![(e % s.r) * N + Math.floor(e / s.r)]), N, s.r);
  const sv = singularValues(a, M, N, { method: 'gram' });
  let gd = 0; for (let i = 0; i < s.r; i++) gd = Math.max(gd, Math.abs(sv[i] - s.S[i]) / s.S[0]);
  console.log(M, N, 'sweeps', s.sweeps, 'dS', maxd.toExponential(2), 'rec', rec.toExponential(2), 'oU', oU.toExponential(2), 'oV', oV.toExponential(2), 'gram', gd.toExponential(2), dt.toFixed(1) + 'ms');
}
for (const n of [256, 512]) {
  const a = rnd(n * n, 3);
  let t = performance.now(); const s = jacobiSvd(a, n, n, { vectors: 'left' }); const t1 = performance.now() - t;
  t = performance.now(); singularValues(a, n, n, { method: 'gram' }); const t2 = performance.now() - t;
  t = performance.now(); jacobiSvd(a, 3 * n, n / 1, { vectors: 'left' }); const t3 = performance.now() - t;
  console.log(n, 'jacobi left', t1.toFixed(0), 'sweeps', s.sweeps, 'gram vals', t2.toFixed(0), 'tall 3n x n', t3.toFixed(0));
}
const sig = Array.from({ length: 10 }, (_, i) => 1 - i * 0.05);
const { A } = matrixWithSpectrum(120, 80, sig, 1);
const r = rsvdRef(A, 120, 80, { k: 10 });
console.log('rsvdRef', Array.from(r.S).map((x, i) => (x / sig[i] - 1).toExponential(1)).join(' '), r.orthError);
