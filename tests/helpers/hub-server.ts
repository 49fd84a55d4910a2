/**
 * A local stand-in for the Hugging Face Hub, for tests: Node http on 127.0.0.1 (random port) serving the
 * folders under tests/fixtures/hf/<owner>/<name>/ as repositories, with the hub's URL layout and headers:
 *
 *   HEAD|GET /<owner>/<name>/resolve/<revision>/<file>
 *     git files (JSON, text):   200, ETag "<git blob sha1>", X-Repo-Commit, Content-Length
 *     LFS files (*.safetensors): 302 to /cdn/<owner>/<name>/<sha256>, X-Linked-Etag "<sha256>",
 *                                X-Linked-Size, X-Repo-Commit (what huggingface_hub reads from the redirect)
 *   GET /cdn/...                 the bytes, with Range (206 + Content-Range)
 *   errors                       X-Error-Code RepoNotFound | RevisionNotFound | EntryNotFound | GatedRepo
 *
 * Faults, switchable per test: cut the connection after K bytes of a file, serve corrupted bytes (the
 * checksum then fails), 404 a file or a whole repo, 401 a gated repo unless the right token is sent,
 * ignore Range. Every request is logged so tests can assert what went over the wire. CORS is open so a
 * browser page on another port can use it too.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HubFaults {
  /** Cut the connection after this many body bytes of a GET of `file` (the next `times` GETs; default 1). */
  cut?: { file: string; afterBytes: number; times?: number } | null;
  /** Serve `file` with one byte flipped (headers still announce the true checksum). */
  corrupt?: Set<string>;
  /** Files (by name) answered 404 EntryNotFound. */
  missing?: Set<string>;
  /** Repos (owner/name) answered 404 RepoNotFound. */
  noRepo?: Set<string>;
  /** Gated repos: 401 GatedRepo unless `Authorization: Bearer <token>` matches. */
  gated?: Map<string, string>;
  /** Answer 200 with the whole file to ranged requests. */
  ignoreRange?: boolean;
}

export interface HubRequest {
  method: string;
  url: string;
  range: string | null;
  authorization: string | null;
}

export interface HubServer {
  endpoint: string;
  faults: HubFaults;
  requests: HubRequest[];
  /** The commit a repo's main resolves to. */
  commitOf(repo: string): string;
  close(): Promise<void>;
}

interface RepoFile {
  bytes: Buffer;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
}

// import.meta.url, not __dirname: Playwright loads this file as an ES module (e2e/hub.spec.ts)
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hf');

function loadRepo(dir: string): Map<string, RepoFile> | null {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return null;
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const files = new Map<string, RepoFile>();
  for (const n of names) {
    const bytes = readFileSync(path.join(dir, n));
    files.set(n, {
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      gitSha1: createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'),
      lfs: n.endsWith('.safetensors'),
    });
  }
  return files;
}

