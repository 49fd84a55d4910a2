/**
 * Fuzzing user datasets (issue 17 item 4): `.txt`, `.jsonl` of {"prompt","completion"} and of chat
 * {"messages"}, parsed (`parseUserDataset`) and split (`prepareUserDataset`), from mutated valid files.
 * Accepted: a non-empty train split; rejected: DatasetError with one line. Plus the slow case the issue
 * measured (a 20 MB one-line .txt took 7.7 s): bounded here.
 */
import { describe, expect, it } from 'vitest';
import { parseUserDataset, prepareUserDataset, DEFAULT_MAX_USER_BYTES } from '../../src/engine/data/user';
import { DatasetError } from '../../src/engine/data/types';
import { enc, expectClean, fuzz, mutateBytes, mutateJson, type Prng } from './harness';

const CASES = 11_000;

function seed(rng: Prng): { name: string; bytes: Uint8Array } {
  switch (rng.int(3)) {
    case 0:
      return { name: 'notes.txt', bytes: enc.encode('The cat sat.\nA dog ran home.\n\nIt rained all day.\n') };
    case 1: {
      const rows = [
        { prompt: '2+2=', completion: '4' },
        { prompt: 'reverse abc:', completion: 'cba' },
        { prompt: 'hi', completion: 'there' },
      ].map((r) => (rng.chance(0.5) ? mutateJson(rng, r) : r));
      return { name: 'pairs.jsonl', bytes: enc.encode(rows.map((r) => JSON.stringify(r)).join('\n')) };
    }
    default: {
      const conv = {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello?' },
          { role: 'assistant', content: 'Hi.' },
        ],
      };
      const rows = [conv, conv].map((r) => (rng.chance(0.6) ? mutateJson(rng, r) : r));
      return { name: 'chat.jsonl', bytes: enc.encode(rows.map((r) => JSON.stringify(r)).join('\n')) };
    }
  }
}

describe('fuzz: user datasets', () => {
  it(`${CASES} mutated .txt / .jsonl pairs / .jsonl chat files: split into train/val or one line`, async () => {
    const rep = await fuzz({
      name: 'user datasets',
      cases: CASES,
      gen: (rng) => {
        const s = seed(rng);
        return rng.chance(0.5) ? { ...s, bytes: mutateBytes(rng, s.bytes) } : s;
      },
      run: async ({ name, bytes }) =>
        prepareUserDataset(parseUserDataset(name, bytes), { withProbe: false, valFraction: 0.5 }),
      typed: (e) => e instanceof DatasetError,
      valid: (p) => {
        const n = typeof p.train === 'string' ? p.train.length : p.train.length;
        return n > 0 ? null : 'accepted with an empty train split';
      },
    });
    expectClean(rep);
  });

  it('a 20 MB one-line .txt is parsed and split in well under the 7.7 s measured before', async () => {
    const line = 'abcdefghij'.repeat((DEFAULT_MAX_USER_BYTES - 1024) / 10);
    const bytes = enc.encode(line);
    const t0 = performance.now();
    const ds = parseUserDataset('one-line.txt', bytes);
    let outcome = 'accepted';
    try {
      await prepareUserDataset(ds, { withProbe: false });
    } catch (e) {
      expect(e).toBeInstanceOf(DatasetError);
      outcome = `refused: ${(e as Error).message}`;
    }
    const ms = performance.now() - t0;
    console.log(`20 MB one-line .txt: ${outcome} in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(3000);
  });
});
