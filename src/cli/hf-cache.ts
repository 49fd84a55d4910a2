/**
 * The Hugging Face cache on disk, laid out exactly as huggingface_hub keeps it, so a model either side
 * downloaded is reused by the other (huggingface_hub `constants.py`, `file_download.py`):
 *
 *   $HF_HUB_CACHE | $HF_HOME/hub | $XDG_CACHE_HOME/huggingface/hub | ~/.cache/huggingface/hub
 *     models--<owner>--<name>/
 *       blobs/<etag>                 file bytes, named by sha256 (LFS) or git blob sha1
 *       blobs/<etag>.incomplete      a download in progress (resumed with HTTP Range)
 *       snapshots/<commit>/<file>    relative symlink → ../../blobs/<etag> (a copy where symlinks fail)
 *       refs/<revision>              the commit the revision last resolved to
 *       .no_exist/<commit>/<file>    empty marker: the repo has no such file at that commit
 *
 * `hubSnapshotDir("hf:owner/name@rev")` downloads what a model needs (src/engine/io/hub.ts) and returns the
 * snapshot directory, which the CLI then reads like any `--model DIR`.
 */
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_ENDPOINT,
  COMMIT_HASH,
  formatHubRef,
  parseHubRef,
  snapshotDownload,
  type DownloadProgress,
  type HubStore,
  type PartialWriter,
  type SnapshotResult,
} from '../engine/io/hub';

type Env = Record<string, string | undefined>;

/** huggingface_hub's HF_HUB_CACHE resolution. */
export function hubCacheDir(env: Env = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return path.join(hfHome(env), 'hub');
}

function hfHome(env: Env): string {
  if (env.HF_HOME) return env.HF_HOME;
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

function truthy(v: string | undefined): boolean {
  return !!v && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());
}

/** HF_TOKEN, else the token `huggingface-cli login` saved ($HF_TOKEN_PATH or $HF_HOME/token). */
export async function hubToken(env: Env = process.env): Promise<string | null> {
  if (env.HF_TOKEN) return env.HF_TOKEN.trim();
  if (env.HUGGING_FACE_HUB_TOKEN) return env.HUGGING_FACE_HUB_TOKEN.trim();
  try {
    const t = (await fs.readFile(env.HF_TOKEN_PATH || path.join(hfHome(env), 'token'), 'utf8')).trim();
    return t || null;
  } catch {
    return null;
  }
}

