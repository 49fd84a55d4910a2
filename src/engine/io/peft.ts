/**
 * Hugging Face PEFT interchange for the LoRA family (reference: peft-spectra-formats.md §1.2–1.5, 1.8):
 *   - export of a run's adapter state as the two files `PeftModel.from_pretrained` reads:
 *     `adapter_config.json` (peft_type "LORA", r, lora_alpha, target_modules, use_rslora, use_dora,
 *     fan_in_fan_out: true for GPT-2's Conv1D, rank_pattern / alpha_pattern for per-module ranks) and
 *     `adapter_model.safetensors` with PEFT's names
 *       base_model.model.transformer.h.<l>.<module>.lora_A.weight   [r, in]
 *       base_model.model.transformer.h.<l>.<module>.lora_B.weight   [out, r]
 *       base_model.model.transformer.h.<l>.<module>.lora_magnitude_vector   [out]   (DoRA; no ".weight")
 *   - import of the same files back, validated, into per-module factors; importPeftAdapter also reads
 *     PEFT's HRA type (peft-hra.ts), whose update depends on the base weight and so is not a LoRA.
 *
 * Which methods PEFT can load as LoRA is a property of the method, stated on its record (`peft`):
 *   plain LoRA            lora, rslora (use_rslora), loraplus (an optimizer change), lora-asym, eva
 *                         (its init only placed A), dylora (the adapter at its evaluation rank)
 *   DoRA                  dora (use_dora, magnitude vector)
 *   with conversion       pissa, milora, lora-ga: the factors act on a RESIDUAL base W − s·B₀·A₀, so
 *                         against the pretrained model they are only a LoRA in PEFT's converted form
 *                         [A; A₀], [B, −B₀] at rank 2r, α·2 (PEFT `path_initial_model_for_weight_conversion`);
 *                         nola: its materialised A = Σαᵢ·Aᵢ, B = Σβⱼ·Bⱼ (same ΔW, NOLA's parametrisation lost)
 *   not at all            full (no adapter), vera (PEFT's VERA type, not LORA) — export the merged model.
 * What this file is not: file system access (the CLI's export/import commands do that) or PEFT's
 * other adapter types.
 */
import type { RunConfig } from '../config';
import type { NamedFile } from './checkpoint';
import { parseSafetensors, toFloat32, isFloatDtype, writeSafetensors } from './safetensors';
import { assertSafeKeys, escapeControl, regexHazard } from '../strings';
import { scanFinite } from '../analysis/computable';
import { splitModuleName } from '../model/language-model';
import { exportAdaLoraPeft, importAdaLoraPeft } from './peft-adalora';
import { exportHraPeft, importHraPeft, type PeftHraImport } from './peft-hra';
import { tryGetMethod } from '../adapters/registry';
import type { PeftSupport, PeftSupportKind } from '../adapters/types';

export * from './peft-names';
import {
  GPT2_PEFT_NAMING,
  PeftError,
  LORA_CONFIG_TAIL,
  baseModelName,
  hfModulePath,
  parsePeftTensorName,
  peftTensorName,
  type PeftNaming,
} from './peft-names';

// ---- export -------------------------------------------------------------------------------------------

/** How a method maps onto PEFT (its record's `peft`, see the file header); an unknown id has none. */
export function peftSupport(id: string): PeftSupport {
  return tryGetMethod(id)?.peft ?? { kind: 'none', note: `method "${id}" has no PEFT mapping` };
}

export interface AdapterState {
  tensors: Map<string, Float32Array>;
  meta: Record<string, unknown>;
}

export interface PeftExportOptions {
  /** Allow the lossless conversions (residual methods → rank-2r LoRA; NOLA → materialised factors). */
  convert?: boolean;
  /** base_model_name_or_path; default derived from the run's model reference. */
  baseModel?: string;
  /** Layers of the model: lets an explicit `targets.layers` list that covers them all use short target names. */
  nLayer?: number;
  /** The model family's PEFT names (default GPT-2). */
  naming?: PeftNaming;
}

export interface PeftExport {
  files: NamedFile[];
  config: PeftAdapterConfig;
  /** What the export is, in words (printed by the CLI). */
  notes: string[];
}

