// User-supplied datasets: accepted formats and every rejection path with its message.
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../src/engine/data/types';
import { parseUserDataset, prepareUserDataset } from '../../src/engine/data/user';

const enc = (s: string) => new TextEncoder().encode(s);

function rejects(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a DatasetError').toBeInstanceOf(DatasetError);
  expect((err as Error).message).toMatch(pattern);
}

describe('parseUserDataset: .txt', () => {
  it('accepts UTF-8 text, strips a BOM and normalises CRLF', () => {
    const ds = parseUserDataset('notes.TXT', enc('\ufeffhello\r\nwörld ✓\r\n'));
    expect(ds.kind).toBe('text');
    if (ds.kind === 'text') expect(ds.text).toBe('hello\nwörld ✓\n');
    expect(ds.warnings).toEqual([]);
  });

  it('rejects empty, whitespace-only, binary, non-UTF-8 and oversized files', () => {
    rejects(() => parseUserDataset('a.txt', new Uint8Array(0)), /a\.txt is empty/);
    rejects(() => parseUserDataset('a.txt', enc('  \n\t\n')), /empty \(only whitespace\)/);
    rejects(() => parseUserDataset('a.txt', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d)), /NUL bytes.*binary/);
    // UTF-16LE text has NUL high bytes
    rejects(() => parseUserDataset('a.txt', Uint8Array.of(0xff, 0xfe, 0x68, 0, 0x69, 0)), /NUL bytes/);
    // Latin-1 bytes that are not UTF-8
    rejects(
      () =>
        parseUserDataset(
          'a.txt',
          Uint8Array.from({ length: 100 }, (_, i) => (i % 2 ? 0xe9 : 0x61)),
        ),
      /not UTF-8 text/,
    );
    rejects(
      () => parseUserDataset('a.txt', enc('x'.repeat(2000)), { maxBytes: 1024 }),
      /a\.txt is 2\.0 KB; the limit is 1\.0 KB/,
    );
    rejects(
      () => parseUserDataset('big.txt', new Uint8Array(20 * 1024 * 1024 + 1)),
      /big\.txt is 20\.0 MB; the limit is 20\.0 MB/,
    );
    rejects(() => parseUserDataset('data.csv', enc('a,b')), /unsupported file type/);
    rejects(() => parseUserDataset('noext', enc('a')), /unsupported file type/);
  });

  it('tolerates a rare invalid byte with a warning, and keeps genuine U+FFFD', () => {
    const bytes = new Uint8Array([...enc('a'.repeat(500)), 0xff, ...enc('\ufffd b')]);
    const ds = parseUserDataset('a.txt', bytes);
    expect(ds.warnings[0]).toMatch(/1 invalid UTF-8/);
  });
});

describe('parseUserDataset: .jsonl', () => {
  it('parses prompt/completion lines, skipping blank lines and ignoring extra fields', () => {
    const ds = parseUserDataset(
      'd.jsonl',
      enc('{"prompt":"2+2=","completion":"4"}\n\n{"prompt":"","completion":"x","id":7}\r\n'),
    );
    expect(ds.kind).toBe('pairs');
    if (ds.kind === 'pairs')
      expect(ds.examples).toEqual([
        { prompt: '2+2=', completion: '4' },
        { prompt: '', completion: 'x' },
      ]);
  });

  it('names the line of a malformed record', () => {
    const ok = '{"prompt":"a","completion":"b"}\n';
    rejects(
      () => parseUserDataset('d.jsonl', enc(ok + ok + '{"prompt": "a", "completion": \n')),
      /d\.jsonl line 3: not valid JSON/,
    );
    rejects(() => parseUserDataset('d.jsonl', enc(ok + '\n[1,2]\n')), /line 3: expected an object/);
    rejects(
      () => parseUserDataset('d.jsonl', enc(ok + '{"completion":"b"}\n')),
      /line 2: "prompt" must be a string \(missing\)/,
    );
    rejects(
      () => parseUserDataset('d.jsonl', enc('{"prompt":"a","completion":5}\n')),
      /line 1: "completion" must be a string, got number/,
    );
    rejects(() => parseUserDataset('d.jsonl', enc('{"prompt":"a","completion":null}\n')), /got null/);
    rejects(
      () => parseUserDataset('d.jsonl', enc('{"prompt":"a","completion":""}\n')),
      /line 1: "completion" is empty/,
    );
    rejects(() => parseUserDataset('d.jsonl', enc('\n\n')), /empty/);
    rejects(() => parseUserDataset('d.jsonl', new Uint8Array(0)), /d\.jsonl is empty/);
  });
});

describe('prepareUserDataset', () => {
  it('splits text and pairs deterministically with a non-empty validation set and hashes the bytes', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line number ${i}`).join('\n');
    const ds = parseUserDataset('t.txt', enc(lines));
    const a = await prepareUserDataset(ds, { withProbe: false });
    const b = await prepareUserDataset(ds, { withProbe: false });
    expect(a).toEqual(b);
    expect(a.id).toBe('user:t.txt');
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.probe).toBeUndefined();
    if (a.kind !== 'text') throw new Error('kind');
    const train = new Set(a.train.trim().split('\n'));
    const val = a.val.trim().split('\n');
    expect(val.length).toBeGreaterThan(5);
    expect(val.every((l) => !train.has(l))).toBe(true);
    expect(train.size + val.length).toBe(200);

    // one long line: split by characters
    const one = await prepareUserDataset(parseUserDataset('o.txt', enc('word '.repeat(400))), { withProbe: false });
    if (one.kind !== 'text') throw new Error('kind');
    expect(one.val.length).toBeGreaterThan(0);
    expect(one.train.length).toBeGreaterThan(one.val.length);

    const pairs = parseUserDataset(
      'p.jsonl',
      enc(Array.from({ length: 50 }, (_, i) => JSON.stringify({ prompt: `q${i}`, completion: `a${i}` })).join('\n')),
    );
    const p = await prepareUserDataset(pairs, { withProbe: false, valFraction: 0.2 });
    if (p.kind !== 'pairs') throw new Error('kind');
    expect(p.val.length).toBeGreaterThan(0);
    expect(p.train.length + p.val.length).toBe(50);

    await expect(
      prepareUserDataset(parseUserDataset('s.jsonl', enc('{"prompt":"a","completion":"b"}')), { withProbe: false }),
    ).rejects.toThrow(/at least 2 examples/);
  });
});
