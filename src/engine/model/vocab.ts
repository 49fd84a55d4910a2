/**
 * Vocabulary-sized matrices that real models need (issue 10, item 4): an embedding table / output head
 * split into row shards that each fit one storage binding, and a chunked cross-entropy that never holds
 * the (N, V) logits. Kernels: shaders/vocab.wgsl (gather, scatter, in-place softmax-CE) and
 * shaders/matmul.wgsl (the head's products, one per shard). CPU twin: src/engine/ref/vocab.ts.
 *
 * API (for every family's model file; tied or untied head):
 *   const wte = new VocabTable(gpu, V, C, 'model.embed_tokens.weight')        // weights, (V, C) in row shards
 *   wte.upload(data)  /  await wte.read()  /  wte.shards[i].tensor (one GpuTensor per shard, for AdamW)
 *   const dwte = wte.like('grad:…', 'gradients')                              // same sharding, zeroed
 *   embedTokens(enc, { table: wte, tokens, out, N, positions?: { wpe, T } })   // out (N, C) = wte[tokens] (+ wpe)
 *   embedTokensBackward(enc, { dtable: dwte, index, dout, N, positions?: { dwpe, B, T, C } })
 *       dwte += scatter (CSR index from buildEmbeddingIndex), dwpe += Σ_b; either may be absent (frozen)
 *   headLoss(enc, { x, W: wte (tied) or head, targets, mask, losses, N, gradScale, dx?, dW? })
 *       logits = x·Wᵀ chunk by chunk → losses (N) = mask·(logsumexp − logit[target]) (0 where mask = 0 or
 *       target ∉ [0, V)); with dx: dx (N, C) = dlogits·W (OVERWRITTEN, or += with accumulateDx);
 *       with dW: dW += dlogitsᵀ·x. dlogits = gradScale·mask·(softmax − onehot). No dx: evaluation only.
 *   logitsLast(enc, { x, W, B, T, out })                                        // out (B, V): last position
 *   logitsRows(enc, { x, W, M, out, xOffset?, xStride? })                       // any rows
 * Layout: the table and the head are held (V, C) — HF's layout for `embed_tokens`/`wte` AND for the
 * `nn.Linear` head (`lm_head`, `embed_out`), so neither is transposed when loaded; shard s holds rows
 * v0 … v0+rows−1. Shard rows are a multiple of 4 (aligned vec4 matmul views), at most
 * maxStorageBufferBindingSize / (4·C) (or `maxShardRows`, for tests).
 *
 * Determinism: fixed chunk and shard order, deterministic kernels: bit-identical run to run. Versus
 * the unsharded product, dW's sum over rows is split at chunk boundaries (same numbers to f32 rounding).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import type { MemoryCategory } from '../../gpu/pool';
import { matmul } from '../../gpu/kernels/matmul';
import { vocabCrossEntropy, vocabGather, vocabPositionsBackward, vocabScatter } from '../../gpu/kernels/vocab';
import type { EmbeddingIndex } from '../../gpu/kernels/embedding';

export interface VocabShard {
  v0: number;
  rows: number;
  tensor: GpuTensor; // (rows, C)
}

/** Rows per shard for a (V, C) table under a binding limit: a multiple of 4 (≥ 4), never above V. */
export function shardRows(V: number, C: number, maxBindingBytes: number, maxShardRows?: number): number {
  let rows = Math.floor(maxBindingBytes / (4 * C));
  if (maxShardRows !== undefined) rows = Math.min(rows, maxShardRows);
  rows = Math.floor(rows / 4) * 4;
  if (rows < 4) throw new Error(`vocab: a row of ${C} floats does not fit the ${maxBindingBytes}-byte binding limit`);
  return Math.min(rows, Math.ceil(V / 4) * 4);
}

function bindingLimit(gpu: Gpu): number {
  return Math.min(
    gpu.description.limits.maxStorageBufferBindingSize ?? 128 * 2 ** 20,
    gpu.description.limits.maxBufferSize ?? Infinity,
  );
}

