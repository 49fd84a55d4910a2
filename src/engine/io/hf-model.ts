/**
 * A Hugging Face model directory as plain data: `config.json`, the weights from `model.safetensors` or
 * from a sharded set (`model.safetensors.index.json` + `model-0000k-of-0000n.safetensors`), `tokenizer.json`
 * and `tokenizer_config.json` (+ `chat_template.jinja`, where newer transformers saves the template).
 *
 * This file reads and validates files; it does not know model families. The model loader
 * (src/engine/model) maps `configJson` to an architecture and the tensors — raw, by their HF names, as
 * zero-copy views into the file bytes — to parameters (`toFloat32` converts F32/F16/BF16/F64). The same
 * code runs in the page (dropped files), in the worker (the browser model library) and in the CLI
 * (`--model DIR`, `--model hf:owner/name`).
 *
 * Shards (transformers `modeling_utils.load_sharded_checkpoint`): the index maps each tensor name to one
 * shard file; every listed shard must be present, every listed tensor must be in its shard, and no tensor
 * may appear in two shards. Sizes are capped before anything is parsed or allocated.
 */
import { parseSafetensors, SafetensorsError, type SafetensorsTensor } from './safetensors';
import { escapeControl } from '../strings';

export { toFloat32, isFloatDtype } from './safetensors';
export type { SafetensorsTensor } from './safetensors';

export interface ModelDirFile {
  /** File name; a path is reduced to its last segment. */
  name: string;
  bytes: Uint8Array;
}

export class ModelDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDirError';
  }
}

/** tokenizer_config.json, the parts the engine uses (token fields may be strings or AddedToken objects). */
export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
  addBosToken: boolean | null;
  addEosToken: boolean | null;
  /** The default chat template (a named list picks "default"), or from chat_template.jinja; null if none. */
  chatTemplate: string | null;
  modelMaxLength: number | null;
  /** The whole parsed file, for fields this summary does not name. */
  raw: Record<string, unknown>;
}

export interface ModelDir {
  configJson: Record<string, unknown>;
  /** Float and other tensors by HF name, in shard order then header order. */
  tensors: Map<string, SafetensorsTensor>;
  /** Which file each tensor came from. */
  tensorFile: Map<string, string>;
  /** model.safetensors, or the shard names in index order. */
  weightFiles: string[];
  sharded: boolean;
  /** Parsed tokenizer.json, or null when absent. */
  tokenizerJson: unknown | null;
  tokenizerConfig: TokenizerConfig | null;
}

export interface ReadModelDirOptions {
  /** Refuse weights totalling more than this many bytes (default 16 GiB). */
  maxWeightBytes?: number;
  /** Refuse JSON files (config, index, tokenizer) larger than this (default 64 MiB). */
  maxJsonBytes?: number;
}

export const INDEX_FILE = 'model.safetensors.index.json';
const MAX_SHARDS = 1000;
const SHARD_NAME = /^[\w.-]+\.safetensors$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

function readJson(file: ModelDirFile, maxBytes: number): unknown {
  if (file.bytes.length > maxBytes) {
    throw new ModelDirError(
      `${file.name} is ${file.bytes.length} bytes, over the ${maxBytes}-byte limit for JSON files`,
    );
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.bytes));
  } catch (e) {
    throw new ModelDirError(`${file.name} is not valid JSON: ${escapeControl((e as Error).message)}`);
  }
}

/** The shard files an index names, validated (plain names, ≤ 1000 shards), in first-appearance order. */
export function parseShardIndex(json: unknown): { weightMap: Map<string, string>; shards: string[] } {
  if (!isObject(json)) throw new ModelDirError(`${INDEX_FILE} must be a JSON object`);
  const wm = json.weight_map;
  if (!isObject(wm) || Object.keys(wm).length === 0) {
    throw new ModelDirError(`${INDEX_FILE} has no "weight_map" object of tensor name → shard file`);
  }
  if (json.metadata !== undefined && json.metadata !== null && !isObject(json.metadata)) {
    throw new ModelDirError(`${INDEX_FILE} "metadata" must be an object`);
  }
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, file] of Object.entries(wm)) {
    if (typeof file !== 'string' || !SHARD_NAME.test(file) || file.startsWith('.')) {
      throw new ModelDirError(
        `${INDEX_FILE}: weight_map[${JSON.stringify(tensor)}] must be a shard file name like model-00001-of-00002.safetensors, got ${JSON.stringify(file)}`,
      );
    }
    weightMap.set(tensor, file);
    if (!shards.includes(file)) {
      if (shards.length >= MAX_SHARDS) throw new ModelDirError(`${INDEX_FILE} names more than ${MAX_SHARDS} shards`);
      shards.push(file);
    }
  }
  return { weightMap, shards };
}

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

