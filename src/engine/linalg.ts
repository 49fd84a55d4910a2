/**
 * CPU linear algebra in float64, the one module for it: one-sided Jacobi SVD, Householder QR, symmetric
 * tridiagonal eigenvalues, singular values, the exact thin SVD the analysis uses, and a plain GEMM.
 * Used by the analysis (spectra, intruder dimensions, mitigation), the adapter inits that need every
 * singular vector (PiSSA, MiLoRA, EVA, residual bases), the randomized SVD's small final SVD
 * (src/engine/rsvd.ts) and the CPU oracles (src/engine/ref/rsvd.ts). It runs in the worker or in Node,
 * never on the GPU, and imports nothing: it is not fast for big matrices (Jacobi costs ~8·m·n² flops per
 * sweep; intended up to ~1024 on a side).
 *
 * Layout: every matrix is a dense row-major array `(rows, cols)`; results are row-major too:
 * U (M, r), S (r) descending, Vt (r, N) with r = min(M, N).
 */

export type Vectors = 'both' | 'left' | 'right' | 'none';

export interface Svd64 {
  M: number;
  N: number;
  /** min(M, N) */
  r: number;
  /** number of singular vectors materialised (r unless maxVectors) */
  v: number;
  U: Float64Array | null; // (M, v)
  S: Float64Array; // (r) descending
  Vt: Float64Array | null; // (v, N)
  sweeps: number;
}

export interface JacobiOptions {
  vectors?: Vectors;
  /** Stop when every |cos| between two columns is below tol. Default max(1e-15, eps·√rows). */
  tol?: number;
  maxSweeps?: number;
  /** QR-precondition tall inputs (rows ≥ qrRatio·cols) before Jacobi (Drmač & Veselić 2008). Default 1.5. */
  qrRatio?: number;
  /** Materialise only the leading singular vectors (U (M, v), Vt (v, N)); default all r. */
  maxVectors?: number;
}

// ---- column helpers ------------------------------------------------------------------------------

/** Columns of a row-major (rows, cols) matrix as contiguous float64 arrays (views into one buffer). */
function columnsOf(a: ArrayLike<number>, rows: number, cols: number, transpose: boolean): Float64Array[] {
  // transpose=false: column j of A (length rows). transpose=true: column j of Aᵀ = row j of A (length cols).
  const n = transpose ? rows : cols;
  const m = transpose ? cols : rows;
  const buf = new Float64Array(n * m);
  const out: Float64Array[] = [];
  for (let j = 0; j < n; j++) out.push(buf.subarray(j * m, (j + 1) * m));
  if (transpose) {
    for (let j = 0; j < n; j++) {
      const c = out[j];
      const o = j * cols;
      for (let i = 0; i < m; i++) c[i] = a[o + i];
    }
  } else {
    for (let i = 0; i < m; i++) {
      const o = i * cols;
      for (let j = 0; j < n; j++) out[j][i] = a[o + j];
    }
  }
  return out;
}

function identityColumns(n: number): Float64Array[] {
  const buf = new Float64Array(n * n);
  const out: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const c = buf.subarray(j * n, (j + 1) * n);
    c[j] = 1;
    out.push(c);
  }
  return out;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

// ---- Householder QR --------------------------------------------------------------------------------

/** Thin Householder QR of a tall column set X (m × n, m ≥ n), in place: X holds the reflectors. */
export class HouseholderQR {
  readonly m: number;
  readonly n: number;
  private v: Float64Array[]; // reflector j lives in v[j][j..m)
  private vtv: Float64Array;
  /** R (n, n) upper triangular, row-major. */
  readonly R: Float64Array;