/** `models--owner--name`, huggingface_hub's repo_folder_name for a model. */
export function repoFolder(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

function inside(root: string, rel: string): string {
  const p = path.resolve(root, rel);
  if (p !== root && !p.startsWith(root + path.sep)) throw new Error(`path ${JSON.stringify(rel)} leaves the cache`);
  return p;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** HubStore over the huggingface_hub cache layout. */
export class HfCacheStore implements HubStore {
  constructor(readonly root: string) {}

  repoDir(repo: string): string {
    return inside(this.root, repoFolder(repo));
  }
  blobPath(repo: string, etag: string): string {
    if (!/^[\w-]+$/.test(etag)) throw new Error(`etag ${JSON.stringify(etag)} is not a blob id`);
    return path.join(this.repoDir(repo), 'blobs', etag);
  }
  snapshotDir(repo: string, commit: string): string {
    if (!COMMIT_HASH.test(commit)) throw new Error(`${JSON.stringify(commit)} is not a commit hash`);
    return path.join(this.repoDir(repo), 'snapshots', commit);
  }

  async resolveRevision(repo: string, revision: string): Promise<string | null> {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const c = (await fs.readFile(inside(path.join(this.repoDir(repo), 'refs'), revision), 'utf8')).trim();
      return COMMIT_HASH.test(c) ? c : null;
    } catch {
      return null;
    }
  }
  async setRevision(repo: string, revision: string, commit: string): Promise<void> {
    const p = inside(path.join(this.repoDir(repo), 'refs'), revision);
    await fs.mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    await fs.writeFile(tmp, commit); // huggingface_hub writes the bare hash, no newline
    await fs.rename(tmp, p);
  }
  async hasBlob(repo: string, etag: string, size: number): Promise<boolean> {
    try {
      return (await fs.stat(this.blobPath(repo, etag))).size === size;
    } catch {
      return false;
    }
  }
  async partialSize(repo: string, etag: string): Promise<number> {
    try {
      return (await fs.stat(this.blobPath(repo, etag) + '.incomplete')).size;
    } catch {
      return 0;
    }
  }
  async *readPartial(repo: string, etag: string): AsyncIterable<Uint8Array> {
    for await (const chunk of createReadStream(this.blobPath(repo, etag) + '.incomplete')) yield chunk as Uint8Array;
  }
  async openPartial(repo: string, etag: string, truncate: boolean): Promise<PartialWriter> {
    const p = this.blobPath(repo, etag) + '.incomplete';
    await fs.mkdir(path.dirname(p), { recursive: true });
    const fh = await fs.open(p, truncate ? 'w' : 'a');
    let closed = false;
    return {
      write: async (chunk) => void (await fh.write(chunk)),
      close: async () => {
        if (closed) return;
        closed = true;
        await fh.close();
      },
    };
  }
  async commitBlob(repo: string, etag: string): Promise<void> {
    const p = this.blobPath(repo, etag);
    await fs.rename(p + '.incomplete', p);
  }
  async discardPartial(repo: string, etag: string): Promise<void> {
    await fs.rm(this.blobPath(repo, etag) + '.incomplete', { force: true });
  }
  async link(repo: string, commit: string, file: string, etag: string): Promise<void> {
    const dir = this.snapshotDir(repo, commit);
    const p = inside(dir, file);
    const blob = this.blobPath(repo, etag);
    await fs.mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    await fs.rm(tmp, { force: true });
    try {
      await fs.symlink(path.relative(path.dirname(p), blob), tmp);
    } catch {
      await fs.copyFile(blob, tmp); // no symlinks here (Windows without developer mode): copy, as huggingface_hub does
    }
    await fs.rename(tmp, p);
  }
  async snapshotFile(repo: string, commit: string, file: string): Promise<'present' | 'missing' | 'unknown'> {
    if (await exists(inside(this.snapshotDir(repo, commit), file))) return 'present';
    if (await exists(inside(path.join(this.repoDir(repo), '.no_exist', commit), file))) return 'missing';
    return 'unknown';
  }
  async markMissing(repo: string, commit: string, file: string): Promise<void> {
    const p = inside(path.join(this.repoDir(repo), '.no_exist', commit), file);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, '');
  }
  /**
   * `<cache>/.locks/models--owner--name/<etag>.lock` (where huggingface_hub keeps its file locks), created
   * exclusively and holding our pid. A lock whose process is gone is stale and taken over; otherwise we
   * poll until it is released. (huggingface_hub's own locks are flock()s on the same path; they do not
   * exclude us, nor we them — only our processes exclude each other.)
   */
  async lock(repo: string, etag: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    const p = path.join(inside(path.join(this.root, '.locks'), repoFolder(repo)), `${etag}.lock`);
    await fs.mkdir(path.dirname(p), { recursive: true });
    for (let waited = 0; ; waited += 200) {
      signal?.throwIfAborted();
      try {
        const fh = await fs.open(p, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return async () => void (await fs.rm(p, { force: true }));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((await fs.readFile(p, 'utf8').catch(() => '')).trim());
      const age = Date.now() - ((await fs.stat(p).catch(() => null))?.mtimeMs ?? Date.now());
      // a dead holder, or a lock left empty for a minute (its holder died between creating and writing it)
      if ((pid > 0 && !alive(pid)) || (!(pid > 0) && age > 60_000)) {
        await fs.rm(p, { force: true }); // its process died mid-download: the partial is resumable, take over
        continue;
      }
      if (waited === 0) process.stderr.write(`waiting for another download of ${etag.slice(0, 12)}… (${p})\n`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async readSnapshotFile(repo: string, commit: string, file: string): Promise<Uint8Array> {
    const buf = await fs.readFile(inside(this.snapshotDir(repo, commit), file));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** One progress line: `  model.safetensors  12.3 MiB / 45.6 MiB  3.20 MiB/s  ETA 10s`. */
export function formatProgress(p: DownloadProgress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.received) / p.total) : 100;
  const rate = p.bytesPerSec !== null ? `${human(p.bytesPerSec)}/s` : '–';
  const eta = p.done ? 'done' : p.etaSec !== null ? `ETA ${Math.ceil(p.etaSec)}s` : 'ETA –';
  return `  ${p.file}  ${human(p.received)} / ${human(p.total)} (${pct}%)  ${rate}  ${eta}`;
}

export interface HubCliOptions {
  env?: Env;
  /** Where progress lines go (default process.stderr). */
  stderr?: { write(s: string): unknown; isTTY?: boolean };
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/**
 * `hf:owner/name[@revision]` → the local snapshot directory holding config.json, the weights and the
 * tokenizer files, downloading what is missing into the HF cache (or, offline, finding it there).
 */
export async function hubSnapshotDir(
  spec: string,
  opts: HubCliOptions = {},
): Promise<{ dir: string; result: SnapshotResult }> {
  const env = opts.env ?? process.env;
  const err = opts.stderr ?? process.stderr;
  const tty = !!err.isTTY;
  const ref = parseHubRef(spec);
  const store = new HfCacheStore(hubCacheDir(env));
  let announced = false;
  const result = await snapshotDownload(ref, store, {
    endpoint: env.HF_ENDPOINT || DEFAULT_ENDPOINT,
    token: await hubToken(env),
    offline: truthy(env.HF_HUB_OFFLINE),
    fetch: opts.fetch,
    signal: opts.signal,
    // a terminal gets a line redrawn in place; a pipe or log gets a line a second and the final one
    progressIntervalMs: tty ? 200 : 1000,
    onProgress: (p) => {
      if (!announced) {
        err.write(`downloading ${formatHubRef(ref)} into ${store.repoDir(ref.repo)}\n`);
        announced = true;
      }
      const line = formatProgress(p);
      err.write(tty ? `\r${line}\x1b[K${p.done ? '\n' : ''}` : `${line}\n`);
    },
  });
  return { dir: store.snapshotDir(ref.repo, result.commit), result };
}
