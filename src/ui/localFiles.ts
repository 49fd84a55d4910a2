/**
 * A person's own files: a model folder (config.json + model.safetensors [+ tokenizer.json]) and a
 * dataset (.txt / .jsonl). Bytes stay on this machine: they go to the worker when a run starts and
 * into IndexedDB (by content hash, up to a size cap) so a reload or a reproduction can reuse them.
 */
import { sha256Hex } from '../engine/io/assets';
import { fromHfConfig } from '../engine/model/config';
import { parseUserDataset } from '../engine/data/user';
import { getBlob, putBlob } from './db';
import { persist } from './persist';
import type { LocalFileMeta } from './store/setupSlice';
import { useStudio } from './store';

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
  sha256: string;
}

const MODEL_FILES = new Set([
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'card.json',
  'README.md',
]);
const MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_DATASET_BYTES = 20 * 1024 * 1024;

let modelFiles: NamedBytes[] = [];
let datasetFile: NamedBytes | null = null;

export function currentModelFiles(): NamedBytes[] {
  return modelFiles;
}
export function currentDatasetFile(): NamedBytes | null {
  return datasetFile;
}

async function readFile(f: File): Promise<NamedBytes> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  return { name: f.name, bytes, sha256: await sha256Hex(bytes) };
}

function meta(f: NamedBytes): LocalFileMeta {
  return { name: f.name, size: f.bytes.byteLength, sha256: f.sha256 };
}

/** Files from a folder or multi-file pick. Returns a message when something is wrong (nothing changes then). */
export async function chooseModelFiles(list: FileList | File[]): Promise<string | null> {
  const files = [...list].filter((f) => MODEL_FILES.has(f.name));
  const total = files.reduce((a, f) => a + f.size, 0);
  if (!files.some((f) => f.name === 'config.json')) return 'The chosen files have no config.json.';
  if (!files.some((f) => f.name === 'model.safetensors')) return 'The chosen files have no model.safetensors.';
  if (total > MAX_MODEL_BYTES)
    return `The model files are ${(total / 2 ** 30).toFixed(1)} GiB; the studio takes up to 2 GiB.`;
  const read = await Promise.all(files.map(readFile));
  let archError: string | null = null;
  let arch = null;
  try {
    arch = fromHfConfig(JSON.parse(new TextDecoder().decode(read.find((f) => f.name === 'config.json')!.bytes)));
  } catch (e) {
    archError = `config.json: ${(e as Error).message}`;
  }
  modelFiles = read;
  const first = list[0] as File & { webkitRelativePath?: string };
  const folder = first?.webkitRelativePath?.split('/')[0] || 'local-model';
  const st = useStudio.getState();
  st.setLocalModel({ id: folder, files: read.map(meta) });
  st.setField('model', { source: 'local', id: folder, files: read.map((f) => ({ name: f.name, sha256: f.sha256 })) });
  st.setArch(arch, archError);
  for (const f of read)
    persist(putBlob({ sha256: f.sha256, name: f.name, kind: 'model', bytes: f.bytes }), 'the model files');
  return null;
}

export async function chooseDatasetFile(f: File): Promise<string | null> {
  if (!/\.(txt|jsonl)$/i.test(f.name))
    return 'Choose a .txt file (plain text) or a .jsonl file of {"prompt", "completion"} or {"messages": […]} lines.';
  if (f.size > MAX_DATASET_BYTES)
    return `${f.name} is ${(f.size / 2 ** 20).toFixed(1)} MiB; datasets up to 20 MiB are accepted.`;
  if (f.size === 0) return `${f.name} is empty.`;
  const nb = await readFile(f);
  // parse here too, so a malformed line is named now rather than when the run starts
  let kind: 'text' | 'pairs' | 'chat';
  try {
    kind = parseUserDataset(nb.name, nb.bytes).kind;
  } catch (e) {
    return (e as Error).message;
  }
  datasetFile = nb;
  const st = useStudio.getState();
  st.setUpload({ ...meta(nb), kind });
  st.setField('dataset', { source: 'upload', id: f.name, hash: nb.sha256 });
  persist(putBlob({ sha256: nb.sha256, name: nb.name, kind: 'dataset', bytes: nb.bytes }), 'the dataset file');
  return null;
}

/** Bring back files by hash from IndexedDB (reload, reproduction). True when all were found. */
export async function restoreModelFiles(id: string, wanted: { name: string; sha256: string }[]): Promise<boolean> {
  const got: NamedBytes[] = [];
  for (const w of wanted) {
    const b = await getBlob(w.sha256).catch(() => undefined);
    if (!b) return false;
    got.push({ name: w.name, bytes: b.bytes, sha256: w.sha256 });
  }
  modelFiles = got;
  const st = useStudio.getState();
  st.setLocalModel({ id, files: got.map(meta) });
  try {
    st.setArch(fromHfConfig(JSON.parse(new TextDecoder().decode(got.find((f) => f.name === 'config.json')!.bytes))));
  } catch (e) {
    st.setArch(null, `config.json: ${(e as Error).message}`);
  }
  return true;
}

export async function restoreDatasetFile(name: string, sha256: string): Promise<boolean> {
  const b = await getBlob(sha256).catch(() => undefined);
  if (!b) return false;
  datasetFile = { name, bytes: b.bytes, sha256 };
  let kind: 'text' | 'pairs' | 'chat' = 'text';
  try {
    kind = parseUserDataset(name, b.bytes).kind;
  } catch {
    // the run itself reports the problem
  }
  useStudio.getState().setUpload({ name, size: b.bytes.byteLength, sha256, kind });
  return true;
}
