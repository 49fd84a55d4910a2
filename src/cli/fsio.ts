/** Node file helpers for the CLI: read a model directory, write a checkpoint/run directory. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { NamedFile } from '../engine/io/checkpoint';
import { INDEX_FILE, parseShardIndex } from '../engine/io/hf-model';
import { CliError } from './args';

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  INDEX_FILE,
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'card.json',
];

/**
 * The checkpoint files in a directory: config.json + model.safetensors (or model.safetensors.index.json and
 * the shards it names), optional tokenizer.json / tokenizer_config.json / chat_template.jinja / card.json.
 */
export async function readModelDir(dir: string): Promise<NamedFile[]> {
  if (!(await isDirectory(dir)))
    throw new CliError(`--model ${dir}: not a directory (expected one holding config.json and model.safetensors)`);
  const files: NamedFile[] = [];
  const names = [...MODEL_FILES];
  // transformers prefers model.safetensors; only without it are the index's shards the weights
  if (!(await fs.stat(path.join(dir, 'model.safetensors')).catch(() => null))) {
    try {
      const index = JSON.parse(await fs.readFile(path.join(dir, INDEX_FILE), 'utf8')) as unknown;
      names.push(...parseShardIndex(index).shards);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CliError(`${path.join(dir, INDEX_FILE)}: ${(e as Error).message}`);
    }
  }
  for (const name of names) {
    try {
      const buf = await fs.readFile(path.join(dir, name));
      files.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CliError(`cannot read ${path.join(dir, name)}: ${(e as Error).message}`);
    }
  }
  return files;
}

export async function readFileBytes(p: string): Promise<Uint8Array> {
  try {
    const buf = await fs.readFile(p);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new CliError(`cannot read ${p}: ${(e as Error).message}`);
  }
}

/** Write files into dir atomically per file (tmp + rename), creating dir. */
export async function writeFiles(dir: string, files: NamedFile[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const f of files) {
    const target = path.join(dir, f.name);
    const tmp = `${target}.tmp-${process.pid}`;
    await fs.writeFile(tmp, f.bytes);
    await fs.rename(tmp, target);
  }
}
