/**
 * Host side of shaders/vocab.wgsl: one dispatch each for the per-shard pieces of a vocabulary-sharded
 * embedding / head and a chunk of the fused softmax-cross-entropy. Records only; never submits.
 * The orchestration (shards, chunks, the matmuls of the head) is src/engine/model/vocab.ts — model files
 * call that, not these.
 *
 *   vocabGather(enc, { tokens, shard, v0, rows, V, out, N, C, positions? })   out[n] = shard[tokens[n] − v0]
 *       (+ wpe[n mod T] with positions), held rows only
 *   vocabPositionsBackward(enc, { dout, dwpe, B, T, C })              dwpe[t] += Σ_b dout[b·T + t]
 *   vocabScatter(enc, { index, dout, dshard, v0, rows, N, C })        dshard[tok − v0] += Σ dout rows (CSR index)
 *   vocabCrossEntropy(enc, { logits, ld, R, r0, V, targets, mask, losses, gradScale, backward })
 *       rows r0 … r0+R−1; logits (R, ld) overwritten in place by dlogits when backward.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';
import type { EmbeddingIndex } from './embedding';

const SHADER = 'vocab';
const WG = 256; // shader const WG

interface P {
  N?: number;
  C?: number;
  V?: number;
  v0?: number;
  rows?: number;
  U?: number;
  cap?: number;
  ld?: number;
  r0?: number;
  gradScale?: number;
  backward?: boolean;
  T?: number;
  B?: number;
}

function params(p: P): ArrayBuffer {
  return new Params()
    .u32(p.N ?? 0, p.C ?? 0, p.V ?? 0, p.v0 ?? 0, p.rows ?? 0, p.U ?? 0, p.cap ?? 0, p.ld ?? 0, p.r0 ?? 0)
    .f32(p.gradScale ?? 0)
    .u32(p.backward ? 1 : 0, 0x7fc00000, p.T ?? 0, p.B ?? 0, 0, 0)
    .build();
}

export interface VocabGatherArgs {
  tokens: GpuTensor; // (N) i32
  shard: GpuTensor; // (rows, C): table rows v0 … v0+rows−1
  v0: number;
  rows: number;
  V: number; // the whole vocabulary: ids outside [0, V) give NaN rows
  out: GpuTensor; // (N, C)
  N: number;
  C: number;
  /** Learned positions (GPT-2, GPT-Neo): out[n] += wpe[n mod T]. */
  positions?: { wpe: GpuTensor; T: number };
  label?: string;
}

export function vocabGather(enc: StepEncoder, a: VocabGatherArgs): void {
  const op = 'vocabGather';
  checkSize(op, 'tokens', a.tokens, a.N);
  checkSize(op, 'shard', a.shard, a.rows * a.C);
  checkSize(op, 'out', a.out, a.N * a.C);
  const pos = a.positions;
  if (pos) checkSize(op, 'wpe', pos.wpe, pos.T * a.C);
  if (a.N === 0 || a.C === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: pos ? 'vocab_gather_pos' : 'vocab_gather' },
    bindings: pos ? { 1: a.tokens, 2: a.shard, 3: a.out, 11: pos.wpe } : { 1: a.tokens, 2: a.shard, 3: a.out },
    params: params({ N: a.N, C: a.C, V: a.V, v0: a.v0, rows: a.rows, T: pos?.T }),
    workgroups: flatGrid(ceilDiv(a.N * a.C, WG)),
    label: a.label ?? `vocab_gather ${a.N}x${a.C} rows ${a.v0}+${a.rows}`,
  });
}

export interface VocabScatterArgs {
  index: EmbeddingIndex; // buildEmbeddingIndex of the same tokens
  dout: GpuTensor; // (N, C)
  dshard: GpuTensor; // (rows, C) accumulated
  v0: number;
  rows: number;
  N: number;
  C: number;
  label?: string;
}

export function vocabScatter(enc: StepEncoder, a: VocabScatterArgs): void {
  const op = 'vocabScatter';
  if (a.index.n !== a.N) throw new Error(`${op}: the embedding index holds ${a.index.n} positions, N = ${a.N}`);
  checkSize(op, 'dout', a.dout, a.N * a.C);
  checkSize(op, 'dshard', a.dshard, a.rows * a.C);
  if (a.N === 0 || a.C === 0 || a.index.unique === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vocab_scatter' },
    bindings: { 4: a.index.data, 5: a.dout, 6: a.dshard },
    params: params({ N: a.N, C: a.C, v0: a.v0, rows: a.rows, U: a.index.unique, cap: a.index.capacity }),
    workgroups: flatGrid(a.index.unique),
    label: a.label ?? `vocab_scatter ${a.N}x${a.C} rows ${a.v0}+${a.rows}`,
  });
}

/** dwpe[t] += Σ_b dout[b·T + t] (learned positions' gradient, b in order). dout (B·T, C), dwpe (≥ T, C). */
export function vocabPositionsBackward(
  enc: StepEncoder,
  a: { dout: GpuTensor; dwpe: GpuTensor; B: number; T: number; C: number; label?: string },
): void {
  const op = 'vocabPositionsBackward';
  checkSize(op, 'dout', a.dout, a.B * a.T * a.C);
  checkSize(op, 'dwpe', a.dwpe, a.T * a.C);
  if (a.T === 0 || a.C === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vocab_positions_backward' },
    bindings: { 5: a.dout, 12: a.dwpe },
    params: params({ C: a.C, T: a.T, B: a.B }),
    workgroups: flatGrid(ceilDiv(a.T * a.C, WG)),
    label: a.label ?? `vocab_positions_backward ${a.B}x${a.T}x${a.C}`,
  });
}

export interface VocabCrossEntropyArgs {
  logits: GpuTensor; // (R, ld), columns 0 … V−1 used
  ld: number; // row stride of logits, ≥ V
  R: number; // chunk rows
  r0: number; // global row of chunk row 0 (indexes targets, mask, losses)
  V: number;
  targets: GpuTensor; // (N) i32
  mask: GpuTensor; // (N)
  losses: GpuTensor; // (N), rows r0 … r0+R−1 written
  gradScale?: number;
  backward: boolean;
  label?: string;
}

export function vocabCrossEntropy(enc: StepEncoder, a: VocabCrossEntropyArgs): void {
  const op = 'vocabCrossEntropy';
  if (a.ld < a.V) throw new Error(`${op}: row stride ${a.ld} < V ${a.V}`);
  checkSize(op, 'logits', a.logits, (a.R - 1) * a.ld + a.V);
  checkSize(op, 'targets', a.targets, a.r0 + a.R);
  checkSize(op, 'mask', a.mask, a.r0 + a.R);
  checkSize(op, 'losses', a.losses, a.r0 + a.R);
  if (a.R === 0) return;
  if (a.V === 0) throw new Error(`${op}: V = 0`);
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vocab_ce' },
    bindings: { 7: a.logits, 8: a.targets, 9: a.mask, 10: a.losses },
    params: params({ N: a.R, V: a.V, ld: a.ld, r0: a.r0, gradScale: a.gradScale, backward: a.backward }),
    workgroups: flatGrid(a.R),
    label: a.label ?? `vocab_ce rows ${a.r0}+${a.R} V${a.V}${a.backward ? ' fwd+bwd' : ''}`,
  });
}
