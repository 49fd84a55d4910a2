/**
 * Loading a model for CLI commands: `--model <dir>` (a checkpoint directory), `--model hf:owner/name[@rev]`
 * (downloaded into / found in the Hugging Face cache, then read as its snapshot directory) or a built-in id.
 */
import { loadBuiltinModel, loadModelFiles, type LoadedModel } from '../engine/io/checkpoint';
import { isDirectory, readModelDir } from './fsio';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError } from './args';
import { escapeControl } from '../engine/strings';
import { HubError } from '../engine/io/hub';
import { hubSnapshotDir } from './hf-cache';

/** A hub id (`hf:owner/name[@revision]`) → its local snapshot directory (downloading what is missing); else the ref. */
export async function localModelRef(ref: string): Promise<{ path: string; hubId: string | null }> {
  if (!ref.startsWith('hf:')) return { path: ref, hubId: null };
  try {
    const { dir, result } = await hubSnapshotDir(ref);
    return { path: dir, hubId: `hf:${result.ref.repo}@${result.commit}` };
  } catch (e) {
    if (e instanceof HubError) throw new CliError(e.message);
    throw e;
  }
}

export async function loadCliModel(spec: string): Promise<LoadedModel> {
  const { path: ref, hubId } = await localModelRef(spec);
  if (await isModelFolder(ref))
    return loadModelFiles(hubId ?? path.basename(path.resolve(ref)), await readModelDir(ref));
  return loadBuiltinModel(ref);
}

/**
 * True for a folder; false for what can only be a built-in id; a one-line CliError for a path that
 * is not a folder (issue 19 item 8: a mistyped `--model runs/lroa/` must say the folder does not exist,
 * not that there is no built-in model by that name).
 */
export async function isModelFolder(ref: string): Promise<boolean> {
  if (await isDirectory(ref)) return true;
  const stat = await fs.stat(ref).catch(() => null);
  const shown = escapeControl(ref);
  if (stat)
    throw new CliError(
      `--model ${shown}: is a file, not a folder (expected a folder holding config.json and model.safetensors)`,
    );
  // ./x, ../x, /x, ~/x, x/, a\\b and a/b/c are paths; a bare name is a built-in id (owner/name is left to the hub)
  const looksLikePath =
    /^(\.{1,2}[\\/]|[\\/]|~)|[\\/]$|\\/.test(ref) ||
    ref.split('/').length > 2 ||
    (ref.includes('/') && (await isDirectory(ref.split('/')[0]))); // runs/lroa when ./runs exists
  if (looksLikePath) throw new CliError(`--model ${shown}: folder does not exist (${path.resolve(ref)})`);
  // owner/name is neither a folder here nor a built-in id: most likely a hub id without its prefix
  if (/^[\w.-]+\/[\w.-]+$/.test(ref))
    throw new CliError(`--model ${shown}: no such folder (for the Hugging Face Hub model, write --model hf:${shown})`);
  return false;
}
