/**
 * `bench matmul`: our matmul kernels against TensorFlow.js's WebGPU `matMul`, same process, same
 * adapter. Squares 256/512/1024 and the skinny shapes of low-rank adapters (M=1024, K=768, N=r and
 * the transposes M=1024, K=r, N=768). Median of several timed repetitions after a warm-up; each
 * timing covers `reps` products and one final sync, for both sides alike.
 */
import { emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu } from '../../gpu/device';
import { matmul, chooseVariant, type MatmulVariant } from '../../gpu/kernels/matmul';
import { Rng } from '../../engine/rng';
import { loadTfjsWebgpu, median } from '../peers/tfjs';

interface Shape {
  M: number;
  K: number;
  N: number;
}

export const shapes: Shape[] = [
  { M: 256, K: 256, N: 256 },
  { M: 512, K: 512, N: 512 },
  { M: 1024, K: 1024, N: 1024 },
  ...[4, 8, 16, 64].map((r) => ({ M: 1024, K: 768, N: r })),
  ...[4, 8, 16, 64].map((r) => ({ M: 1024, K: r, N: 768 })),
];

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench matmul',
    declaredIn: 'src/cli/bench/matmul.ts',
    booleans: ['json', 'quick', 'no-peer'],
    values: ['shape', 'trials', 'variants'],
  });
  if (has(args, 'variants')) return compareVariants(gpu, args);
  const trials = numberFlag(args, 'trials', has(args, 'quick') ? 2 : 5);
  const only = flag(args, 'shape'); // e.g. 1024x1024x1024 (MxKxN)
  const list = has(args, 'quick') ? shapes.filter((s) => s.M * s.N * s.K <= 512 ** 3) : shapes;
  const tf = has(args, 'no-peer') ? null : await loadTfjsWebgpu();
  for (const s of list) {
    if (only && only !== `${s.M}x${s.K}x${s.N}`) continue;
    const flops = 2 * s.M * s.N * s.K;
    const reps = Math.max(1, Math.min(20, Math.round(2e9 / flops)));
    const rng = new Rng(7, 'bench-matmul');
    const a = rng.fillNormal(new Float32Array(s.M * s.K));
    const b = rng.fillNormal(new Float32Array(s.K * s.N));
    const ta = gpu.upload(a, [s.M, s.K], 'bench:A');
    const tb = gpu.upload(b, [s.K, s.N], 'bench:B');
    const tc = gpu.tensor([s.M, s.N], 'bench:C');
    const variant = chooseVariant(s.M, s.N);
    const ours = async () => {
      const enc = gpu.encoder('bench-matmul');
      for (let i = 0; i < reps; i++) matmul(enc, { a: ta, b: tb, c: tc, M: s.M, N: s.N, K: s.K });
      enc.submit();
      await gpu.read(tc, 1);
    };
    await ours(); // warm-up: pipeline compile
    const oursMs: number[] = [];
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      await ours();
      oursMs.push((performance.now() - t0) / reps);
    }
    gpu.release(ta);
    gpu.release(tb);
    gpu.release(tc);
    let tfMs = NaN;
    if (tf) {
      const A = tf.tensor2d(a, [s.M, s.K]);
      const B = tf.tensor2d(b, [s.K, s.N]);
      const peer = async () => {
        let last = null as null | import('@tensorflow/tfjs-core').Tensor;
        for (let i = 0; i < reps; i++) {
          last?.dispose();
          last = tf.matMul(A, B);
        }
        const probe = tf.slice(last!, [0, 0], [1, 1]);
        await probe.data();
        probe.dispose();
        last!.dispose();
      };
      await peer();
      const ms: number[] = [];
      for (let t = 0; t < trials; t++) {
        const t0 = performance.now();
        await peer();
        ms.push((performance.now() - t0) / reps);
      }
      A.dispose();
      B.dispose();
      tfMs = median(ms);
    }
    const ourMs = median(oursMs);
    const ours_gflops = flops / ourMs / 1e6;
    const tfjs_gflops = flops / tfMs / 1e6;
    emit({
      kernel: 'matmul',
      M: s.M,
      K: s.K,
      N: s.N,
      variant,
      ours_gflops: round(ours_gflops),
      tfjs_gflops: round(tfjs_gflops),
      ratio: round(ours_gflops / tfjs_gflops),
      ours_ms: round(ourMs),
      tfjs_ms: round(tfMs),
      reps,
      trials,
      adapter: gpu.name,
    });
  }
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/** The randomized SVD's wide products (l = k + p > 64 columns): A·X and Aᵀ·Y of a 768×3072 weight. */
const RSVD_SHAPES: (Shape & { transA?: boolean })[] = [
  { M: 768, K: 3072, N: 74 },
  { M: 3072, K: 768, N: 74, transA: true },
];

/**
 * `bench matmul --variants regs,vec4`: every listed variant on every shape (plus the rSVD shapes), ms
 * per product and GFLOP/s, so a variant is kept only while some shape needs it (the figures that
 * retired `tiled` and `skinny` are in the README, "Matmul").
 */
async function compareVariants(gpu: Gpu, args: ReturnType<typeof parseArgs>): Promise<void> {
  const known: MatmulVariant[] = ['naive', 'regs', 'vec4', 'auto'];
  const variants = flag(args, 'variants')!.split(',') as MatmulVariant[];
  const bad = variants.filter((v) => !known.includes(v));
  if (bad.length) throw new Error(`bench matmul --variants: unknown ${bad.join(', ')} (known: ${known.join(', ')})`);
  const trials = numberFlag(args, 'trials', has(args, 'quick') ? 2 : 5);
  const only = flag(args, 'shape');
  const list = [...(has(args, 'quick') ? shapes.filter((s) => s.M * s.N * s.K <= 512 ** 3) : shapes), ...RSVD_SHAPES];
  for (const s of list as (Shape & { transA?: boolean })[]) {
    if (only && only !== `${s.M}x${s.K}x${s.N}`) continue;
    const flops = 2 * s.M * s.N * s.K;
    const reps = Math.max(1, Math.min(20, Math.round(2e9 / flops)));
    const rng = new Rng(7, 'bench-matmul');
    const ta = gpu.upload(rng.fillNormal(new Float32Array(s.M * s.K)), [s.M * s.K], 'bench:A');
    const tb = gpu.upload(rng.fillNormal(new Float32Array(s.K * s.N)), [s.K, s.N], 'bench:B');
    const tc = gpu.tensor([s.M, s.N], 'bench:C');
    const row: Record<string, unknown> = { kernel: 'matmul-variants', M: s.M, K: s.K, N: s.N, transA: !!s.transA };
    for (const variant of variants) {
      const once = async () => {
        const enc = gpu.encoder('bench-matmul');
        for (let i = 0; i < reps; i++)
          matmul(enc, { a: ta, b: tb, c: tc, M: s.M, N: s.N, K: s.K, transA: s.transA, variant });
        enc.submit();
        await gpu.read(tc, 1);
      };
      await once();
      const ms: number[] = [];
      for (let t = 0; t < trials; t++) {
        const t0 = performance.now();
        await once();
        ms.push((performance.now() - t0) / reps);
      }
      const m = median(ms);
      row[`${variant}_ms`] = round(m);
      row[`${variant}_gflops`] = round(flops / m / 1e6);
    }
    gpu.release(ta);
    gpu.release(tb);
    gpu.release(tc);
    emit({ ...row, reps, trials, adapter: gpu.name });
  }
}
