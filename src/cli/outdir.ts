/**
 * `train --out DIR`: where a run's result and its checkpoints live, checked before any work and
 * written as a unit.
 *
 * - Checked up front (`checkOutDir`): an empty `--out=`, a file, the model's folder or a folder inside
 *   it (or one that contains an input) are refused with one line; an existing non-empty folder holding
 *   another run is refused unless `--overwrite` (replace it) or `--resume` (continue it); a non-empty
 *   folder that holds no Rankscope run is always refused (we never delete a person's files).
 * - Written as a unit (`writeRunFolder`): every save builds the complete folder under a temporary
 *   sibling name, then swaps it in with renames, so DIR always holds one consistent save — the last
 *   checkpoint or the final result, never a mix. Temporary names are registered with the signal
 *   handler, so an interrupt leaves no `*.tmp-<pid>` behind.
 * - `status.json` says whether the folder is a finished result (`complete: true`) or the last good
 *   state of a stopped run (`complete: false`, with the reason and the step).
 */
import { constants as fsConstants, existsSync, promises as fs, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { NamedFile } from '../engine/io/checkpoint';
import { CliError } from './args';
import { guardTemp } from './signals';

export const STATUS_FILE = 'status.json';
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export type StopReason = 'running' | 'done' | 'stopped' | 'interrupted' | 'non-finite' | 'device-lost' | 'error';

export interface RunStatus {
  complete: boolean;
  reason: StopReason;
  /** Completed steps of the state in the folder. */
  step: number;
  totalSteps: number;
  method: string;
  message: string;
}

async function statOrNull(p: string) {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

/** Is `child` the same path as `parent` or inside it? (both absolute, symlinks resolved where they exist) */
function within(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function real(p: string): Promise<string> {
  // Resolve symlinks of the longest existing prefix, so a not-yet-created --out compares correctly.
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(head), ...tail);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

/** Read a folder's status.json, or null when it holds none (or an unreadable one). */
export async function readStatus(dir: string): Promise<RunStatus | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, STATUS_FILE), 'utf8')) as RunStatus;
  } catch {
    return null;
  }
}

/**
 * Validate `--out` before training. `inputs` are paths the run reads (the model folder, a dataset
 * file): the output may not be one of them, inside one, or contain one. Returns the absolute path.
 */
export async function checkOutDir(
  raw: string,
  opts: { inputs: string[]; overwrite: boolean; resume: boolean },
): Promise<string> {
  if (raw.trim() === '' || raw === 'true') throw new CliError('--out needs a folder path (e.g. --out runs/my-run)');
  const out = await real(raw);
  for (const input of opts.inputs) {
    const inp = await real(input);
    if (within(out, inp))
      throw new CliError(`--out ${raw} is ${out === inp ? '' : 'inside '}the input ${input}: choose another folder`);
    if (within(inp, out)) throw new CliError(`--out ${raw} contains the input ${input}: choose another folder`);
  }
  const st = await statOrNull(out);
  if (st && !st.isDirectory()) throw new CliError(`--out ${raw} is a file, not a folder`);
  if (st) {
    const entries = (await fs.readdir(out)).filter((e) => !e.startsWith('.'));
    if (entries.length > 0) {
      const status = await readStatus(out);
      const isRun = status !== null || entries.includes('run.json');
      if (!isRun)
        throw new CliError(
          `--out ${raw} is not empty and holds no Rankscope run (${entries.length} entries): choose a new or empty folder`,
        );
      if (!opts.overwrite && !opts.resume) {
        const what = status
          ? `a ${status.complete ? 'finished' : `stopped (${status.reason})`} ${status.method} run at step ${status.step}`
          : 'another run';
        throw new CliError(
          `--out ${raw} already holds ${what}: pass --overwrite to replace it, or train --resume ${raw} to continue it`,
        );
      }
    }
  } else {
    // Fail now, not after the run, when the folder cannot be created.
    let parent = path.dirname(out);
    while (!(await statOrNull(parent))) parent = path.dirname(parent);
    if (!(await statOrNull(parent))!.isDirectory()) throw new CliError(`--out ${raw}: ${parent} is a file`);
    try {
      await fs.access(parent, fsConstants.W_OK);
    } catch {
      throw new CliError(`--out ${raw}: cannot write in ${parent}`);
    }
  }
  return out;
}

/**
 * Replace `dir` with exactly `files` (plus status.json), as a unit: build `.<name>.tmp-<pid>` beside it,
 * move the old folder aside, rename the new one in, delete the old one. A signal at any point leaves
 * either the old folder or the new one under `dir` (the guards undo a half-done swap).
 */
export async function writeRunFolder(dir: string, files: NamedFile[], status: RunStatus): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}`);
  const old = path.join(parent, `.${base}.old-${process.pid}`);
  await fs.mkdir(parent, { recursive: true });
  const unguardTmp = guardTemp(tmp);
  try {
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp);
    const all = [
      ...files,
      { name: STATUS_FILE, bytes: new TextEncoder().encode(JSON.stringify(status, null, 2) + '\n') },
    ];
    for (const f of all) await fs.writeFile(path.join(tmp, f.name), f.bytes);
    const hadOld = existsSync(dir);
    const unguardOld = guardTemp(old, () => {
      // Interrupted mid-swap: put the previous folder back if the new one is not in place.
      if (!existsSync(dir) && existsSync(old)) renameSync(old, dir);
      rmSync(old, { recursive: true, force: true });
    });
    try {
      if (hadOld) renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } finally {
      unguardOld();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    unguardTmp();
  }
}

/** Rewrite only status.json of an existing folder (atomic: temp name, then rename). */
export async function updateStatus(dir: string, status: RunStatus): Promise<void> {
  const target = path.join(dir, STATUS_FILE);
  const tmp = `${target}.tmp-${process.pid}`;
  const unguard = guardTemp(tmp);
  try {
    await fs.writeFile(tmp, JSON.stringify(status, null, 2) + '\n');
    await fs.rename(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
    unguard();
  }
}
