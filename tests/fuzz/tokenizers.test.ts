/**
 * Fuzzing tokenizer.json (+ tokenizer_config.json) (issue 17 item 4): `createHfTokenizer` over mutated
 * BPE / WordPiece / Unigram files with normalizers and pre-tokenizers (including Split/Replace regex
 * patterns, where a hostile pattern such as `(a+)+$` backtracks catastrophically), then encode and
 * decode a text with a long run of one letter. Accepted: ids inside the vocabulary, decode works;
 * rejected: TokenizerError with one line; no case over 1 s.
 */
import { describe, it } from 'vitest';
import { createHfTokenizer } from '../../src/engine/io/tokenizers/hf';
import { TokenizerError } from '../../src/engine/io/tokenizers/types';
import { expectClean, fuzz, mutateJson, type Prng } from './harness';

const CASES = 10_000;
const TEXT = 'hello world, ' + 'a'.repeat(40) + 'b';

function vocabOf(extra: string[]): Record<string, number> {
  const v: Record<string, number> = { '[UNK]': 0 };
  for (const ch of 'abcdefghijklmnopqrstuvwxyz ,.'.split('').concat(extra))
    if (!(ch in v)) v[ch] = Object.keys(v).length;
  return v;
}

function seedTokenizer(rng: Prng): Record<string, unknown> {
  const normalizer = rng.pick([
    null,
    { type: 'NFC' },
    { type: 'Lowercase' },
    { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
    { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
  ]);
  const pre = rng.pick([
    null,
    { type: 'Whitespace' },
    { type: 'Split', pattern: { Regex: '\\w+|[^\\w\\s]+' }, behavior: 'Isolated', invert: false },
    { type: 'Split', pattern: { String: ' ' }, behavior: 'Removed', invert: false },
    { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  ]);
  const kind = rng.int(3);
  const model =
    kind === 0
      ? { type: 'BPE', vocab: vocabOf(['he', 'll', 'hell', '▁']), merges: ['h e', 'l l', 'he ll'], unk_token: '[UNK]' }
      : kind === 1
        ? {
            type: 'WordPiece',
            vocab: vocabOf(['##a', '##b', 'hello', '▁']),
            unk_token: '[UNK]',
            continuing_subword_prefix: '##',
            max_input_chars_per_word: 100,
          }
        : {
            type: 'Unigram',
            unk_id: 0,
            vocab: Object.keys(vocabOf(['he', 'llo', '▁'])).map((p, i) => [p, -1 - i / 10]),
          };
  return {
    version: '1.0',
    added_tokens: [
      { id: 40, content: '</s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
    ],
    normalizer,
    pre_tokenizer: pre,
    post_processor: null,
    decoder: null,
    model,
  };
}

describe('fuzz: tokenizers', () => {
  it(`${CASES} mutated tokenizer.json / tokenizer_config.json: a working tokenizer or one line`, async () => {
    const rep = await fuzz({
      name: 'tokenizer.json',
      cases: CASES,
      gen: (rng) => {
        const json = seedTokenizer(rng);
        const config = { eos_token: '</s>', clean_up_tokenization_spaces: false };
        return rng.chance(0.8)
          ? { json: mutateJson(rng, json), config: rng.chance(0.2) ? mutateJson(rng, config) : config }
          : { json, config };
      },
      run: async ({ json, config }) => {
        const tok = await createHfTokenizer(json, config);
        const ids = tok.encode(TEXT);
        return { tok, ids, text: tok.decode(ids) };
      },
      typed: (e) => e instanceof TokenizerError,
      valid: ({ tok, ids, text }) => {
        if (!(Number.isInteger(tok.vocabSize) && tok.vocabSize > 0)) return `vocab size ${tok.vocabSize}`;
        for (const id of ids)
          if (!(Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) return `id ${id} outside the vocabulary`;
        return typeof text === 'string' ? null : 'decode did not return text';
      },
    });
    expectClean(rep);
  });
});
