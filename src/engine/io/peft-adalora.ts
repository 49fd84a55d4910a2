/**
 * PEFT's native AdaLoRA format (peft_type "ADALORA"; PEFT tuners/adalora and
 * utils/save_and_load.py), export and import:
 *   adapter_model.safetensors   base_model.model.<path>.lora_A  [r, in]
 *                               base_model.model.<path>.lora_B  [out, r]
 *                               base_model.model.<path>.lora_E  [r, 1]
 *   (ParameterDicts: no ".weight"; `ranknum` is not saved — it is not a "lora_" tensor)
 *   adapter_config.json         AdaLoraConfig: init_r, target_r, tinit, tfinal, deltaT, beta1, beta2,
 *                               orth_reg_weight, total_step, lora_alpha, rank_pattern …
 * rank_pattern (PEFT: "base_model.model.<path>.lora_E" → one bool per triplet, kept = true) makes PEFT's
 * loader cut every module to its kept triplets and re-create it at that rank — and PEFT's ranknum, which
 * divides the update (ΔW = B·(A⊙E)·α/(ranknum + 1e-5)), then becomes the kept count instead of the
 * trained init_r. The export therefore writes only the kept rows and folds (kept + 1e-5)/(r + 1e-5) into E,
 * so that the adapter PEFT loads computes exactly the trained ΔW.
 * Import reads the same files as LoRA factors (A_eff = E ⊙ A, s = α/(r + 1e-5)): what analysis and
 * merging need; continuing AdaLoRA training from them is not supported.
 */
import type { RunConfig } from '../config';
import { parseSafetensors, toFloat32, isFloatDtype, writeSafetensors } from './safetensors';
import {
  GPT2_PEFT_NAMING,
  LORA_CONFIG_TAIL,
  PeftError,
  baseModelName,
  hfModulePath,
  parsePeftTensorName,
  type PeftNaming,
} from './peft-names';
import type {
  AdapterState,
  PeftExport,
  PeftExportOptions,
  PeftImport,
  PeftModuleAdapter,
  PeftAdapterConfig,
} from './peft';
import { splitModuleName } from '../model/language-model';

const name = (naming: PeftNaming, module: string, kind: string) => `${naming.prefix}${module}.${kind}`;

