/**
 * Model checkpoints in Hugging Face's layout: `config.json` + `model.safetensors` (+ optional
 * `tokenizer.json`, `card.json`, `README.md`). Reads real GPT-2 checkpoints (names with or without
 * the `transformer.` prefix, F16/BF16/F32, attention-mask buffers skipped) and writes F32.
 */
import { scanFinite } from '../analysis/computable';
import { escapeControl } from '../strings';
import { fromHfConfig, toHfConfig, type ModelConfig } from '../model/config';
import { weightsFromFile, weightsToFile } from '../model/families';
import { parseSafetensors, toFloat32, isFloatDtype, writeSafetensors } from './safetensors';
import { loadAsset, sha256Hex } from './assets';
import { INDEX_FILE, readModelDir, type ModelDir, type TokenizerConfig } from './hf-model';
import { parseRunConfig, type RunConfig } from '../config';

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
  /** tokenizer_config.json (bos/eos/pad, chat_template), when the model has one. */
  tokenizerConfig?: TokenizerConfig | null;
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
  // config.json + model.safetensors or a sharded set, tokenizer files (io/hf-model.ts validates them)
  let dir: ModelDir;
  try {
    dir = readModelDir(files);
  } catch (e) {
    throw new CheckpointError(`model "${id}": ${(e as Error).message}`);
  }
  let config: ModelConfig;
  try {
    config = fromHfConfig(dir.configJson);
  } catch (e) {
    throw new CheckpointError(`model "${id}": ${(e as Error).message}`);
  }
  const all = [...dir.tensors.values()];
  const nonFloat = all.filter((t) => !isFloatDtype(t.dtype)).map((t) => t.name);
  // The family renames, transposes nn.Linear (out, in) weights to our (in, out), and checks every shape.
  let weights: Map<string, Float32Array>, ignored: string[];
  try {
    ({ weights, ignored } = weightsFromFile(
      config,
      all.filter((t) => isFloatDtype(t.dtype)).map((t) => ({ name: t.name, shape: t.shape, data: toFloat32(t) })),
    ));
  } catch (e) {
    throw new CheckpointError(`model "${id}": ${dir.weightFiles.join(', ')}: ${(e as Error).message}`);
  }
  ignored.push(...nonFloat);
  // issue 19 item 1: a model with NaN/Inf weights cannot be evaluated, sampled or tuned — say where
  const bad = nonFiniteWeights(weights);
  if (bad) throw new CheckpointError(`model "${id}": ${bad}`);
  const fileHashes = await Promise.all(
    files.map(async (f) => ({ name: f.name.split('/').pop()!, sha256: await sha256Hex(f.bytes) })),
  );
  // identity: model.safetensors, or for a sharded model its index (which names every shard)
  const identity = dir.sharded ? INDEX_FILE : 'model.safetensors';
  return {
    id,
    config,
    weights,
    hash: fileHashes.find((f) => f.name === identity)!.sha256,
    files: fileHashes,
    card: parseJson(byName.get('card.json'), 'card.json') as ModelCard | null,
    tokenizerJson: dir.tokenizerJson,
    tokenizerConfig: dir.tokenizerConfig,
    ignored,
  };
}

