/**
 * `bench rsvd`: randomized SVD on the GPU (src/engine/rsvd.ts over src/gpu/kernels/rsvd.ts) against ml-matrix's full SVD in
 * the same process on the same matrix (ENVIRONMENT.md, "Timing on noisy shared machines": ratios side
 * by side, medians after a warm-up, adapter named).
 *
 * Matrix: A = U·diag(σ)·Vᵀ with σ_i = exp(−i/16) + 1e-3 (a decaying spectrum with a floor, full rank)
 * and dense orthogonal U, V (orthonormal DCT-II columns under a random sign flip and permutation:
 * exactly orthogonal, cheap to build, every entry O(1/√n)). The product is formed on the GPU.
 *
 * ml-matrix computes every singular triplet, so it is timed once per shape and reused for every k.
 * Ours: median of `reps` runs after one warm-up; a run is everything from the sketch to U, Σ, Vᵀ on the
 * CPU (GPU work, readback of Q and Bᵀ, float64 small SVD) with A already resident on the GPU.
 * maxRelSigmaErr = max over the top k of |σ_ours − σ_ml| / σ_ml.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { emit, has, numberFlag, parseArgs } from '../args';
import type { Gpu } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { rsvd } from '../../engine/rsvd';
import { Rng } from '../../engine/rng';

export const help =
  'randomized SVD (GPU) vs ml-matrix full SVD: 768×768, 768×3072, 3072×768, k ∈ {8, 32} (--json, --quick, --reps n)';

export interface RsvdBenchOptions {
  shapes?: [number, number][];
  ks?: number[];
  reps?: number;
  powerIters?: number;
  oversample?: number;
  seed?: number;
}

export interface RsvdBenchLine {
  bench: 'rsvd';
  M: number;
  N: number;
  k: number;
  l: number;
  q: number;
  ours_ms: number;
  ours_gpu_ms: number;
  ours_cpu_ms: number;
  mlmatrix_ms: number;
  ratio: number;
  maxRelSigmaErr: number;
  orthError: number;
  spectrum: string;
  adapter: string;
}

export const FULL_SHAPES: [number, number][] = [
  [768, 768],
  [768, 3072],
  [3072, 768],
];
export const QUICK_SHAPES: [number, number][] = [
  [128, 128],
  [128, 384],
  [384, 128],
];

const SPECTRUM = 'exp(-i/16)+1e-3';
const sigmaAt = (i: number) => Math.exp(-i / 16) + 1e-3;

/** n×r slice of a dense orthogonal n×n matrix: orthonormal DCT-II rows, random signs, random column choice. */
function orthogonalColumns(n: number, r: number, rng: Rng): Float32Array {
  const perm = rng.permutation(n);
  const out = new Float32Array(n * r); // (n, r)
  for (let j = 0; j < r; j++) {
    const f = perm[j]; // frequency of this column
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    const scale = sign * (f === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n));
    for (let i = 0; i < n; i++) out[i * r + j] = scale * Math.cos((Math.PI * (2 * i + 1) * f) / (2 * n));
  }
  return out;
}

async function syntheticMatrix(gpu: Gpu, M: number, N: number, seed: number) {
  const r = Math.min(M, N);
  const rng = new Rng(seed, 'bench.rsvd.matrix');
  const US = orthogonalColumns(M, r, rng); // (M, r), scaled by σ below
  for (let i = 0; i < M; i++) for (let j = 0; j < r; j++) US[i * r + j] *= sigmaAt(j);
  const V = orthogonalColumns(N, r, rng); // (N, r)
  const tU = gpu.upload(US, [M, r], 'bench:U·Σ');
  const tV = gpu.upload(V, [N, r], 'bench:V');
  const A = gpu.tensor([M, N], 'bench:A', 'analysis');
  const enc = gpu.encoder('bench:build');
  matmul(enc, { a: tU, b: tV, c: A, M, N, K: r, transB: true });
  enc.submit();
  const data = await gpu.read(A);
  gpu.release(tU);
  gpu.release(tV);
  return { A, data };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, d = 3) => Number(x.toPrecision(d + 1));