export function exportAdaLoraPeft(config: RunConfig, state: AdapterState, opts: PeftExportOptions = {}): PeftExport {
  const naming = opts.naming ?? GPT2_PEFT_NAMING;
  const p = config.method.params as Record<string, number | undefined>;
  const mods = [...state.tensors.keys()]
    .filter((k) => k.endsWith('.lora_E'))
    .map((k) => k.slice(0, -'.lora_E'.length))
    .sort((a, b) => {
      const o = (s: string) =>
        (splitModuleName(s)?.layer ?? 0) * 1000 + naming.moduleTypes.indexOf(splitModuleName(s)?.type ?? '');
      return o(a) - o(b);
    });
  if (!mods.length) throw new PeftError('adapter state: no lora_E tensors (not an AdaLoRA run)');
  const alpha = Number(p.alpha ?? 8);
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  const rank_pattern: Record<string, boolean[]> = {};
  let kept = 0,
    total = 0;
  for (const m of mods) {
    const A = state.tensors.get(`${m}.lora_A`),
      B = state.tensors.get(`${m}.lora_B`),
      E = state.tensors.get(`${m}.lora_E`)!;
    if (!A || !B) throw new PeftError(`adapter state: ${m} lacks lora_A or lora_B`);
    const r = E.length,
      inDim = A.length / r,
      outDim = B.length / r;
    const keep = Array.from(E, (v) => v !== 0);
    const idx = keep.flatMap((k, i) => (k ? [i] : []));
    const k = idx.length,
      fold = (k + 1e-5) / (r + 1e-5);
    const A2 = new Float32Array(k * inDim),
      B2 = new Float32Array(outDim * k),
      E2 = new Float32Array(k);
    idx.forEach((src, j) => {
      A2.set(A.subarray(src * inDim, (src + 1) * inDim), j * inDim);
      for (let o = 0; o < outDim; o++) B2[o * k + j] = B[o * r + src];
      E2[j] = E[src] * fold;
    });
    tensors.push({ name: name(naming, m, 'lora_A'), shape: [k, inDim], data: A2 });
    tensors.push({ name: name(naming, m, 'lora_B'), shape: [outDim, k], data: B2 });
    tensors.push({ name: name(naming, m, 'lora_E'), shape: [k, 1], data: E2 });
    rank_pattern[name(naming, m, 'lora_E')] = keep;
    kept += k;
    total += r;
  }
  const initR = Number(p.rank ?? 12);
  const peftConfig: Record<string, unknown> = {
    peft_type: 'ADALORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: opts.baseModel ?? baseModelName(config),
    revision: null,
    inference_mode: true,
    r: initR,
    lora_alpha: alpha,
    lora_dropout: 0,
    target_modules: mods.map((m) => hfModulePath(m, naming)),
    exclude_modules: null,
    fan_in_fan_out: naming.fanInFanOut,
    bias: 'none',
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern,
    alpha_pattern: {},
    ...LORA_CONFIG_TAIL,
    target_r: Number(p.targetR ?? 8),
    init_r: initR,
    tinit: Number(p.tinit ?? 0),
    tfinal: Number(p.tfinal ?? 0),
    deltaT: Number(p.deltaT ?? 1),
    beta1: Number(p.beta1 ?? 0.85),
    beta2: Number(p.beta2 ?? 0.85),
    orth_reg_weight: Number(p.orthReg ?? 0.5),
    total_step: config.train.steps,
  };
  const enc = new TextEncoder();
  return {
    // the shared record is typed for LoraConfig; AdaLoraConfig is LoraConfig plus its own fields
    config: peftConfig as unknown as PeftAdapterConfig,
    notes: [
      `adalora → PEFT ADALORA (native): ${mods.length} module(s), ${kept} of ${total} triplets kept (rank_pattern), lora_alpha = ${alpha}`,
      'E is scaled by (kept + 1e-5)/(init_r + 1e-5) per module: PEFT re-creates each module at its kept rank, and its ranknum (the divisor of the update) with it',
    ],
    files: [
      { name: 'adapter_config.json', bytes: enc.encode(JSON.stringify(peftConfig, null, 2) + '\n') },
      { name: 'adapter_model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) },
    ],
  };
}

/** PEFT ADALORA files (config already parsed) → LoRA factors A_eff = E ⊙ A, s = α/(r + 1e-5). */
export function importAdaLoraPeft(
  c: Record<string, unknown>,
  stBytes: Uint8Array,
  naming: PeftNaming = GPT2_PEFT_NAMING,
): PeftImport {
  const alpha = c.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new PeftError(`adapter_config.json: lora_alpha must be a number, got ${JSON.stringify(c.lora_alpha)}`);
  const st = parseSafetensors(stBytes);
  const parts = new Map<
    string,
    Partial<Record<'lora_A' | 'lora_B' | 'lora_E', { shape: number[]; data: Float32Array }>>
  >();
  const ignored: string[] = [];
  for (const t of st.tensors.values()) {
    const m = /^(.+)\.(lora_A|lora_B|lora_E)$/.exec(t.name);
    const parsed = m && parsePeftTensorName(`${m[1]}.lora_A.weight`, naming);
    if (!m || !parsed || !isFloatDtype(t.dtype)) {
      ignored.push(t.name);
      continue;
    }
    const e = parts.get(parsed.module) ?? {};
    e[m[2] as 'lora_A' | 'lora_B' | 'lora_E'] = { shape: t.shape, data: toFloat32(t) };
    parts.set(parsed.module, e);
  }
  const modules: PeftModuleAdapter[] = [];
  for (const [module, e] of parts) {
    if (!e.lora_A || !e.lora_B || !e.lora_E)
      throw new PeftError(`adapter_model.safetensors: ${module} needs lora_A, lora_B and lora_E (AdaLoRA)`);
    const [r, inDim] = e.lora_A.shape,
      [outDim, br] = e.lora_B.shape;
    if (e.lora_A.shape.length !== 2 || br !== r || e.lora_E.data.length !== r)
      throw new PeftError(
        `${module}: lora_A [${e.lora_A.shape}], lora_B [${e.lora_B.shape}], lora_E [${e.lora_E.shape}] do not agree on the rank`,
      );
    const A = e.lora_A.data.slice();
    for (let k = 0; k < r; k++) for (let i = 0; i < inDim; i++) A[k * inDim + i] *= e.lora_E.data[k];
    for (const [kind, t] of Object.entries(e))
      if (t.data.some((v) => !Number.isFinite(v))) throw new PeftError(`${module}.${kind}: non-finite values`);
    modules.push({
      module,
      r,
      alpha,
      scaling: alpha / (r + 1e-5),
      A,
      B: e.lora_B.data,
      magnitude: null,
      inDim,
      outDim,
    });
  }
  if (!modules.length) throw new PeftError('adapter_model.safetensors holds no AdaLoRA tensors of this model');
  const layerOf = (s: string) => splitModuleName(s)!.layer;
  modules.sort((a, b) => layerOf(a.module) - layerOf(b.module) || a.module.localeCompare(b.module));
  return { config: { ...(c as PeftAdapterConfig), lora_alpha: alpha }, modules, ignored };
}
