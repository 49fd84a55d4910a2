/**
 * Hostile and broken files (issue 19 items 1, 2, 5; issue 18 importers): a tokenizer.json whose regex
 * backtracks catastrophically or whose ids cannot fit a vocabulary, a model with NaN weights, PEFT
 * adapters that do not fit the model they are applied to. Each is refused with one line, fast.
 */
import { describe, it, expect } from 'vitest';
import { createHfTokenizer, MAX_ENCODE_CHARS } from '../../src/engine/io/tokenizers/hf';
import { TokenizerError } from '../../src/engine/io/tokenizers/types';
import { regexHazard } from '../../src/engine/strings';
import { loadModelFiles, modelFiles } from '../../src/engine/io/checkpoint';
import { MODEL_PRESETS } from '../../src/engine/model/config';
import { paramSpecsFor } from '../../src/engine/model/families';

/** A 3-token BPE tokenizer.json with a configurable pre-tokenizer. */
function tok(pre: unknown, vocab: Record<string, number> = { a: 0, b: 1, ab: 2 }): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: pre,
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', vocab, merges: ['a b'], unk_token: null },
  };
}

const within = async <T>(ms: number, f: () => Promise<T>): Promise<{ error: Error | null; ms: number }> => {
  const t0 = performance.now();
  let error: Error | null = null;
  try {
    await f();
  } catch (e) {
    error = e as Error;
  }
  const took = performance.now() - t0;
  expect(took, `took ${took.toFixed(0)} ms`).toBeLessThan(ms);
  return { error, ms: took };
};

describe('hostile tokenizer.json', () => {
  it('refuses a pre-tokenizer regex with nested quantifiers, in well under a second', async () => {
    const json = tok({ type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false });
    const { error } = await within(1000, () => createHfTokenizer(json));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error!.message).toMatch(
      /pre_tokenizer\.pattern\.Regex refused: nested quantifier at character 0: "\(a\+\)\+\$"/,
    );
  });
  it('refuses a normalizer Replace regex inside a Sequence', async () => {
    const json = {
      ...tok(null),
      normalizer: {
        type: 'Sequence',
        normalizers: [{ type: 'Replace', pattern: { Regex: '(\\s|\\s)*x' }, content: '' }],
      },
    };
    const { error } = await within(1000, () => createHfTokenizer(json));
    expect(error?.message).toMatch(/normalizer\.normalizers\[0\]\.pattern\.Regex refused/);
  });
  it('keeps real split patterns (GPT-2, Llama 3)', () => {
    expect(
      regexHazard("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
    ).toBeNull();
    expect(
      regexHazard(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      ),
    ).toBeNull();
    for (const bad of ['(a*)*', '(a|a)*', '((ab)+)+', '(a{2,})*', '(?:\\s+\\w*){2,}'])
      expect(regexHazard(bad), bad).not.toBeNull();
  });
  it('refuses token ids that cannot fit the vocabulary (an id near 10⁹)', async () => {
    const { error } = await within(1000, () => createHfTokenizer(tok(null, { a: 0, b: 1, ab: 999_999_999 })));
    expect(error?.message).toMatch(/token id 999999999 \("ab"\) cannot be right for a vocabulary of 3 tokens/);
  });
  it('bounds the input of one encode call', async () => {
    const t = await createHfTokenizer(tok(null));
    expect(t.encode('ab')).toEqual([2]);
    expect(() => t.encode('a'.repeat(MAX_ENCODE_CHARS + 1))).toThrow(/above the 1048576 a call may encode/);
  });
});

describe('models with non-finite weights', () => {
  it('are refused at load with the count and the first tensor (eval/sample/train never see them)', async () => {
    const cfg = MODEL_PRESETS.micro;
    const weights = new Map(
      paramSpecsFor(cfg).map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.01)]),
    );
    const files = modelFiles(cfg, weights);
    expect((await loadModelFiles('ok', files)).weights.size).toBe(weights.size);
    weights.get('h.1.mlp.c_fc.weight')![7] = NaN;
    weights.get('h.1.mlp.c_fc.weight')![9] = -Infinity;
    await expect(loadModelFiles('bad', modelFiles(cfg, weights))).rejects.toThrow(
      /model "bad": the weights hold 2 non-finite values in 1 tensor \(first: h\.1\.mlp\.c_fc\.weight, 2 at index \d+\)/,
    );
  });
});