export async function startHubServer(opts: { root?: string } = {}): Promise<HubServer> {
  const root = opts.root ?? FIXTURES;
  const repos = new Map<string, Map<string, RepoFile> | null>();
  const getRepo = (repo: string) => {
    if (!repos.has(repo)) repos.set(repo, loadRepo(path.join(root, ...repo.split('/'))));
    return repos.get(repo)!;
  };
  const commitOf = (repo: string) => createHash('sha1').update(`commit:${repo}`).digest('hex');
  const faults: HubFaults = { corrupt: new Set(), missing: new Set(), noRepo: new Set(), gated: new Map() };
  const requests: HubRequest[] = [];

  const cors = {
    'access-control-allow-origin': '*',
    'access-control-expose-headers':
      'X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, Content-Range, Content-Length, Accept-Ranges, X-Error-Code, X-Error-Message, Location',
  };

  function fail(res: http.ServerResponse, status: number, code: string, message: string) {
    res.writeHead(status, { ...cors, 'x-error-code': code, 'x-error-message': message, 'content-type': 'text/plain' });
    res.end(message);
  }

  function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, name: string, f: RepoFile, extra = {}) {
    let body = f.bytes;
    if (faults.corrupt?.has(name)) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    let status = 200;
    const headers: Record<string, string | number> = { ...cors, ...extra, 'accept-ranges': 'bytes' };
    if (range && !faults.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const part = body.subarray(start);
    headers['content-length'] = part.length;
    headers['content-type'] = 'application/octet-stream';
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = faults.cut;
    if (cut && cut.file === name && req.method === 'GET') {
      cut.times = (cut.times ?? 1) - 1;
      if (cut.times <= 0) faults.cut = null;
      const n = Math.max(0, Math.min(part.length, cut.afterBytes - start));
      res.write(part.subarray(0, n), () => {
        // let the bytes reach the client and be read (a web stream's error drops unread chunks), then
        // drop the connection mid-body
        setTimeout(() => res.socket?.destroy(), 250);
      });
      return;
    }
    res.end(part);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      method: req.method ?? '',
      url: url.pathname,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
    });
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET, HEAD',
        'access-control-allow-headers': 'Range, Authorization, Accept-Encoding',
      });
      return void res.end();
    }
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] === 'cdn' && parts.length === 4) {
      const repo = `${parts[1]}/${parts[2]}`;
      const files = getRepo(repo);
      const entry = files && [...files].find(([, f]) => f.sha256 === parts[3]);
      if (!entry) return fail(res, 404, 'EntryNotFound', 'no such blob');
      return sendBytes(req, res, entry[0], entry[1], { etag: `"${entry[1].sha256}"` });
    }
    if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'revision' && parts.length === 6) {
      // GET /api/models/<owner>/<name>/revision/<rev>?blobs=true: the repo listing (HfApi.model_info)
      const repo = `${parts[2]}/${parts[3]}`;
      const files = getRepo(repo);
      if (!files || faults.noRepo?.has(repo)) return fail(res, 404, 'RepoNotFound', 'Repository not found');
      const commit = commitOf(repo);
      if (parts[5] !== 'main' && parts[5] !== commit) return fail(res, 404, 'RevisionNotFound', 'Invalid rev id');
      const siblings = [...files]
        .filter(([n]) => !faults.missing?.has(n))
        .map(([n, f]) =>
          f.lfs
            ? { rfilename: n, blobId: f.gitSha1, size: f.bytes.length, lfs: { sha256: f.sha256, size: f.bytes.length } }
            : { rfilename: n, blobId: f.gitSha1, size: f.bytes.length },
        );
      const body = JSON.stringify({
        id: repo,
        sha: commit,
        gated: faults.gated?.has(repo) ? 'manual' : false,
        siblings,
      });
      res.writeHead(200, { ...cors, 'content-type': 'application/json' });
      return void res.end(body);
    }
    if (parts.length < 5 || parts[2] !== 'resolve') return fail(res, 404, 'RepoNotFound', 'not a resolve URL');
    const repo = `${parts[0]}/${parts[1]}`;
    const revision = parts[3];
    const file = parts.slice(4).join('/');
    const files = getRepo(repo);
    if (!files || faults.noRepo?.has(repo)) {
      // the hub answers 401 without a token (a private repo and a missing one look alike), 404 with one
      const status = req.headers.authorization ? 404 : 401;
      return fail(res, status, 'RepoNotFound', `Repository Not Found for url: ${url.pathname}.`);
    }
    const token = faults.gated?.get(repo);
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return fail(res, 401, 'GatedRepo', `Access to model ${repo} is restricted. You must have access to it.`);
    }
    const commit = commitOf(repo);
    if (revision !== 'main' && revision !== commit) {
      return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    }
    const f = files.get(file);
    if (!f || faults.missing?.has(file)) return fail(res, 404, 'EntryNotFound', `${file} does not exist`);
    if (f.lfs) {
      const address = server.address() as AddressInfo;
      res.writeHead(302, {
        ...cors,
        location: `http://127.0.0.1:${address.port}/cdn/${repo}/${f.sha256}`,
        'x-repo-commit': commit,
        'x-linked-etag': `"${f.sha256}"`,
        'x-linked-size': f.bytes.length,
        etag: `"${f.gitSha1}"`,
        'content-length': 0,
      });
      return void res.end();
    }
    return sendBytes(req, res, file, f, { etag: `"${f.gitSha1}"`, 'x-repo-commit': commit });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    faults,
    requests,
    commitOf,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
