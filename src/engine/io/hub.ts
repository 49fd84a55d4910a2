/**
 * Downloading models from the Hugging Face Hub with `fetch`, in Node and in a browser worker.
 *
 * What the hub does, as huggingface_hub's `file_download.py` reads it (`get_hf_file_metadata`,
 * `hf_hub_download`): a file is `{endpoint}/{owner}/{name}/resolve/{revision}/{file}`. A HEAD there answers
 *   - `X-Repo-Commit`: the commit the revision resolves to (snapshots are stored by commit);
 *   - `ETag`, or for LFS files `X-Linked-Etag`: the blob id (git blob sha1, or the sha256 of an LFS file);
 *   - `Content-Length`, or for LFS files `X-Linked-Size`: the size;
 *   - for LFS files a 302 whose `Location` is where the bytes are (a CDN); relative redirects (a renamed
 *     repo) are followed;
 *   - errors with `X-Error-Code`: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo.
 * The bytes are fetched with `Range: bytes=N-` to resume, and checked against the size and the blob id
 * (sha256 for LFS files, sha1 of "blob <size>\0<bytes>" for git files) before the blob gets its final name.
 *
 * Storage is an interface (`HubStore`): the Node CLI keeps huggingface_hub's cache layout
 * (src/cli/hf-cache.ts), so Python's downloads are reused and ours are Python's; a page can keep OPFS or
 * Cache Storage. This file decides which files a model needs and drives one download; it owns no paths.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { INDEX_FILE, parseShardIndex } from './hf-model';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

export type HubErrorCode =
  | 'bad-id'
  | 'gated'
  | 'unauthorized'
  | 'repo-not-found'
  | 'revision-not-found'
  | 'entry-not-found'
  | 'checksum'
  | 'interrupted'
  | 'offline'
  | 'http'
  | 'too-large';

/** Every hub failure is one of these: one line that says what happened and what to do. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export interface HubRef {
  /** owner/name */
  repo: string;
  revision: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** `hf:owner/name[@revision]` (the `hf:` prefix optional) → repo and revision (default main). */
export function parseHubRef(spec: string): HubRef {
  const s = spec.startsWith('hf:') ? spec.slice(3) : spec;
  const at = s.indexOf('@');
  const repo = at >= 0 ? s.slice(0, at) : s;
  const revision = at >= 0 ? s.slice(at + 1) : DEFAULT_REVISION;
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p) && !p.includes('..') && !p.endsWith('.'))) {
    throw new HubError('bad-id', `${JSON.stringify(spec)} is not a hub model id (expected hf:owner/name[@revision])`);
  }
  if (!REVISION.test(revision) || revision.includes('..')) {
    throw new HubError('bad-id', `${JSON.stringify(spec)}: revision ${JSON.stringify(revision)} is not valid`);
  }
  return { repo, revision };
}

export function formatHubRef(ref: HubRef): string {
  return `hf:${ref.repo}${ref.revision === DEFAULT_REVISION ? '' : '@' + ref.revision}`;
}

