/**
 * `bench vocab`: the LM head + cross-entropy forward and backward at real vocabulary sizes — the
 * vocabulary-sharded, row-chunked path (src/engine/model/vocab.ts: per-shard matmuls into a logits chunk,
 * in-place fused softmax-CE, dx and dW per shard) against the unsharded path the GPT-2 model runs (full
 * (N, V) logits, crossentropy.wgsl, two matmuls), same process, same adapter. The unsharded path is
 * skipped (with the reason) when its table or its logits exceed one storage binding — GPT-2's 50 257 × 768
 * table on llvmpipe, which is what the sharded path exists for. Each figure is the median of `trials`
 * timings after a warm-up; the paths alternate within a trial. Logits bytes are what each path holds.
 */
import { emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { crossEntropyForwardBackward } from '../../gpu/kernels/crossentropy';
import { VocabTable, headChunkRows, headLoss, logitsStride } from '../../engine/model/vocab';
import { Rng } from '../../engine/rng';
import { median } from '../peers/tfjs';

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench vocab',
    declaredIn: 'src/cli/bench/vocab.ts',
    booleans: ['json', 'quick'],
    values: ['V', 'C', 'N', 'trials'],
  });
  const quick = has(args, 'quick');
  const json = has(args, 'json');
  const trials = numberFlag(args, 'trials', quick ? 1 : 3);
  const C = numberFlag(args, 'C', 768);
  const N = numberFlag(args, 'N', quick ? 16 : 64);
  const Vs = (flag(args, 'V') ?? (quick ? '8192' : '32768,50257')).split(',').map(Number);
  const limit = gpu.description.limits.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
  const rng = new Rng(5, 'bench-vocab');
  const x = gpu.upload(rng.fillNormal(new Float32Array(N * C), 1), [N, C], 'bench:x');
  const mask = gpu.upload(new Float32Array(N).fill(1), [N], 'bench:mask');
  const losses = gpu.tensor([N], 'bench:losses');
  const dx = gpu.tensor([N, C], 'bench:dx');
  for (const V of Vs) {
    const w = rng.fillNormal(new Float32Array(V * C), 0.02);
    const targets = gpu.upload(
      Int32Array.from({ length: N }, (_, i) => (i * 7919) % V),
      [N],
      'bench:targets',
    );
    const W = new VocabTable(gpu, V, C, 'bench:W');
    W.upload(w);
    const dW = W.like('bench:dW', 'gradients');
    const time = async (rec: (enc: StepEncoder) => void): Promise<number> => {
      const enc = gpu.encoder('bench-vocab');
      rec(enc);
      const t0 = performance.now();
      enc.submit();
      await gpu.sync();
      return performance.now() - t0;
    };
    const sharded = (enc: StepEncoder) => headLoss(enc, { x, W, targets, mask, losses, N, gradScale: 1 / N, dx, dW });
    const tableBytes = V * C * 4,
      fullLogitsBytes = N * V * 4;
    const skip =
      tableBytes > limit
        ? `the (V, C) table is ${tableBytes} bytes, above the ${limit}-byte binding limit`
        : fullLogitsBytes > limit
          ? `the (N, V) logits are ${fullLogitsBytes} bytes, above the ${limit}-byte binding limit`
          : null;
    let unsharded: ((enc: StepEncoder) => void) | null = null;
    const extra: GpuTensor[] = [];
    if (!skip) {
      const Wf = gpu.upload(w, [V, C], 'bench:Wfull'),
        dWf = gpu.zeros([V, C], 'bench:dWfull'),
        logits = gpu.tensor([N, V], 'bench:logits'),
        dlogits = gpu.tensor([N, V], 'bench:dlogits');
      extra.push(Wf, dWf, logits, dlogits);
      unsharded = (enc) => {
        matmul(enc, { a: x, b: Wf, c: logits, M: N, N: V, K: C, transB: true });
        crossEntropyForwardBackward(enc, { logits, targets, mask, losses, dlogits, N, V, gradScale: 1 / N });
        matmul(enc, { a: dlogits, b: Wf, c: dx, M: N, K: V, N: C });
        matmul(enc, { a: dlogits, b: x, c: dWf, M: V, K: N, N: C, transA: true, beta: 1 });
      };
    }
    await time(sharded);
    if (unsharded) await time(unsharded);
    const ms = { sharded: [] as number[], unsharded: [] as number[] };
    for (let t = 0; t < trials; t++) {
      const order: ('sharded' | 'unsharded')[] = t % 2 === 0 ? ['sharded', 'unsharded'] : ['unsharded', 'sharded'];
      for (const k of order) {
        if (k === 'sharded') ms.sharded.push(await time(sharded));
        else if (unsharded) ms.unsharded.push(await time(unsharded));
      }
    }
    const R = headChunkRows(gpu, V, N);
    const s = median(ms.sharded),
      u = unsharded ? median(ms.unsharded) : NaN;
    const line = {
      bench: 'vocab',
      V,
      C,
      N,
      pass: 'fwd+bwd',
      shards: W.shards.length,
      chunk_rows: R,
      sharded_ms: round(s),
      unsharded_ms: round(u),
      ratio: round(u / s),
      sharded_logits_bytes: R * logitsStride(V) * 4,
      unsharded_logits_bytes: 2 * fullLogitsBytes,
      unsharded_skipped: skip,
      trials,
      adapter: gpu.name,
    };
    if (json) emit(line);
    else
      console.log(
        `vocab V=${V} C=${C} N=${N} fwd+bwd: sharded ${line.sharded_ms} ms (${line.shards} shards, chunks of ${R} rows)  unsharded ${skip ? `skipped: ${skip}` : `${line.unsharded_ms} ms  ratio ${line.ratio}`}`,
      );
    W.release();
    dW.release();
    gpu.release(targets);
    for (const t of extra) gpu.release(t);
  }
  for (const t of [x, mask, losses, dx]) gpu.release(t);
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);
