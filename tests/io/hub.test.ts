// The hub download path end to end against the local mock hub (tests/helpers/hub-server.ts): the HF cache
// layout huggingface_hub uses, sharded repos, resume after a cut connection, checksum failures, 404s and
// gated 401s (one line each, nothing half-written under snapshots/ or a final blob name), offline reuse,
// and a cache laid out by hand the way huggingface_hub lays it out.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HubError,
  parseHubRef,
  formatHubRef,
  resolveUrl,
  snapshotDownload,
  type SnapshotOptions,
} from '../../src/engine/io/hub';
import { HfCacheStore, hubCacheDir, hubSnapshotDir, repoFolder } from '../../src/cli/hf-cache';
import { readModelDir } from '../../src/engine/io/hf-model';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const FIX = path.resolve(__dirname, '../fixtures/hf');
let hub: HubServer;
let cache: string;
let stderr: string[];

beforeAll(async () => {
  hub = await startHubServer();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => {
  cache = mkdtempSync(path.join(os.tmpdir(), 'rankscope-hub-'));
  stderr = [];
  hub.requests.length = 0;
  hub.faults.cut = null;
  hub.faults.corrupt!.clear();
  hub.faults.missing!.clear();
  hub.faults.noRepo!.clear();
  hub.faults.gated!.clear();
  hub.faults.ignoreRange = false;
});
afterEach(() => rmSync(cache, { recursive: true, force: true }));

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_HOME: path.join(cache, 'home'), ...extra };
}

function get(spec: string, extra: Record<string, string> = {}) {
  return hubSnapshotDir(spec, { env: env(extra), stderr: { write: (s: string) => stderr.push(s) } });
}

async function failure(p: Promise<unknown>): Promise<HubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HubError);
  expect((e as Error).message).not.toContain('\n');
  return e as HubError;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** Every path under the repo folder, relative, sorted. */
function tree(repo: string): string[] {
  const root = path.join(cache, repoFolder(repo));
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/')).sort();
}

function noHalfWritten(repo: string, commit: string, file: string, etag: string) {
  const t = tree(repo);
  expect(t).not.toContain(`snapshots/${commit}/${file}`);
  expect(t).not.toContain(`blobs/${etag}`);
}

describe('hub ids and URLs', () => {
  it('parses hf:owner/name[@revision] and refuses anything else in one line', () => {
    expect(parseHubRef('hf:HuggingFaceTB/SmolLM2-135M')).toEqual({
      repo: 'HuggingFaceTB/SmolLM2-135M',
      revision: 'main',
    });
    expect(parseHubRef('hf:roneneldan/TinyStories-33M@refs/pr/6').revision).toBe('refs/pr/6');
    expect(formatHubRef(parseHubRef('a/b@v1'))).toBe('hf:a/b@v1');
    expect(resolveUrl('https://hf.co/', parseHubRef('a/b@refs/pr/6'), 'sub dir/x.json')).toBe(
      'https://hf.co/a/b/resolve/refs%2Fpr%2F6/sub%20dir/x.json',
    );
    for (const bad of ['hf:gpt2', 'hf:a/b/c', 'hf:../x', 'hf:a/..', 'hf:a/b@', 'hf:a/b@../../x', 'hf:a /b']) {
      expect(() => parseHubRef(bad)).toThrow(HubError);
    }
  });

  it('finds the cache where huggingface_hub does', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' })).toBe('/c');
    expect(hubCacheDir({ HF_HOME: '/h' })).toBe('/h/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubCacheDir({})).toBe(path.join(os.homedir(), '.cache/huggingface/hub'));
  });
});

