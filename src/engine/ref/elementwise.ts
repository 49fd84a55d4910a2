/**
 * CPU reference for the elementwise family (shaders/elementwise.wgsl): GELU (tanh form, GPT-2's
 * "gelu_new"), add, axpy, scale, fill, bias add and its backward. Plain loops, float64 arithmetic;
 * pure functions (inputs are never modified: "in-place" GPU ops return the new array here).
 */

type Arr = ArrayLike<number>;

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), Hendrycks & Gimpel 2016, eq. in §2. */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_A * x * x * x)));
}

/** d gelu / dx of the tanh form. */
export function geluGradScalar(x: number): number {
  const u = GELU_K * (x + GELU_A * x * x * x);
  const th = Math.tanh(u);
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_K * (1 + 3 * GELU_A * x * x);
}

export function geluForwardF64(a: { x: Arr }): Float64Array {
  const out = new Float64Array(a.x.length);
  for (let i = 0; i < out.length; i++) out[i] = geluScalar(a.x[i]);
  return out;
}

/** out = gelu(x). */
export function geluForward(a: { x: Arr }): Float32Array {
  return Float32Array.from(geluForwardF64(a));
}

/** dx = dout·gelu'(x) (overwrite, as the GPU kernel). */
export function geluBackward(a: { x: Arr; dout: Arr }): Float32Array {
  const dx = new Float32Array(a.x.length);
  for (let i = 0; i < dx.length; i++) dx[i] = a.dout[i] * geluGradScalar(a.x[i]);
  return dx;
}

/** out = a + b. */
export function add(a: { a: Arr; b: Arr }): Float32Array {
  const out = new Float32Array(a.a.length);
  for (let i = 0; i < out.length; i++) out[i] = a.a[i] + a.b[i];
  return out;
}

/** Returns y + alpha·x. */
export function axpy(a: { x: Arr; y: Arr; alpha: number }): Float32Array {
  const out = new Float32Array(a.y.length);
  for (let i = 0; i < out.length; i++) out[i] = a.y[i] + a.alpha * a.x[i];
  return out;
}

/** Returns s·x. */
export function scale(a: { x: Arr; s: number }): Float32Array {
  const out = new Float32Array(a.x.length);
  for (let i = 0; i < out.length; i++) out[i] = a.s * a.x[i];
  return out;
}

export function fill(a: { n: number; value: number }): Float32Array {
  return new Float32Array(a.n).fill(a.value);
}

export function addBiasF64(a: { x: Arr; bias: Arr; N: number; C: number }): Float64Array {
  const out = new Float64Array(a.N * a.C);
  for (let n = 0; n < a.N; n++) for (let c = 0; c < a.C; c++) out[n * a.C + c] = a.x[n * a.C + c] + a.bias[c];
  return out;
}

/** Returns x + bias broadcast over rows: x (N, C), bias (C). */
export function addBias(a: { x: Arr; bias: Arr; N: number; C: number }): Float32Array {
  return Float32Array.from(addBiasF64(a));
}

/** Returns dbias + Σ_n dout[n, :]: dout (N, C), dbias (C) (zeros when absent). */
export function biasBackward(a: { dout: Arr; dbias?: Arr; N: number; C: number }): Float32Array {
  const acc = new Float64Array(a.C);
  if (a.dbias) for (let c = 0; c < a.C; c++) acc[c] = a.dbias[c];
  for (let n = 0; n < a.N; n++) for (let c = 0; c < a.C; c++) acc[c] += a.dout[n * a.C + c];
  return Float32Array.from(acc);
}
