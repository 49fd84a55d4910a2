/**
 * The browser's model library: Hugging Face downloads stored once in the Origin Private File System
 * (OPFS), laid out like huggingface_hub's cache so the hub code (src/engine/io/hub.ts) drives it
 * through the same HubStore interface as the CLI's disk cache:
 *
 *   hub/models--<owner>--<name>/blobs/<etag>               complete blobs (sha256 for LFS, git sha1 otherwise)
 *   hub/models--<owner>--<name>/blobs/<etag>.incomplete    a partial download, appended to on resume
 *   hub/models--<owner>--<name>/refs/<revision>            the commit a revision resolved to
 *   hub/models--<owner>--<name>/snapshots/<commit>/<file>  the blob's etag (OPFS has no symlinks)
 *   hub/models--<owner>--<name>/.no_exist/<commit>/<file>  known absent
 *
 * Partial files are written through a synchronous access handle (dedicated workers only): each chunk
 * lands in the file itself, so a reload or a cut connection keeps what arrived and the next download
 * resumes with a Range request. Runs only in a worker; nothing here touches the DOM.
 */
import type { HubStore, PartialWriter } from '../engine/io/hub';
import { sha256Hex } from '../engine/io/assets';

/** OPFS's synchronous handle (lib.dom lacks it in some TS versions; the shape we use). */
interface SyncHandle {
  write(buf: Uint8Array, opts: { at: number }): number;
  getSize(): number;
  truncate(n: number): void;
  flush(): void;
  close(): void;
}

type Dir = FileSystemDirectoryHandle;

const ROOT = 'hub';

function repoDir(repo: string): string {
  return `models--${repo.replace(/\//g, '--')}`;
}

/** A file name that is one path segment (revisions like refs/pr/1, nested files). */
function seg(name: string): string {
  return encodeURIComponent(name);
}

async function root(): Promise<Dir> {
  const top = await navigator.storage.getDirectory();
  return top.getDirectoryHandle(ROOT, { create: true });
}

