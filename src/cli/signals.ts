/**
 * Ctrl-C (SIGINT) and SIGTERM for every CLI command: the process ends within a second and leaves
 * nothing half-written.
 *
 * Why handlers are installed only while they are needed: a JavaScript signal handler runs on the event
 * loop, so while one is installed a busy synchronous phase (tokenising a large or hostile file) would
 * delay the exit until it finished. Without one, the OS's default action ends the process at once —
 * right for any phase that has nothing to clean up (reading inputs, eval, sample). So:
 *
 * - `guardTemp(path)` registers a temporary file/folder while it exists; a signal removes it
 *   (synchronously) before exiting, so no `*.tmp-<pid>` survives an interrupt.
 * - `cooperate()` opens a phase whose loop checks `interrupted()` between steps and stops cleanly
 *   (train saves its last good state, marked incomplete). A hard deadline still ends the process
 *   `GRACE_MS` after the signal if the loop cannot stop in time; a second signal ends it at once.
 */
import { rmSync } from 'node:fs';

const GRACE_MS = 800;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type Sig = (typeof SIGNALS)[number];
const EXIT_CODE: Record<Sig, number> = { SIGINT: 130, SIGTERM: 143 };

const temps = new Map<string, () => void>();
let cooperating = 0;
let received: Sig | null = null;
let installed = false;

function cleanupAll(): void {
  for (const undo of [...temps.values()].reverse()) {
    try {
      undo();
    } catch {
      // best effort: we are exiting on a signal
    }
  }
  temps.clear();
}

function exitNow(sig: Sig): never {
  cleanupAll();
  process.stderr.write(`rankscope: interrupted (${sig})\n`);
  process.exit(EXIT_CODE[sig]);
}

function onSignal(sig: Sig): void {
  if (received || cooperating === 0) exitNow(sig);
  received = sig;
  // The cooperating loop should finish well before this; if it cannot, nothing half-done survives anyway.
  setTimeout(() => exitNow(sig), GRACE_MS).unref();
}

const handlers = Object.fromEntries(SIGNALS.map((s) => [s, () => onSignal(s)])) as Record<Sig, () => void>;

function sync(): void {
  const want = cooperating > 0 || temps.size > 0;
  if (want && !installed) for (const s of SIGNALS) process.on(s, handlers[s]);
  if (!want && installed) for (const s of SIGNALS) process.off(s, handlers[s]);
  installed = want;
}

/**
 * Call once at CLI start: drop listeners others installed (vite-node's dev server adds a SIGTERM
 * listener that closes the server asynchronously and exits — seconds late on a busy event loop, and
 * in the middle of train's last save), so each signal takes the default action or ours, as above.
 */
export function takeOverSignals(): void {
  for (const s of SIGNALS) process.removeAllListeners(s);
  installed = false;
  sync();
}

/**
 * Register a temporary path: removed if a signal arrives while it is registered. `undo` replaces the
 * default removal (e.g. to move a displaced folder back). Returns the function that unregisters it.
 */
export function guardTemp(path: string, undo?: () => void): () => void {
  const fn = undo ?? (() => rmSync(path, { recursive: true, force: true }));
  temps.set(path, fn);
  sync();
  return () => {
    temps.delete(path);
    sync();
  };
}

/** Enter a phase that stops by itself on a signal (checking `interrupted()`); call the result to leave it. */
export function cooperate(): () => void {
  cooperating++;
  sync();
  let left = false;
  return () => {
    if (left) return;
    left = true;
    cooperating--;
    sync();
  };
}

/** The signal received during a cooperating phase, if any. */
export function interrupted(): Sig | null {
  return received;
}

/** The exit code a signal maps to (128 + its number, as shells report it). */
export function signalExitCode(sig: Sig): number {
  return EXIT_CODE[sig];
}

/** Tests only: forget a received signal (the in-process tests run several commands in one process). */
export function resetSignalsForTests(): void {
  received = null;
}
