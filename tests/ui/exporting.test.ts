/** Import validation: an export is data from outside, checked like a link. */
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/ui/db', () => ({}));
const { parseExport } = await import('../../src/ui/exporting');
const { defaultDraft } = await import('../../src/ui/draft');

const good = {
  format: 'rankscope-run',
  version: 1,
  link: null,
  run: {
    id: 'run-abc',
    name: 'r',
    config: defaultDraft(),
    createdAt: 1,
    status: 'done',
    step: 2,
    totalSteps: 2,
    adapterName: 'x',
    matrices: ['h.0.attn.c_attn'],
  },
  metrics: [
    {
      elapsedMs: 5,
      batch: {
        step: [1, 2],
        loss: [5, 4.5],
        lr: [1e-3, 1e-3],
        gradNorm: [1, 1],
        tokensPerSec: [10, 10],
        valLoss: [null, 4],
        probeLoss: [null, 6],
      },
    },
  ],
  spectra: [],
};

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