  constructor(cols: Float64Array[], m: number) {
    const n = cols.length;
    if (m < n) throw new Error(`HouseholderQR needs rows ≥ cols, got ${m}×${n}`);
    this.m = m;
    this.n = n;
    this.v = cols;
    this.vtv = new Float64Array(n);
    this.R = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const x = cols[j];
      let nrm2 = 0;
      for (let i = j; i < m; i++) nrm2 += x[i] * x[i];
      const nrm = Math.sqrt(nrm2);
      for (let i = 0; i < j; i++) this.R[i * n + j] = x[i];
      if (nrm === 0) {
        this.vtv[j] = 0;
        this.R[j * n + j] = 0;
        continue;
      }
      const x0 = x[j];
      const alpha = x0 >= 0 ? -nrm : nrm;
      const v0 = x0 - alpha;
      x[j] = v0;
      const vtv = v0 * v0 + nrm2 - x0 * x0;
      this.vtv[j] = vtv;
      this.R[j * n + j] = alpha;
      for (let c = j + 1; c < n; c++) {
        const y = cols[c];
        let w = 0;
        for (let i = j; i < m; i++) w += x[i] * y[i];
        const f = (2 * w) / vtv;
        for (let i = j; i < m; i++) y[i] -= f * x[i];
      }
    }
  }

  /** Q·[Y; 0] for Y given as columns of length n (or m, zero-padded below n): returns columns of length m. */
  applyQ(ycols: Float64Array[]): Float64Array[] {
    const { m, n } = this;
    const out = ycols.map((y) => {
      const z = new Float64Array(m);
      z.set(y.subarray(0, Math.min(y.length, n)));
      return z;
    });
    for (let j = n - 1; j >= 0; j--) {
      const vtv = this.vtv[j];
      if (vtv === 0) continue;
      const v = this.v[j];
      for (const z of out) {
        let w = 0;
        for (let i = j; i < m; i++) w += v[i] * z[i];
        const f = (2 * w) / vtv;
        for (let i = j; i < m; i++) z[i] -= f * v[i];
      }
    }
    return out;
  }
}

/** Thin QR of a row-major (m, n) matrix, m ≥ n: Q (m, n) and R (n, n), both row-major. */
export function qrThin(a: ArrayLike<number>, m: number, n: number): { Q: Float64Array; R: Float64Array } {
  const qr = new HouseholderQR(columnsOf(a, m, n, false), m);
  const qcols = qr.applyQ(identityColumns(n));
  return { Q: fromColumns(qcols, m), R: qr.R };
}

function fromColumns(cols: Float64Array[], m: number): Float64Array {
  const n = cols.length;
  const out = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const c = cols[j];
    for (let i = 0; i < m; i++) out[i * n + j] = c[i];
  }
  return out;
}

// ---- one-sided Jacobi ---------------------------------------------------------------------------

/**
 * Hestenes one-sided Jacobi on the columns of X (m × n): rotates columns pairwise until all are
 * mutually orthogonal (|cos| ≤ tol), accumulating the rotations in V when given. Cyclic row order;
 * squared norms are carried through each rotation (a' = a − t·g, b' = b + t·g) and refreshed per sweep.
 */
function jacobiSweeps(cols: Float64Array[], V: Float64Array[] | null, tol: number, maxSweeps: number): number {
  const n = cols.length;
  const norms = new Float64Array(n);
  let sweep = 0;
  for (; sweep < maxSweeps; sweep++) {
    for (let j = 0; j < n; j++) norms[j] = dot(cols[j], cols[j]);
    // de Rijk (1989): visit columns in order of decreasing norm; converges in fewer sweeps.
    const order = [...norms.keys()].sort((i, j) => norms[j] - norms[i]);
    const c2 = order.map((j) => cols[j]);
    const n2 = Float64Array.from(order, (j) => norms[j]);
    for (let j = 0; j < n; j++) {
      cols[j] = c2[j];
      norms[j] = n2[j];
    }
    if (V) {
      const v2 = order.map((j) => V[j]);
      for (let j = 0; j < n; j++) V[j] = v2[j];
    }
    let rotations = 0;
    for (let p = 0; p < n - 1; p++) {
      const cp = cols[p];
      const m = cp.length;
      for (let q = p + 1; q < n; q++) {
        const a = norms[p];
        const b = norms[q];
        if (a === 0 || b === 0) continue;
        const cq = cols[q];
        let g = 0;
        for (let i = 0; i < m; i++) g += cp[i] * cq[i];
        if (Math.abs(g) <= tol * Math.sqrt(a * b)) continue;
        rotations++;
        const zeta = (b - a) / (2 * g);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = cp[i];
          const y = cq[i];
          cp[i] = c * x - s * y;
          cq[i] = s * x + c * y;
        }
        norms[p] = a - t * g;
        norms[q] = b + t * g;
        if (V) {
          const vp = V[p];
          const vq = V[q];
          for (let i = 0; i < vp.length; i++) {
            const x = vp[i];
            const y = vq[i];
            vp[i] = c * x - s * y;
            vq[i] = s * x + c * y;
          }
        }
      }
    }
    if (rotations === 0) return sweep + 1;
  }
  return sweep;
}