/** A (V, C) matrix held as row shards, each one GPU buffer within the adapter's binding limit. */
export class VocabTable {
  readonly gpu: Gpu;
  readonly V: number;
  readonly C: number;
  readonly label: string;
  readonly shards: VocabShard[] = [];
  readonly rowsPerShard: number;

  constructor(
    gpu: Gpu,
    V: number,
    C: number,
    label: string,
    category: MemoryCategory = 'weights',
    opts: { maxShardRows?: number } = {},
  ) {
    if (!(Number.isInteger(V) && V >= 1 && Number.isInteger(C) && C >= 1))
      throw new Error(`vocab: ${label} needs positive integer V and C, got V=${V} C=${C}`);
    this.gpu = gpu;
    this.V = V;
    this.C = C;
    this.label = label;
    this.rowsPerShard = shardRows(V, C, bindingLimit(gpu), opts.maxShardRows);
    for (let v0 = 0; v0 < V; v0 += this.rowsPerShard) {
      const rows = Math.min(this.rowsPerShard, V - v0);
      const tensor = gpu.zeros([rows, C], this.shards.length ? `${label}#${this.shards.length}` : label, category);
      this.shards.push({ v0, rows, tensor });
    }
  }

  /** A zeroed table with the same sharding (gradients, optimizer moments). */
  like(label: string, category: MemoryCategory): VocabTable {
    return new VocabTable(this.gpu, this.V, this.C, label, category, { maxShardRows: this.rowsPerShard });
  }

  /** Write the whole (V, C) row-major matrix. */
  upload(data: Float32Array): void {
    if (data.length !== this.V * this.C)
      throw new Error(`vocab: ${this.label} takes ${this.V}×${this.C} values, got ${data.length}`);
    for (const s of this.shards) this.gpu.write(s.tensor, data.subarray(s.v0 * this.C, (s.v0 + s.rows) * this.C));
  }

  /** The whole (V, C) matrix, read back. */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.V * this.C);
    for (const s of this.shards) out.set(await this.gpu.read(s.tensor, s.rows * this.C), s.v0 * this.C);
    return out;
  }

  clear(enc: StepEncoder): void {
    for (const s of this.shards) enc.clear(s.tensor);
  }

  release(): void {
    for (const s of this.shards) this.gpu.release(s.tensor);
    this.shards.length = 0;
  }
}

function sameSharding(a: VocabTable, b: VocabTable, op: string): void {
  if (a.V !== b.V || a.C !== b.C || a.rowsPerShard !== b.rowsPerShard)
    throw new Error(`${op}: ${a.label} and ${b.label} are sharded differently (make one with .like())`);
}

/**
 * out (N, C) = table[tokens] (+ wpe[n mod T] with `positions`: GPT-2, GPT-Neo); ids outside [0, V) give
 * NaN rows. With positions, N = B·T rows in (B, T) order.
 */
export function embedTokens(
  enc: StepEncoder,
  a: {
    table: VocabTable;
    tokens: GpuTensor;
    out: GpuTensor;
    N: number;
    positions?: { wpe: GpuTensor; T: number };
    label?: string;
  },
): void {
  const { table: t } = a;
  for (const s of t.shards)
    vocabGather(enc, {
      tokens: a.tokens,
      shard: s.tensor,
      v0: s.v0,
      rows: s.rows,
      V: t.V,
      out: a.out,
      N: a.N,
      C: t.C,
      positions: a.positions,
      label: a.label,
    });
}

/**
 * dtable[tok] += Σ_{n: tokens[n] = tok} dout[n] (index: buildEmbeddingIndex of the forward's tokens);
 * with `positions`, also dwpe[t] += Σ_b dout[b·T + t]. Either gradient may be absent (frozen).
 */
