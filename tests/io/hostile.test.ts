/**
 * Hostile and broken files (issue 19 items 1, 2, 5; issue 18 importers): a tokenizer.json whose regex
 * backtracks catastrophically or whose ids cannot fit a vocabulary, a model with NaN weights, PEFT
 * adapters that do not fit the model they are applied to. Each is refused with one line, fast.
 */
import { describe, it, expect } from 'vitest';
import { createHfTokenizer, MAX_ENCODE_CHARS } from '../../src/engine/io/tokenizers/hf';
import { TokenizerError, type Tokenizer } from '../../src/engine/io/tokenizers/types';
import { assertCoverage, tokenizerCoverage } from '../../src/engine/data/coverage';
import type { PreparedText } from '../../src/engine/data/types';
import { regexHazard } from '../../src/engine/strings';
import { loadModelFiles, modelFiles } from '../../src/engine/io/checkpoint';
import { MODEL_PRESETS } from '../../src/engine/model/config';
import { paramSpecsFor } from '../../src/engine/model/families';
import { importPeft } from '../../src/engine/io/peft';
import { checkPeftAgainstModel } from '../../src/engine/io/peft-check';
import { parseSafetensors, toFloat32, writeSafetensors } from '../../src/engine/io/safetensors';

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

describe('PEFT adapters (issue 18 importers, issue 19 items 9, 11)', () => {
  const micro = MODEL_PRESETS.micro; // 2 layers, width 32: c_attn 32 → 96
  const enc = new TextEncoder();
  const files = (
    config: Record<string, unknown>,
    modules: { name: string; A: number[]; B: number[]; fill?: number }[],
  ) => {
    const tensors = modules.flatMap((m) => [
      {
        name: `base_model.model.transformer.${m.name}.lora_A.weight`,
        shape: m.A,
        data: new Float32Array(m.A[0] * m.A[1]).fill(m.fill ?? 0.01),
      },
      {
        name: `base_model.model.transformer.${m.name}.lora_B.weight`,
        shape: m.B,
        data: new Float32Array(m.B[0] * m.B[1]).fill(m.fill ?? 0.01),
      },
    ]);
    return [
      {
        name: 'adapter_config.json',
        bytes: enc.encode(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, ...config })),
      },
      { name: 'adapter_model.safetensors', bytes: writeSafetensors(tensors) },
    ];
  };
  const good = { name: 'h.0.attn.c_attn', A: [4, 32], B: [96, 4] };
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('checks every module against the model: a layer it does not have, a width that does not fit', () => {
    const im = importPeft(
      files({}, [
        good,
        { name: 'h.999.attn.c_attn', A: [4, 32], B: [96, 4] },
        { name: 'h.1.mlp.c_fc', A: [4, 48], B: [128, 4] },
      ]),
    );
    expect(checkPeftAgainstModel(im, micro)).toEqual([
      "h.1.mlp.c_fc: lora_A is [4, 48] but the model's linear takes 32 inputs",
      'h.999.attn.c_attn: the model has layers 0…1, not 999',
    ]);
    expect(checkPeftAgainstModel(importPeft(files({}, [good])), micro)).toEqual([]);
  });
  it('refuses non-finite factors with the count and where, one line per tensor', () => {
    const m = message(() =>
      importPeft(
        files({}, [
          { ...good, fill: NaN },
          { name: 'h.1.attn.c_attn', A: [4, 32], B: [96, 4] },
        ]),
      ),
    );
    expect(m.split(/\n|; /)).toEqual([
      'h.0.attn.c_attn.lora_A: 128 non-finite values of 128 (first at index 0)',
      'h.0.attn.c_attn.lora_B: 384 non-finite values of 384 (first at index 0)',
    ]);
  });
  it('refuses r = 0, a non-numeric lora_alpha and bad pattern values', () => {
    expect(message(() => importPeft(files({ r: 0 }, [good])))).toMatch(/r must be a positive integer, got 0/);
    expect(message(() => importPeft(files({ lora_alpha: 'sixteen' }, [good])))).toMatch(/lora_alpha must be a number/);
    expect(message(() => importPeft(files({ rank_pattern: { c_attn: 0 } }, [good])))).toMatch(
      /rank_pattern\["c_attn"\] must be a positive integer, got 0/,
    );
  });
  it('matches rank_pattern keys without catastrophic cost: thousands of keys, a backtracking key refused', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`h.${i + 10}.mlp.c_fc`, 2]));
    const t0 = performance.now();
    const im = importPeft(files({ rank_pattern: { ...many, 'h.0.attn.c_attn': 4 } }, [good]));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(im.modules[0].r).toBe(4);
    const t1 = performance.now();
    expect(message(() => importPeft(files({ rank_pattern: { '(a+)+$': 4 } }, [good])))).toMatch(
      /rank_pattern key "\(a\+\)\+\$" refused: nested quantifier/,
    );
    expect(performance.now() - t1).toBeLessThan(1000);
  });
  it('rejects __proto__ / constructor / prototype keys in adapter_config.json', () => {
    const bytes = enc.encode('{"peft_type":"LORA","r":4,"lora_alpha":8,"rank_pattern":{"__proto__":{"polluted":1}}}');
    const f = files({}, [good]);
    f[0] = { name: 'adapter_config.json', bytes };
    expect(message(() => importPeft(f))).toMatch(/key "rank_pattern\.__proto__" is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('tokenizer coverage (issue 19 item 4)', () => {
  const dropping = (keep: RegExp): Tokenizer => ({
    id: 'test:drops',
    vocabSize: 256,
    eosId: null,
    encode: (s) => [...s].filter((c) => keep.test(c)).map((c) => c.charCodeAt(0) & 255),
    decode: (ids) => String.fromCharCode(...Array.from(ids)),
  });
  const ds = (train: string): PreparedText =>
    ({ id: 'x', kind: 'text', train, val: '', hash: '0'.repeat(64) }) as PreparedText;

  it('measures the share of text that survives encode → decode', () => {
    const c = tokenizerCoverage(dropping(/[a-e\s]/), 'abcde fghij klmno');
    expect(c).toEqual({ chars: 15, kept: 5, fraction: 5 / 15 });
    expect(tokenizerCoverage(dropping(/./), 'all kept').fraction).toBe(1);
  });
  it('refuses a dataset the tokenizer mostly drops, with the figure', () => {
    expect(() => assertCoverage(dropping(/[a-c\s]/), ds('the quick brown fox jumps over the lazy dog'))).toThrow(
      /tokenizer test:drops keeps only 8\.6 % of the dataset's text \(3 of 35 non-space characters/,
    );
    expect(assertCoverage(dropping(/./), ds('fine text')).fraction).toBe(1);
  });
});

describe('model checkpoint shapes (issue 19 item 5)', () => {
  it('a transposed weight is refused by its shape, not accepted for its element count', async () => {
    const cfg = MODEL_PRESETS.micro;
    const weights = new Map(
      paramSpecsFor(cfg).map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.01)]),
    );
    const files = modelFiles(cfg, weights);
    const st = parseSafetensors(files.find((f) => f.name === 'model.safetensors')!.bytes);
    const tensors = [...st.tensors.values()].map((t) => ({
      name: t.name,
      shape: t.name === 'h.0.attn.c_attn.weight' ? [t.shape[1], t.shape[0]] : t.shape,
      data: toFloat32(t),
    }));
    const bad = files.map((f) => (f.name === 'model.safetensors' ? { ...f, bytes: writeSafetensors(tensors) } : f));
    await expect(loadModelFiles('t', bad)).rejects.toThrow(
      /h\.0\.attn\.c_attn\.weight has shape \[96,32\], config\.json implies \[32,96\]/,
    );
  });
});
