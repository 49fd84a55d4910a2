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
import { escapeControl, regexHazard } from '../../strings';

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
  checkPatterns(json);
  checkIdRange(vocab, added);
  // the library requires these keys to exist (null is fine); real files always have them
  const filled: Json = { ...json, added_tokens: added };
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (!(key in filled)) filled[key] = null;
  }
  return filled;
}

/** The most characters one encode call takes (the batcher encodes in 64K-character chunks). */
export const MAX_ENCODE_CHARS = 1 << 20;
/** The largest vocabulary a model config accepts (ModelConfigSchema.vocabSize). */
const MAX_VOCAB = 262144;

/**
 * Hostile tokenizer.json (issue 19 item 2): regexes in the normalizer, pre-tokenizer and decoder run
 * on JavaScript's backtracking RegExp, so a pattern with nested quantifiers is refused before the
 * library compiles it (strings.ts `regexHazard`).
 */
function checkPatterns(json: Json): void {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > 32) throw new TokenizerError(`tokenizer.json ${path} is nested more than 32 levels deep`);
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    if (!isObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Regex' && typeof x === 'string') {
        const why = regexHazard(x);
        if (why) throw new TokenizerError(`tokenizer.json ${path}.Regex refused: ${why}`);
      } else walk(x, `${path}.${k}`, depth + 1);
    }
  };
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder']) walk(json[key], key, 0);
}

/**
 * Token ids must fit the vocabulary they come with: the model's embedding has max id + 1 rows, so a
 * single id near 10⁹ would ask for a billion-row embedding. Ids may have gaps (merged vocabularies),
 * but not beyond twice the number of tokens plus 1024, nor past the largest vocabulary we support.
 */
function checkIdRange(vocab: unknown, added: unknown[]): void {
  let n = 0,
    maxId = -1,
    maxTok = '';
  const see = (tok: string, id: unknown) => {
    n++;
    if (typeof id === 'number' && id > maxId) {
      maxId = id;
      maxTok = tok;
    }
  };
  if (isObject(vocab)) for (const [tok, id] of Object.entries(vocab)) see(tok, id);
  else if (Array.isArray(vocab)) vocab.forEach((_, i) => see(String(i), i));
  for (const t of added) if (isObject(t)) see(String(t.content), t.id);
  const cap = Math.min(MAX_VOCAB, 2 * n + 1024);
  if (maxId >= cap)
    throw new TokenizerError(
      `tokenizer.json: token id ${maxId} (${JSON.stringify(escapeControl(maxTok).slice(0, 40))}) cannot be right for a vocabulary of ${n} tokens (ids must stay below ${cap})`,
    );
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
      if (text.length > MAX_ENCODE_CHARS)
        throw new TokenizerError(
          `tokenizer: one piece of ${text.length} characters is above the ${MAX_ENCODE_CHARS} a call may encode`,
        );
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
