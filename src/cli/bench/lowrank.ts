/**
 * `bench lowrank`: one LoRA-adapted linear layer (y = x·W + b + s·(x·Aᵀ)·Bᵀ and its backward), the fused
 * kernels (shaders/lowrank.wgsl, 2 + 2 dispatches) against the unfused sequence of matmuls (base, bias,
 * h, up; dx, dB, dh, dA, dx += dh·A — 4 + 5 dispatches), both through the same LowRankAdapter with only
 * `fused` switched, same process, same adapter. Width 768 (in = out), N = 512 rows, r ∈ {8, 64}.
 *
 * Each figure is the median over `trials` timings after one warm-up of each path (pipeline compiles);
 * fused and unfused alternate within a trial so load drift hits both alike. A timing is one submit of
 * the recorded pass(es) and a wait for the queue. Besides the required fields, each line reports the
 * base product alone in each path (`*_base_ms`: the same kernels with the low-rank term left out), so the
 * share of the ratio that comes from the kernel core vs from fusing the low-rank term is visible.
 */
import { emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu, GpuTensor } from '../../gpu/device';
import { lowrankBackward, lowrankForward, lowrankFusedSupported } from '../../gpu/kernels/lowrank';
import { linearBaseBackward, linearBaseForward, type Linear } from '../../engine/model/linear';
import { LowRankAdapter } from '../../engine/adapters/lowrank';
import { Rng } from '../../engine/rng';
import { median } from '../peers/tfjs';
import { CliError } from '../args';

type Pass = 'fwd' | 'fwd+bwd';

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench lowrank',
    declaredIn: 'src/cli/bench/lowrank.ts',
    booleans: ['json', 'quick'],
    values: ['N', 'ranks', 'trials', 'width'],
  });
  const json = has(args, 'json');
  const trials = numberFlag(args, 'trials', has(args, 'quick') ? 3 : 7);
  const N = numberFlag(args, 'N', 512);
  const width = numberFlag(args, 'width', 768);
  const ranks = (flag(args, 'ranks') ?? '8,64').split(',').map(Number);
  if (!lowrankFusedSupported(gpu))
    throw new CliError(
      `bench lowrank: the fused kernels are off on ${gpu.name} (they need 7 storage buffers per shader stage)`,
    );
  const inDim = width,
    outDim = width;
  const rng = new Rng(3, 'bench-lowrank');
  const up = (n: number, shape: number[], label: string, std = 1) =>
    gpu.upload(rng.fillNormal(new Float32Array(n), std), shape, label);
  const x = up(N * inDim, [N, inDim], 'bench:x');
  const dy = up(N * outDim, [N, outDim], 'bench:dy');
  const W = up(inDim * outDim, [inDim, outDim], 'bench:W', 0.02);
  const bias = up(outDim, [outDim], 'bench:b', 0.02);
  const y = gpu.tensor([N, outDim], 'bench:y');
  const dx = gpu.tensor([N, inDim], 'bench:dx');
  for (const r of ranks) {
    const layer: Linear = { name: 'bench', inDim, outDim, weight: W, bias, dWeight: null, dBias: null, adapter: null };
    const ad = new LowRankAdapter(gpu, layer, {
      rank: r,
      scaling: 2,
      A: rng.fillNormal(new Float32Array(r * inDim), 0.02),
      B: rng.fillNormal(new Float32Array(outDim * r), 0.02), // non-zero: the branch does real work
      trainA: true,
      trainB: true,
    });
    layer.adapter = ad;
    const h = gpu.tensor([N, r], 'bench:h0'),
      dh = gpu.tensor([N, r], 'bench:dh0');
    for (const pass of ['fwd', 'fwd+bwd'] as Pass[]) {
      const bwd = pass === 'fwd+bwd';
      const time = async (record: (enc: ReturnType<Gpu['encoder']>) => void): Promise<number> => {
        const enc = gpu.encoder(`bench-lowrank ${pass}`);
        record(enc);
        const t0 = performance.now();
        enc.submit();
        await gpu.sync();
        return performance.now() - t0;
      };
      const layerPass = (fused: boolean) => (enc: ReturnType<Gpu['encoder']>) => {
        ad.fused = fused;
        ad.forward(enc, layer, x, y, N);
        if (bwd) {
          ad.zeroGrads(enc);
          ad.backward(enc, layer, x, dy, dx, N);
        }
      };
      const basePass = (fused: boolean) => (enc: ReturnType<Gpu['encoder']>) => {
        const dims = { N, inDim, outDim, r: 0, scaling: 1 };
        if (fused) lowrankForward(enc, { ...dims, x, A: ad.A, B: ad.B, h, y, W, bias });
        else linearBaseForward(enc, layer, x, y, N);
        if (bwd) {
          if (fused) lowrankBackward(enc, { ...dims, x, dy, A: ad.A, B: ad.B, h, dh, dx, dA: null, dB: null, W });
          else linearBaseBackward(enc, layer, x, dy, dx, N);
        }
      };
      const paths = {
        fused: layerPass(true),
        unfused: layerPass(false),
        fusedBase: basePass(true),
        unfusedBase: basePass(false),
      };
      const ms: Record<keyof typeof paths, number[]> = { fused: [], unfused: [], fusedBase: [], unfusedBase: [] };
      for (const p of Object.values(paths)) await time(p); // warm-up: pipelines, uniforms, scratch
      const keys = Object.keys(paths) as (keyof typeof paths)[];
      for (let t = 0; t < trials; t++) {
        const order = t % 2 === 0 ? keys : [...keys].reverse();
        for (const k of order) ms[k].push(await time(paths[k]));
      }
      const fusedMs = median(ms.fused),
        unfusedMs = median(ms.unfused);
      const line = {
        bench: 'lowrank',
        N,
        in: inDim,
        out: outDim,
        r,
        pass,
        fused_ms: round(fusedMs),
        unfused_ms: round(unfusedMs),
        ratio: round(unfusedMs / fusedMs),
        fused_base_ms: round(median(ms.fusedBase)),
        unfused_base_ms: round(median(ms.unfusedBase)),
        dispatches: { fused: bwd ? 4 : 2, unfused: bwd ? 9 : 4 },
        trials,
        adapter: gpu.name,
      };
      if (json) emit(line);
      else
        console.log(
          `lowrank N=${N} ${inDim}→${outDim} r=${r} ${pass.padEnd(7)} fused ${line.fused_ms} ms  unfused ${line.unfused_ms} ms  ratio ${line.ratio}  (base only: fused ${line.fused_base_ms} ms, unfused ${line.unfused_base_ms} ms)`,
        );
    }
    gpu.release(h);
    gpu.release(dh);
    ad.dispose();
  }
  for (const t of [x, dy, W, bias, y, dx] as GpuTensor[]) gpu.release(t);
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);
