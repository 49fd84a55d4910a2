/**
 * Comparison links (issue 16): the ticked runs' configs round-trip through `#compare=`, opening one
 * matches the runs this browser has (by id, else by an identical config) and lists the rest to train,
 * and a damaged or hostile link is one message.
 */
import { describe, expect, it } from 'vitest';
import { deflateSync } from 'fflate';
import {
  decodeCompareFragment,
  encodeCompareFragment,
  isCompareFragment,
  matchCompareLink,
  MAX_COMPARE_RUNS,
} from '../../src/ui/compare';
import { defaultDraft } from '../../src/ui/draft';
import { toBase64Url } from '../../src/ui/share';
import type { RunRecord } from '../../src/ui/types';
import type { RunConfig } from '../../src/engine/config';

const base = defaultDraft();
const cfg = (patch: (c: RunConfig) => void): RunConfig => {
  const c = structuredClone(base);
  patch(c);
  return c;
};
const lora = cfg((c) => (c.seed = 1));
const full = cfg((c) => {
  c.method = { id: 'full', params: {} };
  c.train.lr = 1e-4;
});
const rec = (id: string, config: RunConfig, status: RunRecord['status'] = 'done'): RunRecord => ({
  id,
  name: id,
  config,
  createdAt: 0,
  updatedAt: 0,
  status,
  step: 1,
  totalSteps: 1,
  adapterName: 'x',
  matrices: [],
});
const raw = (obj: unknown) => `#compare=${toBase64Url(deflateSync(new TextEncoder().encode(JSON.stringify(obj))))}`;

describe('comparison links', () => {
  it('round-trip names, ids and full configs', () => {
    const frag = encodeCompareFragment([
      { id: 'run-a', name: 'LoRA, seed 1', config: lora },
      { id: 'run-b', name: 'full FT', config: full },
    ]);
    expect(isCompareFragment(`#${frag}`)).toBe(true);
    expect(frag.length).toBeLessThan(4000);
    const d = decodeCompareFragment(`#${frag}`);
    if (!d.ok) throw new Error(d.error);
    expect(d.runs.map((r) => [r.id, r.name])).toEqual([
      ['run-a', 'LoRA, seed 1'],
      ['run-b', 'full FT'],
    ]);
    expect(d.runs[1].config.method.id).toBe('full');
    expect(d.runs[1].config.train.lr).toBe(1e-4);
    expect(d.runs[0].config.seed).toBe(1);
  });

  it('match by id, else by identical config; the rest are missing, in order', () => {
    const link = [
      { id: 'run-a', name: 'a', config: lora },
      { id: 'run-b', name: 'b', config: full },
      { id: 'run-c', name: 'c', config: cfg((c) => (c.seed = 9)) },
    ];
    // a fresh profile: nothing matches
    expect(matchCompareLink(link, []).missing.map((r) => r.id)).toEqual(['run-a', 'run-b', 'run-c']);
    // same id; a reproduction of b under another id; c's id with another config does not count
    const local = [
      rec('run-a', lora),
      rec('mine-b', full),
      rec(
        'run-c',
        cfg((c) => (c.seed = 10)),
      ),
    ];
    const m = matchCompareLink(link, local);
    expect(m.ids).toEqual(['run-a', 'mine-b', null]);
    expect(m.missing.map((r) => r.id)).toEqual(['run-c']);
    // a failed run with the config is not a result to compare
    expect(matchCompareLink([link[1]], [rec('bad', full, 'error')]).ids).toEqual([null]);
  });

  it('refuses damaged, oversized and hostile links with one message', () => {
    const bad = (h: string) => {
      const d = decodeCompareFragment(h);
      expect(d.ok).toBe(false);
      return d.ok ? '' : d.error;
    };
    expect(bad('#compare=')).toMatch(/no data/);
    expect(bad('#compare=!!!')).toMatch(/character/);
    expect(bad(`#compare=${'A'.repeat(30_000)}`)).toMatch(/too long/);
    expect(bad(raw({ v: 2, runs: [] }))).toMatch(/not a Rankscope comparison/);
    expect(bad(raw({ v: 1, runs: [] }))).toMatch(/no runs/);
    const one = { id: 'x', name: 'x', run: encodeCompareFragment([]) };
    expect(bad(raw({ v: 1, runs: Array(MAX_COMPARE_RUNS + 1).fill(one) }))).toMatch(/at most 8/);
    expect(bad(raw({ v: 1, runs: [{ id: 'x', name: 'n' }] }))).toMatch(/incomplete/);
    expect(bad(raw({ v: 1, runs: [{ id: '../../x y', name: 'n', run: 'abc' }] }))).toMatch(/malformed id/);
    expect(bad(raw({ v: 1, runs: [{ id: 'x', name: 'tampered', run: 'AAAA' }] }))).toMatch(/run 1 \(“tampered”\)/);
    expect(bad('#compare=' + toBase64Url(new TextEncoder().encode('{"__proto__":{}}')))).toMatch(/compressed|link/);
  });
});
