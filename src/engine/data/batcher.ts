/**
 * Tokenisation of prepared datasets into token streams, and batching of streams into (B, T) windows.
 *
 * A TokenStream is one long Int32Array of token ids (the nanoGPT/llm.c layout: documents concatenated,
 * windows sampled at random offsets). For prompt/completion pairs each example becomes
 * prompt + completion + '\n' and `lossMask` marks the tokens whose prediction counts: the completion
 * and its newline, never the prompt. Prompt and completion are tokenised separately so the mask
 * boundary is exact (a BPE merge across "=" and the answer would otherwise blur it).
 *
 * Targets are the inputs shifted by one: window [o, o+T+1) gives inputs tokens[o..o+T) and targets
 * tokens[o+1..o+T+1); mask[t] is lossMask at the TARGET position. Positions past the end of a short
 * stream are padding: token 0, mask 0.
 *
 * Randomness: offsets come from Rng(seed, purpose).block(step·B + b), so `batchAt(step)` is a pure
 * function of (stream, B, T, seed, purpose, step): a resumed run sees the same batches.
 */
import { Rng } from '../rng';
import type { Tokenizer } from '../io/tokenizers/types';
import { chatFormatFrom, renderSegments, type ChatFormat, type Conversation, type Segment } from './chat';
import { DatasetError, type Example, type PreparedText } from './types';

export interface TokenStream {
  tokens: Int32Array; // (n,)
  /** (n,) 1 where token i counts as a prediction target; null = every token counts. */
  lossMask: Uint8Array | null;
  /** (numExamples,) token index where each example starts (pairs only); windows start there. */
  starts?: Int32Array;
}

export interface Batch {
  inputs: Int32Array; // (B*T,) row-major (B, T)
  targets: Int32Array; // (B*T,)
  mask: Float32Array; // (B*T,) 1 = this target counts in the loss, 0 = ignore
}

export interface TokenizedDataset {
  train: TokenStream;
  val: TokenStream;
  probe?: TokenStream;
}

