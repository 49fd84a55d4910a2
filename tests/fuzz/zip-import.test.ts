/**
 * Fuzzing the project's own run import (issue 17 item 4): `parseExport` (src/ui/exporting.ts) over
 * mutated export zips (byte edits of the archive, and archives rebuilt from mutated run.json) and bare
 * run.json files. Accepted: a record the export schema accepts; rejected: an Error with one line.
 */
import { strToU8, zipSync } from 'fflate';
import { describe, it, vi } from 'vitest';
import { runExport } from '../ui/fixtures';
import { expectClean, fuzz, isJsError, mutateBytes, mutateJson } from './harness';

vi.mock('../../src/ui/db', () => ({}));
const { parseExport } = await import('../../src/ui/exporting');
const { defaultDraft } = await import('../../src/ui/draft');

const CASES = 10_000;

const good = runExport(defaultDraft());

describe('fuzz: run import (zip and run.json)', () => {
  it(`${CASES} mutated exports: a valid record or a one-line error`, async () => {
    const zipOf = (v: unknown) =>
      zipSync({ 'run.json': strToU8(JSON.stringify(v) ?? 'null'), 'adapter/README.md': strToU8('x') });
    const goodZip = zipOf(good);
    const rep = await fuzz({
      name: 'run import',
      cases: CASES,
      gen: (rng) => {
        switch (rng.int(4)) {
          case 0:
            return mutateBytes(rng, goodZip);
          case 1:
            return zipOf(mutateJson(rng, good));
          case 2:
            return strToU8(JSON.stringify(mutateJson(rng, good)) ?? 'null');
          default:
            return rng.chance(0.5) ? goodZip : zipOf(good);
        }
      },
      run: (bytes) => parseExport(bytes),
      typed: (e) => e instanceof Error && !isJsError(e),
      valid: (r) => (r.format === 'rankscope-run' && typeof r.run.id === 'string' ? null : 'accepted a non-export'),
    });
    expectClean(rep);
  });
});
