/**
 * Tokenizing a run's dataset as one self-contained job: everything it needs is plain data (the
 * tokenizer's spec, the prepared text, the chat settings), so it can run in this thread or be posted
 * to another one. The CLI runs it in a `node:worker_threads` Worker (src/cli/tokenize-thread.ts): a
 * slow but accepted tokenizer regex then keeps only that thread busy, and Ctrl-C / SIGTERM still end
 * the process at once (issue 19 item 2). The page already runs it in its engine worker.
 */
import { createTokenizer, type TokenizerSpec } from '../io/tokenizers';
import { tokenizeDataset, type TokenizedDataset } from './batcher';
import { chatFormatFrom } from './chat';
import { assertCoverage } from './coverage';
import type { PreparedText } from './types';

export interface TokenizeJob {
  tokenizer: TokenizerSpec;
  data: PreparedText;
  completionOnly: boolean;
  /** The model's tokenizer_config (its chat_template) and whether the plain template was asked for. */
  chat: { tokenizerConfig: unknown; usePlain: boolean };
  /** Refuse text the tokenizer mostly drops (default true; `eval` on a built-in set skips it). */
  checkCoverage?: boolean;
}

/** Runs a TokenizeJob somewhere (this thread by default) and returns the tokens. */
export type Tokenize = (job: TokenizeJob) => Promise<TokenizedDataset>;

/** The coverage check (issue 19 item 4: text the tokenizer drops is refused with the figure), then the tokens. */
export async function runTokenizeJob(job: TokenizeJob): Promise<TokenizedDataset> {
  const tokenizer = await createTokenizer(job.tokenizer);
  if (job.checkCoverage !== false) assertCoverage(tokenizer, job.data);
  const chat = chatFormatFrom(job.chat.tokenizerConfig, { usePlain: job.chat.usePlain });
  return tokenizeDataset(job.data, tokenizer, { completionOnly: job.completionOnly, chat });
}
