/**
 * Resolving a RunConfig into concrete inputs: the model (preset architecture with seeded init, a
 * built-in checkpoint, or a person's files), its tokenizer, and the tokenized dataset, with the
 * content hashes that make a run link checkable. The same code runs in the worker and in Node.
 */
import { presetArchitecture, ConfigError, type RunConfig } from './config';
import type { ModelConfig } from './model/config';
import { loadBuiltinModel, loadModelFiles, type LoadedModel, type NamedFile } from './io/checkpoint';
import { createTokenizer, type Tokenizer, type TokenizerSpec } from './io/tokenizers';
import { loadDataset } from './data/datasets';
import { parseUserDataset, prepareUserDataset } from './data/user';
import { examplesTrainableAt, type TokenizedDataset } from './data/batcher';
import { runTokenizeJob, type Tokenize } from './data/tokenize-job';
import { chatFormatFrom, type ChatFormat } from './data/chat';
import type { PreparedText } from './data/types';

export interface RunInputs {
  config: RunConfig;
  modelConfig: ModelConfig;
  /** Pretrained weights; null = random initialisation from the run seed (preset architectures). */
  weights: Map<string, Float32Array> | null;
  modelHash: string | null;
  model: LoadedModel | null;
  tokenizer: Tokenizer;
  data: TokenizedDataset;
  datasetHash: string;
  datasetKind: 'text' | 'pairs' | 'chat';
  /** How chats were rendered (the model's chat_template or the plain one); null for other data. */
  chatFormat?: ChatFormat | null;
}

export interface InputSources {
  /** Files of a local model (page: picked files; CLI: read from --model <dir>). */
  modelFiles?: NamedFile[];
  /** An uploaded dataset file. */
  datasetFile?: NamedFile;
}

export class HashMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashMismatchError';
  }
}

export async function resolveModel(
  config: RunConfig,
  sources: InputSources = {},
): Promise<{ modelConfig: ModelConfig; model: LoadedModel | null }> {
  const ref = config.model;
  if (ref.source === 'preset') return { modelConfig: presetArchitecture(config)!, model: null };
  let model: LoadedModel;
  if (ref.source === 'builtin') model = await loadBuiltinModel(ref.id);
  else {
    if (!sources.modelFiles?.length) {
      const need =
        ref.files?.map((f) => `${f.name} (sha256 ${f.sha256})`).join(', ') ?? 'config.json + model.safetensors';
      throw new ConfigError(`model "${ref.id}" is a local model: choose its files (${need})`);
    }
    model = await loadModelFiles(ref.id, sources.modelFiles);
  }
  if (ref.hash && ref.hash !== model.hash) {
    const want = ref.source === 'local' ? `the file model.safetensors with sha256 ${ref.hash}` : `sha256 ${ref.hash}`;
    throw new HashMismatchError(
      `model "${ref.id}": this run needs ${want}, but the model.safetensors found has sha256 ${model.hash}`,
    );
  }
  return { modelConfig: model.config, model };
}

export function tokenizerSpecFor(modelConfig: ModelConfig, model: LoadedModel | null): TokenizerSpec {
  if (modelConfig.tokenizer === 'hf') {
    if (!model?.tokenizerJson) throw new ConfigError('this model needs a tokenizer.json next to its model.safetensors');
    return { kind: 'hf', tokenizerJson: model.tokenizerJson };
  }
  return { kind: modelConfig.tokenizer };
}

export async function tokenizerFor(modelConfig: ModelConfig, model: LoadedModel | null): Promise<Tokenizer> {
  return createTokenizer(tokenizerSpecFor(modelConfig, model));
}

/** The model's chat format (tokenizer_config.json's chat_template), or the plain one. */
export function chatFormatFor(config: RunConfig, model: LoadedModel | null): ChatFormat {
  const tokenizerConfig = (model as { tokenizerConfig?: unknown } | null)?.tokenizerConfig ?? null;
  return chatFormatFrom(tokenizerConfig, { usePlain: config.data.chatTemplate === 'plain' });
}

/** The run's dataset, split (a built-in set, or the uploaded file in `sources`). */
export async function prepareData(config: RunConfig, sources: InputSources = {}): Promise<PreparedText> {
  if (config.dataset.source === 'builtin') return loadDataset(config.dataset.id, { seed: config.seed });
  if (!sources.datasetFile)
    throw new ConfigError(
      `dataset "${config.dataset.id}" is an uploaded file: choose it again${config.dataset.hash ? ` (sha256 ${config.dataset.hash})` : ''}`,
    );
  return prepareUserDataset(parseUserDataset(sources.datasetFile.name, sources.datasetFile.bytes));
}

/**
 * `opts.tokenize` runs the dataset's tokenization (coverage check included) elsewhere: the CLI passes
 * a worker thread (src/cli/tokenize-thread.ts) so a slow tokenizer cannot block signals.
 */
export async function resolveInputs(
  config: RunConfig,
  sources: InputSources = {},
  opts: { tokenize?: Tokenize } = {},
): Promise<RunInputs> {
  const { modelConfig, model } = await resolveModel(config, sources);
  const spec = tokenizerSpecFor(modelConfig, model);
  const tokenizer = await createTokenizer(spec);
  if (tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new ConfigError(
      `tokenizer has ${tokenizer.vocabSize} symbols but the model's vocabulary is ${modelConfig.vocabSize}`,
    );
  }
  if (config.train.contextLength > modelConfig.contextLength) {
    throw new ConfigError(
      `train.contextLength: ${config.train.contextLength} exceeds the model's context of ${modelConfig.contextLength} tokens (allowed: 2..${modelConfig.contextLength})`,
    );
  }
  const prepared = await prepareData(config, sources);
  const chatFormat = chatFormatFor(config, model);
  if (config.dataset.hash && config.dataset.hash !== prepared.hash) {
    throw new HashMismatchError(
      `dataset "${config.dataset.id}": this run needs data with sha256 ${config.dataset.hash}, but the data found has sha256 ${prepared.hash}`,
    );
  }
  // the coverage check (issue 19 item 4) and the tokens, in this thread or in opts.tokenize's
  const data = await (opts.tokenize ?? runTokenizeJob)({
    tokenizer: spec,
    data: prepared,
    completionOnly: config.data.completionOnly,
    chat: {
      tokenizerConfig: (model as { tokenizerConfig?: unknown } | null)?.tokenizerConfig ?? null,
      usePlain: config.data.chatTemplate === 'plain',
    },
  });
  const T = config.train.contextLength;
  if (examplesTrainableAt(data.train, T) === 0) {
    let longest = 0;
    const s = data.train.starts!;
    for (let k = 0; k < s.length; k++)
      longest = Math.max(longest, (k + 1 < s.length ? s[k + 1] : data.train.tokens.length) - s[k]);
    throw new ConfigError(
      `train.contextLength: every example's trained tokens lie past the first ${T} tokens, so nothing would be trained; raise the context (the longest example has ${longest} tokens) or use shorter examples`,
    );
  }
  return {
    config,
    modelConfig,
    weights: model?.weights ?? null,
    modelHash: model?.hash ?? null,
    model,
    tokenizer,
    data,
    datasetHash: prepared.hash,
    datasetKind: prepared.kind,
    chatFormat: prepared.kind === 'chat' ? chatFormat : null,
  };
}
