/**
 * A look at the training data as the model will see it: the first examples as tokens, each marked
 * trained or masked, and plain figures about lengths against the context (how much a padded layout
 * would waste, how many examples a row would cut). The page shows this before Start, so a wrong
 * template or a mask on the wrong side is seen before any GPU time is spent.
 */
import type { RunConfig } from '../config';
import { chatFormatFor, prepareData, resolveModel, tokenizerFor, type InputSources } from '../inputs';
import type { Tokenizer } from '../io/tokenizers/types';
import { tokenizeDataset, type TokenStream } from './batcher';
import type { PreparedText } from './types';

export interface PreviewToken {
  id: number;
  /** The token decoded on its own (special tokens spelled out; a lone byte of a UTF-8 character may be "�"). */
  text: string;
  /** Counts in the loss (its prediction is trained). */
  train: boolean;
}

export interface PreviewExample {
  tokens: PreviewToken[];
  /** Tokens in the whole example (the preview may show fewer). */
  length: number;
  trained: number;
}

export interface DataStats {
  examples: number;
  tokens: number;
  /** Fraction of tokens whose prediction is trained. */
  trainedFraction: number;
  meanLength: number;
  longest: number;
  /** Examples longer than the context + 1: a padded row cuts them, a packed window may too. */
  overContext: number;
  /** Padded layout: fraction of row positions that are padding (no loss, compute spent anyway). */
  paddingWaste: number;
  /**
   * Examples whose trained tokens all lie past the first T targets: rows start at an example in both
   * layouts, so such an example's row trains nothing (packed rows may still reach a later example).
   */
  answerCut: number;
}

/** The first `n` examples (or windows of a text stream) as tokens, at most `maxTokens` each. */
export function previewStream(stream: TokenStream, tokenizer: Tokenizer, n = 3, maxTokens = 200): PreviewExample[] {
  const starts = stream.starts && stream.starts.length > 0 ? stream.starts : null;
  const total = stream.tokens.length;
  const out: PreviewExample[] = [];
  for (let k = 0; k < n; k++) {
    const start = starts ? (k < starts.length ? starts[k] : -1) : k * maxTokens;
    if (start < 0 || start >= total) break;
    const end = starts ? (k + 1 < starts.length ? starts[k + 1] : total) : Math.min(total, start + maxTokens);
    const tokens: PreviewToken[] = [];
    let trained = 0;
    for (let i = start; i < end; i++) {
      const train = stream.lossMask ? stream.lossMask[i] === 1 : true;
      if (train) trained++;
      if (i - start < maxTokens) {
        const id = stream.tokens[i];
        tokens.push({ id, text: tokenizer.decode([id]), train });
      }
    }
    out.push({ tokens, length: end - start, trained });
  }
  return out;
}

/** Length figures of a stream of examples against a context of T tokens. */
export function dataStats(stream: TokenStream, T: number): DataStats {
  const total = stream.tokens.length;
  const starts = stream.starts && stream.starts.length > 0 ? stream.starts : Int32Array.of(0);
  let trained = 0;
  if (stream.lossMask) for (let i = 0; i < total; i++) trained += stream.lossMask[i];
  else trained = total;
  let longest = 0,
    over = 0,
    used = 0,
    answerCut = 0;
  for (let k = 0; k < starts.length; k++) {
    const len = (k + 1 < starts.length ? starts[k + 1] : total) - starts[k];
    if (stream.lossMask && len > T + 1) {
      // a padded row's targets are the example's tokens 1..T
      let any = false;
      for (let i = starts[k] + 1; i <= starts[k] + T && !any; i++) any = stream.lossMask[i] === 1;
      if (!any) answerCut++;
    }
    longest = Math.max(longest, len);
    if (len > T + 1) over++;
    // a padded row of T inputs holds min(len - 1, T) real input/target pairs
    used += Math.min(Math.max(len - 1, 0), T);
  }
  return {
    examples: starts.length,
    tokens: total,
    trainedFraction: total > 0 ? trained / total : 0,
    meanLength: total / starts.length,
    longest,
    overContext: over,
    paddingWaste: 1 - used / (starts.length * T),
    answerCut,
  };
}

export interface DataPreview {
  kind: 'text' | 'pairs' | 'chat';
  /** Chats: which template rendered them ('model' = the model's chat_template). */
  template: 'model' | 'plain' | null;
  tokenizer: string;
  examples: PreviewExample[];
  stats: DataStats;
  /** The stats cover this many leading training examples (all of them when smaller). */
  statsOver: number;
  /** Training examples in the whole set (0 for text). */
  totalExamples: number;
}

const STATS_EXAMPLES = 2000;

/** The preview of a run's training data: its model's tokenizer and chat template, its data options. */
export async function previewData(config: RunConfig, sources: InputSources = {}, n = 3): Promise<DataPreview> {
  const { modelConfig, model } = await resolveModel(config, sources);
  const tokenizer = await tokenizerFor(modelConfig, model);
  const prepared = await prepareData(config, sources);
  const fmt = chatFormatFor(config, model);
  // tokenize only the head of a large set: the figures describe it, and say so (statsOver)
  let head: PreparedText;
  if (prepared.kind === 'text') head = { ...prepared, train: prepared.train.slice(0, 200_000), probe: undefined };
  else if (prepared.kind === 'pairs')
    head = { ...prepared, train: prepared.train.slice(0, STATS_EXAMPLES), probe: undefined };
  else head = { ...prepared, train: prepared.train.slice(0, STATS_EXAMPLES), probe: undefined };
  const statsOver = prepared.kind === 'text' ? 0 : head.train.length;
  const { train } = tokenizeDataset(head, tokenizer, { completionOnly: config.data.completionOnly, chat: fmt });
  return {
    kind: prepared.kind,
    template: prepared.kind === 'chat' ? fmt.source : null,
    tokenizer: tokenizer.id,
    examples: previewStream(train, tokenizer, n, prepared.kind === 'text' ? 120 : 200),
    stats: dataStats(train, config.train.contextLength),
    statsOver,
    totalExamples: prepared.kind === 'text' ? 0 : prepared.train.length,
  };
}
