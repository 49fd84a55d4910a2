/**
 * Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram; normalisers, pre-tokenizers, decoders)
 * through @huggingface/tokenizers, constructed from already-parsed objects, so it runs offline with
 * a file the person drops on the page. See shared/reference/peft-spectra-formats.md §5.2–5.3.
 *
 * This file adds what the library leaves to the caller: a structural check with clear messages
 * before construction, TokenizerError instead of library TypeErrors, an EOS lookup, a vocab size
 * that covers added tokens, and faithful decoding (`clean_up_tokenization_spaces` is off unless the
 * tokenizer_config asks for it — the library default would rewrite " ." to ".", which breaks
 * decode(encode(x)) for the sample viewer).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { sha256Hex } from '../assets';
import { checkIds, TokenizerError, type Tokenizer } from './types';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Common end-of-text spellings, tried when tokenizer_config names no eos_token. */
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>', '<|eot_id|>', '[SEP]'];

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

function validate(json: unknown): Json {
  if (!isObject(json)) throw new TokenizerError('tokenizer.json must be a JSON object');
  const model = json.model;
  if (!isObject(model)) throw new TokenizerError('tokenizer.json has no "model" object');
  const type = model.type;
  if (type !== undefined && typeof type !== 'string')
    throw new TokenizerError('tokenizer.json model.type must be a string');
  const vocab = model.vocab;
  if (type === 'Unigram' || Array.isArray(vocab)) {
    if (!Array.isArray(vocab) || vocab.length === 0)
      throw new TokenizerError('Unigram model.vocab must be a non-empty array of [piece, score]');
  } else {
    if (!isObject(vocab) || Object.keys(vocab).length === 0) {
      throw new TokenizerError(`${type ?? 'tokenizer'} model.vocab must be a non-empty object of token → id`);
    }
    for (const [tok, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0) {
        throw new TokenizerError(
          `model.vocab[${JSON.stringify(tok)}] must be a non-negative integer id, got ${JSON.stringify(id)}`,
        );
      }
    }
  }
  if (type === 'BPE') {
    if (!Array.isArray(model.merges)) throw new TokenizerError('BPE model.merges must be an array');
    model.merges.forEach((m, i) => {
      const ok =
        (typeof m === 'string' && m.includes(' ')) ||
        (Array.isArray(m) && m.length === 2 && m.every((s) => typeof s === 'string'));
      if (!ok) throw new TokenizerError(`BPE model.merges[${i}] must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
    });
  } else if (type !== undefined && type !== 'WordPiece' && type !== 'Unigram') {
    throw new TokenizerError(
      `unsupported tokenizer model type ${JSON.stringify(type)} (supported: BPE, WordPiece, Unigram)`,
    );
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerError('tokenizer.json "added_tokens" must be an array');
  added.forEach((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id) || (t.id as number) < 0) {
      throw new TokenizerError(`added_tokens[${i}] must have a string "content" and a non-negative integer "id"`);
    }
  });
  // the library requires these keys to exist (null is fine); real files always have them
  const filled: Json = { ...json, added_tokens: added };
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (!(key in filled)) filled[key] = null;
  }
  return filled;
}

export async function createHfTokenizer(tokenizerJson: unknown, tokenizerConfig?: unknown): Promise<Tokenizer> {
  const json = validate(tokenizerJson);
  if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new TokenizerError('tokenizer_config.json must be a JSON object');
  }
  const config: Json = isObject(tokenizerConfig) ? tokenizerConfig : {};
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer(json, config);
  } catch (e) {
    throw new TokenizerError(`could not build tokenizer from tokenizer.json: ${(e as Error).message}`);
  }

  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) if (id > maxId) maxId = id;
  const vocabSize = maxId + 1;

  let eosId: number | null = null;
  const eosName = tokenContent(config.eos_token);
  if (eosName !== null) eosId = tok.token_to_id(eosName) ?? null;
  if (eosId === null) {
    for (const name of EOS_CANDIDATES) {
      const id = tok.token_to_id(name);
      if (id !== undefined) {
        eosId = id;
        break;
      }
    }
  }

  const cleanUp = config.clean_up_tokenization_spaces === true;
  const id = `hf:${(await sha256Hex(JSON.stringify(tokenizerJson))).slice(0, 16)}`;

  return {
    id,
    vocabSize,
    eosId,
    encode(text: string): number[] {
      if (text.length === 0) return [];
      let enc;
      try {
        enc = tok.encode(text, { add_special_tokens: false });
      } catch (e) {
        throw new TokenizerError(`tokenizer failed to encode text: ${(e as Error).message}`);
      }
      const ids = enc.ids;
      for (let i = 0; i < ids.length; i++) {
        if (!Number.isInteger(ids[i])) {
          throw new TokenizerError(
            `piece ${JSON.stringify(enc.tokens[i])} is not in the vocabulary and the model has no unk_token`,
          );
        }
      }
      return ids;
    },
    decode(ids: ArrayLike<number>): string {
      if (ids.length === 0) return ''; // the library throws on an empty array
      checkIds(ids, vocabSize, 'hf tokenizer');
      return tok.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: cleanUp });
    },
  };
}
