/**
 * Model checkpoints in Hugging Face's layout: `config.json` + `model.safetensors` (+ optional
 * `tokenizer.json`, `card.json`, `README.md`). Reads real GPT-2 checkpoints (names with or without
 * the `transformer.` prefix, F16/BF16/F32, attention-mask buffers skipped) and writes F32.
 */
import { fromHfConfig, toHfConfig, type ModelConfig } from '../model/config';
import { gpt2ParamSpecs } from '../model/gpt2';
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

const IGNORED = /(^|\.)attn\.(bias|masked_bias)$|^lm_head\.weight$/;

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
  const weights = new Map<string, Float32Array>();
  const ignored: string[] = [];
  for (const t of st.tensors.values()) {
    const name = normalizeName(t.name);
    if (IGNORED.test(name) || !isFloatDtype(t.dtype)) {
      ignored.push(t.name);
      continue;
    }
    weights.set(name, toFloat32(t));
  }
  for (const s of gpt2ParamSpecs(config)) {
    const w = weights.get(s.name);
    if (!w) throw new CheckpointError(`model "${id}": model.safetensors lacks ${s.name} (shape [${s.shape}])`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (w.length !== n)
      throw new CheckpointError(`model "${id}": ${s.name} has ${w.length} values, config.json implies [${s.shape}]`);
  }
  const expected = new Set(gpt2ParamSpecs(config).map((s) => s.name));
  for (const k of weights.keys()) if (!expected.has(k)) ignored.push(k);
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
  const specs = gpt2ParamSpecs(config);
  const tensors = specs.map((s) => {
    const data = weights.get(s.name);
    if (!data) throw new CheckpointError(`cannot save: missing ${s.name}`);
    return { name: s.name, shape: s.shape, data };
  });
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