/** "3 non-finite values in 2 tensors (first: h.0.attn.c_attn.weight, 2 at index 17)", or null when all are finite. */
export function nonFiniteWeights(weights: Map<string, Float32Array>): string | null {
  let total = 0,
    tensors = 0,
    first = '';
  for (const [name, data] of weights) {
    const s = scanFinite(data);
    if (!s.nonFinite) continue;
    total += s.nonFinite;
    if (!tensors++) first = `${escapeControl(name)}, ${s.nonFinite} at index ${s.first}`;
  }
  return total
    ? `the weights hold ${total} non-finite value${total === 1 ? '' : 's'} in ${tensors} tensor${tensors === 1 ? '' : 's'} (first: ${first})`
    : null;
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

// ---- training checkpoints (resume) ----------------------------------------------------------------

/**
 * A training checkpoint: everything a run needs to continue bit for bit. One safetensors file, so a
 * save is one atomic rename (the CLI writes a temp name, then renames; the page stores the same
 * contents in IndexedDB as a `ResumeState`).
 *
 * - `tensors`: the trainable tensors by name and their AdamW moments `m:<name>`, `v:<name>`.
 * - `adapter`: the method's full adapter state (frozen factors, bases, metadata) for export; absent
 *   for full fine-tuning. Resume does not need it: a method's init is a pure function of (config,
 *   seed, base weights), so re-running init rebuilds every frozen tensor exactly.
 * - `step`: completed steps. The data position and every random draw are functions of the step:
 *   `Batcher.batchAt(step)` draws window offsets from Rng(seed, 'data/train') at counter step·B, and
 *   per-step method randomness (DyLoRA's rank) is keyed by the step too. So (seed, step) *is* the
 *   data and RNG state; `data` and `rng` record it explicitly and resume checks it.
 * - `config`: the RunConfig, with the model and dataset content hashes, so resume refuses other files.
 */
export interface TrainingCheckpoint {
  step: number;
  config: RunConfig;
  tensors: Record<string, Float32Array>;
  adapter?: { tensors: Record<string, Float32Array>; meta: Record<string, unknown> };
  /** The data stream's position: the next batch is batchAt(step) of the (seed, purpose) stream. */
  data: { purpose: string; seed: number; nextBatch: number; batchSize: number; contextLength: number };
  /** The counter-based RNG's key and counter for per-step draws. */
  rng: { seed: number; counter: number };
}

const CHECKPOINT_META_KEY = 'rankscope.checkpoint';
const CHECKPOINT_FORMAT = 1;

/** What a run's state is made of, taken from a live trainer (copies: the caller owns every array). */
export async function captureCheckpoint(trainer: {
  step: number;
  inputs: { config: RunConfig };
  snapshot(): Promise<{ step: number; tensors: Record<string, Float32Array> }>;
  adapterSnapshot(): Promise<{ tensors: Record<string, Float32Array>; meta: Record<string, unknown> }>;
}): Promise<TrainingCheckpoint> {
  const config = trainer.inputs.config;
  const snap = await trainer.snapshot();
  return {
    step: snap.step,
    config,
    tensors: snap.tensors,
    adapter: config.method.id === 'full' ? undefined : await trainer.adapterSnapshot(),
    data: {
      purpose: 'data/train',
      seed: config.seed,
      nextBatch: snap.step,
      batchSize: config.train.batchSize,
      contextLength: config.train.contextLength,
    },
    rng: { seed: config.seed, counter: snap.step },
  };
}

/** Serialise a checkpoint as one safetensors file (F32 tensors; everything else in the metadata). */
export function encodeTrainingCheckpoint(c: TrainingCheckpoint): Uint8Array {
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const [name, data] of Object.entries(c.tensors))
    tensors.push({ name: `trainer/${name}`, shape: [data.length], data });
  for (const [name, data] of Object.entries(c.adapter?.tensors ?? {}))
    tensors.push({ name: `adapter/${name}`, shape: [data.length], data });
  const meta = {
    format: CHECKPOINT_FORMAT,
    step: c.step,
    config: c.config,
    data: c.data,
    rng: c.rng,
    adapterMeta: c.adapter ? c.adapter.meta : null,
  };
  return writeSafetensors(tensors, { [CHECKPOINT_META_KEY]: JSON.stringify(meta) });
}

/** Read a checkpoint written by `encodeTrainingCheckpoint`; a typed CheckpointError names what is wrong. */
export function decodeTrainingCheckpoint(bytes: Uint8Array, what = 'checkpoint'): TrainingCheckpoint {
  let st: ReturnType<typeof parseSafetensors>;
  try {
    st = parseSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError(`${what}: ${(e as Error).message}`);
  }
  const raw = st.metadata[CHECKPOINT_META_KEY];
  if (!raw)
    throw new CheckpointError(`${what}: not a Rankscope training checkpoint (no ${CHECKPOINT_META_KEY} metadata)`);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${what}: metadata is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `${what}: format ${String(meta.format)} is not supported (expected ${CHECKPOINT_FORMAT})`,
    );
  const step = meta.step;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    throw new CheckpointError(`${what}: step must be a non-negative integer, got ${JSON.stringify(step)}`);
  let config: RunConfig;
  try {
    config = parseRunConfig(meta.config);
  } catch (e) {
    throw new CheckpointError(`${what}: ${(e as Error).message.split('\n').join('; ')}`);
  }
  const tensors: Record<string, Float32Array> = {};
  const adapterTensors: Record<string, Float32Array> = {};
  for (const t of st.tensors.values()) {
    if (t.dtype !== 'F32') throw new CheckpointError(`${what}: tensor ${t.name} is ${t.dtype}, expected F32`);
    const data = toFloat32(t);
    if (t.name.startsWith('trainer/')) tensors[t.name.slice('trainer/'.length)] = data;
    else if (t.name.startsWith('adapter/')) adapterTensors[t.name.slice('adapter/'.length)] = data;
    else throw new CheckpointError(`${what}: unexpected tensor ${JSON.stringify(t.name)}`);
  }
  const adapterMeta = meta.adapterMeta;
  const expectData = {
    purpose: 'data/train',
    seed: config.seed,
    nextBatch: step,
    batchSize: config.train.batchSize,
    contextLength: config.train.contextLength,
  };
  // The stream position is derived, not free: a mismatch means the file was edited or mixed up.
  if (JSON.stringify(meta.data) !== JSON.stringify(expectData))
    throw new CheckpointError(`${what}: data position ${JSON.stringify(meta.data)} does not match step ${step}`);
  return {
    step,
    config,
    tensors,
    adapter:
      adapterMeta && typeof adapterMeta === 'object'
        ? { tensors: adapterTensors, meta: adapterMeta as Record<string, unknown> }
        : undefined,
    data: expectData,
    rng: { seed: config.seed, counter: step },
  };
}
