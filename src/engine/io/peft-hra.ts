/**
 * PEFT's native HRA format (peft_type "HRA"; huggingface/peft v0.17.1, src/peft/tuners/hra), export and
 * import:
 *   adapter_model.safetensors   base_model.model.<path>.hra_u  [in, r]   (one per adapted nn.Linear)
 *   adapter_config.json         HRAConfig: r, apply_GS, target_modules, init_weights, bias, …
 * Key names: HRALayer keeps `hra_u` in a ParameterDict (layer.py:77 `nn.Parameter(torch.empty(self.in_features,
 * r))`), so the state-dict key is `<module>.hra_u.<adapter>`; get_peft_model_state_dict keeps the keys
 * containing "hra_" (utils/save_and_load.py:215-217, PEFT_TYPE_TO_PREFIX_MAPPING) and drops ".default"
 * (save_and_load.py:319). No ".weight".
 * Order of the reflections (v0.17.1 layer.py:221-231, `get_delta_weight` with apply_GS = False): û_i = u_i/‖u_i‖ (the
 * columns of hra_u), weight = I, then for i = 0, 1, …, r−1: weight ← weight·(I − 2 û_i û_iᵀ), i.e.
 *   H = H_0·H_1⋯H_{r−1};   forward (layer.py:245-262): W_hf' = W_hf·H,  y = x·(W_hf·H)ᵀ + b = x·H_{r−1}⋯H_0·W_hfᵀ + b.
 * Our (in, out) weight is W_hfᵀ and HraAdapter computes y = x·H_{r−1}⋯H_0·W + b (methods/hra.ts): the same
 * product with the same column order, so hra_u IS our (in, r) tensor — written and read byte for byte, no
 * transpose and no reordering. PEFT's HRA layer takes nn.Linear (and Conv2d) only (layer.py:45-50,
 * model.py:198-205): GPT-2's Conv1D modules are refused there, so the exporter is for the nn.Linear
 * families (io/peft.ts refuses GPT-2 before calling it). `apply_GS` (Gram–Schmidt) changes the product
 * and is not what we train: the export writes false, the import refuses true. HRAConfig has no
 * rank_pattern: every module must have the same r.
 */
import type { RunConfig } from '../config';
import { parseSafetensors, toFloat32, isFloatDtype, writeSafetensors } from './safetensors';
import { GPT2_PEFT_NAMING, PeftError, baseModelName, hfModulePath, type PeftNaming } from './peft-names';
import type { AdapterState, PeftExport, PeftExportOptions, PeftAdapterConfig } from './peft';
import { splitModuleName } from '../model/language-model';

const PEFT_ROOT = 'base_model.model.';

/** One adapted module of a PEFT HRA adapter: our module name and PEFT's hra_u (in, r), row-major. */
export interface PeftHraModule {
  module: string;
  r: number;
  inDim: number;
  U: Float32Array; // (in, r)
}

export interface PeftHraImport {
  config: Record<string, unknown>;
  modules: PeftHraModule[];
  /** Tensors that are not hra_u of one of the family's linears (reported, not loaded). */
  ignored: string[];
}

const byLayer = (naming: PeftNaming) => (a: string, b: string) => {
  const o = (s: string) =>
    (splitModuleName(s)?.layer ?? 0) * 1000 + naming.moduleTypes.indexOf(splitModuleName(s)?.type ?? '');
  return o(a) - o(b);
};