export function embedTokensBackward(
  enc: StepEncoder,
  a: {
    dtable?: VocabTable;
    index: EmbeddingIndex;
    dout: GpuTensor;
    N: number;
    positions?: { dwpe: GpuTensor; B: number; T: number; C: number };
    label?: string;
  },
): void {
  if (a.positions) {
    const { dwpe, B, T, C } = a.positions;
    if (B * T !== a.N) throw new Error(`embedTokensBackward: B·T = ${B * T} ≠ N = ${a.N}`);
    vocabPositionsBackward(enc, { dout: a.dout, dwpe, B, T, C, label: a.label });
  }
  if (!a.dtable) return;
  const dtable = a.dtable;
  for (const s of dtable.shards)
    vocabScatter(enc, {
      index: a.index,
      dout: a.dout,
      dshard: s.tensor,
      v0: s.v0,
      rows: s.rows,
      N: a.N,
      C: dtable.C,
      label: a.label,
    });
}

/** Logits row stride: V rounded up to whole vec4s, so per-shard column views stay vec4-aligned. */
export const logitsStride = (V: number) => Math.ceil(V / 4) * 4;

/** Chunk rows for the head: ≤ N, within the binding limit and `budgetBytes` (default 64 MiB) of logits. */
export function headChunkRows(gpu: Gpu, V: number, N: number, budgetBytes = 64 * 2 ** 20): number {
  const rowBytes = 4 * logitsStride(V);
  const rows = Math.floor(Math.min(bindingLimit(gpu), budgetBytes) / rowBytes);
  if (rows < 1) throw new Error(`vocab: one row of ${V} logits does not fit the storage binding limit`);
  return Math.max(1, Math.min(N, rows));
}

const scratchByGpu = new WeakMap<Gpu, GpuTensor>();

/** A per-device logits chunk. Dispatches run in recording order, so one buffer serves every call. */
function sharedScratch(gpu: Gpu, n: number): GpuTensor {
  let t = scratchByGpu.get(gpu);
  if (!t || t.size < n) {
    // The old buffer is not released to the pool: an encoder not yet submitted may still use it.
    t = gpu.tensor([n], 'vocab-logits-chunk', 'activations');
    scratchByGpu.set(gpu, t);
  }
  return t;
}

export interface HeadLossArgs {
  x: GpuTensor; // (N, C) final hidden states
  W: VocabTable; // (V, C) the head (the embedding table when tied)
  targets: GpuTensor; // (N) i32
  mask: GpuTensor; // (N) f32
  losses: GpuTensor; // (N) out
  N: number;
  /** Scale of dlogits, typically 1/Σmask. */
  gradScale?: number;
  /** (N, C): with it the backward runs; overwritten unless accumulateDx. */
  dx?: GpuTensor;
  accumulateDx?: boolean;
  /** (V, C) gradient of the head, accumulated (same sharding as W); absent = frozen head. */
  dW?: VocabTable;
  /** Rows per chunk (default headChunkRows). */
  chunkRows?: number;
  /** (chunkRows · logitsStride(V)) scratch; a per-device buffer when absent. */
  scratch?: GpuTensor;
  label?: string;
}

/**
 * Per chunk of rows: logits = x_chunk·Wᵀ shard by shard, fused softmax-CE in place (losses, and
 * dlogits when training), then dx_chunk = dlogits·W and dW += dlogitsᵀ·x_chunk shard by shard.
 */
