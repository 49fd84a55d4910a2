/**
 * A server that sends `.gz` with `Content-Encoding: gzip` hands the page the inflated text instead
 * of the file. The loader must accept it when the text matches the manifest's rawSha256 — and must
 * still reject anything else.
 */
import { describe, it, expect, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'fflate';

const publicDir = path.resolve(__dirname, '../../public');
let tamper = false;

vi.mock('../../src/engine/io/assets', async (orig) => {
  const real = await orig<typeof import('../../src/engine/io/assets')>();
  return {
    ...real,
    async loadAsset(rel: string) {
      const bytes = new Uint8Array(readFileSync(path.join(publicDir, rel)));
      if (!rel.endsWith('.gz')) return bytes;
      const text = gunzipSync(bytes);
      if (tamper) text[0] ^= 1;
      return text;
    },
  };
});

describe('built-in text inflated in transit', () => {
  it('loads and keeps the .gz identity hash when the text matches rawSha256', async () => {
    const { loadSourceText, loadManifest } = await import('../../src/engine/data/datasets');
    const entry = (await loadManifest()).find((e) => e.id === 'brown-news')!;
    const { text, sha256 } = await loadSourceText('brown-news');
    expect(sha256).toBe(entry.sha256);
    expect(new TextEncoder().encode(text).length).toBe(entry.rawBytes);
  });

  it('rejects inflated text that does not match', async () => {
    tamper = true;
    const { loadSourceText } = await import('../../src/engine/data/datasets');
    await expect(loadSourceText('brown-fiction')).rejects.toThrow(/does not match the manifest/);
  });
});
