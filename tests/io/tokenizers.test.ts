// Tokenizers behind one interface: byte round trips, GPT-2 known ids, a hand-made HF tokenizer.json
// (byte-level BPE with a few merges), and clear errors for malformed tokenizer files.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import { createTokenizer, TokenizerError } from '../../src/engine/io/tokenizers';

/** Random strings over ASCII, Latin-1, CJK, emoji (surrogate pairs) and control characters. */
function randomUnicode(rng: Rng, len: number): string {
  const pools = [
    [0x20, 0x7e],
    [0xa0, 0xff],
    [0x4e00, 0x4fff],
    [0x1f600, 0x1f64f],
    [0x0, 0x1f],
    [0x400, 0x4ff],
  ];
  let s = '';
  for (let i = 0; i < len; i++) {
    const [lo, hi] = pools[rng.int(pools.length)];
    s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
  }
  return s;
}

describe('byte tokenizer', () => {
  it('round-trips arbitrary unicode and encodes UTF-8 bytes', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    expect(tok.vocabSize).toBe(256);
    expect(tok.eosId).toBeNull();
    expect(tok.encode('hé')).toEqual([104, 0xc3, 0xa9]);
    const rng = new Rng(3, 'test/byte');
    for (let i = 0; i < 200; i++) {
      const s = randomUnicode(rng, rng.int(40));
      const ids = tok.encode(s);
      expect(ids.every((x) => x >= 0 && x < 256)).toBe(true);
      expect(tok.decode(ids)).toBe(s);
    }
  });

  it('decodes invalid UTF-8 to U+FFFD instead of throwing, and rejects out-of-range ids', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    expect(tok.decode([0x61, 0xe2, 0x82])).toBe('a\ufffd');
    expect(tok.decode(Int32Array.of(0x68, 0x69))).toBe('hi');
    expect(() => tok.decode([256])).toThrow(TokenizerError);
  });
});

describe('gpt2 tokenizer', () => {
  it('matches known GPT-2 ids and round-trips', async () => {
    const tok = await createTokenizer({ kind: 'gpt2' });
    expect(tok.id).toBe('gpt2');
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eosId).toBe(50256);
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode(' the')).toEqual([262]);
    expect(tok.decode([15496, 995])).toBe('Hello world');
    const rng = new Rng(4, 'test/gpt2');
    for (let i = 0; i < 50; i++) {
      const s = randomUnicode(rng, rng.int(30));
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('treats "<|endoftext|>" in data as text, not as the special token', async () => {
    const tok = await createTokenizer({ kind: 'gpt2' });
    const ids = tok.encode('a<|endoftext|>b');
    expect(ids).not.toContain(50256);
    expect(tok.decode(ids)).toBe('a<|endoftext|>b');
    expect(tok.decode([50256])).toBe('<|endoftext|>');
    expect(() => tok.decode([50257])).toThrow(TokenizerError);
  });
});

/** GPT-2's bytes_to_unicode table: printable bytes map to themselves, the rest to U+0100 upward. */
function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++)
    table[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return table;
}

/** A tiny byte-level BPE tokenizer.json: 256 byte symbols, 4 merges, one special token. */
function tinyTokenizerJson(mergeFormat: 'pairs' | 'strings' = 'pairs'): Record<string, unknown> {
  const table = bytesToUnicode();
  const vocab: Record<string, number> = {};
  table.forEach((ch, i) => {
    vocab[ch] = i;
  });
  const merges: Array<[string, string]> = [
    ['h', 'e'],
    ['l', 'l'],
    ['he', 'll'],
    ['\u0120', 'w'],
  ];
  merges.forEach(([a, b], k) => {
    vocab[a + b] = 256 + k;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 260,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: mergeFormat === 'pairs' ? merges : merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

describe('hf tokenizer (tokenizer.json)', () => {
  it('encodes with the merges, decodes back, finds EOS and the vocab size', async () => {
    const tok = await createTokenizer({ kind: 'hf', tokenizerJson: tinyTokenizerJson() });
    expect(tok.id).toMatch(/^hf:[0-9a-f]{16}$/);
    expect(tok.vocabSize).toBe(261);
    expect(tok.eosId).toBe(260);
    const table = bytesToUnicode();
    const id = (c: string) => table.indexOf(c);
    // "hello world" → hell o Ġw o r l d
    expect(tok.encode('hello world')).toEqual([258, id('o'), 259, id('o'), id('r'), id('l'), id('d')]);
    expect(tok.decode(tok.encode('hello world'))).toBe('hello world');
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([])).toBe('');
    const rng = new Rng(5, 'test/hf');
    for (let i = 0; i < 50; i++) {
      const s = randomUnicode(rng, 1 + rng.int(30)).replace(/\s/g, 'x');
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('accepts the old string merge format and uses tokenizer_config eos_token', async () => {
    const tok = await createTokenizer({
      kind: 'hf',
      tokenizerJson: tinyTokenizerJson('strings'),
      tokenizerConfig: { eos_token: 'h' },
    });
    expect(tok.encode('hello')).toEqual(
      await createTokenizer({ kind: 'hf', tokenizerJson: tinyTokenizerJson() }).then((t) => t.encode('hello')),
    );
    expect(tok.eosId).toBe(bytesToUnicode().indexOf('h'));
  });

  it('rejects malformed tokenizer.json with a clear TokenizerError', async () => {
    const bad = async (json: unknown, pattern: RegExp) => {
      await expect(createTokenizer({ kind: 'hf', tokenizerJson: json })).rejects.toThrow(pattern);
      await expect(createTokenizer({ kind: 'hf', tokenizerJson: json })).rejects.toBeInstanceOf(TokenizerError);
    };
    await bad('not an object', /must be a JSON object/);
    await bad([], /must be a JSON object/);
    await bad({ version: '1.0' }, /no "model" object/);
    await bad({ model: { type: 'BPE', vocab: {}, merges: [] } }, /vocab must be a non-empty object/);
    await bad({ model: { type: 'BPE', vocab: { a: 0 } } }, /merges must be an array/);
    await bad({ model: { type: 'BPE', vocab: { a: 0 }, merges: [42] } }, /merges\[0\]/);
    await bad(
      { model: { type: 'BPE', vocab: { a: 'zero' }, merges: [] } },
      /model.vocab\["a"\] must be a non-negative integer/,
    );
    await bad({ model: { type: 'WordLevel', vocab: { a: 0 } } }, /unsupported tokenizer model type "WordLevel"/);
    await bad({ ...tinyTokenizerJson(), added_tokens: {} }, /added_tokens/);
    await bad({ ...tinyTokenizerJson(), pre_tokenizer: { type: 'NoSuchPreTokenizer' } }, /could not build tokenizer/);
    await expect(
      createTokenizer({ kind: 'hf', tokenizerJson: tinyTokenizerJson(), tokenizerConfig: 'x' }),
    ).rejects.toThrow(/tokenizer_config/);
  });

  it('an unknown tokenizer kind is an error', async () => {
    await expect(createTokenizer({ kind: 'sentencepiece' } as never)).rejects.toThrow(
      /unknown tokenizer kind "sentencepiece"/,
    );
  });
});