/** tokenizer_config.json (+ an optional chat_template.jinja, which wins as it does in transformers). */
export function parseTokenizerConfig(json: unknown, chatTemplateJinja?: string | null): TokenizerConfig {
  if (!isObject(json)) throw new ModelDirError('tokenizer_config.json must be a JSON object');
  let chat: string | null = null;
  const t = json.chat_template;
  if (typeof t === 'string') chat = t;
  else if (Array.isArray(t)) {
    // transformers also accepts [{"name": ..., "template": ...}]; "default" is the one apply_chat_template uses
    const named = t.filter(
      (x): x is { name: string; template: string } => isObject(x) && typeof x.template === 'string',
    );
    chat = (named.find((x) => x.name === 'default') ?? named[0])?.template ?? null;
  } else if (t !== undefined && t !== null) {
    throw new ModelDirError('tokenizer_config.json "chat_template" must be a string or a list of {name, template}');
  }
  if (chatTemplateJinja) chat = chatTemplateJinja;
  const bool = (v: unknown) => (typeof v === 'boolean' ? v : null);
  const max = json.model_max_length;
  return {
    bosToken: tokenContent(json.bos_token),
    eosToken: tokenContent(json.eos_token),
    padToken: tokenContent(json.pad_token),
    unkToken: tokenContent(json.unk_token),
    addBosToken: bool(json.add_bos_token),
    addEosToken: bool(json.add_eos_token),
    chatTemplate: chat,
    // tokenizers without a limit save int(1e30); treat anything past 2^53 as none
    modelMaxLength: typeof max === 'number' && Number.isSafeInteger(max) && max > 0 ? max : null,
    raw: json,
  };
}

/**
 * Read a model directory's files. Needs config.json and either model.safetensors or the index + its shards;
 * tokenizer files are optional. Throws ModelDirError (or SafetensorsError, naming the file) with one line.
 */
export function readModelDir(files: ModelDirFile[], opts: ReadModelDirOptions = {}): ModelDir {
  const maxWeights = opts.maxWeightBytes ?? 16 * 2 ** 30;
  const maxJson = opts.maxJsonBytes ?? 64 * 2 ** 20;
  const byName = new Map<string, ModelDirFile>();
  for (const f of files) byName.set(baseName(f.name), { name: baseName(f.name), bytes: f.bytes });

  const cfgFile = byName.get('config.json');
  if (!cfgFile) throw new ModelDirError('config.json is missing (a model needs config.json and its weights)');
  const configJson = readJson(cfgFile, maxJson);
  if (!isObject(configJson)) throw new ModelDirError('config.json must be a JSON object');

  let weightFiles: string[];
  let weightMap: Map<string, string> | null = null;
  const indexFile = byName.get(INDEX_FILE);
  if (indexFile) {
    const idx = parseShardIndex(readJson(indexFile, maxJson));
    weightMap = idx.weightMap;
    weightFiles = idx.shards;
    const missing = weightFiles.filter((s) => !byName.has(s));
    if (missing.length > 0) {
      throw new ModelDirError(
        `${INDEX_FILE} names ${weightFiles.length} shards but ${missing.length} are missing: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
      );
    }
  } else if (byName.has('model.safetensors')) weightFiles = ['model.safetensors'];
  else {
    throw new ModelDirError(
      `no weights: need model.safetensors or ${INDEX_FILE} with its shards (pytorch_model.bin is not read: pickles can run code)`,
    );
  }
  const total = weightFiles.reduce((s, f) => s + byName.get(f)!.bytes.length, 0);
  if (total > maxWeights) {
    throw new ModelDirError(`the weights are ${total} bytes, over the ${maxWeights}-byte limit`);
  }

  const tensors = new Map<string, SafetensorsTensor>();
  const tensorFile = new Map<string, string>();
  for (const file of weightFiles) {
    let parsed;
    try {
      parsed = parseSafetensors(byName.get(file)!.bytes);
    } catch (e) {
      if (e instanceof SafetensorsError) throw new SafetensorsError(`${file}: ${e.message}`);
      throw e;
    }
    for (const [name, t] of parsed.tensors) {
      const prev = tensorFile.get(name);
      if (prev !== undefined) throw new ModelDirError(`tensor ${JSON.stringify(name)} is in both ${prev} and ${file}`);
      tensors.set(name, t);
      tensorFile.set(name, file);
    }
  }
  if (weightMap) {
    for (const [name, file] of weightMap) {
      const got = tensorFile.get(name);
      if (got === undefined)
        throw new ModelDirError(`${INDEX_FILE} lists ${JSON.stringify(name)} in ${file}, which lacks it`);
      if (got !== file)
        throw new ModelDirError(`${INDEX_FILE} lists ${JSON.stringify(name)} in ${file}, but it is in ${got}`);
    }
  }

  const tokFile = byName.get('tokenizer.json');
  const tokCfgFile = byName.get('tokenizer_config.json');
  const jinja = byName.get('chat_template.jinja');
  const jinjaText = jinja ? new TextDecoder().decode(jinja.bytes) : null;
  let tokenizerConfig: TokenizerConfig | null = null;
  if (tokCfgFile) tokenizerConfig = parseTokenizerConfig(readJson(tokCfgFile, maxJson), jinjaText);
  else if (jinjaText) tokenizerConfig = parseTokenizerConfig({}, jinjaText);

  return {
    configJson,
    tensors,
    tensorFile,
    weightFiles,
    sharded: weightMap !== null,
    tokenizerJson: tokFile ? readJson(tokFile, maxJson) : null,
    tokenizerConfig,
  };
}

/** The files a model directory may hold that the engine reads (for the CLI's directory reader and the hub). */
export const MODEL_DIR_FILES = {
  required: ['config.json'],
  weights: ['model.safetensors', INDEX_FILE],
  optional: ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'generation_config.json', 'card.json'],
} as const;