describe('hub download into the HF cache', () => {
  it('downloads a model in huggingface_hub layout, then serves it from the cache offline', async () => {
    const { dir, result } = await get('hf:tiny/gpt2');
    const commit = hub.commitOf('tiny/gpt2');
    expect(result.commit).toBe(commit);
    expect(dir).toBe(path.join(cache, 'models--tiny--gpt2', 'snapshots', commit));
    expect(result.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of result.files) {
      const src = readFileSync(path.join(FIX, 'tiny/gpt2', f));
      const etag = f.endsWith('.safetensors') ? sha256(src) : gitSha1(src);
      const link = path.join(dir, f);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe(`../../blobs/${etag}`);
      expect(readFileSync(link).equals(src)).toBe(true);
    }
    const t = tree('tiny/gpt2');
    expect(readFileSync(path.join(cache, 'models--tiny--gpt2/refs/main'), 'utf8')).toBe(commit);
    expect(t).toContain(`.no_exist/${commit}/chat_template.jinja`); // absent optional files are remembered
    expect(t.filter((p) => p.endsWith('.incomplete'))).toEqual([]);
    expect(stderr.join('')).toMatch(/model\.safetensors {2}\d+(\.\d+)? KiB \/ \d+(\.\d+)? KiB \(100%\) .* done/);

    // the snapshot reads like any model directory
    const files = result.files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(path.join(dir, f))) }));
    expect(readModelDir(files).configJson.model_type).toBe('gpt2');

    // offline: no request at all
    hub.requests.length = 0;
    const again = await get('hf:tiny/gpt2', { HF_HUB_OFFLINE: '1' });
    expect(again.dir).toBe(dir);
    expect(again.result.fromCache).toBe(true);
    expect(again.result.files).toEqual(result.files);
    expect(hub.requests).toEqual([]);

    // online again: HEADs only, no byte is fetched twice
    const online = await get('hf:tiny/gpt2');
    expect(online.result.fromCache).toBe(false);
    expect(hub.requests.every((r) => r.method === 'HEAD')).toBe(true);
  });

  it('falls back to the cache when the hub cannot be reached, and says so when the cache lacks the model', async () => {
    await get('hf:tiny/pythia');
    const offline = await hubSnapshotDir('hf:tiny/pythia', {
      env: { HF_HUB_CACHE: cache, HF_ENDPOINT: 'http://127.0.0.1:9' },
      stderr: { write: () => true },
    });
    expect(offline.result.fromCache).toBe(true);
    const e = await failure(
      hubSnapshotDir('hf:tiny/qwen3', {
        env: { HF_HUB_CACHE: cache, HF_ENDPOINT: 'http://127.0.0.1:9' },
        stderr: { write: () => true },
      }),
    );
    expect(e.code).toBe('offline');
    expect(e.message).toMatch(/^hf:tiny\/qwen3 is not in the local cache and cannot be downloaded \(cannot reach/);
  });

  it('downloads a sharded model: the index and every shard it names', async () => {
    const { dir, result } = await get('hf:tiny/qwen2-sharded');
    expect(result.files.slice(0, 4)).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(result.files).toContain('tokenizer_config.json');
    const files = result.files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(path.join(dir, f))) }));
    expect(readModelDir(files).sharded).toBe(true);
    const off = await get('hf:tiny/qwen2-sharded', { HF_HUB_OFFLINE: '1' });
    expect(off.result.files).toEqual(result.files);
  });

  it('resumes a cut download with an HTTP Range and checks the whole file', async () => {
    const src = readFileSync(path.join(FIX, 'tiny/llama/model.safetensors'));
    const etag = sha256(src);
    const commit = hub.commitOf('tiny/llama');
    hub.faults.cut = { file: 'model.safetensors', afterBytes: 40000 };
    const e = await failure(get('hf:tiny/llama'));
    expect(e.code).toBe('interrupted');
    expect(e.message).toMatch(
      /^hf:tiny\/llama: download of model\.safetensors stopped at \d+ of \d+ bytes .*run the same command again to resume$/,
    );
    noHalfWritten('tiny/llama', commit, 'model.safetensors', etag);
    const partial = path.join(cache, 'models--tiny--llama/blobs', `${etag}.incomplete`);
    const kept = lstatSync(partial).size;
    expect(kept).toBeGreaterThan(0); // what the client read before the cut (≤ 40000), kept for resuming
    expect(kept).toBeLessThanOrEqual(40000);
    expect(e.message).toContain(`stopped at ${kept} of ${src.length} bytes`);

    hub.requests.length = 0;
    const { dir } = await get('hf:tiny/llama');
    expect(hub.requests.find((r) => r.url.startsWith('/cdn/') && r.method === 'GET')?.range).toBe(`bytes=${kept}-`);
    expect(readFileSync(path.join(dir, 'model.safetensors')).equals(src)).toBe(true);
    expect(existsSync(partial)).toBe(false);
  });

  it('starts over when the server ignores the Range', async () => {
    hub.faults.cut = { file: 'model.safetensors', afterBytes: 30000 };
    await failure(get('hf:tiny/qwen3'));
    hub.faults.ignoreRange = true;
    const { dir } = await get('hf:tiny/qwen3');
    const src = readFileSync(path.join(FIX, 'tiny/qwen3/model.safetensors'));
    expect(readFileSync(path.join(dir, 'model.safetensors')).equals(src)).toBe(true);
  });

  it('a wrong checksum deletes the partial download and names the file', async () => {
    const commit = hub.commitOf('tiny/gpt-neo');
    hub.faults.corrupt!.add('model.safetensors');
    const e = await failure(get('hf:tiny/gpt-neo'));
    expect(e.code).toBe('checksum');
    expect(e.message).toMatch(
      /^hf:tiny\/gpt-neo: model\.safetensors failed its integrity check \(sha256 [0-9a-f]{12}…/,
    );
    const etag = sha256(readFileSync(path.join(FIX, 'tiny/gpt-neo/model.safetensors')));
    noHalfWritten('tiny/gpt-neo', commit, 'model.safetensors', etag);
    expect(tree('tiny/gpt-neo').filter((p) => p.endsWith('.incomplete'))).toEqual([]);

    // git-stored files are checked too (git blob sha1)
    hub.faults.corrupt!.clear();
    hub.faults.corrupt!.add('tokenizer.json');
    const e2 = await failure(get('hf:tiny/gpt-neo'));
    expect(e2.message).toMatch(/tokenizer\.json failed its integrity check \(git sha1/);
    hub.faults.corrupt!.clear();
    await get('hf:tiny/gpt-neo');
  });

  it('404s: a missing repo, revision or weights file each give one line and leave no snapshot', async () => {
    const repo = await failure(get('hf:tiny/nope'));
    expect(repo.code).toBe('repo-not-found');
    expect(repo.message).toMatch(
      /^hf:tiny\/nope: repository tiny\/nope not found on http:\/\/127\.0\.0\.1:\d+ \(check the id/,
    );
    expect(tree('tiny/nope')).toEqual([]);
    expect((await failure(get('hf:tiny/nope', { HF_TOKEN: 'hf_x' }))).code).toBe('repo-not-found'); // 404 with a token

    const rev = await failure(get('hf:tiny/gpt2@v9'));
    expect(rev.code).toBe('revision-not-found');
    expect(rev.message).toBe('hf:tiny/gpt2@v9: revision "v9" not found');

    hub.faults.missing!.add('model.safetensors');
    const w = await failure(get('hf:tiny/gpt2'));
    expect(w.code).toBe('entry-not-found');
    expect(w.message).toMatch(/has neither model\.safetensors nor model\.safetensors\.index\.json/);
    expect(tree('tiny/gpt2').some((p) => p.startsWith('snapshots/') && p.endsWith('.safetensors'))).toBe(false);

    hub.faults.missing!.clear();
    hub.faults.missing!.add('config.json');
    const c = await failure(get('hf:tiny/pythia'));
    expect(c.message).toBe('hf:tiny/pythia: no config.json in the repository (is it a model?)');
  });

  it('a gated repo (401) says how to get access; HF_TOKEN is sent as a Bearer token', async () => {
    hub.faults.gated!.set('tiny/llama3-rope', 'hf_secret');
    const e = await failure(get('hf:tiny/llama3-rope'));
    expect(e.code).toBe('gated');
    expect(e.message).toMatch(
      /^hf:tiny\/llama3-rope is a gated repository; accept the licence on http:\/\/127\.0\.0\.1:\d+\/tiny\/llama3-rope while logged in, then set HF_TOKEN/,
    );
    expect(tree('tiny/llama3-rope').filter((p) => p.startsWith('snapshots/'))).toEqual([]);
    const wrong = await failure(get('hf:tiny/llama3-rope', { HF_TOKEN: 'hf_other' }));
    expect(wrong.message).toMatch(/the token in HF_TOKEN has no access yet/);

    hub.requests.length = 0;
    const { result } = await get('hf:tiny/llama3-rope', { HF_TOKEN: 'hf_secret' });
    expect(result.files).toContain('model.safetensors');
    expect(
      hub.requests.filter((r) => !r.url.startsWith('/cdn/')).every((r) => r.authorization === 'Bearer hf_secret'),
    ).toBe(true);
  });

  it('reuses a cache laid out by huggingface_hub (built here by hand), offline and online', async () => {
    // what `huggingface_hub.snapshot_download("tiny/qwen3", revision="main")` leaves behind
    const commit = hub.commitOf('tiny/qwen3');
    const repoDir = path.join(cache, 'models--tiny--qwen3');
    await mkdir(path.join(repoDir, 'blobs'), { recursive: true });
    await mkdir(path.join(repoDir, 'snapshots', commit), { recursive: true });
    await mkdir(path.join(repoDir, 'refs'), { recursive: true });
    await writeFile(path.join(repoDir, 'refs', 'main'), commit);
    for (const f of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'pytorch_model.bin',
    ]) {
      const src = f === 'pytorch_model.bin' ? Buffer.from('pickle') : readFileSync(path.join(FIX, 'tiny/qwen3', f));
      const etag = f.endsWith('.safetensors') ? sha256(src) : gitSha1(src);
      await writeFile(path.join(repoDir, 'blobs', etag), src);
      await symlink(`../../blobs/${etag}`, path.join(repoDir, 'snapshots', commit, f));
    }
    const off = await get('hf:tiny/qwen3', { HF_HUB_OFFLINE: '1' });
    expect(off.dir).toBe(path.join(repoDir, 'snapshots', commit));
    expect(off.result.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(hub.requests).toEqual([]);

    // online: the hub is asked what main is, and no file is downloaded again
    const on = await get('hf:tiny/qwen3');
    expect(on.dir).toBe(off.dir);
    expect(hub.requests.some((r) => r.method === 'GET')).toBe(false);

    // a commit hash resolves without refs/
    const byCommit = await get(`hf:tiny/qwen3@${commit}`, { HF_HUB_OFFLINE: '1' });
    expect(byCommit.dir).toBe(off.dir);
    const unknown = await failure(get('hf:tiny/qwen3@v2', { HF_HUB_OFFLINE: '1' }));
    expect(unknown.message).toBe(
      'hf:tiny/qwen3@v2 is not in the local cache and cannot be downloaded (HF_HUB_OFFLINE is set)',
    );
  });
});

describe('the hub going away mid-way', () => {
  it('a network failure after the first request is one line, not a stack trace', async () => {
    let n = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (++n > 1) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const e = await failure(
      snapshotDownload('hf:tiny/gpt2', new HfCacheStore(cache), { endpoint: hub.endpoint, fetch: flaky }),
    );
    expect(e.code).toBe('interrupted');
    expect(e.message).toMatch(
      /^hf:tiny\/gpt2: lost the connection to http:\/\/127\.0\.0\.1:\d+ \(fetch failed\); run again to continue$/,
    );
  });
});

describe('a file longer than announced', () => {
  it('is refused and its partial deleted', async () => {
    const padded: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/cdn/')) return res;
      const body = new Uint8Array([...new Uint8Array(await res.arrayBuffer()), 1, 2, 3]);
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const e = await failure(
      snapshotDownload('hf:tiny/llama', new HfCacheStore(cache), { endpoint: hub.endpoint, fetch: padded }),
    );
    expect(e.code).toBe('checksum');
    expect(e.message).toMatch(
      /^hf:tiny\/llama: model\.safetensors is longer than the \d+ bytes the hub announced; the partial download was deleted$/,
    );
    expect(tree('tiny/llama').filter((p) => p.startsWith('blobs/') && !p.endsWith('.incomplete')).length).toBe(1); // config.json only
    expect(tree('tiny/llama').filter((p) => p.endsWith('.incomplete'))).toEqual([]);
  });
});

describe('concurrent downloads', () => {
  it('two downloads of one model at once take turns on each blob (a lock), and a dead holder is taken over', async () => {
    const store = new HfCacheStore(cache);
    const opts = { endpoint: hub.endpoint };
    const [a, b] = await Promise.all([
      snapshotDownload('hf:tiny/pythia', store, opts),
      snapshotDownload('hf:tiny/pythia', store, opts),
    ]);
    expect(a.files).toEqual(b.files);
    const src = readFileSync(path.join(FIX, 'tiny/pythia/model.safetensors'));
    expect(readFileSync(path.join(store.snapshotDir('tiny/pythia', a.commit), 'model.safetensors')).equals(src)).toBe(
      true,
    );
    // the bytes of model.safetensors were fetched once
    expect(hub.requests.filter((q) => q.url.startsWith('/cdn/') && q.method === 'GET').length).toBe(1);
    expect(tree('tiny/pythia').filter((p) => p.endsWith('.incomplete'))).toEqual([]);

    // a lock left by a process that no longer exists
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const etag = sha256(readFileSync(path.join(FIX, 'tiny/gpt2/model.safetensors')));
    const lockDir = path.join(cache, '.locks', 'models--tiny--gpt2');
    await mkdir(lockDir, { recursive: true });
    await writeFile(path.join(lockDir, `${etag}.lock`), String(dead));
    const r = await snapshotDownload('hf:tiny/gpt2', store, opts);
    expect(r.files).toContain('model.safetensors');
    expect(existsSync(path.join(lockDir, `${etag}.lock`))).toBe(false);
  });
});

describe('metadata from the hub API (the browser path)', () => {
  const viaApi = (spec: string, extra: SnapshotOptions = {}) =>
    snapshotDownload(spec, new HfCacheStore(cache), { endpoint: hub.endpoint, via: 'api', ...extra });

  it('downloads the same snapshot from one API listing, without a HEAD', async () => {
    const r = await viaApi('hf:tiny/qwen2-sharded');
    const commit = hub.commitOf('tiny/qwen2-sharded');
    expect(r.commit).toBe(commit);
    expect(r.files.slice(0, 4)).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(hub.requests.some((q) => q.method === 'HEAD')).toBe(false);
    expect(hub.requests.filter((q) => q.url.startsWith('/api/')).map((q) => q.url)).toEqual([
      '/api/models/tiny/qwen2-sharded/revision/main',
    ]);
    for (const f of r.files) {
      const src = readFileSync(path.join(FIX, 'tiny/qwen2-sharded', f));
      expect(readFileSync(path.join(cache, repoFolder('tiny/qwen2-sharded'), 'snapshots', commit, f)).equals(src)).toBe(
        true,
      );
    }
  });

  it('resumes, checks, and explains 404s and gated repos the same way', async () => {
    hub.faults.cut = { file: 'model.safetensors', afterBytes: 30000 };
    const cut = await failure(viaApi('hf:tiny/llama'));
    expect(cut.code).toBe('interrupted');
    hub.requests.length = 0;
    await viaApi('hf:tiny/llama');
    expect(hub.requests.find((q) => q.url.endsWith('/model.safetensors') && q.method === 'GET')?.range).toMatch(
      /^bytes=\d+-$/,
    );

    hub.faults.corrupt!.add('model.safetensors');
    expect((await failure(viaApi('hf:tiny/pythia'))).code).toBe('checksum');
    hub.faults.corrupt!.clear();
    expect((await failure(viaApi('hf:tiny/nope'))).code).toBe('repo-not-found');
    expect((await failure(viaApi('hf:tiny/gpt2@v3'))).code).toBe('revision-not-found');
    hub.faults.gated!.set('tiny/qwen3', 'tok');
    const gated = await failure(viaApi('hf:tiny/qwen3'));
    expect(gated.code).toBe('gated');
    expect(tree('tiny/qwen3').filter((p) => p.startsWith('snapshots/'))).toEqual([]);
    expect((await viaApi('hf:tiny/qwen3', { token: 'tok' })).files).toContain('model.safetensors');
  });

  it("'auto' switches to the API where a manual redirect is opaque, as in a browser", async () => {
    // a browser's fetch: redirect 'manual' yields an opaque response with no status or headers
    const browserFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.redirect === 'manual' && res.status >= 300 && res.status < 400) {
        return { type: 'opaqueredirect', status: 0, ok: false, headers: new Headers() } as unknown as Response;
      }
      return res;
    };
    const r = await snapshotDownload('hf:tiny/gpt-neo', new HfCacheStore(cache), {
      endpoint: hub.endpoint,
      fetch: browserFetch,
    });
    expect(r.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(hub.requests.some((q) => q.url.startsWith('/api/models/tiny/gpt-neo/revision/'))).toBe(true);
  });

  it("'auto' also asks the API when CORS hides the hub's headers", async () => {
    const hiding: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method !== 'HEAD') return res;
      const h = new Headers(res.headers);
      for (const k of ['x-repo-commit', 'x-linked-etag', 'x-linked-size', 'etag']) h.delete(k);
      return new Response(null, { status: res.status, headers: h });
    };
    const r = await snapshotDownload('hf:tiny/qwen3', new HfCacheStore(cache), {
      endpoint: hub.endpoint,
      fetch: hiding,
    });
    expect(r.commit).toBe(hub.commitOf('tiny/qwen3'));
    expect(r.files).toContain('model.safetensors');
    const e = await failure(
      snapshotDownload('hf:tiny/qwen3', new HfCacheStore(cache), {
        endpoint: hub.endpoint,
        fetch: hiding,
        via: 'head',
      }),
    );
    expect(e.message).toMatch(/did not send X-Repo-Commit/);
  });
});