/** The adapter_config.json fields we write: PEFT 0.17.1's LoraConfig.to_dict(), as save_pretrained writes it. */
export interface PeftAdapterConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  exclude_modules: null;
  fan_in_fan_out: boolean;
  bias: 'none';
  use_rslora: boolean;
  use_dora: boolean;
  init_lora_weights: boolean;
  modules_to_save: null;
  layers_to_transform: number[] | null;
  layers_pattern: string | null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  layer_replication: null;
  lora_bias: boolean;
  megatron_config: null;
  megatron_core: string;
  loftq_config: Record<string, never>;
  auto_mapping: null;
  trainable_token_indices: null;
  eva_config: null;
  corda_config: null;
  use_qalora: boolean;
  qalora_group_size: number;
  target_parameters: null;
  /**
   * Not a PEFT 0.17.1 field (0.18 added it and fills it when absent; 0.17.1 drops unknown keys): written
   * so a reader knows which PEFT the file's fields follow. tests/fixtures/peft-golden/ pins the rest.
   */
  peft_version: string;
  [k: string]: unknown;
}

export class PeftUnsupportedError extends PeftError {
  constructor(message: string) {
    super(message);
    this.name = 'PeftUnsupportedError';
  }
}

function mostCommon(xs: number[]): number {
  const count = new Map<number, number>();
  for (const x of xs) count.set(x, (count.get(x) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
}

/** Modules of a state in layer order, with rank r, scaling s, and the factors. */
interface ModuleFactors {
  module: string;
  r: number;
  scaling: number;
  A: Float32Array;
  B: Float32Array;
  m?: Float32Array;
  inDim: number;
  outDim: number;
}

function num(meta: Record<string, unknown>, field: string, module: string): number {
  const table = meta[field] as Record<string, unknown> | undefined;
  const v = table?.[module];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new PeftError(
      `adapter state: meta.${field}["${module}"] is missing (the run directory is incomplete or not a LoRA-family run)`,
    );
  return v;
}

function modulesOf(state: AdapterState, naming: PeftNaming): string[] {
  const mods = new Set<string>();
  for (const name of state.tensors.keys()) {
    const m = /^(.+)\.lora_A$/.exec(name);
    if (m) mods.add(m[1]);
  }
  const order = (s: string) => {
    const p = splitModuleName(s);
    return p ? p.layer * 1000 + naming.moduleTypes.indexOf(p.type) : -1;
  };
  return [...mods].sort((a, b) => order(a) - order(b));
}

function factorsOf(state: AdapterState, kind: PeftSupportKind, naming: PeftNaming): ModuleFactors[] {
  const out: ModuleFactors[] = [];
  for (const module of modulesOf(state, naming)) {
    const type = splitModuleName(module)?.type;
    if (!type || !naming.moduleTypes.includes(type))
      throw new PeftError(`adapter state: "${module}" is not a linear module of this model family`);
    let r = num(state.meta, 'ranks', module);
    const scaling = num(state.meta, 'scaling', module);
    let A = state.tensors.get(`${module}.lora_A`)!;
    let B = state.tensors.get(`${module}.lora_B`);
    if (!B) throw new PeftError(`adapter state: ${module}.lora_A has no matching ${module}.lora_B`);
    if (A.length % r || B.length % r)
      throw new PeftError(
        `adapter state: ${module} factors (${A.length}, ${B.length} values) do not divide by its rank ${r}`,
      );
    const inDim = A.length / r,
      outDim = B.length / r;
    if (kind === 'residual') {
      const A0 = state.tensors.get(`${module}.lora_A0`),
        B0 = state.tensors.get(`${module}.lora_B0`);
      if (!A0 || !B0 || A0.length !== A.length || B0.length !== B.length)
        throw new PeftError(
          `adapter state: ${module} lacks its initial factors lora_A0/lora_B0, needed to convert a residual adapter`,
        );
      // [A; A₀] (2r, in) and [B, −B₀] (out, 2r): s·[B, −B₀]·[A; A₀] = s·(B·A − B₀·A₀), the update relative to W.
      const A2 = new Float32Array(2 * r * inDim),
        B2 = new Float32Array(outDim * 2 * r);
      A2.set(A, 0);
      A2.set(A0, r * inDim);
      for (let o = 0; o < outDim; o++) {
        for (let k = 0; k < r; k++) {
          B2[o * 2 * r + k] = B[o * r + k];
          B2[o * 2 * r + r + k] = -B0[o * r + k];
        }
      }
      A = A2;
      B = B2;
      r *= 2;
    }
    const f: ModuleFactors = { module, r, scaling, A, B, inDim, outDim };
    if (kind === 'dora') {
      const m = state.tensors.get(`${module}.lora_magnitude_vector`);
      if (!m || m.length !== outDim)
        throw new PeftError(`adapter state: ${module} lacks its DoRA magnitude vector (${outDim} values)`);
      f.m = m;
    }
    out.push(f);
  }
  if (!out.length) throw new PeftError('adapter state: no lora_A/lora_B tensors found');
  return out;
}

/**
 * The PEFT files for a run's adapter state. Throws PeftUnsupportedError, with what to do instead,
 * for methods PEFT would misread.
 */
export function exportPeft(config: RunConfig, state: AdapterState, opts: PeftExportOptions = {}): PeftExport {
  const id = config.method.id;
  if (id === 'adalora') return exportAdaLoraPeft(config, state, opts); // PEFT's own ADALORA type (peft-adalora.ts)
  const support = peftSupport(id);
  const merged =
    'export the merged model instead (--merged <dir>: config.json + model.safetensors, loadable by transformers without PEFT)';
  if (id === 'hra') {
    // PEFT's own HRA type (peft-hra.ts); its layer takes nn.Linear only, so not GPT-2's Conv1D
    if ((opts.naming ?? GPT2_PEFT_NAMING).fanInFanOut)
      throw new PeftUnsupportedError(
        `hra: PEFT's HRA layer takes nn.Linear only (peft/tuners/hra/layer.py) and GPT-2's modules are Conv1D. ${merged[0].toUpperCase()}${merged.slice(1)}.`,
      );
    return exportHraPeft(config, state, opts);
  }
  if (support.kind === 'none')
    throw new PeftUnsupportedError(
      `${id}: PEFT cannot load this as a LoRA adapter — ${support.note}. ${merged[0].toUpperCase()}${merged.slice(1)}.`,
    );
  if ((support.kind === 'residual' || support.kind === 'materialized') && !opts.convert) {
    const why =
      support.kind === 'residual'
        ? `${support.note} trains A and B on top of a residual base W − s·B₀·A₀ that replaced the pretrained weight; as a plain LoRA on the pretrained model its factors would be misread. ` +
          "Pass --convert to write PEFT's converted form (rank 2r: [A; A₀], [B, −B₀], lora_alpha ×2 — the same update relative to the pretrained weight, as PEFT's path_initial_model_for_weight_conversion does)"
        : `${support.note} trains mixture coefficients of seeded random bases, which PEFT has no adapter type for. ` +
          'Pass --convert to write its materialised A = Σαᵢ·Aᵢ and B = Σβⱼ·Bⱼ as a plain LoRA (the same ΔW; the NOLA parametrisation is not kept)';
    throw new PeftUnsupportedError(`${id}: ${why}, or ${merged}.`);
  }
  const rslora = id === 'rslora';
  const dora = support.kind === 'dora';
  const naming = opts.naming ?? GPT2_PEFT_NAMING;
  const mods = factorsOf(state, support.kind, naming);
  const alphaOf = (f: ModuleFactors) => {
    const a = rslora ? f.scaling * Math.sqrt(f.r) : f.scaling * f.r;
    return Math.abs(a - Math.round(a)) < 1e-6 * Math.max(1, Math.abs(a)) ? Math.round(a) : a;
  };
  const r = mostCommon(mods.map((f) => f.r));
  const alpha = mostCommon(mods.map(alphaOf));
  const rank_pattern: Record<string, number> = {},
    alpha_pattern: Record<string, number> = {};
  for (const f of mods) {
    if (f.r !== r) rank_pattern[hfModulePath(f.module, naming)] = f.r;
    if (alphaOf(f) !== alpha) alpha_pattern[hfModulePath(f.module, naming)] = alphaOf(f);
  }
  // target_modules: short names when every layer is adapted, full module paths otherwise. "c_proj"
  // alone would match both attn.c_proj and mlp.c_proj (PEFT matches by suffix), so it is qualified.
  const layers = new Set(mods.map((f) => splitModuleName(f.module)!.layer));
  const types = [...new Set(mods.map((f) => splitModuleName(f.module)!.type))];
  const sameLayers = types.every((t) => mods.filter((f) => f.module.endsWith(`.${t}`)).length === layers.size);
  const allLayers = opts.nLayer !== undefined ? layers.size === opts.nLayer : config.targets.layers === null;
  const everyLayer = sameLayers && allLayers;
  // The last name part ("q_proj") unless it would also match a module that is not adapted.
  const last = (t: string) => t.split('.').pop()!;
  const short = (t: string) =>
    naming.moduleTypes.every((u) => u === t || last(u) !== last(t) || types.includes(u)) ? last(t) : t;
  const target_modules = everyLayer ? [...new Set(types.map(short))] : mods.map((f) => hfModulePath(f.module, naming));
  const peftConfig: PeftAdapterConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: opts.baseModel ?? baseModelName(config),
    revision: null,
    inference_mode: true,
    r,
    lora_alpha: alpha,
    lora_dropout: 0,
    target_modules,
    exclude_modules: null,
    fan_in_fan_out: naming.fanInFanOut,
    bias: 'none',
    use_rslora: rslora,
    use_dora: dora,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern,
    alpha_pattern,
    ...LORA_CONFIG_TAIL,
  };
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const f of mods) {
    tensors.push({ name: peftTensorName(f.module, 'lora_A', naming), shape: [f.r, f.inDim], data: f.A });
    tensors.push({ name: peftTensorName(f.module, 'lora_B', naming), shape: [f.outDim, f.r], data: f.B });
    if (f.m)
      tensors.push({
        name: peftTensorName(f.module, 'lora_magnitude_vector', naming),
        shape: [f.outDim],
        data: f.m,
      });
  }
  const notes = [
    `${id} → PEFT ${support.note}${support.kind === 'residual' ? ' converted to a rank-2r LoRA relative to the pretrained weight' : support.kind === 'materialized' ? ' materialised as a plain LoRA' : ''}`,
    `${mods.length} module(s), r = ${r}${Object.keys(rank_pattern).length ? ` (rank_pattern for ${Object.keys(rank_pattern).length})` : ''}, lora_alpha = ${alpha}, target_modules ${JSON.stringify(target_modules)}`,
  ];
  const enc = new TextEncoder();
  return {
    config: peftConfig,
    notes,
    files: [
      { name: 'adapter_config.json', bytes: enc.encode(JSON.stringify(peftConfig, null, 2) + '\n') },
      { name: 'adapter_model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) },
    ],
  };
}

// ---- import -------------------------------------------------------------------------------------------

export interface PeftModuleAdapter {
  module: string; // our name, e.g. "h.0.attn.c_attn"
  r: number;
  alpha: number;
  scaling: number;
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
  magnitude: Float32Array | null; // (out), DoRA
  inDim: number;
  outDim: number;
}

export interface PeftImport {
  config: PeftAdapterConfig;
  modules: PeftModuleAdapter[];
  /** Tensors in the file that are not LoRA tensors of GPT-2 linears (reported, not loaded). */
  ignored: string[];
}

/**
 * PEFT's rank_pattern / alpha_pattern (get_pattern_key): a key matches a module path when it equals
 * the path or a dotted suffix of it; otherwise it is a regular expression matched as `(.*\.)?(key)$`.
 * Plain names are matched as strings (no RegExp), regex keys are checked for catastrophic backtracking
 * and compiled once per import (issue 19 item 11: matching used to cost ~4 s per module).
 */
function compilePattern(
  pattern: unknown,
  field: 'rank_pattern' | 'alpha_pattern',
  problems: string[],
): (path: string) => number | undefined {
  if (pattern === undefined || pattern === null) return () => undefined;
  if (typeof pattern !== 'object' || Array.isArray(pattern)) {
    problems.push(`adapter_config.json: ${field} must be an object of module pattern → value`);
    return () => undefined;
  }
  const rules: { key: string; re: RegExp | null; value: number }[] = [];
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    const shown = escapeControl(key).slice(0, 80);
    const ok =
      field === 'rank_pattern'
        ? typeof value === 'number' && Number.isInteger(value) && value >= 1
        : typeof value === 'number' && Number.isFinite(value);
    if (!ok) {
      problems.push(
        `adapter_config.json: ${field}["${shown}"] must be ${field === 'rank_pattern' ? 'a positive integer' : 'a number'}, got ${escapeControl(JSON.stringify(value) ?? String(value))}`,
      );
      continue;
    }
    let re: RegExp | null = null;
    if (/[\\^$|?*+()[\]{}]/.test(key)) {
      const hazard = regexHazard(key);
      if (hazard) {
        problems.push(`adapter_config.json: ${field} key "${shown}" refused: ${hazard}`);
        continue;
      }
      try {
        re = new RegExp(`^(.*\\.)?(${key})$`);
      } catch {
        problems.push(`adapter_config.json: ${field} key "${shown}" is not a valid regular expression`);
        continue;
      }
    }
    rules.push({ key, re, value: value as number });
  }
  return (path: string) => {
    const short = path.replace(/^transformer\./, '');
    for (const r of rules) {
      if (r.re ? r.re.test(path) || r.re.test(short) : path === r.key || path.endsWith(`.${r.key}`)) return r.value;
    }
    return undefined;
  };
}

