/**
 * Model checkpoints in Hugging Face's layout: `config.json` + `model.safetensors` (+ optional
 * `tokenizer.json`, `card.json`, `README.md`). Reads real GPT-2 checkpoints (names with or without
 * the `transformer.` prefix, F16/BF16/F32, attention-mask buffers skipped) and writes F32.
 */
import { fromHfConfig, toHfConfig, type ModelConfig } from '../model/config';
import { weightsFromFile, weightsToFile } from '../model/families';
import { parseSafetensors, toFloat32, isFloatDtype, writeSafetensors } from './safetensors';
import { loadAsset, sha256Hex } from './assets';

export interface NamedFile {
  name: string;
  bytes: Uint8Array;
}

/** Machine-readable model card (card.json). */
export interface ModelCard {
  name: string;
  datasetId: string;
  tokensSeen: number;
  steps: number;
  seed: number;
  command: string;
  valLoss: number; // nats per token on the dataset's validation split
  params?: number;
  [k: string]: unknown;
}

export interface LoadedModel {
  id: string;
  config: ModelConfig;
  weights: Map<string, Float32Array>;
  /** sha256 of model.safetensors: the model's identity in run links. */
  hash: string;
  files: { name: string; sha256: string }[];
  card: ModelCard | null;
  tokenizerJson: unknown | null;
  /** Tensors present in the file that the architecture does not use (reported, not fatal). */
  ignored: string[];
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** HF GPT-2 tensor name → ours (drop "transformer."). */
export function normalizeName(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

function parseJson(file: NamedFile | undefined, what: string): unknown {
  if (!file) return null;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.bytes));
  } catch (e) {
    throw new CheckpointError(`${what} (${file.name}) is not valid JSON: ${(e as Error).message}`);
  }
}

export async function loadModelFiles(id: string, files: NamedFile[]): Promise<LoadedModel> {
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f]));
  const cfgFile = byName.get('config.json');
  const stFile = byName.get('model.safetensors');
  if (!cfgFile)
    throw new CheckpointError(`model "${id}": config.json is missing (need config.json + model.safetensors)`);
  if (!stFile)
    throw new CheckpointError(`model "${id}": model.safetensors is missing (need config.json + model.safetensors)`);
  let config: ModelConfig;
  try {
    config = fromHfConfig(parseJson(cfgFile, 'config.json'));
  } catch (e) {
    throw new CheckpointError(`model "${id}": ${(e as Error).message}`);
  }
  const st = parseSafetensors(stFile.bytes);
  const nonFloat = [...st.tensors.values()].filter((t) => !isFloatDtype(t.dtype)).map((t) => t.name);
  // The family renames, transposes nn.Linear (out, in) weights to our (in, out), and checks every shape.
  let weights: Map<string, Float32Array>, ignored: string[];
  try {
    ({ weights, ignored } = weightsFromFile(
      config,
      [...st.tensors.values()]
        .filter((t) => isFloatDtype(t.dtype))
        .map((t) => ({ name: t.name, shape: t.shape, data: toFloat32(t) })),
    ));
  } catch (e) {
    throw new CheckpointError(`model "${id}": model.safetensors: ${(e as Error).message}`);
  }
  ignored.push(...nonFloat);
  const fileHashes = await Promise.all(
    files.map(async (f) => ({ name: f.name.split('/').pop()!, sha256: await sha256Hex(f.bytes) })),
  );
  return {
    id,
    config,
    weights,
    hash: fileHashes.find((f) => f.name === 'model.safetensors')!.sha256,
    files: fileHashes,
    card: parseJson(byName.get('card.json'), 'card.json') as ModelCard | null,
    tokenizerJson: parseJson(byName.get('tokenizer.json'), 'tokenizer.json'),
    ignored,
  };
}

/** The files of a checkpoint in our (HF-compatible) layout. */
export function modelFiles(
  config: ModelConfig,
  weights: Map<string, Float32Array>,
  card?: ModelCard,
  readme?: string,
): NamedFile[] {
  let tensors;
  try {
    tensors = weightsToFile(config, weights); // HF names and layout (nn.Linear weights back to (out, in))
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
  const enc = new TextEncoder();
  const files: NamedFile[] = [
    { name: 'config.json', bytes: enc.encode(JSON.stringify(toHfConfig(config), null, 2) + '\n') },
    { name: 'model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) },
  ];
  if (card) files.push({ name: 'card.json', bytes: enc.encode(JSON.stringify(card, null, 2) + '\n') });
  if (readme) files.push({ name: 'README.md', bytes: enc.encode(readme) });
  return files;
}

export interface BuiltinModelInfo {
  id: string;
  label: string;
  description: string;
  params: number;
  files: string[];
}

/** public/models/index.json */
export async function listBuiltinModels(): Promise<BuiltinModelInfo[]> {
  const bytes = await loadAsset('models/index.json');
  return JSON.parse(new TextDecoder().decode(bytes)) as BuiltinModelInfo[];
}

export async function loadBuiltinModel(id: string): Promise<LoadedModel> {
  if (!/^[\w.-]{1,64}$/.test(id)) throw new CheckpointError(`built-in model id ${JSON.stringify(id)} is not valid`);
  const list = await listBuiltinModels();
  const info = list.find((m) => m.id === id);
  if (!info) throw new CheckpointError(`no built-in model "${id}" (available: ${list.map((m) => m.id).join(', ')})`);
  const files = await Promise.all(
    info.files.map(async (name) => ({ name, bytes: await loadAsset(`models/${id}/${name}`) })),
  );
  return loadModelFiles(id, files);
}