export async function* benchRsvd(gpu: Gpu, opts: RsvdBenchOptions = {}): AsyncGenerator<RsvdBenchLine> {
  const shapes = opts.shapes ?? FULL_SHAPES;
  const ks = opts.ks ?? [8, 32];
  const reps = Math.max(1, opts.reps ?? 5);
  const q = opts.powerIters ?? 2;
  const p = opts.oversample ?? 10;
  for (const [M, N] of shapes) {
    const { A, data } = await syntheticMatrix(gpu, M, N, opts.seed ?? 1);
    try {
      const rows: number[][] = [];
      for (let i = 0; i < M; i++) rows.push(Array.from(data.subarray(i * N, (i + 1) * N)));
      const mat = new Matrix(rows);
      const t0 = performance.now();
      const ml = new SingularValueDecomposition(mat, { autoTranspose: true });
      const mlMs = performance.now() - t0;
      const mlSigma = ml.diagonal;
      for (const k of ks) {
        await rsvd(gpu, { matrix: A, M, N, k, oversample: p, powerIters: q }); // warm-up: pipelines, pool
        const times: number[] = [];
        const gpuT: number[] = [];
        const cpuT: number[] = [];
        let last = null as Awaited<ReturnType<typeof rsvd>> | null;
        for (let rep = 0; rep < reps; rep++) {
          const t = performance.now();
          last = await rsvd(gpu, { matrix: A, M, N, k, oversample: p, powerIters: q });
          times.push(performance.now() - t);
          gpuT.push(last.gpuMs);
          cpuT.push(last.cpuMs);
        }
        let err = 0;
        for (let i = 0; i < k; i++) err = Math.max(err, Math.abs(last!.S[i] - mlSigma[i]) / mlSigma[i]);
        const ours = median(times);
        yield {
          bench: 'rsvd',
          M,
          N,
          k,
          l: last!.l,
          q,
          ours_ms: round(ours),
          ours_gpu_ms: round(median(gpuT)),
          ours_cpu_ms: round(median(cpuT)),
          mlmatrix_ms: round(mlMs),
          ratio: round(mlMs / ours),
          maxRelSigmaErr: round(err, 2),
          orthError: round(last!.orthError, 2),
          spectrum: SPECTRUM,
          adapter: gpu.name,
        };
      }
    } finally {
      gpu.release(A);
    }
  }
}

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench rsvd',
    declaredIn: 'src/cli/bench/rsvd.ts',
    booleans: ['json', 'quick'],
    values: ['p', 'q', 'reps'],
  });
  const quick = has(args, 'quick');
  const json = has(args, 'json');
  const opts: RsvdBenchOptions = {
    shapes: quick ? QUICK_SHAPES : FULL_SHAPES,
    reps: numberFlag(args, 'reps', quick ? 3 : 5),
    powerIters: numberFlag(args, 'q', 2),
    oversample: numberFlag(args, 'p', 10),
  };
  if (!json)
    console.log(
      `rsvd vs ml-matrix SVD on ${gpu.name} (spectrum ${SPECTRUM}, q=${opts.powerIters}, p=${opts.oversample})`,
    );
  for await (const line of benchRsvd(gpu, opts)) {
    if (json) emit(line);
    else {
      console.log(
        `${`${line.M}×${line.N}`.padEnd(10)} k=${String(line.k).padEnd(3)} ours ${line.ours_ms} ms (gpu ${line.ours_gpu_ms} + cpu ${line.ours_cpu_ms})` +
          `  ml-matrix ${line.mlmatrix_ms} ms  ratio ${line.ratio}×  max rel σ err ${line.maxRelSigmaErr}  ‖QᵀQ−I‖ ${line.orthError}`,
      );
    }
  }
}
