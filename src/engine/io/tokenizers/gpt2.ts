/**
 * GPT-2 byte-level BPE (r50k vocabulary, 50257 tokens, <|endoftext|> = 50256) through js-tiktoken,
 * fully offline: the rank table ships inside the npm package. Loaded with dynamic imports so the
 * ~0.5 MB rank file is fetched only when a run actually uses GPT-2 tokens.
 *
 * The text "<|endoftext|>" inside training data is encoded as ordinary text, never as the special
 * token: user data must not be able to inject control tokens (and tiktoken's default is to throw).
 */
import { checkIds, type Tokenizer } from './types';

export const GPT2_VOCAB_SIZE = 50257;
export const GPT2_EOS_ID = 50256;

let cached: Promise<Tokenizer> | null = null;

export function createGpt2Tokenizer(): Promise<Tokenizer> {
  cached ??= (async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/gpt2')]);
    const enc = new Tiktoken(ranks.default);
    const tok: Tokenizer = {
      id: 'gpt2',
      vocabSize: GPT2_VOCAB_SIZE,
      eosId: GPT2_EOS_ID,
      encode(text: string): number[] {
        return enc.encode(text, [], []);
      },
      decode(ids: ArrayLike<number>): string {
        checkIds(ids, GPT2_VOCAB_SIZE, 'gpt2 tokenizer');
        return enc.decode(Array.from(ids));
      },
    };
    return tok;
  })();
  // a failed import should not poison later attempts
  cached.catch(() => {
    cached = null;
  });
  return cached;
}
