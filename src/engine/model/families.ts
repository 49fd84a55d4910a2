/**
 * The family registry: config.json's `model_type` → the model file that implements it, and the edge
 * conversions every family shares — checkpoint tensors → our parameters (renaming, transposing HF
 * `nn.Linear` (out, in) weights to our (in, out)), our parameters → checkpoint tensors, parameter
 * specs for memory plans, and target-module selection by the family's own module names.
 *
 * The names, shapes and presets (everything but `create`) live in family-meta.ts, which imports no model
 * or kernel code: the page reads them there; paramSpecsFor, moduleTypes and expandSelectors are re-exported.
 *
 * Adding a family: its `FamilyMeta` in family-meta.ts (and FAMILY_META), one model file exporting the
 * `ModelFamily` = meta + `create` (see gpt2.ts), its config mapping in config.ts, and one line in FAMILIES below.
 */
import type { Gpu } from '../../gpu/device';
import { initParam } from './init';
import { ConfigError } from '../config';
import type { ModelConfig, ModelType } from './config';
import { FAMILY_META, expandSelectors, moduleTypes, paramSpecsFor } from './family-meta';
import { gpt2Family } from './gpt2';
import { gptNeoFamily } from './gpt-neo';
import { gptNeoxFamily } from './gpt-neox';
import { llamaFamily, qwen2Family, qwen3Family } from './llama';
import type { Linear } from './linear';
import type { ModelOptions } from './vocab-params';
import type { PeftNaming } from '../io/peft';
import {
  TARGET_PRESETS,
  moduleMatches,
  splitModuleName,
  transpose,
  type LanguageModel,
  type ModelFamily,
} from './language-model';

const FAMILIES: Partial<Record<ModelType, ModelFamily>> = {
  gpt2: gpt2Family,
  gpt_neo: gptNeoFamily,
  gpt_neox: gptNeoxFamily,
  llama: llamaFamily,
  qwen2: qwen2Family,
  qwen3: qwen3Family,
};

/** Register a family (the family files call nothing here; families.ts lists them — this is for tests and late imports). */
export function registerFamily(f: ModelFamily): void {
  FAMILIES[f.type] = f;
  FAMILY_META[f.type] = f;
}

export function familyOf(cfg: Pick<ModelConfig, 'arch'>): ModelFamily {
  const f = FAMILIES[cfg.arch];
  if (!f)
    throw new Error(
      `model_type "${cfg.arch}" has no model implementation yet (implemented: ${Object.keys(FAMILIES).join(', ')})`,
    );
  return f;
}

export { expandSelectors, initParam, moduleTypes, paramSpecsFor };

/** A model from weights in our layout (by name), or randomly initialised from `seed` when weights is null. */
export function createModel(
  gpu: Gpu,
  cfg: ModelConfig,
  weights: Map<string, Float32Array> | null,
  seed = 0,
  opts: ModelOptions = {},
): LanguageModel {
  const f = familyOf(cfg);
  if (!weights) return f.create(gpu, cfg, (s) => initParam(s, seed), opts);
  const missing = f
    .paramSpecs(cfg)
    .filter((s) => !weights.has(s.name))
    .map((s) => s.name);
  if (missing.length)
    throw new Error(
      `checkpoint is missing ${missing.length} tensor(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
    );
  return f.create(gpu, cfg, (s) => weights.get(s.name)!, opts);
}

export interface FileTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * Checkpoint tensors (HF names and layout) → our parameters. Renames through the family, transposes
 * `nn.Linear` weights to (in, out), checks every shape, and reports the tensors it did not use.
 * A tied head stored in the file (`lm_head.weight` equal to the embedding) is simply not used.
 */
export function weightsFromFile(
  cfg: ModelConfig,
  tensors: Iterable<FileTensor>,
): { weights: Map<string, Float32Array>; ignored: string[] } {
  const f = familyOf(cfg);
  const specs = new Map(f.paramSpecs(cfg).map((s) => [s.name, s]));
  const weights = new Map<string, Float32Array>();
  const ignored: string[] = [];
  for (const t of tensors) {
    const name = f.fromFileName(t.name, cfg);
    const spec = name === null ? undefined : specs.get(name);
    if (!spec || name === null) {
      ignored.push(t.name);
      continue;
    }
    const want = spec.transposed ? [spec.shape[1], spec.shape[0]] : spec.shape;
    const n = want.reduce((a, b) => a * b, 1);
    if (t.data.length !== n || (t.shape.length && t.shape.join(',') !== want.join(',')))
      throw new Error(`${t.name} has shape [${t.shape}], config.json implies [${want}]`);
    weights.set(name, spec.transposed ? transpose(t.data, want[0], want[1]) : t.data);
  }
  for (const s of specs.values())
    if (!weights.has(s.name))
      throw new Error(`the checkpoint lacks ${s.name} (shape [${s.transposed ? [s.shape[1], s.shape[0]] : s.shape}])`);
  return { weights, ignored };
}

/** Our parameters → checkpoint tensors in the family's HF names and layout (what `save_pretrained` writes). */
export function weightsToFile(cfg: ModelConfig, weights: Map<string, Float32Array>): FileTensor[] {
  return paramSpecsFor(cfg).map((s) => {
    const data = weights.get(s.name);
    if (!data) throw new Error(`cannot save: missing ${s.name}`);
    return s.transposed
      ? { name: s.name, shape: [s.shape[1], s.shape[0]], data: transpose(data, s.shape[0], s.shape[1]) }
      : { name: s.name, shape: s.shape, data };
  });
}

/**
 * The linear layers a run targets: module selectors (family names, PEFT-style suffix match, or a
 * preset) × layers. A selector that matches nothing in this model is an error naming the model's modules.
 */
export function selectLinears(
  model: Pick<LanguageModel, 'cfg' | 'linears'>,
  selectors: readonly string[],
  layers: readonly number[] | null,
): Linear[] {
  const cfg = model.cfg;
  const L = cfg.nLayer;
  if (layers)
    for (const l of layers)
      if (l >= L) throw new ConfigError(`targets.layers: layer ${l} does not exist (the model has layers 0..${L - 1})`);
  const types = moduleTypes(cfg);
  const sel = expandSelectors(cfg, selectors);
  for (const s of sel)
    if (!types.some((t) => moduleMatches(t, s)))
      throw new ConfigError(
        `targets.modules: "${s}" names no linear of this ${cfg.arch} model (its modules: ${types.join(', ')}; presets: ${TARGET_PRESETS.join(', ')})`,
      );
  const out: Linear[] = [];
  for (const lin of model.linears.values()) {
    const m = splitModuleName(lin.name)!;
    if ((layers === null || layers.includes(m.layer)) && sel.some((s) => moduleMatches(m.type, s))) out.push(lin);
  }
  return out;
}

/** The family's PEFT module names, for adapter export/import (io/peft.ts). */
export function peftNamingOf(cfg: ModelConfig): PeftNaming {
  const f = familyOf(cfg);
  return { prefix: f.peftPrefix, fanInFanOut: f.fanInFanOut, moduleTypes: moduleTypes(cfg) };
}
