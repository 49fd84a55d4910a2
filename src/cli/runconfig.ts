/**
 * Building a RunConfig from CLI flags: `--config <file.json | preset>`, `--param key=value` (any
 * field), and shorthands `--steps`, `--method`, `--model`, `--dataset`, `--seed`.
 */
import path from 'node:path';
import {
  applyOverrides,
  parseRunConfig,
  RUN_PRESETS,
  ConfigError,
  type RunConfig,
  type RunConfigInput,
} from '../engine/config';
import { CliError, flag, flagAll, type ParsedArgs } from './args';
import { readFileBytes, readModelDir } from './fsio';
import { isModelFolder, localModelRef } from './model';
import type { NamedFile } from '../engine/io/checkpoint';
import type { InputSources } from '../engine/inputs';

export async function runConfigFromArgs(args: ParsedArgs): Promise<{ config: RunConfig; sources: InputSources }> {
  const which = flag(args, 'config') ?? 'micro';
  let base: RunConfigInput;
  if (RUN_PRESETS[which]) base = structuredClone(RUN_PRESETS[which]);
  else {
    const bytes = await readFileBytes(which).catch(() => {
      throw new CliError(
        `--config ${which}: neither a preset (${Object.keys(RUN_PRESETS).join(', ')}) nor a readable JSON file`,
      );
    });
    try {
      base = JSON.parse(new TextDecoder().decode(bytes)) as RunConfigInput;
    } catch (e) {
      throw new CliError(`--config ${which}: not valid JSON (${(e as Error).message})`);
    }
  }
  const overrides = [...flagAll(args, 'param')];
  const short: Record<string, string> = {
    steps: 'train.steps',
    seed: 'seed',
    lr: 'train.lr',
    batch: 'train.batchSize',
    context: 'train.contextLength',
  };
  for (const [f, p] of Object.entries(short)) {
    const v = flag(args, f);
    if (v !== undefined) overrides.push(`${p}=${v}`);
  }
  const methodId = flag(args, 'method');
  let input: RunConfigInput = base;
  if (methodId)
    input = { ...input, method: { id: methodId, params: input.method?.id === methodId ? input.method.params : {} } };
  const sources: InputSources = {};
  const model = flag(args, 'model');
  if (model) {
    const local = await localModelRef(model); // hf:owner/name → the snapshot folder in the HF cache
    if (await isModelFolder(local.path)) {
      sources.modelFiles = await readModelDir(local.path);
      input = { ...input, model: { source: 'local', id: local.hubId ?? path.basename(path.resolve(model)) } };
    } else input = { ...input, model: { source: 'builtin', id: model } };
  }
  const dataset = flag(args, 'dataset');
  if (dataset) {
    if (/\.(txt|jsonl)$/i.test(dataset)) {
      sources.datasetFile = { name: path.basename(dataset), bytes: await readFileBytes(dataset) } satisfies NamedFile;
      input = { ...input, dataset: { source: 'upload', id: `user:${path.basename(dataset)}` } };
    } else input = { ...input, dataset: { source: 'builtin', id: dataset } };
  }
  try {
    input = applyOverrides(input, overrides);
    return { config: parseRunConfig(input), sources };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}
