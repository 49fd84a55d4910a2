// Asset loading: the browser path (fetch under BASE_URL, clear errors on non-OK) simulated with stubs;
// the Node path is exercised by tests/data/datasets.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AssetError, loadAsset } from '../../src/engine/io/assets';

describe('loadAsset in a browser-like environment', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('fetches BASE_URL + path and returns the bytes', async () => {
    const fetchMock = vi.fn(async () => new Response(new Uint8Array([1, 2, 3]), { status: 200 }));
    vi.stubGlobal('window', {});
    vi.stubGlobal('fetch', fetchMock);
    const bytes = await loadAsset('data/index.json');
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    expect(fetchMock).toHaveBeenCalledWith(`${import.meta.env.BASE_URL}data/index.json`);
  });

  it('turns HTTP errors and network failures into AssetError', async () => {
    vi.stubGlobal('window', {});
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('missing', { status: 404, statusText: 'Not Found' })),
    );
    await expect(loadAsset('data/x.gz')).rejects.toThrow(/HTTP 404 Not Found/);
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );
    await expect(loadAsset('data/x.gz')).rejects.toBeInstanceOf(AssetError);
  });
});