/** hf_hub_url: the revision and file are URL-quoted with no safe characters except the file's slashes. */
export function resolveUrl(endpoint: string, ref: HubRef, file: string): string {
  const fileQuoted = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${fileQuoted}`;
}

export interface HubOptions {
  endpoint?: string;
  /** Sent as `Authorization: Bearer <token>` (HF_TOKEN). */
  token?: string | null;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * Where file metadata comes from: 'head' (huggingface_hub's HEAD on resolve/, reading the redirect's
   * headers), 'api' (one GET of /api/models/<repo>/revision/<rev>?blobs=true for the whole repo), or
   * 'auto' (default): HEAD, switching to the API where a redirect cannot be read — in a browser a manual
   * redirect is opaque, and the CDN's own response lacks X-Repo-Commit and X-Linked-Etag.
   */
  via?: 'head' | 'api' | 'auto';
  /** Repo listings already fetched (by endpoint, repo, revision); snapshotDownload shares one. */
  repoInfoCache?: Map<string, Promise<RepoInfo>>;
}

export interface RepoFileInfo {
  file: string;
  size: number;
  /** sha256 for LFS files, git blob sha1 otherwise. */
  etag: string;
  lfs: boolean;
}

export interface RepoInfo {
  commit: string;
  files: RepoFileInfo[];
  /** The repo's `gated` setting ("auto", "manual") or false. */
  gated: string | false;
}

export interface HubFileMeta {
  file: string;
  commit: string;
  /** Blob id: sha256 hex for LFS files, git blob sha1 hex otherwise (huggingface_hub names blobs by it). */
  etag: string;
  size: number;
  /** Where to GET the bytes (the CDN location for LFS files). */
  url: string;
}

/** huggingface_hub `_normalize_etag`: drop a weak `W/` prefix and the quotes. */
export function normalizeEtag(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function authHeaders(opts: HubOptions): Record<string, string> {
  return opts.token ? { authorization: `Bearer ${opts.token}` } : {};
}

function hubErrorFor(res: Response, ref: HubRef, file: string, opts: HubOptions): HubError {
  const code = res.headers.get('x-error-code');
  const id = formatHubRef(ref);
  const page = `${(opts.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '')}/${ref.repo}`;
  if (code === 'GatedRepo' || ((res.status === 401 || res.status === 403) && !code)) {
    const how = opts.token
      ? `the token in HF_TOKEN has no access yet: accept the licence on ${page} with that account`
      : `accept the licence on ${page} while logged in, then set HF_TOKEN to an access token of that account`;
    return new HubError(
      code === 'GatedRepo' ? 'gated' : 'unauthorized',
      `${id} is ${code === 'GatedRepo' ? 'a gated repository' : `refused (HTTP ${res.status}): it may be gated or private`}; ${how}`,
    );
  }
  if (code === 'RepoNotFound' || (res.status === 404 && !code && file === '')) {
    return new HubError(
      'repo-not-found',
      `${id}: repository ${ref.repo} not found on ${opts.endpoint ?? DEFAULT_ENDPOINT} (check the id; a private repository needs HF_TOKEN)`,
    );
  }
  if (code === 'RevisionNotFound')
    return new HubError('revision-not-found', `${id}: revision ${JSON.stringify(ref.revision)} not found`);
  if (code === 'EntryNotFound' || res.status === 404) {
    return new HubError('entry-not-found', `${id}: file ${file} not found in the repository at ${ref.revision}`);
  }
  return new HubError('http', `${id}: ${file}: HTTP ${res.status} ${res.statusText}`.trim());
}

/**
 * HEAD the file: its commit, blob id, size and download URL. Follows relative redirects (renamed repos),
 * stops at the absolute one (the CDN), whose headers carry X-Linked-Etag/X-Linked-Size. In a browser a
 * manual redirect is opaque, so there the HEAD follows it and reads what the final response says.
 */
export async function fetchFileMeta(ref: HubRef, file: string, opts: HubOptions = {}): Promise<HubFileMeta> {
  if (opts.via === 'api') return fileMetaFromApi(ref, file, opts);
  const f = opts.fetch ?? fetch;
  let url = resolveUrl(opts.endpoint ?? DEFAULT_ENDPOINT, ref, file);
  const headers = { ...authHeaders(opts), 'accept-encoding': 'identity' };
  for (let hop = 0; hop < 10; hop++) {
    const res = await f(url, { method: 'HEAD', headers, redirect: 'manual', signal: opts.signal });
    if (res.type === 'opaqueredirect') {
      if (opts.via === 'head')
        throw new HubError('http', `${formatHubRef(ref)}: ${file}: the hub's redirect is opaque here`);
      return fileMetaFromApi(ref, file, opts);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (new URL(url).origin === next.origin && !res.headers.get('x-linked-etag')) {
        url = next.toString(); // relative redirect: a renamed repository
        continue;
      }
    } else if (!res.ok) throw hubErrorFor(res, ref, file, opts);
    const commit = res.headers.get('x-repo-commit');
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'));
    if (!commit || !COMMIT_HASH.test(commit) || !etag || !Number.isSafeInteger(size) || size < 0) {
      // a browser sees only the headers CORS exposes: ask the API instead of giving up
      if (opts.via !== 'head') return fileMetaFromApi(ref, file, opts);
      throw new HubError(
        'http',
        `${formatHubRef(ref)}: ${file}: the server did not send X-Repo-Commit, ETag and a size (is ${opts.endpoint ?? DEFAULT_ENDPOINT} a Hugging Face hub?)`,
      );
    }
    return { file, commit, etag, size, url: location ? new URL(location, url).toString() : url };
  }
  throw new HubError('http', `${formatHubRef(ref)}: ${file}: too many redirects`);
}