/** An adapter of any PEFT type we read: LoRA factors (LORA, ADALORA) or HRA's reflections (HRA). */
export type PeftAdapterImport = { kind: 'lora'; lora: PeftImport } | { kind: 'hra'; hra: PeftHraImport };

/**
 * Read any PEFT adapter we support, dispatched on peft_type: LORA and ADALORA as LoRA factors
 * (importPeft), HRA as the HRA method's hra_u (peft-hra.ts importHraPeft; its update W·H depends on the
 * base weight, so it is merged by the method's own merge, analysis/adapter.ts). The CLI's `import --peft`
 * and the adapter analysis (page and `analyze --adapter`) read adapters through this.
 */
export function importPeftAdapter(files: NamedFile[], naming: PeftNaming = GPT2_PEFT_NAMING): PeftAdapterImport {
  const { c, st } = readPeftFiles(files);
  if (c.peft_type === 'HRA') return { kind: 'hra', hra: importHraPeft(c, st, naming) };
  return { kind: 'lora', lora: importLoraFactors(c, st, naming) };
}

/** Read PEFT's adapter_config.json + adapter_model.safetensors (any order, other files ignored) as LoRA factors. */
export function importPeft(files: NamedFile[], naming: PeftNaming = GPT2_PEFT_NAMING): PeftImport {
  const { c, st } = readPeftFiles(files);
  if (c.peft_type === 'HRA')
    throw new PeftError(
      "adapter_config.json: peft_type HRA (Householder reflections, hra_u) is not a LoRA: its update W·H depends on the base weight, so it is not read as LoRA factors here; importPeftAdapter reads it (io/peft-hra.ts importHraPeft) as the HRA method's state",
    );
  return importLoraFactors(c, st, naming);
}

