/**
 * Loading files shipped under public/ (built-in datasets, models) the same way in three places:
 * the browser page/worker (fetch relative to Vite's BASE_URL), Vitest and the Node CLI (read the
 * repository's public/ folder from disk). Plus a SHA-256 helper for content hashes in RunConfigs.
 *
 * Node is detected by `process.versions.node` and no `window`: a web worker has no window either,
 * but it has no `process`, so the check still picks fetch there.
 */

export class AssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssetError';
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

function cleanRelPath(relPath: string): string {
  const p = relPath.replace(/^\/+/, '');
  // assets are our own files; refuse paths that climb out of public/
  if (p.split('/').some((seg) => seg === '..'))
    throw new AssetError(`asset path ${JSON.stringify(relPath)} must stay inside public/`);
  return p;
}

async function readNode(rel: string): Promise<Uint8Array> {
  // module names in variables + @vite-ignore: the browser bundle must not try to resolve node:fs
  const fsName = 'node:fs/promises';
  const urlName = 'node:url';
  const pathName = 'node:path';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const { fileURLToPath } = (await import(/* @vite-ignore */ urlName)) as typeof import('node:url');
  const path = (await import(/* @vite-ignore */ pathName)) as typeof import('node:path');
  const candidates: string[] = [];
  try {
    // resolved at run time, Node only (Vite must not try to resolve it at build time)
    const here = new URL(/* @vite-ignore */ '../../../public/', import.meta.url);
    if (here.protocol === 'file:') candidates.push(path.join(fileURLToPath(here), rel));
  } catch {
    // import.meta.url not a file URL (bundled CLI): fall through to cwd
  }
  candidates.push(path.join(process.cwd(), 'public', rel));
  for (const file of candidates) {
    try {
      const buf = await fs.readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new AssetError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  throw new AssetError(`asset ${JSON.stringify(rel)} not found (looked in ${candidates.join(', ')})`);
}

/** Bytes of `public/<relPath>`. Rejects with AssetError when missing or unreachable. */
export async function loadAsset(relPath: string): Promise<Uint8Array> {
  const rel = cleanRelPath(relPath);
  if (isNode()) return readNode(rel);
  const base = (import.meta.env?.BASE_URL as string | undefined) ?? '/';
  const url = (base.endsWith('/') ? base : base + '/') + rel;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new AssetError(`could not fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new AssetError(`could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Lower-case hex SHA-256 of the bytes (WebCrypto; available in browsers, workers and Node ≥ 19). */
export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  const b = new Uint8Array(digest);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}
