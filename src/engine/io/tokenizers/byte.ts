/**
 * Byte tokenizer: token i is UTF-8 byte i, 256 symbols, no merges. The tiny built-in models use it,
 * so any text (any script, emoji, binary-ish junk) encodes without an unknown token.
 *
 * eosId is null on purpose: all 256 ids are real bytes, and borrowing one (NUL, or '\n' = 10) as
 * end-of-text would make that byte ambiguous. Examples are separated by '\n' in the data stream
 * (see src/engine/data/batcher.ts) and generation stops on a length limit or a newline the caller
 * chooses — neither needs an EOS id.
 */
import { checkIds, type Tokenizer } from './types';

const encoder = new TextEncoder();
// non-fatal: a model can emit a byte sequence that is not valid UTF-8; show U+FFFD, do not throw
const decoder = new TextDecoder('utf-8', { fatal: false });

export function createByteTokenizer(): Tokenizer {
  return {
    id: 'byte',
    vocabSize: 256,
    eosId: null,
    encode(text: string): number[] {
      return Array.from(encoder.encode(text));
    },
    decode(ids: ArrayLike<number>): string {
      checkIds(ids, 256, 'byte tokenizer');
      return decoder.decode(Uint8Array.from(ids as ArrayLike<number>));
    },
  };
}