/** Replace the listed columns of an orthonormal set by unit vectors orthogonal to all others (Gram–Schmidt, twice). */
function completeOrthonormal(cols: Float64Array[], missing: number[]): void {
  if (missing.length === 0) return;
  const m = cols[0].length;
  const missingSet = new Set(missing);
  const good = cols.filter((_, j) => !missingSet.has(j));
  let e = 0;
  for (const j of missing) {
    for (; e < m; e++) {
      const v = new Float64Array(m);
      v[e] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const g of good) {
          const d = dot(g, v);
          for (let i = 0; i < m; i++) v[i] -= d * g[i];
        }
      }
      const nrm = Math.sqrt(dot(v, v));
      if (nrm > 0.5) {
        for (let i = 0; i < m; i++) v[i] /= nrm;
        cols[j].set(v);
        good.push(cols[j]);
        e++;
        break;
      }
    }
  }
}

/**
 * SVD of a dense row-major (M, N) matrix by one-sided Jacobi in float64. Works on A when M ≥ N and on
 * Aᵀ otherwise, so the orthogonalized columns always have length max(M, N); a tall input (ratio ≥
 * qrRatio) is first reduced to its n×n triangular factor R (A = QR, then Jacobi on R, U = Q·U_R).
 * Columns of U with σ = 0 are completed to an orthonormal set, as LAPACK does (with maxVectors,
 * within the returned set).
 */
export function jacobiSvd(a: ArrayLike<number>, M: number, N: number, opts: JacobiOptions = {}): Svd64 {
  const vectors = opts.vectors ?? 'both';
  const transpose = M < N;
  const m = transpose ? N : M; // length of the columns we orthogonalize
  const n = transpose ? M : N; // their number (= r)
  const r = n;
  // Which side of the tall problem X (m × n) is needed: X = P Σ Wᵀ. Left of A = P unless transposed.
  const needP = transpose ? vectors === 'both' || vectors === 'right' : vectors === 'both' || vectors === 'left';
  const needW = transpose ? vectors === 'both' || vectors === 'left' : vectors === 'both' || vectors === 'right';
  const tol = opts.tol ?? Math.max(1e-15, Number.EPSILON * Math.sqrt(m));
  const maxSweeps = opts.maxSweeps ?? 60;
  const qrRatio = opts.qrRatio ?? 1.5;

  let cols = columnsOf(a, M, N, transpose); // n columns of length m
  let qr: HouseholderQR | null = null;
  if (n > 0 && m >= qrRatio * n) {
    qr = new HouseholderQR(cols, m);
    // Jacobi on R's columns (length n): R = U_R Σ Wᵀ, X = (Q U_R) Σ Wᵀ.
    const R = qr.R;
    const buf = new Float64Array(n * n);
    cols = [];
    for (let j = 0; j < n; j++) {
      const c = buf.subarray(j * n, (j + 1) * n);
      for (let i = 0; i <= j; i++) c[i] = R[i * n + j];
      cols.push(c);
    }
  }
  const W = needW ? identityColumns(n) : null;
  const sweeps = jacobiSweeps(cols, W, tol, maxSweeps);

  // σ_j = ‖x_j‖, sort descending.
  const sig = cols.map((c) => Math.sqrt(dot(c, c)));
  const order = [...sig.keys()].sort((i, j) => sig[j] - sig[i]);
  const S = Float64Array.from(order, (j) => sig[j]);

  const nv = Math.max(0, Math.min(r, opts.maxVectors ?? r));
  const lead = order.slice(0, nv);
  let P: Float64Array[] | null = null;
  if (needP) {
    P = lead.map((j) => {
      const c = cols[j];
      const s = sig[j];
      const u = new Float64Array(c.length);
      if (s > 0) for (let i = 0; i < c.length; i++) u[i] = c[i] / s;
      return u;
    });
    const zero = lead.map((j, k) => (sig[j] > 0 ? -1 : k)).filter((k) => k >= 0);
    completeOrthonormal(P, zero);
    if (qr) P = qr.applyQ(P);
  }
  const Wcols = W ? lead.map((j) => W[j]) : null;

  // Back to A's orientation: A = P Σ Wᵀ (not transposed) or A = W Σ Pᵀ (transposed).
  const Ucols = transpose ? Wcols : P;
  const Vcols = transpose ? P : Wcols;
  let U: Float64Array | null = null;
  let Vt: Float64Array | null = null;
  if (Ucols) U = fromColumns(Ucols, M);
  if (Vcols) {
    Vt = new Float64Array(nv * N);
    for (let k = 0; k < nv; k++) Vt.set(Vcols[k], k * N);
  }
  return { M, N, r, v: nv, U, S, Vt, sweeps };
}

