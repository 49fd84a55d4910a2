/** Loading a model for CLI commands: `--model <dir>` (a checkpoint directory) or a built-in id. */
import { loadBuiltinModel, loadModelFiles, type LoadedModel } from '../engine/io/checkpoint';
import { isDirectory, readModelDir } from './fsio';
import path from 'node:path';

export async function loadCliModel(ref: string): Promise<LoadedModel> {
  if (await isDirectory(ref)) return loadModelFiles(path.basename(path.resolve(ref)), await readModelDir(ref));
  return loadBuiltinModel(ref);
}