/**
 * The repo's files at a revision, with sizes and blob ids, from the hub API (`HfApi.model_info(...,
 * files_metadata=True)` asks the same URL). One request for the whole repo; CORS-readable in a browser.
 */
export async function fetchRepoInfo(ref: HubRef, opts: HubOptions = {}): Promise<RepoInfo> {
  const endpoint = (opts.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const key = `${endpoint}|${ref.repo}|${ref.revision}`;
  const cached = opts.repoInfoCache?.get(key);
  if (cached) return cached;
  const p = (async () => {
    const url = `${endpoint}/api/models/${ref.repo}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;
    const res = await (opts.fetch ?? fetch)(url, { headers: authHeaders(opts), signal: opts.signal });
    if (!res.ok) throw hubErrorFor(res, ref, '', opts);
    let j: unknown;
    try {
      j = await res.json();
    } catch (e) {
      throw new HubError(
        'http',
        `${formatHubRef(ref)}: the hub API answered with invalid JSON (${(e as Error).message})`,
      );
    }
    const o = (j ?? {}) as { sha?: unknown; siblings?: unknown; gated?: unknown };
    if (typeof o.sha !== 'string' || !COMMIT_HASH.test(o.sha) || !Array.isArray(o.siblings)) {
      throw new HubError('http', `${formatHubRef(ref)}: the hub API answer has no commit sha and file list`);
    }
    const files: RepoFileInfo[] = [];
    for (const x of o.siblings as Array<Record<string, unknown>>) {
      const lfs = x?.lfs as { sha256?: unknown; size?: unknown } | undefined;
      const etag = lfs ? lfs.sha256 : x?.blobId;
      const size = lfs ? lfs.size : x?.size;
      if (typeof x?.rfilename !== 'string' || typeof etag !== 'string' || !Number.isSafeInteger(size)) continue;
      files.push({ file: x.rfilename, size: size as number, etag, lfs: !!lfs });
    }
    const info: RepoInfo = { commit: o.sha, files, gated: typeof o.gated === 'string' ? o.gated : false };
    opts.repoInfoCache?.set(`${endpoint}|${ref.repo}|${o.sha}`, Promise.resolve(info)); // the commit's listing too
    return info;
  })();
  opts.repoInfoCache?.set(key, p);
  p.catch(() => opts.repoInfoCache?.delete(key));
  return p;
}

async function fileMetaFromApi(ref: HubRef, file: string, opts: HubOptions): Promise<HubFileMeta> {
  const info = await fetchRepoInfo(ref, opts);
  const entry = info.files.find((x) => x.file === file);
  if (!entry)
    throw new HubError(
      'entry-not-found',
      `${formatHubRef(ref)}: file ${file} not found in the repository at ${ref.revision}`,
    );
  // the bytes by commit, so a branch moving mid-download cannot mix two versions; fetch follows the CDN redirect
  const url = resolveUrl(opts.endpoint ?? DEFAULT_ENDPOINT, { repo: ref.repo, revision: info.commit }, file);
  return { file, commit: info.commit, etag: entry.etag, size: entry.size, url };
}

/** An incremental checksum for a blob id: sha256 (LFS, 64 hex) or git's blob sha1 (40 hex); null if neither. */
export function blobHasher(etag: string, size: number): { update(b: Uint8Array): void; hex(): string } | null {
  if (/^[0-9a-f]{64}$/.test(etag)) {
    const h = sha256.create();
    return { update: (b) => void h.update(b), hex: () => bytesToHex(h.digest()) };
  }
  if (/^[0-9a-f]{40}$/.test(etag)) {
    const h = sha1.create();
    h.update(new TextEncoder().encode(`blob ${size}\0`));
    return { update: (b) => void h.update(b), hex: () => bytesToHex(h.digest()) };
  }
  return null;
}

/** Where blobs, snapshots and refs live. The Node cache and a browser store implement it. */
export interface HubStore {
  /** The commit a revision resolved to last time (refs/<revision>), or null. A commit hash resolves to itself. */
  resolveRevision(repo: string, revision: string): Promise<string | null>;
  setRevision(repo: string, revision: string, commit: string): Promise<void>;
  /** A complete blob of this size is stored. */
  hasBlob(repo: string, etag: string, size: number): Promise<boolean>;
  /** Bytes already in the partial download of this blob (0 if none). */
  partialSize(repo: string, etag: string): Promise<number>;
  /** Stream the partial download's bytes (to rehash them before resuming). */
  readPartial(repo: string, etag: string): AsyncIterable<Uint8Array>;
  /** Open the partial download for appending; `truncate` starts it over. */
  openPartial(repo: string, etag: string, truncate: boolean): Promise<PartialWriter>;
  /** Give the finished partial its final blob name. */
  commitBlob(repo: string, etag: string): Promise<void>;
  discardPartial(repo: string, etag: string): Promise<void>;
  /** Make snapshots/<commit>/<file> the blob. */
  link(repo: string, commit: string, file: string, etag: string): Promise<void>;
  /** 'present' (in the snapshot), 'missing' (known absent: .no_exist) or 'unknown'. */
  snapshotFile(repo: string, commit: string, file: string): Promise<'present' | 'missing' | 'unknown'>;
  markMissing(repo: string, commit: string, file: string): Promise<void>;
  readSnapshotFile(repo: string, commit: string, file: string): Promise<Uint8Array>;
  /**
   * Optional: hold this blob's download lock (another process fetching the same blob waits), returning the
   * release. Without it two downloads of one blob would append to the same partial file.
   */
  lock?(repo: string, etag: string, signal?: AbortSignal): Promise<() => Promise<void>>;
}

export interface PartialWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface DownloadProgress {
  file: string;
  /** Bytes of this file on disk (including a resumed part). */
  received: number;
  total: number;
  /** Bytes per second over this session's transfer, and seconds left at that rate (null until known). */
  bytesPerSec: number | null;
  etaSec: number | null;
  done: boolean;
}

export interface DownloadOptions extends HubOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** Report progress at most this often (ms); the last report always comes. Default 250. */
  progressIntervalMs?: number;
  now?: () => number;
}

function interrupted(ref: HubRef, file: string, got: number, size: number, why: string): HubError {
  return new HubError(
    'interrupted',
    `${formatHubRef(ref)}: download of ${file} stopped at ${got} of ${size} bytes (${why}); run the same command again to resume`,
  );
}

/**
 * Fetch one blob into the store (resuming a partial one), check size and checksum, commit it. A failed
 * check deletes the partial so the next run starts clean; an interrupted transfer keeps it for resuming.
 */
export async function downloadBlob(
  ref: HubRef,
  meta: HubFileMeta,
  store: HubStore,
  opts: DownloadOptions = {},
): Promise<void> {
  const { repo } = ref;
  const f = opts.fetch ?? fetch;
  const now = opts.now ?? (() => Date.now());
  const hasher = blobHasher(meta.etag, meta.size);
  let have = await store.partialSize(repo, meta.etag);
  if (have > meta.size) {
    await store.discardPartial(repo, meta.etag);
    have = 0;
  }
  if (hasher && have > 0) for await (const chunk of store.readPartial(repo, meta.etag)) hasher.update(chunk);
  // huggingface_hub drops the token when the bytes come from another host (the LFS CDN): so do we
  const sameHost = new URL(meta.url).origin === new URL(opts.endpoint ?? DEFAULT_ENDPOINT).origin;
  const headers: Record<string, string> = { ...(sameHost ? authHeaders(opts) : {}), 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = have === meta.size ? new Response(new Uint8Array(0)) : await f(meta.url, { headers, signal: opts.signal });
  } catch (e) {
    throw interrupted(ref, meta.file, have, meta.size, (e as Error).message);
  }
  if (have > 0 && have < meta.size && res.status === 200) {
    // the server ignored the Range: start over (and forget the hash of the old part)
    return restart(ref, meta, store, opts);
  }
  if (!res.ok) throw hubErrorFor(res, ref, meta.file, opts);
  const writer = await store.openPartial(repo, meta.etag, have === 0);
  let got = have;
  let tooLong = false;
  const t0 = now();
  let lastReport = t0; // the first report waits one interval: small files print only their final line
  const interval = opts.progressIntervalMs ?? 250;
  const report = (done: boolean) => {
    if (!opts.onProgress) return;
    const t = now();
    if (!done && t - lastReport < interval) return;
    lastReport = t;
    const secs = (t - t0) / 1000;
    const rate = secs > 0 ? (got - have) / secs : null;
    opts.onProgress({
      file: meta.file,
      received: got,
      total: meta.size,
      bytesPerSec: rate,
      etaSec: rate && rate > 0 ? (meta.size - got) / rate : null,
      done,
    });
  };
  try {
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw interrupted(ref, meta.file, got, meta.size, (e as Error).message || 'connection lost');
        }
        if (r.done) break;
        if (got + r.value.length > meta.size) {
          tooLong = true;
          break;
        }
        await writer.write(r.value);
        hasher?.update(r.value);
        got += r.value.length;
        report(false);
      }
    }
  } finally {
    await writer.close();
  }
  if (tooLong) {
    await store.discardPartial(repo, meta.etag);
    throw new HubError(
      'checksum',
      `${formatHubRef(ref)}: ${meta.file} is longer than the ${meta.size} bytes the hub announced; the partial download was deleted`,
    );
  }
  if (got < meta.size) throw interrupted(ref, meta.file, got, meta.size, 'the connection closed early');
  if (hasher) {
    const hex = hasher.hex();
    if (hex !== meta.etag) {
      await store.discardPartial(repo, meta.etag);
      throw new HubError(
        'checksum',
        `${formatHubRef(ref)}: ${meta.file} failed its integrity check (${meta.etag.length === 64 ? 'sha256' : 'git sha1'} ${hex.slice(0, 12)}…, expected ${meta.etag.slice(0, 12)}…); the partial download was deleted, run again to download it afresh`,
      );
    }
  }
  await store.commitBlob(repo, meta.etag);
  report(true);
}

async function restart(ref: HubRef, meta: HubFileMeta, store: HubStore, opts: DownloadOptions): Promise<void> {
  await store.discardPartial(ref.repo, meta.etag);
  return downloadBlob(ref, meta, store, opts);
}

/** The files a model needs: config.json, weights (single or sharded), and the tokenizer files that exist. */
export const CONFIG_FILE = 'config.json';
export const SINGLE_WEIGHTS = 'model.safetensors';
export const OPTIONAL_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'generation_config.json',
];

export interface SnapshotOptions extends DownloadOptions {
  /** Never touch the network (HF_HUB_OFFLINE=1): serve from the store or fail. */
  offline?: boolean;
  /** Refuse weights larger than this in total (bytes; default 16 GiB), before downloading anything. */
  maxBytes?: number;
}

export interface SnapshotResult {
  ref: HubRef;
  commit: string;
  /** Files present in the snapshot, in download order. */
  files: string[];
  /** True when nothing was fetched over the network (answered from the store). */
  fromCache: boolean;
}

/**
 * Bring a model's files into the store: `config.json`, `model.safetensors` or the index and every shard it
 * names, and the tokenizer files the repo has (absent optional files are remembered as missing). Online,
 * the revision is resolved by the hub; offline (or when the hub cannot be reached) by the store's refs.
 */
export async function snapshotDownload(
  spec: string | HubRef,
  store: HubStore,
  opts: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const ref = typeof spec === 'string' ? parseHubRef(spec) : spec;
  try {
    return await snapshotOnce(ref, store, opts);
  } catch (e) {
    // a network failure after the first request (the hub went away mid-way) is one line too
    if (e instanceof HubError || opts.signal?.aborted || !(e instanceof TypeError)) throw e;
    throw new HubError(
      'interrupted',
      `${formatHubRef(ref)}: lost the connection to ${opts.endpoint ?? DEFAULT_ENDPOINT} (${e.message}); run again to continue`,
    );
  }
}

async function snapshotOnce(ref: HubRef, store: HubStore, opts: SnapshotOptions): Promise<SnapshotResult> {
  if (opts.offline) return fromStore(ref, store, 'HF_HUB_OFFLINE is set');
  opts = { ...opts, repoInfoCache: opts.repoInfoCache ?? new Map() };
  let config: HubFileMeta;
  try {
    config = await fetchFileMeta(ref, CONFIG_FILE, opts);
  } catch (e) {
    if (e instanceof HubError) {
      if (e.code === 'entry-not-found') {
        throw new HubError(
          'entry-not-found',
          `${formatHubRef(ref)}: no ${CONFIG_FILE} in the repository (is it a model?)`,
        );
      }
      throw e;
    }
    if (opts.signal?.aborted) throw e;
    // no network: huggingface_hub falls back to the cache the same way
    return fromStore(ref, store, `cannot reach ${opts.endpoint ?? DEFAULT_ENDPOINT}: ${(e as Error).message}`);
  }
  const commit = config.commit;
  const at: HubRef = { repo: ref.repo, revision: commit };
  const metas: HubFileMeta[] = [config];
  const optional = async (file: string): Promise<HubFileMeta | null> => {
    if ((await store.snapshotFile(ref.repo, commit, file)) === 'missing') return null;
    try {
      return await fetchFileMeta(at, file, opts);
    } catch (e) {
      if (e instanceof HubError && e.code === 'entry-not-found') {
        await store.markMissing(ref.repo, commit, file);
        return null;
      }
      throw e;
    }
  };
  const single = await optional(SINGLE_WEIGHTS);
  let shardNames: string[] = [];
  if (single) metas.push(single);
  else {
    const index = await optional(INDEX_FILE);
    if (!index) {
      throw new HubError(
        'entry-not-found',
        `${formatHubRef(ref)}: the repository has neither ${SINGLE_WEIGHTS} nor ${INDEX_FILE} at ${commit.slice(0, 12)} (pytorch_model.bin is not read: pickles can run code; a safetensors revision may exist under refs/pr/N)`,
      );
    }
    await fetchInto(ref, index, store, opts);
    const text = new TextDecoder().decode(await store.readSnapshotFile(ref.repo, commit, INDEX_FILE));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new HubError('http', `${formatHubRef(ref)}: ${INDEX_FILE} is not valid JSON (${(e as Error).message})`);
    }
    shardNames = parseShardIndex(parsed).shards;
    for (const s of shardNames) metas.push(await fetchFileMeta(at, s, opts));
  }
  for (const file of OPTIONAL_FILES) {
    const m = await optional(file);
    if (m) metas.push(m);
  }
  const total = metas.reduce((s, m) => s + m.size, 0);
  const max = opts.maxBytes ?? 16 * 2 ** 30;
  if (total > max) {
    throw new HubError(
      'too-large',
      `${formatHubRef(ref)}: the model's files total ${total} bytes, over the ${max}-byte limit`,
    );
  }
  for (const m of metas) await fetchInto(ref, m, store, opts);
  if (ref.revision !== commit) await store.setRevision(ref.repo, ref.revision, commit);
  const files = metas.map((m) => m.file);
  if (shardNames.length) files.splice(1, 0, INDEX_FILE);
  return { ref, commit, files, fromCache: false };
}

async function fetchInto(ref: HubRef, meta: HubFileMeta, store: HubStore, opts: DownloadOptions): Promise<void> {
  if (!(await store.hasBlob(ref.repo, meta.etag, meta.size))) {
    const release = store.lock ? await store.lock(ref.repo, meta.etag, opts.signal) : null;
    try {
      // whoever held the lock may have finished this blob meanwhile
      if (!(await store.hasBlob(ref.repo, meta.etag, meta.size))) await downloadBlob(ref, meta, store, opts);
    } finally {
      await release?.();
    }
  }
  await store.link(ref.repo, meta.commit, meta.file, meta.etag);
}

async function fromStore(ref: HubRef, store: HubStore, why: string): Promise<SnapshotResult> {
  const id = formatHubRef(ref);
  const commit = COMMIT_HASH.test(ref.revision) ? ref.revision : await store.resolveRevision(ref.repo, ref.revision);
  if (!commit) throw new HubError('offline', `${id} is not in the local cache and cannot be downloaded (${why})`);
  const has = async (f: string) => (await store.snapshotFile(ref.repo, commit, f)) === 'present';
  const files: string[] = [];
  if (!(await has(CONFIG_FILE))) {
    throw new HubError(
      'offline',
      `${id}: ${CONFIG_FILE} is not in the cached snapshot ${commit.slice(0, 12)} (${why})`,
    );
  }
  files.push(CONFIG_FILE);
  if (await has(SINGLE_WEIGHTS)) files.push(SINGLE_WEIGHTS);
  else if (await has(INDEX_FILE)) {
    const text = new TextDecoder().decode(await store.readSnapshotFile(ref.repo, commit, INDEX_FILE));
    const shards = parseShardIndex(JSON.parse(text)).shards;
    const missing = [];
    for (const s of shards) if (!(await has(s))) missing.push(s);
    if (missing.length) {
      throw new HubError(
        'offline',
        `${id}: shard ${missing[0]} is not in the cached snapshot ${commit.slice(0, 12)} (${why})`,
      );
    }
    files.push(INDEX_FILE, ...shards);
  } else {
    throw new HubError('offline', `${id}: the cached snapshot ${commit.slice(0, 12)} has no weights (${why})`);
  }
  for (const f of OPTIONAL_FILES) if (await has(f)) files.push(f);
  return { ref, commit, files, fromCache: true };
}