/** Append-only Int32 buffer that grows by doubling (streams reach millions of tokens). */
class IntBuf {
  data = new Int32Array(1024);
  length = 0;
  push(ids: ArrayLike<number>): void {
    if (this.length + ids.length > this.data.length) {
      let cap = this.data.length;
      while (cap < this.length + ids.length) cap *= 2;
      const next = new Int32Array(cap);
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(ids, this.length);
    this.length += ids.length;
  }
  finish(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/** Chunk size for encoding long text: bounds the tokenizer's intermediate arrays. */
const CHUNK_CHARS = 1 << 16;

/**
 * Encode a long text in ~64K-character chunks cut just after a '\n'. Byte-level BPE pre-tokenisers
 * split at newlines anyway, so chunking changes no tokens except where a line starts with spaces.
 */
export function encodeText(text: string, tokenizer: Tokenizer): TokenStream {
  const buf = new IntBuf();
  let pos = 0;
  while (pos < text.length) {
    let end = Math.min(text.length, pos + CHUNK_CHARS);
    if (end < text.length) {
      const nl = text.lastIndexOf('\n', end - 1);
      if (nl >= pos) end = nl + 1;
      // never cut a surrogate pair (a chunk with no newline is cut at a fixed width)
      else if (text.charCodeAt(end - 1) >= 0xd800 && text.charCodeAt(end - 1) <= 0xdbff) end -= 1;
    }
    buf.push(tokenizer.encode(text.slice(pos, end)));
    pos = end;
  }
  return { tokens: buf.finish(), lossMask: null };
}

/** Encode examples given as segments: each segment tokenized on its own, mask 1 on trained segments. */
export function encodeSegments(examples: readonly Segment[][], tokenizer: Tokenizer): TokenStream {
  const buf = new IntBuf();
  const mask: number[] = [];
  const starts = new Int32Array(examples.length);
  for (let k = 0; k < examples.length; k++) {
    starts[k] = buf.length;
    for (const seg of examples[k]) {
      const ids = tokenizer.encode(seg.text);
      buf.push(ids);
      for (let i = 0; i < ids.length; i++) mask.push(seg.train ? 1 : 0);
    }
  }
  return { tokens: buf.finish(), lossMask: Uint8Array.from(mask), starts };
}

/** A pair as segments: prompt (trained only when `completionOnly` is false), then completion + '\n'. */
export function pairSegments(e: Example, completionOnly = true): Segment[] {
  return [
    { text: e.prompt, train: !completionOnly },
    { text: e.completion + '\n', train: true },
  ];
}

/** Encode pairs: prompt (mask 0) then completion + '\n' (mask 1), example after example. */
export function encodePairs(examples: readonly Example[], tokenizer: Tokenizer, completionOnly = true): TokenStream {
  return encodeSegments(
    examples.map((e) => pairSegments(e, completionOnly)),
    tokenizer,
  );
}

/** Encode conversations through a chat format (chat.ts); `completionOnly` masks all but the assistant. */
export function encodeChats(
  convs: readonly Conversation[],
  tokenizer: Tokenizer,
  fmt: ChatFormat,
  completionOnly = true,
): TokenStream {
  return encodeSegments(
    convs.map((c) => renderSegments(c, fmt, completionOnly)),
    tokenizer,
  );
}

export interface TokenizeOptions {
  /** Pairs and chats: loss only on completion / assistant tokens (default true). */
  completionOnly?: boolean;
  /** How chats are rendered (default: the plain template, chat.ts). */
  chat?: ChatFormat;
}

export function tokenizeDataset(ds: PreparedText, tokenizer: Tokenizer, opts: TokenizeOptions = {}): TokenizedDataset {
  const only = opts.completionOnly ?? true;
  let out: TokenizedDataset;
  if (ds.kind === 'text') out = { train: encodeText(ds.train, tokenizer), val: encodeText(ds.val, tokenizer) };
  else if (ds.kind === 'pairs')
    out = { train: encodePairs(ds.train, tokenizer, only), val: encodePairs(ds.val, tokenizer, only) };
  else {
    const fmt = opts.chat ?? chatFormatFrom(null);
    out = { train: encodeChats(ds.train, tokenizer, fmt, only), val: encodeChats(ds.val, tokenizer, fmt, only) };
  }
  if (ds.probe !== undefined && ds.probe.length > 0) out.probe = encodeText(ds.probe, tokenizer);
  return out;
}

/**
 * How examples fill a row. 'packed' (the default): a window of T tokens starts at an example's
 * first token and runs on into the following examples, so no position is wasted, and attention
 * sees the previous example's tail inside the window. 'padded': one example per row, cut at T+1
 * tokens, the rest padding that the loss ignores; nothing crosses examples, but short examples
 * waste the row. Text streams are always packed.
 */
export type Layout = 'packed' | 'padded';

export interface BatcherOptions {
  B: number;
  T: number;
  seed: number;
  /** Rng purpose tag; different purposes give independent batch orders (default 'data/train'). */
  purpose?: string;
  layout?: Layout;
}

/** End (exclusive) of the example that starts at starts[k]. */
function exampleEnd(stream: TokenStream, k: number): number {
  const s = stream.starts!;
  return k + 1 < s.length ? s[k + 1] : stream.tokens.length;
}

function checkDims(B: number, T: number): void {
  if (!Number.isInteger(B) || B < 1) throw new DatasetError(`batch size B must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new DatasetError(`context length T must be a positive integer, got ${T}`);
}

function checkStream(stream: TokenStream): void {
  if (!(stream?.tokens instanceof Int32Array)) throw new DatasetError('token stream must have an Int32Array of tokens');
  if (stream.lossMask && stream.lossMask.length !== stream.tokens.length) {
    throw new DatasetError(`lossMask has ${stream.lossMask.length} entries for ${stream.tokens.length} tokens`);
  }
  if (stream.tokens.length < 2)
    throw new DatasetError(
      `token stream has ${stream.tokens.length} token(s); need at least 2 to form an input/target pair`,
    );
}

/**
 * Fill row b of a batch from the window starting at `start`, padding past `end` (default: the
 * stream's end; in the padded layout, the end of the row's example).
 */
function fillRow(stream: TokenStream, T: number, b: number, start: number, out: Batch, end?: number): void {
  const { tokens, lossMask } = stream;
  const n = end ?? tokens.length;
  const base = b * T;
  for (let t = 0; t < T; t++) {
    const i = start + t;
    out.inputs[base + t] = i < n ? tokens[i] : 0;
    const j = i + 1;
    if (j < n) {
      out.targets[base + t] = tokens[j];
      out.mask[base + t] = lossMask ? lossMask[j] : 1;
    } else {
      out.targets[base + t] = 0;
      out.mask[base + t] = 0;
    }
  }
}

function emptyBatch(B: number, T: number): Batch {
  return { inputs: new Int32Array(B * T), targets: new Int32Array(B * T), mask: new Float32Array(B * T) };
}

/**
 * Examples that can train at context T: those with a trained token among their first T targets (a row
 * starts at an example in both layouts). 0 means every answer lies past the context and a run would
 * train on nothing (its loss 0/0); null for streams without example starts or masks.
 */
export function examplesTrainableAt(stream: TokenStream, T: number): number | null {
  const { starts, lossMask, tokens } = stream;
  if (!starts || starts.length === 0 || !lossMask) return null;
  let n = 0;
  for (let k = 0; k < starts.length; k++) {
    const end = Math.min(starts[k] + T, (k + 1 < starts.length ? starts[k + 1] : tokens.length) - 1);
    for (let i = starts[k] + 1; i <= end; i++)
      if (lossMask[i] === 1) {
        n++;
        break;
      }
  }
  return n;
}

/** Random (B, T) training windows from a token stream; deterministic per (seed, purpose, step). */
export class Batcher {
  readonly B: number;
  readonly T: number;
  /** Next step `next()` returns; set it to resume a run. */
  step = 0;
  private readonly stream: TokenStream;
  private readonly rng: Rng;
  /** Number of valid start positions (offsets 0..n-1, or the first n entries of `starts`). */
  private readonly numStarts: number;
  private readonly padded: boolean;

  constructor(stream: TokenStream, opts: BatcherOptions) {
    checkDims(opts.B, opts.T);
    checkStream(stream);
    if (!Number.isInteger(opts.seed)) throw new DatasetError(`seed must be an integer, got ${opts.seed}`);
    this.stream = stream;
    this.B = opts.B;
    this.T = opts.T;
    this.rng = new Rng(opts.seed >>> 0, opts.purpose ?? 'data/train');
    // the last full window starts at n-(T+1); a stream shorter than that has one start, 0 (padded)
    const maxStart = Math.max(0, stream.tokens.length - (opts.T + 1));
    this.padded = opts.layout === 'padded' && !!stream.starts && stream.starts.length > 0;
    if (this.padded) {
      // every example is a row of its own, however near the end of the stream it starts
      this.numStarts = stream.starts!.length;
    } else if (stream.starts && stream.starts.length > 0) {
      // example starts are sorted; count those at or before maxStart (starts[0] = 0 always qualifies)
      let lo = 0,
        hi = stream.starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (stream.starts[mid] <= maxStart) lo = mid + 1;
        else hi = mid;
      }
      this.numStarts = Math.max(1, lo);
    } else {
      this.numStarts = maxStart + 1;
    }
  }

  /** The k-th start candidate for draw `index`: an example index (pairs/chats) or a token offset. */
  private drawFor(index: number): number {
    const w = this.rng.block(index);
    // 53 random bits, so offsets are uniform even for streams of many millions of tokens
    const u = (w[0] * 2097152 + (w[1] >>> 11)) / 9007199254740992;
    return Math.min(this.numStarts - 1, Math.floor(u * this.numStarts));
  }

  /** The batch for a given step: a pure function of (stream, B, T, seed, purpose, step, layout). */
  batchAt(step: number): Batch {
    if (!Number.isInteger(step) || step < 0) throw new DatasetError(`step must be a non-negative integer, got ${step}`);
    const out = emptyBatch(this.B, this.T);
    const starts = this.stream.starts && this.stream.starts.length > 0 ? this.stream.starts : null;
    for (let b = 0; b < this.B; b++) {
      const k = this.drawFor(step * this.B + b);
      if (this.padded) fillRow(this.stream, this.T, b, starts![k], out, exampleEnd(this.stream, k));
      else fillRow(this.stream, this.T, b, starts ? starts[k] : k, out);
    }
    return out;
  }

  next(): Batch {
    return this.batchAt(this.step++);
  }
}

export interface EvalOptions {
  B: number;
  T: number;
  /** Stop after this many batches (default: the whole stream). */
  maxBatches?: number;
  /** 'padded' with example starts: one example per row, in order (its first T+1 tokens). */
  layout?: Layout;
}

/**
 * Deterministic evaluation batches: consecutive windows starting at 0, T, 2T, … so every target
 * token of the stream is scored exactly once (window k predicts tokens kT+1 … kT+T). The last
 * window and rows past the end are padded with mask 0; average the loss over mask, not over B·T.
 */
export function evalBatches(stream: TokenStream, opts: EvalOptions): Batch[] {
  checkDims(opts.B, opts.T);
  checkStream(stream);
  const { B, T } = opts;
  const maxBatches = opts.maxBatches ?? Infinity;
  if (!(maxBatches >= 1)) throw new DatasetError(`maxBatches must be at least 1, got ${opts.maxBatches}`);
  const batches: Batch[] = [];
  if (opts.layout === 'padded' && stream.starts && stream.starts.length > 0) {
    const m = stream.starts.length;
    for (let k0 = 0; k0 < m && batches.length < maxBatches; k0 += B) {
      const out = emptyBatch(B, T);
      for (let b = 0; b < B && k0 + b < m; b++)
        fillRow(stream, T, b, stream.starts[k0 + b], out, exampleEnd(stream, k0 + b));
      batches.push(out);
    }
    return batches;
  }
  const windows = Math.ceil((stream.tokens.length - 1) / T);
  for (let w0 = 0; w0 < windows && batches.length < maxBatches; w0 += B) {
    const out = emptyBatch(B, T);
    for (let b = 0; b < B && w0 + b < windows; b++) fillRow(stream, T, b, (w0 + b) * T, out);
    batches.push(out);
  }
  return batches;
}