/** The two files of a PEFT adapter: the parsed config (checked to be a plain JSON object) and the safetensors bytes. */
function readPeftFiles(files: NamedFile[]): { c: Record<string, unknown>; st: Uint8Array } {
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f]));
  const cfgFile = byName.get('adapter_config.json');
  const stFile = byName.get('adapter_model.safetensors');
  if (!cfgFile)
    throw new PeftError(
      'adapter_config.json is missing (a PEFT adapter directory holds adapter_config.json and adapter_model.safetensors)',
    );
  if (!stFile)
    throw new PeftError(
      byName.has('adapter_model.bin')
        ? "adapter_model.bin (pickle) is not supported: save the adapter with safetensors (PEFT's default)"
        : 'adapter_model.safetensors is missing',
    );
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(cfgFile.bytes));
  } catch (e) {
    throw new PeftError(`adapter_config.json is not valid JSON: ${escapeControl((e as Error).message)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new PeftError('adapter_config.json is not a JSON object');
  assertSafeKeys(raw, 'adapter_config.json', (m) => new PeftError(m)); // issue 19 item 9
  return { c: raw as Record<string, unknown>, st: stFile.bytes };
}

/** LORA or ADALORA (peft-adalora.ts) files as LoRA factors per module. */
function importLoraFactors(c: Record<string, unknown>, stBytes: Uint8Array, naming: PeftNaming): PeftImport {
  if (c.peft_type === 'ADALORA') return importAdaLoraPeft(c, stBytes, naming); // as LoRA factors (peft-adalora.ts)
  if (c.peft_type !== 'LORA')
    throw new PeftError(
      `adapter_config.json: peft_type ${JSON.stringify(c.peft_type)} is not supported (only "LORA", "ADALORA" and "HRA")`,
    );
  const r = c.r ?? 8,
    alpha = c.lora_alpha ?? 8;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1)
    throw new PeftError(`adapter_config.json: r must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new PeftError(`adapter_config.json: lora_alpha must be a number, got ${JSON.stringify(c.lora_alpha)}`);
  const useRslora = c.use_rslora === true,
    useDora = c.use_dora === true;
  if (c.bias !== undefined && c.bias !== 'none')
    throw new PeftError(`adapter_config.json: bias "${String(c.bias)}" is not supported (only "none")`);
  if (c.lora_bias === true) throw new PeftError('adapter_config.json: lora_bias (a bias on lora_B) is not supported');
  // every problem below is collected and reported one per line (issue 18: importers)
  const problems: string[] = [];
  const rankOf = compilePattern(c.rank_pattern, 'rank_pattern', problems);
  const alphaOf = compilePattern(c.alpha_pattern, 'alpha_pattern', problems);
  if (problems.length) throw new PeftError(problems.join('; ')); // every problem, on one line (issue 17 item 4)
  const st = parseSafetensors(stBytes);
  const parts = new Map<
    string,
    Partial<Record<'lora_A' | 'lora_B' | 'lora_magnitude_vector', { shape: number[]; data: Float32Array }>>
  >();
  const ignored: string[] = [];
  for (const t of st.tensors.values()) {
    const p = parsePeftTensorName(t.name, naming);
    if (!p || !isFloatDtype(t.dtype)) {
      ignored.push(t.name);
      continue;
    }
    const entry = parts.get(p.module) ?? {};
    entry[p.kind] = { shape: t.shape, data: toFloat32(t) };
    parts.set(p.module, entry);
  }
  const modules: PeftModuleAdapter[] = [];
  for (const [module, e] of parts) {
    if (!e.lora_A || !e.lora_B)
      throw new PeftError(
        `adapter_model.safetensors: ${module} has ${e.lora_A ? 'lora_A' : 'lora_B'} but not ${e.lora_A ? 'lora_B' : 'lora_A'}`,
      );
    const path = hfModulePath(module, naming);
    const mr = rankOf(path) ?? r;
    const ma = alphaOf(path) ?? alpha;
    for (const [kind, t] of Object.entries(e)) {
      const f = scanFinite(t.data);
      if (f.nonFinite)
        problems.push(
          `${module}.${kind}: ${f.nonFinite} non-finite value${f.nonFinite === 1 ? '' : 's'} of ${t.data.length} (first at index ${f.first})`,
        );
    }
    const [ar, inDim] = e.lora_A.shape,
      [outDim, br] = e.lora_B.shape;
    if (e.lora_A.shape.length !== 2 || e.lora_B.shape.length !== 2)
      throw new PeftError(`${module}: lora_A/lora_B must be 2-D, got [${e.lora_A.shape}] and [${e.lora_B.shape}]`);
    if (ar !== mr || br !== mr)
      throw new PeftError(
        `${module}: lora_A [${e.lora_A.shape}] / lora_B [${e.lora_B.shape}] do not match its rank ${mr} (r${c.rank_pattern ? ' / rank_pattern' : ''})`,
      );
    let magnitude: Float32Array | null = null;
    if (e.lora_magnitude_vector) {
      if (!useDora) throw new PeftError(`${module}: has a DoRA magnitude vector but use_dora is not set`);
      if (e.lora_magnitude_vector.shape.length !== 1 || e.lora_magnitude_vector.shape[0] !== outDim)
        throw new PeftError(
          `${module}: lora_magnitude_vector [${e.lora_magnitude_vector.shape}] should be [${outDim}]`,
        );
      magnitude = e.lora_magnitude_vector.data;
    } else if (useDora) throw new PeftError(`${module}: use_dora is set but the magnitude vector is missing`);
    modules.push({
      module,
      r: mr,
      alpha: ma,
      scaling: useRslora ? ma / Math.sqrt(mr) : ma / mr,
      A: e.lora_A.data,
      B: e.lora_B.data,
      magnitude,
      inDim,
      outDim,
    });
  }
  if (!modules.length)
    throw new PeftError(
      `adapter_model.safetensors holds no LoRA tensors of this model's linear modules (${naming.moduleTypes.join(', ')}; ${st.tensors.size} tensor(s)${ignored.length ? `, e.g. ${ignored[0]}` : ''})`,
    );
  if (problems.length) throw new PeftError(problems.join('; ')); // every problem, on one line (issue 17 item 4)
  const layerOf = (s: string) => splitModuleName(s)!.layer;
  modules.sort((a, b) => layerOf(a.module) - layerOf(b.module) || a.module.localeCompare(b.module));
  return {
    config: { ...(c as PeftAdapterConfig), r, lora_alpha: alpha, use_rslora: useRslora, use_dora: useDora },
    modules,
    ignored,
  };
}
