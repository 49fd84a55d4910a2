import { jacobiSvd } from '../src/engine/ref/rsvd';
import { Rng } from '../src/engine/rng';
const n = 384;
const a = new Rng(1, 'x').fillNormal(new Float32Array(n * n));
for (const tol of [undefined, 1e-13, 1e-11]) {
  const t = performance.now();
  const s = jacobiSvd(a, n, n, { vectors: 'left', tol });
  console.log(tol, performance.now() - t, s.sweeps);
}
