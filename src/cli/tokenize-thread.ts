/**
 * The CLI tokenizes datasets in a `node:worker_threads` Worker (issue 19 item 2). Tokenizing is one
 * long synchronous call; on the main thread a slow (but accepted) tokenizer regex would hold the event
 * loop for minutes, so no signal handler, timer or cleanup could run in that time. In a worker only that
 * thread is busy: Ctrl-C / SIGTERM end the process at once (the worker goes with it) and nothing has
 * been written — tokenization happens before any output exists.
 *
 * Node cannot start a worker from TypeScript, and the CLI runs under vite-node, so the worker's entry
 * (tokenize-worker.ts) is bundled with rolldown (already here: Vite's bundler) into
 * node_modules/.cache/rankscope/, named by its content hash and written atomically (temp name, then
 * rename), so concurrent CLI processes share it. Packages stay external: they resolve from the
 * project's node_modules, next to the bundle. One worker serves the process (unref'd: it never keeps
 * the process alive); starting it and loading its modules costs ~0.5–1.5 s on a busy 2-core machine,
 * paid once per process.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../engine/config';
import type { TokenizedDataset } from '../engine/data/batcher';
import type { TokenizeJob } from '../engine/data/tokenize-job';
import { DatasetError } from '../engine/data/types';
import { TokenizerError } from '../engine/io/tokenizers/types';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const ENTRY = path.join(HERE, 'tokenize-worker.ts');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'rankscope');

let bundled: Promise<string> | null = null;

/** The worker's bundled entry (built once per process; reused across processes by content hash). */
function workerScript(): Promise<string> {
  bundled ??= (async () => {
    const { rolldown } = await import('rolldown');
    const bundle = await rolldown({
      input: ENTRY,
      platform: 'node',
      external: (id) => !id.startsWith('.') && !path.isAbsolute(id),
      logLevel: 'silent',
    });
    try {
      const { output } = await bundle.generate({ format: 'esm' });
      const code = output[0].code;
      const file = path.join(
        CACHE,
        `tokenize-worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`,
      );
      if (!existsSync(file)) {
        mkdirSync(CACHE, { recursive: true });
        const tmp = `${file}.tmp-${process.pid}`;
        writeFileSync(tmp, code);
        renameSync(tmp, file);
      }
      return file;
    } finally {
      await bundle.close();
    }
  })();
  bundled.catch(() => (bundled = null));
  return bundled;
}

/** Errors keep their class across the thread boundary: the CLI prints `${name}: ${message}` either way. */
function rebuild(name: string, message: string): Error {
  if (name === 'ConfigError') return new ConfigError(message);
  if (name === 'TokenizerError') return new TokenizerError(message);
  if (name === 'DatasetError') return new DatasetError(message);
  const e = new Error(message);
  e.name = name;
  return e;
}

type Reply =
  { id: number; ok: true; data: TokenizedDataset } | { id: number; ok: false; name: string; message: string };
type Pending = { resolve: (d: TokenizedDataset) => void; reject: (e: Error) => void };

let thread: { worker: Worker; pending: Map<number, Pending> } | null = null;
let nextId = 0;

async function tokenizer(): Promise<NonNullable<typeof thread>> {
  const script = await workerScript();
  if (thread) return thread;
  const worker = new Worker(script);
  const pending = new Map<number, Pending>();
  const t = { worker, pending };
  const failAll = (e: Error) => {
    if (thread === t) thread = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (!p) return;
    if (m.ok) p.resolve(m.data);
    else p.reject(rebuild(m.name, m.message));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the tokenization thread exited (code ${code}) without a result`)));
  worker.unref();
  thread = t;
  return t;
}

/** Built-in data takes seconds on a busy machine; past this, say why nothing else happens (tests set it lower). */
const SLOW_NOTICE_MS = Number(process.env.RANKSCOPE_SLOW_TOKENIZE_NOTICE_MS) || 10_000;

/**
 * Run a TokenizeJob in the worker thread; resolves with the tokens (transferred, not copied). After
 * 10 s a line on stderr says it is still going and how to stop it (the main thread is free to say so).
 */
export async function tokenizeInThread(job: TokenizeJob): Promise<TokenizedDataset> {
  const t = await tokenizer();
  const id = nextId++;
  const notice = setTimeout(
    () => process.stderr.write('rankscope: still tokenizing the dataset (in a worker thread; Ctrl-C stops it)\n'),
    SLOW_NOTICE_MS,
  );
  notice.unref();
  return new Promise<TokenizedDataset>((resolve, reject) => {
    const done =
      <T>(f: (x: T) => void) =>
      (x: T) => {
        clearTimeout(notice);
        f(x);
      };
    t.pending.set(id, { resolve: done(resolve), reject: done(reject) });
    t.worker.ref(); // a job in flight keeps the process alive until its answer
    t.worker.postMessage({ id, job });
  });
}