export function headLoss(enc: StepEncoder, a: HeadLossArgs): void {
  const { W, N } = a;
  const { V, C } = W;
  const op = 'headLoss';
  if (a.dW) sameSharding(W, a.dW, op);
  if (a.dW && !a.dx) throw new Error(`${op}: dW needs dx (the backward runs only with dx)`);
  if (a.x.size < N * C) throw new Error(`${op}: x (${a.x.label}) has ${a.x.size} elements, needs N·C = ${N * C}`);
  if (a.dx && a.dx.size < N * C)
    throw new Error(`${op}: dx (${a.dx.label}) has ${a.dx.size} elements, needs N·C = ${N * C}`);
  if (N === 0) return;
  const ld = logitsStride(V);
  const R = a.chunkRows ?? headChunkRows(enc.gpu, V, N);
  if (!(Number.isInteger(R) && R >= 1)) throw new Error(`${op}: chunkRows must be a positive integer, got ${R}`);
  const logits = a.scratch ?? sharedScratch(enc.gpu, R * ld);
  if (logits.size < R * ld) throw new Error(`${op}: scratch has ${logits.size} elements, needs ${R * ld}`);
  const label = a.label ?? 'lm_head';
  for (let r0 = 0; r0 < N; r0 += R) {
    const rows = Math.min(R, N - r0);
    for (const s of W.shards)
      matmul(enc, {
        a: a.x,
        b: s.tensor,
        c: logits,
        M: rows,
        N: s.rows,
        K: C,
        transB: true,
        aOffset: r0 * C,
        ldc: ld,
        cOffset: s.v0,
        label: `${label} logits rows ${r0}+${rows} vocab ${s.v0}+${s.rows}`,
      });
    vocabCrossEntropy(enc, {
      logits,
      ld,
      R: rows,
      r0,
      V,
      targets: a.targets,
      mask: a.mask,
      losses: a.losses,
      gradScale: a.gradScale ?? 1,
      backward: a.dx !== undefined,
      label: `${label} cross-entropy rows ${r0}+${rows}`,
    });
    if (!a.dx) continue;
    W.shards.forEach((s, i) => {
      // dx_chunk (rows, C) (+)= dlogits[:, shard] · W_shard
      matmul(enc, {
        a: logits,
        b: s.tensor,
        c: a.dx!,
        M: rows,
        N: C,
        K: s.rows,
        lda: ld,
        aOffset: s.v0,
        cOffset: r0 * C,
        beta: i > 0 || a.accumulateDx ? 1 : 0,
        label: `${label} dx rows ${r0}+${rows} vocab ${s.v0}+${s.rows}`,
      });
      // dW_shard += dlogits[:, shard]ᵀ · x_chunk
      if (a.dW)
        matmul(enc, {
          a: logits,
          b: a.x,
          c: a.dW.shards[i].tensor,
          M: s.rows,
          N: C,
          K: rows,
          transA: true,
          lda: ld,
          aOffset: s.v0,
          bOffset: r0 * C,
          beta: 1,
          label: `${label} dW rows ${r0}+${rows} vocab ${s.v0}+${s.rows}`,
        });
    });
  }
}

/**
 * out (M, ldOut ≥ V) = rows of x · Wᵀ, row m of x at xOffset + m·xStride (defaults: 0, C).
 * For generation: the last position of each of B sequences is xOffset (T−1)·C, xStride T·C, M = B.
 */
export function logitsRows(
  enc: StepEncoder,
  a: {
    x: GpuTensor;
    W: VocabTable;
    out: GpuTensor;
    M: number;
    xOffset?: number;
    xStride?: number;
    ldOut?: number;
    label?: string;
  },
): void {
  const { V, C } = a.W;
  const ldOut = a.ldOut ?? V;
  const xStride = a.xStride ?? C;
  if (ldOut < V) throw new Error(`logitsRows: ldOut ${ldOut} < V ${V}`);
  if (a.out.size < (a.M - 1) * ldOut + V)
    throw new Error(`logitsRows: out (${a.out.label}) has ${a.out.size} elements, needs ${(a.M - 1) * ldOut + V}`);
  if (a.x.size < (a.xOffset ?? 0) + (a.M - 1) * xStride + C)
    throw new Error(`logitsRows: x (${a.x.label}) is too small for ${a.M} rows of stride ${xStride}`);
  for (const s of a.W.shards)
    matmul(enc, {
      a: a.x,
      b: s.tensor,
      c: a.out,
      M: a.M,
      N: s.rows,
      K: C,
      transB: true,
      lda: xStride,
      aOffset: a.xOffset ?? 0,
      ldc: ldOut,
      cOffset: s.v0,
      label: `${a.label ?? 'lm_head logits'} vocab ${s.v0}+${s.rows}`,
    });
}

/** out (B, V): logits of the last position of each sequence of x (B·T, C). */
export function logitsLast(
  enc: StepEncoder,
  a: { x: GpuTensor; W: VocabTable; B: number; T: number; out: GpuTensor; label?: string },
): void {
  const C = a.W.C;
  logitsRows(enc, { x: a.x, W: a.W, out: a.out, M: a.B, xOffset: (a.T - 1) * C, xStride: a.T * C, label: a.label });
}