// ---- symmetric eigenvalues (values only) --------------------------------------------------------

/**
 * Eigenvalues of a symmetric (n, n) row-major matrix, ascending: Householder tridiagonalization
 * (Golub & Van Loan, Alg. 8.3.1) then the implicit QL iteration with Wilkinson shifts (tql1).
 * The input is copied.
 */
export function symmetricEigenvalues(G: ArrayLike<number>, n: number): Float64Array {
  const A = Float64Array.from(G as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const row = k * n;
    let nrm2 = 0;
    for (let i = k + 1; i < n; i++) nrm2 += A[row + i] * A[row + i];
    if (nrm2 === 0) {
      e[k] = 0;
      continue;
    }
    const nrm = Math.sqrt(nrm2);
    const x0 = A[row + k + 1];
    const alpha = x0 >= 0 ? -nrm : nrm;
    for (let i = k + 1; i < n; i++) v[i] = A[row + i];
    v[k + 1] = x0 - alpha;
    let vtv = 0;
    for (let i = k + 1; i < n; i++) vtv += v[i] * v[i];
    const beta = 2 / vtv;
    // p = β·A22·v, w = p − (β·pᵀv/2)·v, A22 −= v wᵀ + w vᵀ
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) s += A[ri + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const kk = (beta * pv) / 2;
    for (let i = k + 1; i < n; i++) p[i] -= kk * v[i];
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const vi = v[i];
      const wi = p[i];
      for (let j = k + 1; j < n; j++) A[ri + j] -= vi * p[j] + wi * v[j];
    }
    e[k] = alpha;
  }
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  if (n >= 2) e[n - 2] = A[(n - 2) * n + n - 1];
  e[n - 1] = 0;
  tql1(d, e, n);
  return d.sort();
}

/** Implicit QL with shifts on a symmetric tridiagonal (d diagonal, e[i] couples i and i+1); d ← eigenvalues. */
function tql1(d: Float64Array, e: Float64Array, n: number): void {
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iter++ >= 60) throw new Error('symmetricEigenvalues: QL iteration did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let pp = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= pp;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - pp;
        r = (d[i] - g) * s + 2 * c * b;
        pp = s * r;
        d[i + 1] = g + pp;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l] -= pp;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * All singular values of a dense (M, N) matrix, descending, float64. Small matrices (min side ≤ 160)
 * use Jacobi; larger ones the eigenvalues of the float64 Gram matrix of the smaller side (≈ m·n² +
 * 4n³/3 flops instead of ~8·m·n² per Jacobi sweep). The Gram route squares the condition number, so
 * singular values below ~1e-8·σ₁ are not resolved — far below the float32 noise floor of the data.
 */
