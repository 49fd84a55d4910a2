// Tokenisation and batching: determinism by seed and step, window/target alignment, pair loss masks,
// and sequential evaluation windows that score every token exactly once.
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../../src/engine/io/tokenizers';
import {
  Batcher,
  encodeText,
  evalBatches,
  tokenizeDataset,
  type Batch,
  type TokenStream,
} from '../../src/engine/data/batcher';
import { generateAddition } from '../../src/engine/data/procedural';
import { DatasetError, type PreparedText } from '../../src/engine/data/types';

function textStream(n: number): TokenStream {
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = i; // token value = its position, so windows are checkable
  return { tokens, lossMask: null };
}

function same(a: Batch, b: Batch): boolean {
  return (
    a.inputs.every((v, i) => v === b.inputs[i]) &&
    a.targets.every((v, i) => v === b.targets[i]) &&
    a.mask.every((v, i) => v === b.mask[i])
  );
}

describe('Batcher', () => {
  it('is a pure function of (seed, purpose, step)', () => {
    const s = textStream(10_000);
    const a = new Batcher(s, { B: 4, T: 16, seed: 1 });
    const b = new Batcher(s, { B: 4, T: 16, seed: 1 });
    const seq = [a.next(), a.next(), a.next()];
    expect(seq.every((x, k) => same(x, b.batchAt(k)))).toBe(true);
    expect(same(b.batchAt(2), b.batchAt(2))).toBe(true);
    expect(same(seq[0], seq[1])).toBe(false);
    expect(same(seq[0], new Batcher(s, { B: 4, T: 16, seed: 2 }).batchAt(0))).toBe(false);
    expect(same(seq[0], new Batcher(s, { B: 4, T: 16, seed: 1, purpose: 'other' }).batchAt(0))).toBe(false);
    // resuming at a step continues the same sequence
    const c = new Batcher(s, { B: 4, T: 16, seed: 1 });
    c.step = 2;
    expect(same(c.next(), seq[2])).toBe(true);
  });

  it('rows are contiguous windows with targets shifted by one, all counted', () => {
    const s = textStream(5000);
    const bat = new Batcher(s, { B: 8, T: 32, seed: 9 });
    const starts = new Set<number>();
    for (let step = 0; step < 50; step++) {
      const { inputs, targets, mask } = bat.batchAt(step);
      expect(inputs.length).toBe(8 * 32);
      for (let b = 0; b < 8; b++) {
        const o = inputs[b * 32];
        starts.add(o);
        expect(o + 32).toBeLessThan(5000);
        for (let t = 0; t < 32; t++) {
          expect(inputs[b * 32 + t]).toBe(o + t);
          expect(targets[b * 32 + t]).toBe(o + t + 1);
          expect(mask[b * 32 + t]).toBe(1);
        }
      }
    }
    expect(starts.size).toBeGreaterThan(350); // offsets are spread, not a handful
  });

  it('pads a stream shorter than T+1 with mask 0 and rejects a 1-token stream', () => {
    const bat = new Batcher(textStream(5), { B: 2, T: 8, seed: 0 });
    const { inputs, targets, mask } = bat.batchAt(0);
    expect(Array.from(inputs.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 0, 0, 0]);
    expect(Array.from(targets.subarray(0, 8))).toEqual([1, 2, 3, 4, 0, 0, 0, 0]);
    expect(Array.from(mask.subarray(0, 8))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(() => new Batcher(textStream(1), { B: 1, T: 4, seed: 0 })).toThrow(DatasetError);
    expect(() => new Batcher(textStream(100), { B: 0, T: 4, seed: 0 })).toThrow(/batch size/);
    expect(() => new Batcher(textStream(100), { B: 1, T: 4, seed: 0 }).batchAt(-1)).toThrow(/step/);
  });
});

describe('pairs', () => {
  it('loss mask covers exactly completion + newline, and windows start at example boundaries', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const examples = generateAddition(300, 3);
    const ds: PreparedText = { id: 'addition', hash: 'x', kind: 'pairs', train: examples, val: examples.slice(0, 20) };
    const { train } = tokenizeDataset(ds, tok);
    expect(train.lossMask).not.toBeNull();
    const text = examples.map((e) => e.prompt + e.completion + '\n').join('');
    expect(tok.decode(train.tokens)).toBe(text);
    // mask reconstructs the completions
    let masked = '';
    for (let i = 0; i < train.tokens.length; i++)
      if (train.lossMask![i]) masked += String.fromCharCode(train.tokens[i]);
    expect(masked).toBe(examples.map((e) => e.completion + '\n').join(''));
    expect(train.starts!.length).toBe(300);

    const T = 24;
    const bat = new Batcher(train, { B: 16, T, seed: 5 });
    const startSet = new Set(Array.from(train.starts!));
    for (let step = 0; step < 20; step++) {
      const { inputs, targets, mask } = bat.batchAt(step);
      for (let b = 0; b < 16; b++) {
        // the first input of a row is the first character of some prompt
        const row = tok.decode(inputs.subarray(b * T, b * T + T));
        expect(/^\d+\+\d+=/.test(row)).toBe(true);
        // every counted target is a completion digit or newline; prompt characters never count
        for (let t = 0; t < T; t++) {
          const ch = String.fromCharCode(targets[b * T + t]);
          if (mask[b * T + t] === 1) expect(/[\d\n]/.test(ch)).toBe(true);
          if (ch === '+' || ch === '=') expect(mask[b * T + t]).toBe(0);
        }
      }
    }
    expect(startSet.has(0)).toBe(true);
  });
});

describe('evalBatches', () => {
  it('scores every target exactly once, in order, deterministically', () => {
    const s = textStream(1000);
    const batches = evalBatches(s, { B: 4, T: 30 });
    const windows = Math.ceil(999 / 30);
    expect(batches.length).toBe(Math.ceil(windows / 4));
    const seen: number[] = [];
    for (const { targets, mask } of batches)
      for (let i = 0; i < targets.length; i++) if (mask[i]) seen.push(targets[i]);
    expect(seen).toEqual(Array.from({ length: 999 }, (_, i) => i + 1));
    expect(evalBatches(s, { B: 4, T: 30 }).every((b, k) => same(b, batches[k]))).toBe(true);
    expect(evalBatches(s, { B: 4, T: 30, maxBatches: 2 })).toHaveLength(2);
  });

  it('respects the pair loss mask', async () => {
    const tok = await createTokenizer({ kind: 'byte' });
    const ex = [
      { prompt: '1+1=', completion: '2' },
      { prompt: '2+3=', completion: '5' },
    ];
    const { val } = tokenizeDataset({ id: 'x', hash: 'x', kind: 'pairs', train: ex, val: ex }, tok);
    const [b] = evalBatches(val, { B: 2, T: 8 });
    const counted: string[] = [];
    for (let i = 0; i < b.mask.length; i++) if (b.mask[i]) counted.push(String.fromCharCode(b.targets[i]));
    expect(counted.join('')).toBe('2\n5\n');
  });
});

describe('encodeText', () => {
  it('chunked encoding of a long text equals whole-text encoding (GPT-2 and bytes)', async () => {
    const line = 'The quick brown fox, naïve café 🦊, jumps over 13 lazy dogs.';
    const text = Array.from({ length: 3000 }, (_, i) => `${i}: ${line}`).join('\n') + '\n'; // ~200 K chars > one chunk
    for (const kind of ['gpt2', 'byte'] as const) {
      const tok = await createTokenizer({ kind });
      expect(Array.from(encodeText(text, tok).tokens)).toEqual(tok.encode(text));
    }
  });
});
