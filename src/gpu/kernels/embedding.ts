/**
 * Host side of shaders/embedding.wgsl: token + position embedding forward, and a backward that
 * accumulates into dwte and dwpe deterministically WITHOUT atomics. The token ids of a batch are known
 * on the CPU, so the CPU groups positions by token id (a CSR index, `buildEmbeddingIndex`) and the GPU
 * runs one workgroup per unique token, summing its positions in a fixed order.
 *
 * The index is one u32 GPU tensor of 3·capacity+1 words (layout in the shader header). Per step, reuse
 * it with `updateEmbeddingIndex`: it writes with queue.writeBuffer, which takes effect before the next
 * submit, so update it for step k after step k−1 has been submitted and before step k is. The unique
 * count U is read on the CPU when the backward is recorded, so record the backward after the update.
 *
 * Weight tying (logits = x·wteᵀ) is not handled here: the model's matmul accumulates that gradient
 * into dwte separately.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'embedding';
const WG = 256; // shader const WG

export interface EmbeddingIndex {
  /** (3·capacity + 1) u32: unique ids | offsets | positions (see shaders/embedding.wgsl). */
  data: GpuTensor;
  /** The most positions (B·T) this index can hold. */
  capacity: number;
  /** Positions in the batch it was last built from (must equal B·T at the backward). */
  n: number;
  /** Unique token ids in that batch (= workgroups of the dwte kernel). */
  unique: number;
}

function embeddingParams(p: Partial<Record<'N' | 'T' | 'C' | 'V' | 'U' | 'cap' | 'B', number>>): ArrayBuffer {
  return new Params().u32(p.N ?? 0, p.T ?? 0, p.C ?? 0, p.V ?? 0, p.U ?? 0, p.cap ?? 0, p.B ?? 0, 0x7fc00000).build();
}

/**
 * The packed CSR words for `tokens` in an index of `capacity` (pure CPU; exported for tests):
 * [unique ids ascending (cap) | offsets (cap+1) | positions grouped by id, ascending (cap)].
 * Throws on ids that are not integers in [0, V) (V optional).
 */
export function embeddingIndexWords(
  tokens: ArrayLike<number>,
  capacity = tokens.length,
  V?: number,
): { words: Uint32Array; unique: number } {
  const N = tokens.length;
  if (N > capacity) throw new Error(`embedding index: ${N} tokens exceed its capacity ${capacity}`);
  for (let i = 0; i < N; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || (V !== undefined && t >= V)) {
      throw new Error(`embedding index: token id ${t} at position ${i} is outside [0, ${V ?? '∞'})`);
    }
  }
  const order = new Uint32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  order.sort((p, q) => tokens[p] - tokens[q] || p - q);
  const words = new Uint32Array(3 * capacity + 1);
  const offBase = capacity,
    posBase = 2 * capacity + 1;
  let u = 0;
  for (let k = 0; k < N; k++) {
    const p = order[k];
    if (k === 0 || tokens[p] !== tokens[order[k - 1]]) {
      words[u] = tokens[p];
      words[offBase + u] = k;
      u++;
    }
    words[posBase + k] = p;
  }
  words[offBase + u] = N;
  return { words, unique: u };
}

/**
 * Group the positions of `tokens` (B·T ids, row-major (B, T)) by id and upload the CSR.
 * `capacity` (default tokens.length) lets later `updateEmbeddingIndex` calls take up to that many ids;
 * `V` (optional) rejects ids ≥ V on the CPU with a clear message.
 */
export function buildEmbeddingIndex(
  gpu: Gpu,
  tokens: Int32Array,
  opts: { capacity?: number; V?: number } = {},
): EmbeddingIndex {
  const capacity = opts.capacity ?? tokens.length;
  const { words, unique } = embeddingIndexWords(tokens, capacity, opts.V);
  const data = gpu.upload(words, [words.length], 'embedding-index', 'activations');
  return { data, capacity, n: tokens.length, unique };
}

/** Rebuild an existing index in place for a new batch (no allocation on the GPU). */
export function updateEmbeddingIndex(
  gpu: Gpu,
  idx: EmbeddingIndex,
  tokens: Int32Array,
  opts: { V?: number } = {},
): void {
  const { words, unique } = embeddingIndexWords(tokens, idx.capacity, opts.V);
  // Only the used parts matter, but one write of the whole (small) array is simplest and cheapest.
  gpu.write(idx.data, words);
  idx.n = tokens.length;
  idx.unique = unique;
}

export function releaseEmbeddingIndex(gpu: Gpu, idx: EmbeddingIndex): void {
  gpu.release(idx.data);
}

export interface EmbeddingForwardArgs {
  tokens: GpuTensor; // (B*T) i32
  wte: GpuTensor; // (V, C)
  wpe: GpuTensor; // (Tmax, C), Tmax ≥ T
  out: GpuTensor; // (B*T, C)
  B: number;
  T: number;
  C: number;
  label?: string;
}

/** out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]; ids outside [0, V) give a NaN row. */
export function embeddingForward(enc: StepEncoder, a: EmbeddingForwardArgs): void {
  const op = 'embeddingForward';
  const N = a.B * a.T;
  checkSize(op, 'tokens', a.tokens, N);
  checkSize(op, 'wpe', a.wpe, a.T * a.C);
  checkSize(op, 'out', a.out, N * a.C);
  if (N === 0 || a.C === 0) return;
  const V = Math.floor(a.wte.size / a.C);
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'embedding_forward' },
    bindings: { 1: a.tokens, 2: a.wte, 3: a.wpe, 4: a.out },
    params: embeddingParams({ N, T: a.T, C: a.C, V }),
    workgroups: flatGrid(ceilDiv(N * a.C, WG)),
    label: a.label ?? `embedding_forward ${a.B}x${a.T}x${a.C}`,
  });
}

export interface EmbeddingBackwardArgs {
  index: EmbeddingIndex; // built from the same tokens as the forward
  dout: GpuTensor; // (B*T, C)
  dwte: GpuTensor; // (V, C) accumulated: dwte += …
  dwpe: GpuTensor; // (Tmax, C) accumulated: dwpe[t] += Σ_b dout[b,t]
  B: number;
  T: number;
  C: number;
  label?: string;
}

/** Two dispatches (dwte by unique token, dwpe by (t, c)); both deterministic. */
export function embeddingBackward(enc: StepEncoder, a: EmbeddingBackwardArgs): void {
  const op = 'embeddingBackward';
  const N = a.B * a.T;
  if (a.index.n !== N) throw new Error(`${op}: the embedding index holds ${a.index.n} positions, B·T = ${N}`);
  checkSize(op, 'dout', a.dout, N * a.C);
  checkSize(op, 'dwpe', a.dwpe, a.T * a.C);
  if (N === 0 || a.C === 0) return;
  const label = a.label ?? `embedding_backward ${a.B}x${a.T}x${a.C}`;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'embedding_backward_wte' },
    bindings: { 5: a.index.data, 6: a.dout, 7: a.dwte },
    params: embeddingParams({
      N,
      T: a.T,
      C: a.C,
      V: Math.floor(a.dwte.size / a.C),
      U: a.index.unique,
      cap: a.index.capacity,
    }),
    workgroups: flatGrid(a.index.unique),
    label: `${label} dwte`,
  });
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'embedding_backward_wpe' },
    bindings: { 6: a.dout, 8: a.dwpe },
    params: embeddingParams({ N, T: a.T, C: a.C, B: a.B }),
    workgroups: flatGrid(ceilDiv(a.T * a.C, WG)),
    label: `${label} dwpe`,
  });
}