export function singularValues(
  a: ArrayLike<number>,
  M: number,
  N: number,
  opts: { method?: 'auto' | 'jacobi' | 'gram' } = {},
): Float64Array {
  const n = Math.min(M, N);
  const method = opts.method ?? 'auto';
  if (method === 'jacobi' || (method === 'auto' && n <= 160)) return jacobiSvd(a, M, N, { vectors: 'none' }).S;
  const cols = columnsOf(a, M, N, M < N); // n columns of length max(M, N)
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const g = dot(cols[i], cols[j]);
      G[i * n + j] = g;
      G[j * n + i] = g;
    }
  }
  const ev = symmetricEigenvalues(G, n);
  const S = new Float64Array(n);
  for (let i = 0; i < n; i++) S[i] = Math.sqrt(Math.max(0, ev[n - 1 - i]));
  return S;
}

// ---- GEMM and orthogonality ---------------------------------------------------------------------

/** C (m, n) = A (m, K) · B (K, n), float64, row-major; transA/transB read the stored transposes. */
export function gemm(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  K: number,
  transA = false,
  transB = false,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let k = 0; k < K; k++) {
      const av = transA ? a[k * m + i] : a[i * K + k];
      if (av === 0) continue;
      if (transB) for (let j = 0; j < n; j++) out[o + j] += av * b[j * K + k];
      else {
        const bo = k * n;
        for (let j = 0; j < n; j++) out[o + j] += av * b[bo + j];
      }
    }
  }
  return out;
}

/** ‖QᵀQ − I‖_F for Q (m, n) row-major. */
export function orthogonalityError(Q: ArrayLike<number>, m: number, n: number): number {
  const G = gemm(Q, Q, n, n, m, true, false);
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += (G[i * n + j] - (i === j ? 1 : 0)) ** 2;
  return Math.sqrt(s);
}

// ---- exact SVD with sign convention ---------------------------------------------------------------

/** Flip signs so the largest-magnitude entry of each U column is positive (sklearn's flip_sign). */
export function flipSigns(U: Float32Array, Vt: Float32Array, M: number, N: number, k: number): void {
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let i = 0; i < M; i++) if (Math.abs(U[i * k + j]) > Math.abs(best)) best = U[i * k + j];
    if (best < 0) {
      for (let i = 0; i < M; i++) U[i * k + j] = -U[i * k + j];
      for (let i = 0; i < N; i++) Vt[j * N + i] = -Vt[j * N + i];
    }
  }
}

export interface ExactSvd {
  U: Float32Array; // (M, r), r = min(M, N); empty when not requested
  S: Float32Array; // (r) descending
  Vt: Float32Array; // (r, N); empty when not requested
  /** The float64 singular values, for statistics that sum many small terms. */
  S64: Float64Array;
  sweeps: number;
}

/**
 * Full thin SVD of a row-major (M, N) matrix: one-sided Jacobi in float64 on the CPU (runs in the
 * worker or in Node; intended up to ~1024 on a side — cost ≈ 8·max·min² flops per sweep, ~10 sweeps).
 * Signs follow the same convention as rsvd (src/engine/rsvd.ts) (largest |entry| of each U column positive).
 */
export function exactSvd(data: ArrayLike<number>, M: number, N: number, opts: { vectors?: Vectors } = {}): ExactSvd {
  const vectors = opts.vectors ?? 'both';
  const svd = jacobiSvd(data, M, N, { vectors });
  const r = svd.r;
  const U = svd.U ? Float32Array.from(svd.U) : new Float32Array(0);
  const Vt = svd.Vt ? Float32Array.from(svd.Vt) : new Float32Array(0);
  if (svd.U && svd.Vt) flipSigns(U, Vt, M, N, r);
  else if (svd.U) flipSigns(U, new Float32Array(r * N), M, N, r);
  return { U, S: Float32Array.from(svd.S), Vt, S64: svd.S, sweeps: svd.sweeps };
}
