// Built-in datasets: the manifest matches the files on disk, splits are deterministic and keyed by the
// fixed split seed only, the forgetting probe is disjoint from train/val, procedural sets keep train
// and val questions apart.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { loadAsset, sha256Hex } from '../../src/engine/io/assets';
import {
  DatasetError,
  listDatasets,
  loadDataset,
  loadForgettingProbe,
  loadManifest,
} from '../../src/engine/data/datasets';
import type { DataManifestEntry, PreparedText } from '../../src/engine/data/types';

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

function text(d: PreparedText): { train: string; val: string } {
  if (d.kind !== 'text') throw new Error(`${d.id} is not text`);
  return d;
}

describe('public/data manifest', () => {
  it('hashes, sizes and line counts match the files', async () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../public/data/index.json', import.meta.url), 'utf8'),
    ) as DataManifestEntry[];
    expect(manifest.map((m) => m.id).sort()).toEqual(['brown-fiction', 'brown-news', 'english']);
    let total = 0;
    for (const m of manifest) {
      const gz = readFileSync(new URL(`../../public/${m.file}`, import.meta.url));
      expect(createHash('sha256').update(gz).digest('hex'), m.file).toBe(m.sha256);
      expect(gz.length).toBe(m.bytes);
      const raw = gunzipSync(gz);
      expect(raw.length).toBe(m.rawBytes);
      expect(lines(new TextDecoder().decode(raw)).length).toBe(m.lines);
      expect(m.license.length).toBeGreaterThan(0);
      expect(m.source.length).toBeGreaterThan(0);
      total += gz.length;
      // loadAsset (the code path the engine uses) returns the same bytes
      expect(await sha256Hex(await loadAsset(m.file))).toBe(m.sha256);
    }
    expect(total).toBeLessThan(6_000_000);
    expect(await loadManifest()).toEqual(manifest);
  });

  it('sha256Hex agrees with node:crypto', async () => {
    expect(await sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    await expect(loadAsset('data/nope.bin')).rejects.toThrow(/not found/);
    await expect(loadAsset('../package.json')).rejects.toThrow(/inside public/);
  });
});

describe('registry', () => {
  it('lists the built-in ids', () => {
    const ids = listDatasets().map((d) => d.id);
    expect(ids).toEqual([
      'english',
      'brown-fiction',
      'brown-news',
      'addition',
      'reversal',
      'dates',
      'chat-addition',
      'chat-reversal',
      'chat-dates',
    ]);
  });

  it('rejects unknown ids and bad options', async () => {
    await expect(loadDataset('nope', { seed: 1 })).rejects.toBeInstanceOf(DatasetError);
    await expect(loadDataset('english', { seed: 1, valFraction: 0.9 })).rejects.toThrow(/valFraction/);
    await expect(loadDataset('addition', { seed: 1.5 })).rejects.toThrow(/integer seed/);
  });
});

describe('english: train / val / forgetting probe', () => {
  it('splits 90/5/5 into disjoint parts, independent of the run seed and valFraction', async () => {
    const a = await loadDataset('english', { seed: 1 });
    const b = await loadDataset('english', { seed: 2 });
    const c = await loadDataset('english', { seed: 1, valFraction: 0.1 });
    const manifest = await loadManifest();
    expect(a.hash).toBe(manifest.find((m) => m.id === 'english')!.sha256);
    const { train, val } = text(a);
    const probe = a.probe!;
    const tr = lines(train),
      va = lines(val),
      pr = lines(probe);
    const n = tr.length + va.length + pr.length;
    expect(n).toBe(manifest.find((m) => m.id === 'english')!.lines);
    expect(pr.length / n).toBeGreaterThan(0.04);
    expect(pr.length / n).toBeLessThan(0.06);
    expect(va.length / n).toBeGreaterThan(0.04);
    expect(va.length / n).toBeLessThan(0.06);
    const trainSet = new Set(tr);
    expect(pr.some((l) => trainSet.has(l))).toBe(false);
    expect(va.some((l) => trainSet.has(l))).toBe(false);
    const valSet = new Set(va);
    expect(pr.some((l) => valSet.has(l))).toBe(false);
    // the run seed does not move anything; a larger val fraction moves train lines only
    expect(text(b).train).toBe(train);
    expect(b.probe).toBe(probe);
    expect(c.probe).toBe(probe);
    expect(lines(text(c).val).length).toBeGreaterThan(va.length * 1.5);
    expect(await loadForgettingProbe()).toBe(probe);
    // a different split seed gives a different probe (the split really is seeded)
    expect(await loadForgettingProbe(123)).not.toBe(probe);
  });
});

describe('brown', () => {
  it('loads fiction and news with a 10% validation split and the english probe', async () => {
    for (const id of ['brown-fiction', 'brown-news']) {
      const d = await loadDataset(id, { seed: 0 });
      const { train, val } = text(d);
      const tr = lines(train).length,
        va = lines(val).length;
      expect(va / (tr + va)).toBeGreaterThan(0.07);
      expect(va / (tr + va)).toBeLessThan(0.13);
      expect(train).not.toMatch(/\/[a-z]{2,4}(-tl|-hl)?\b\s/); // no POS tags left
      expect(d.probe).toBe(await loadForgettingProbe());
      expect((await loadDataset(id, { seed: 99, withProbe: false })).probe).toBeUndefined();
    }
  });
});

describe('procedural datasets', () => {
  it('val is fixed, train follows the seed, and they never share a prompt', async () => {
    for (const id of ['addition', 'reversal', 'dates']) {
      const a = await loadDataset(id, { seed: 1, trainSize: 3000, withProbe: false });
      const b = await loadDataset(id, { seed: 1, trainSize: 3000, withProbe: false });
      const c = await loadDataset(id, { seed: 2, trainSize: 3000, withProbe: false });
      if (a.kind !== 'pairs' || c.kind !== 'pairs') throw new Error('kind');
      expect(a).toEqual(b);
      expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(a.train).toHaveLength(3000);
      expect(a.val).toHaveLength(150);
      expect(c.val).toEqual(a.val);
      expect(c.train).not.toEqual(a.train);
      expect(c.hash).not.toBe(a.hash);
      const valPrompts = new Set(a.val.map((e) => e.prompt));
      expect(a.train.some((e) => valPrompts.has(e.prompt))).toBe(false);
      expect(c.train.some((e) => valPrompts.has(e.prompt))).toBe(false);
    }
  });
});