/** The HRA run's state (`<module>.hra_u`, (in, r)) as PEFT's HRA adapter files. */
export function exportHraPeft(config: RunConfig, state: AdapterState, opts: PeftExportOptions = {}): PeftExport {
  const naming = opts.naming ?? GPT2_PEFT_NAMING;
  if (naming.fanInFanOut)
    throw new PeftError("PEFT's HRA layer takes nn.Linear only (hra/layer.py); GPT-2's Conv1D modules are refused");
  const ranks = (state.meta.ranks ?? {}) as Record<string, number>;
  const mods = [...state.tensors.keys()]
    .filter((k) => k.endsWith('.hra_u'))
    .map((k) => k.slice(0, -'.hra_u'.length))
    .sort(byLayer(naming));
  if (!mods.length) throw new PeftError('adapter state: no hra_u tensors (not an HRA run)');
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  const rs = new Set<number>();
  for (const m of mods) {
    const U = state.tensors.get(`${m}.hra_u`)!;
    const r = Number(ranks[m]);
    if (!Number.isInteger(r) || r < 1 || U.length % r !== 0)
      throw new PeftError(
        `adapter state: ${m}.hra_u has ${U.length} values, not (in, r) for its rank ${String(ranks[m])}`,
      );
    rs.add(r);
    tensors.push({ name: `${naming.prefix}${m}.hra_u`, shape: [U.length / r, r], data: U });
  }
  if (rs.size > 1)
    throw new PeftError(
      `PEFT's HRAConfig has one r for every module (no rank_pattern); this run has ranks ${[...rs].join(', ')}`,
    );
  const r = [...rs][0];
  // HRAConfig.to_dict() (PEFT v0.17.1: PeftConfigMixin + PeftConfig + HRAConfig fields)
  const peftConfig: Record<string, unknown> = {
    task_type: 'CAUSAL_LM',
    peft_type: 'HRA',
    auto_mapping: null,
    base_model_name_or_path: opts.baseModel ?? baseModelName(config),
    revision: null,
    inference_mode: true,
    r,
    apply_GS: false,
    target_modules: mods.map((m) => hfModulePath(m, naming)),
    exclude_modules: null,
    init_weights: true,
    layers_to_transform: null,
    layers_pattern: null,
    bias: 'none',
    modules_to_save: null,
  };
  const enc = new TextEncoder();
  return {
    // the shared record is typed for LoraConfig; HRAConfig is its own set of fields
    config: peftConfig as unknown as PeftAdapterConfig,
    notes: [
      `hra → PEFT HRA (native): ${mods.length} module(s), r = ${r} reflections, apply_GS = false; hra_u [in, r] as trained (W_hf·H_0⋯H_{r−1}, PEFT's order)`,
    ],
    files: [
      { name: 'adapter_config.json', bytes: enc.encode(JSON.stringify(peftConfig, null, 2) + '\n') },
      { name: 'adapter_model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) },
    ],
  };
}

/** PEFT HRA files (config already parsed) → hra_u per module, checked against the config's r. */
export function importHraPeft(
  c: Record<string, unknown>,
  stBytes: Uint8Array,
  naming: PeftNaming = GPT2_PEFT_NAMING,
): PeftHraImport {
  const r = c.r ?? 8;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1)
    throw new PeftError(`adapter_config.json: r must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (c.apply_GS === true)
    throw new PeftError(
      'adapter_config.json: apply_GS (Gram–Schmidt reflections) is not supported; only the plain chain of reflections is',
    );
  if (c.bias !== undefined && c.bias !== 'none')
    throw new PeftError(`adapter_config.json: bias "${String(c.bias)}" is not supported (only "none")`);
  if (naming.fanInFanOut)
    throw new PeftError("an HRA adapter is for nn.Linear modules; PEFT's HRA layer refuses GPT-2's Conv1D");
  const st = parseSafetensors(stBytes);
  const modules: PeftHraModule[] = [];
  const ignored: string[] = [];
  const problems: string[] = [];
  for (const t of st.tensors.values()) {
    const m = /^(.+)\.hra_u$/.exec(t.name);
    const module = m && m[1].startsWith(naming.prefix) ? m[1].slice(naming.prefix.length) : null;
    const parts = module ? splitModuleName(module) : null;
    if (
      !m ||
      !m[1].startsWith(PEFT_ROOT) ||
      !parts ||
      !naming.moduleTypes.includes(parts.type) ||
      !isFloatDtype(t.dtype)
    ) {
      ignored.push(t.name);
      continue;
    }
    if (t.shape.length !== 2 || t.shape[1] !== r) {
      problems.push(`${module}.hra_u: shape [${t.shape}] should be [in, ${r}] (r = ${r})`);
      continue;
    }
    const U = toFloat32(t);
    const bad = U.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) problems.push(`${module}.hra_u: non-finite value at index ${bad}`);
    for (let k = 0; k < r; k++) {
      let n = 0;
      for (let i = 0; i < t.shape[0]; i++) n += U[i * r + k] ** 2;
      if (n === 0) problems.push(`${module}.hra_u: column ${k} is zero (a reflection needs a non-zero vector)`);
    }
    modules.push({ module: module!, r, inDim: t.shape[0], U });
  }
  if (problems.length) throw new PeftError(problems.join('; '));
  if (!modules.length)
    throw new PeftError(
      `adapter_model.safetensors holds no hra_u of this model's linear modules (${naming.moduleTypes.join(', ')}; ${st.tensors.size} tensor(s)${ignored.length ? `, e.g. ${ignored[0]}` : ''})`,
    );
  const order = byLayer(naming);
  modules.sort((a, b) => order(a.module, b.module));
  return { config: c, modules, ignored };
}

/** An imported HRA adapter as the HRA method's state (`<module>.hra_u`), what a resume or analysis loads. */
export function hraStateFromPeft(im: PeftHraImport): AdapterState {
  return {
    tensors: new Map(im.modules.map((m) => [`${m.module}.hra_u`, m.U])),
    meta: { ranks: Object.fromEntries(im.modules.map((m) => [m.module, m.r])) },
  };
}
