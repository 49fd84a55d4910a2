/**
 * CPU reference for the matmul family: plain loops over dense row-major matrices, float64
 * accumulation. The oracle for shaders/matmul.wgsl; deliberately shares no code with it.
 */

export interface MatmulRefArgs {
  M: number;
  N: number;
  K: number;
  transA?: boolean; // A stored (K, M)
  transB?: boolean; // B stored (N, K)
  batch?: number;
  alpha?: number;
  beta?: 0 | 1;
}

/** C (batch, M, N) = alpha·op(A)·op(B) + beta·C. Returns a new array (C is copied when beta = 1). */
export function matmulRef(a: Float32Array, b: Float32Array, args: MatmulRefArgs, c?: Float32Array): Float32Array {
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  const alpha = args.alpha ?? 1;
  const beta = args.beta ?? 0;
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K,
      bo = z * K * N,
      co = z * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const av = args.transA ? a[ao + k * M + i] : a[ao + i * K + k];
          const bv = args.transB ? b[bo + j * K + k] : b[bo + k * N + j];
          acc += av * bv;
        }
        const prev = beta && c ? c[co + i * N + j] : 0;
        out[co + i * N + j] = alpha * acc + beta * prev;
      }
    }
  }
  return out;
}

/** Dense transpose of a (rows, cols) matrix. */
export function transposeRef(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}
