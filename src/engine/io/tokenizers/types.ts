/**
 * The one tokenizer interface the engine sees. Byte, GPT-2 BPE and Hugging Face tokenizer.json
 * implementations live beside this file; `index.ts` builds one from a serialisable spec.
 *
 * Contract: `encode` adds no special tokens (no BOS/EOS) — the batcher concatenates pieces of text
 * and inserts separators itself, so a tokenizer that silently prepended BOS to every piece would
 * corrupt the stream. `decode(encode(s)) === s` for byte and GPT-2; HF tokenizers may normalise.
 */

export interface Tokenizer {
  /** Stable identity for a RunConfig, e.g. 'byte', 'gpt2', 'hf:<sha256 prefix of tokenizer.json>'. */
  id: string;
  /** Number of embedding rows the model needs: max token id + 1. */
  vocabSize: number;
  /** End-of-text token, or null when the vocabulary has none (the byte tokenizer). */
  eosId: number | null;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
}

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** Throw a TokenizerError unless every id is an integer in [0, vocabSize). */
export function checkIds(ids: ArrayLike<number>, vocabSize: number, who: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new TokenizerError(`${who}: token id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}