async function dirPath(parts: string[], create: boolean): Promise<Dir | null> {
  let d = await root();
  for (const p of parts) {
    try {
      d = await d.getDirectoryHandle(p, { create });
    } catch (e) {
      if (!create && (e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }
  return d;
}

async function fileIn(dir: Dir | null, name: string): Promise<File | null> {
  if (!dir) return null;
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
    throw e;
  }
}

async function writeText(dir: Dir, name: string, text: string): Promise<void> {
  const h = await dir.getFileHandle(name, { create: true });
  const w = await h.createWritable();
  await w.write(text);
  await w.close();
}

async function removeIfPresent(dir: Dir | null, name: string): Promise<void> {
  if (!dir) return;
  try {
    await dir.removeEntry(name, { recursive: true });
  } catch (e) {
    if ((e as DOMException).name !== 'NotFoundError') throw e;
  }
}

const blobs = (repo: string, create = true) => dirPath([repoDir(repo), 'blobs'], create);

export const opfsStore: HubStore = {
  async resolveRevision(repo, revision) {
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    const f = await fileIn(await dirPath([repoDir(repo), 'refs'], false), seg(revision));
    return f ? (await f.text()).trim() || null : null;
  },
  async setRevision(repo, revision, commit) {
    if (revision === commit) return;
    await writeText((await dirPath([repoDir(repo), 'refs'], true))!, seg(revision), commit);
  },
  async hasBlob(repo, etag, size) {
    const f = await fileIn(await blobs(repo, false), etag);
    return f !== null && f.size === size;
  },
  async partialSize(repo, etag) {
    const f = await fileIn(await blobs(repo, false), `${etag}.incomplete`);
    return f?.size ?? 0;
  },
  async *readPartial(repo, etag) {
    const f = await fileIn(await blobs(repo, false), `${etag}.incomplete`);
    if (!f) return;
    const reader = f.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  },
  async openPartial(repo, etag, truncate): Promise<PartialWriter> {
    const fh = await (await blobs(repo))!.getFileHandle(`${etag}.incomplete`, { create: true });
    const h = (await (
      fh as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }
    ).createSyncAccessHandle()) as SyncHandle;
    if (truncate) h.truncate(0);
    let at = h.getSize();
    let sinceFlush = 0;
    return {
      async write(chunk) {
        at += h.write(chunk, { at });
        sinceFlush += chunk.length;
        // flush every few MiB: a reload loses at most this much
        if (sinceFlush >= 4 << 20) {
          h.flush();
          sinceFlush = 0;
        }
      },
      async close() {
        h.flush();
        h.close();
      },
    };
  },
  async commitBlob(repo, etag) {
    const dir = (await blobs(repo))!;
    const fh = await dir.getFileHandle(`${etag}.incomplete`);
    // FileSystemHandle.move (Chromium 110+) renames in place; copy otherwise
    const mover = fh as unknown as { move?: (name: string) => Promise<void> };
    if (typeof mover.move === 'function') await mover.move(etag);
    else {
      const w = await (await dir.getFileHandle(etag, { create: true })).createWritable();
      await (await fh.getFile()).stream().pipeTo(w);
      await dir.removeEntry(`${etag}.incomplete`);
    }
  },
  async discardPartial(repo, etag) {
    await removeIfPresent(await blobs(repo, false), `${etag}.incomplete`);
  },
  async link(repo, commit, file, etag) {
    await writeText((await dirPath([repoDir(repo), 'snapshots', commit], true))!, seg(file), etag);
  },
  async snapshotFile(repo, commit, file) {
    if (await fileIn(await dirPath([repoDir(repo), 'snapshots', commit], false), seg(file))) return 'present';
    if (await fileIn(await dirPath([repoDir(repo), '.no_exist', commit], false), seg(file))) return 'missing';
    return 'unknown';
  },
  async markMissing(repo, commit, file) {
    await writeText((await dirPath([repoDir(repo), '.no_exist', commit], true))!, seg(file), '');
  },
  async readSnapshotFile(repo, commit, file) {
    const ptr = await fileIn(await dirPath([repoDir(repo), 'snapshots', commit], false), seg(file));
    if (!ptr) throw new Error(`${repo}@${commit.slice(0, 12)}: ${file} is not in the model library`);
    const blob = await fileIn(await blobs(repo, false), (await ptr.text()).trim());
    if (!blob) throw new Error(`${repo}@${commit.slice(0, 12)}: the stored blob of ${file} is gone`);
    return new Uint8Array(await blob.arrayBuffer());
  },
};

export interface LibraryModel {
  repo: string;
  /** Snapshots stored, newest first by name order is meaningless, so: as listed, with their files. */
  snapshots: { commit: string; files: { name: string; size: number }[]; revisions: string[] }[];
  /** Bytes of all blobs, complete and partial. */
  bytes: number;
  /** Bytes in partial downloads (a paused or cut download). */
  partialBytes: number;
}

async function entries(d: Dir | null): Promise<[string, FileSystemHandle][]> {
  if (!d) return [];
  const out: [string, FileSystemHandle][] = [];
  for await (const e of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries())
    out.push(e);
  return out;
}

/** Everything stored: one entry per repository. */
export async function listLibrary(): Promise<LibraryModel[]> {
  const out: LibraryModel[] = [];
  for (const [name, h] of await entries(await root())) {
    if (h.kind !== 'directory' || !name.startsWith('models--')) continue;
    const repo = name.slice('models--'.length).replace(/--/g, '/');
    const d = h as Dir;
    let bytes = 0,
      partialBytes = 0;
    const sizes = new Map<string, number>();
    for (const [b, bh] of await entries(await d.getDirectoryHandle('blobs').catch(() => null))) {
      if (bh.kind !== 'file') continue;
      const size = (await (bh as FileSystemFileHandle).getFile()).size;
      bytes += size;
      if (b.endsWith('.incomplete')) partialBytes += size;
      else sizes.set(b, size);
    }
    const refs = new Map<string, string[]>();
    for (const [r, rh] of await entries(await d.getDirectoryHandle('refs').catch(() => null))) {
      if (rh.kind !== 'file') continue;
      const commit = (await (await (rh as FileSystemFileHandle).getFile()).text()).trim();
      refs.set(commit, [...(refs.get(commit) ?? []), decodeURIComponent(r)]);
    }
    const snapshots: LibraryModel['snapshots'] = [];
    for (const [commit, sh] of await entries(await d.getDirectoryHandle('snapshots').catch(() => null))) {
      if (sh.kind !== 'directory') continue;
      const files: { name: string; size: number }[] = [];
      for (const [f, fh] of await entries(sh as Dir)) {
        if (fh.kind !== 'file') continue;
        const etag = (await (await (fh as FileSystemFileHandle).getFile()).text()).trim();
        files.push({ name: decodeURIComponent(f), size: sizes.get(etag) ?? 0 });
      }
      snapshots.push({
        commit,
        files: files.sort((a, b) => a.name.localeCompare(b.name)),
        revisions: refs.get(commit) ?? [],
      });
    }
    out.push({ repo, snapshots, bytes, partialBytes });
  }
  return out.sort((a, b) => a.repo.localeCompare(b.repo));
}

/** Remove a repository and everything stored for it (blobs, partials, snapshots, refs). */
export async function deleteFromLibrary(repo: string): Promise<void> {
  await removeIfPresent(await root(), repoDir(repo));
}

/** A stored snapshot's files as bytes, with their sha256 (the run link's content hashes). */
export async function snapshotFiles(
  repo: string,
  commit: string,
): Promise<{ name: string; bytes: Uint8Array; sha256: string }[]> {
  const dir = await dirPath([repoDir(repo), 'snapshots', commit], false);
  if (!dir) throw new Error(`${repo}@${commit.slice(0, 12)} is not in the model library: download it first`);
  const out: { name: string; bytes: Uint8Array; sha256: string }[] = [];
  for (const [f, fh] of await entries(dir)) {
    if (fh.kind !== 'file') continue;
    const name = decodeURIComponent(f);
    const bytes = await opfsStore.readSnapshotFile(repo, commit, name);
    out.push({ name, bytes, sha256: await sha256Hex(bytes) });
  }
  return out;
}
