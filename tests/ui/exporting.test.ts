/** Import validation: an export is data from outside, checked like a link. */
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { runExport } from './fixtures';

vi.mock('../../src/ui/db', () => ({}));
const { parseExport } = await import('../../src/ui/exporting');
const { defaultDraft } = await import('../../src/ui/draft');

const good = runExport(defaultDraft());

describe('parseExport', () => {
  it('accepts run.json and the zip', () => {
    expect(parseExport(strToU8(JSON.stringify(good))).run.id).toBe('run-abc');
    expect(parseExport(zipSync({ 'run.json': strToU8(JSON.stringify(good)) })).metrics).toHaveLength(1);
  });
  it('rejects what is not a Rankscope export, saying why', () => {
    expect(() => parseExport(strToU8('{"format":"other"}'))).toThrow(/not a valid Rankscope run export/);
    expect(() => parseExport(zipSync({ 'x.txt': strToU8('hi') }))).toThrow(/no run.json/);
    expect(() => parseExport(strToU8('not json'))).toThrow(/not valid JSON/);
    expect(() => parseExport(strToU8(JSON.stringify(good).replace('{', '{"__proto__":{"a":1},')))).toThrow(
      /forbidden key/,
    );
    expect(() => parseExport(strToU8(JSON.stringify({ ...good, run: { ...good.run, id: '../../x' } })))).toThrow(/id/);
    expect(() =>
      parseExport(strToU8(JSON.stringify({ ...good, run: { ...good.run, config: { ...good.run.config, seed: -1 } } }))),
    ).toThrow(/seed/);
    expect(() => parseExport(new Uint8Array([0x50, 0x4b, 1, 2, 3]))).toThrow(/zip/);
  });
});
