import { jacobiSvd, HouseholderQR } from '../src/engine/ref/rsvd';
import { Rng } from '../src/engine/rng';
const n = 512, m = 1536;
const a = new Rng(1, 'x').fillNormal(new Float32Array(m * n));
let t = performance.now();
const cols: Float64Array[] = []; const buf = new Float64Array(m * n);
for (let j = 0; j < n; j++) { const c = buf.subarray(j * m, (j + 1) * m); for (let i = 0; i < m; i++) c[i] = a[i * n + j]; cols.push(c); }
const qr = new HouseholderQR(cols, m);
console.log('qr', performance.now() - t); t = performance.now();
const id: Float64Array[] = []; for (let j = 0; j < n; j++) { const c = new Float64Array(n); c[j] = 1; id.push(c); }
qr.applyQ(id);
console.log('applyQ', performance.now() - t); t = performance.now();
const s = jacobiSvd(qr.R, n, n, { vectors: 'left', qrRatio: 100 });
console.log('jacobi R', performance.now() - t, s.sweeps); t = performance.now();
const s2 = jacobiSvd(a, m, n, { vectors: 'left', qrRatio: 100 });
console.log('jacobi direct', performance.now() - t, s2.sweeps);
