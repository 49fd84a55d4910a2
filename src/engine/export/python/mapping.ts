/**
 * A run as the values a transformers + PEFT + accelerate script passes (issue 14): which methods map
 * onto PEFT (and how), which are refused and why, and the run_config.json the exported train.py reads.
 * The Python side (templates/rs_config.py) turns this into LoraConfig/VeraConfig kwargs and the
 * optimizer; templates/test_mapping.py checks those against the run with a bare python3.
 *
 * PEFT names: https://github.com/huggingface/peft src/peft/tuners/lora/config.py (init_lora_weights
 * True | "pissa" | "pissa_niter_N" | "eva" …, use_rslora, use_dora, rank_pattern), tuners/vera/config.py,
 * optimizers/loraplus.py (create_loraplus_optimizer); GaLore: transformers' optim="galore_adamw"
 * (trainer.py builds galore_torch.GaLoreAdamW with rank/update_proj_gap/scale/proj_type per group).
 */
import type { RunConfig } from '../../config';
import type { ModelConfig } from '../../model/config';
import { expandSelectors, peftNamingOf } from '../../model/families';
import { getMethod, resolveMethodParams } from '../../adapters/registry';

export class PythonExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonExportError';
  }
}

/** How each method is carried over. Methods missing here are refused (no PEFT equivalent written yet). */
export const PYTHON_SUPPORT: Record<string, { peft: string; note: string } | { refused: string }> = {
  full: { peft: '—', note: 'every weight trains (no PEFT wrapper), AdamW' },
  lora: { peft: 'LoraConfig', note: 'r, lora_alpha, init_lora_weights=True (Kaiming-uniform A, B = 0)' },
  rslora: { peft: 'LoraConfig', note: 'use_rslora=True (s = α/√r)' },
  dora: { peft: 'LoraConfig', note: 'use_dora=True (magnitude vectors train without weight decay)' },
  loraplus: { peft: 'LoraConfig', note: 'peft.optimizers.create_loraplus_optimizer(loraplus_lr_ratio=ratio)' },
  'lora-asym': { peft: 'LoraConfig', note: 'lora_A frozen after init (requires_grad=False), B trains' },
  'lora-a-only': {
    peft: 'LoraConfig',
    note: 'after init lora_A = 0 and lora_B ~ U(±1/√out), lora_B frozen (requires_grad=False), A trains',
  },
  pissa: { peft: 'LoraConfig', note: 'init_lora_weights="pissa" (niter 0) or "pissa_niter_N"' },
  eva: {
    peft: 'LoraConfig',
    note: 'init_lora_weights="eva", EvaConfig(rho), initialize_lora_eva_weights on the run\'s data/init batches',
  },
  vera: { peft: 'VeraConfig', note: 'r, d_initial, projection_prng_key; λ vectors at lr × lrScale' },
  galore: {
    peft: '— (optimizer)',
    note: 'galore_torch.GaLoreAdamW on the targeted weights = transformers optim="galore_adamw", optim_target_modules, optim_args rank/update_proj_gap/scale',
  },
  milora: {
    refused:
      'PEFT has no MiLoRA initialisation (it would need the minor singular components as init_lora_weights); export the merged model (export --merged) or train PiSSA',
  },
  'lora-ga': {
    refused:
      'the pinned PEFT (0.17) has no LoRA-GA initialisation (gradient-SVD init of A and B); export the merged model (export --merged)',
  },
  dylora: {
    refused:
      'PEFT has no DyLoRA (nested-rank training with sampled truncation); train LoRA at the evaluation rank instead',
  },
  nola: {
    refused:
      'PEFT has no NOLA adapter type (mixtures of seeded random bases); export --peft --convert gives the trained ΔW as LoRA',
  },
  fira: {
    refused: 'neither PEFT nor transformers has Fira (GaLore with a scaled residual of the projected-out gradient)',
  },
  flora: { refused: 'neither PEFT nor transformers has FLoRA (random-projection gradient compression)' },
  'galore-dct': { refused: "transformers' GaLore has no DCT projector (only proj_type std/left/right/full)" },
  lift: { refused: 'neither PEFT nor transformers has LIFT (principal-weight sparse fine-tuning)' },
  svfit: { refused: 'PEFT has no SVFit (singular-value-only fine-tuning)' },
  relora: { refused: 'PEFT has no ReLoRA (periodic merge-and-restart with optimizer reset)' },
  adalora: {
    peft: 'AdaLoraConfig',
    note: 'init_r, target_r, tinit, tfinal, deltaT, beta1, beta2, orth_reg_weight, total_step = steps; update_and_allocate after each optimizer step; the orthogonality regulariser added to the loss',
  },
  hra: {
    peft: 'HRAConfig',
    note: "r, apply_GS=False, init_weights=True (PEFT's paired Kaiming init: H = I at step 0); nn.Linear families only — PEFT's HRA layer refuses GPT-2's Conv1D — and one r for every module (HRAConfig has no rank_pattern)",
  },
  'lora-pro': {
    refused: 'neither PEFT nor transformers has LoRA-Pro (adjusted LoRA gradients toward the full gradient)',
  },
};

export function pythonSupport(id: string): { peft: string; note: string } | { refused: string } {
  return PYTHON_SUPPORT[id] ?? { refused: `no transformers/PEFT mapping for method "${id}" has been written` };
}

/** The model reference in Python terms: a hub id + revision, a folder in the project, or a config to initialise. */
export function pythonModelRef(config: RunConfig): Record<string, unknown> {
  const m = config.model;
  if (m.source === 'local' && m.id.startsWith('hf:')) {
    const [name, rev] = m.id.slice(3).split('@');
    return { id: name, revision: rev ?? null, path: null, from_config: false };
  }
  if (m.source === 'builtin') return { id: `rankscope/${m.id}`, revision: null, path: 'model', from_config: false };
  if (m.source === 'preset') return { id: `preset:${m.id}`, revision: null, path: 'model', from_config: true };
  return { id: m.id, revision: null, path: null, from_config: false, note: 'a local model: pass --model_path DIR' };
}

/** init_lora_weights as PEFT names it, for the LoRA-type methods. */
export function initLoraWeights(id: string, params: Record<string, unknown>): boolean | string | null {
  if (['lora', 'rslora', 'dora', 'loraplus', 'lora-asym', 'lora-a-only'].includes(id)) return true;
  if (id === 'eva') return 'eva';
  if (id === 'pissa') return Number(params.niter) === 0 ? 'pissa' : `pissa_niter_${Number(params.niter)}`;
  return null;
}

export interface PythonTargets {
  target_modules: string[];
  layers_to_transform: number[] | null;
  fan_in_fan_out: boolean;
  rank_pattern: Record<string, number>;
}

/**
 * targets → PEFT: presets expand to the family's module types (our names are the HF module names
 * after the family prefix, and PEFT matches target_modules by suffix as we do); layers →
 * layers_to_transform; rankOverrides → rank_pattern (PEFT matches its keys as name suffixes too).
 */
export function pythonTargets(config: RunConfig, modelConfig: ModelConfig): PythonTargets {
  return {
    target_modules: [...new Set(expandSelectors(modelConfig, config.targets.modules))],
    layers_to_transform: config.targets.layers,
    fan_in_fan_out: peftNamingOf(modelConfig).fanInFanOut,
    rank_pattern: { ...config.targets.rankOverrides },
  };
}

/** run_config.json minus the data section and the checks (project.ts adds those). */
export function pythonRunConfig(config: RunConfig, modelConfig: ModelConfig): Record<string, unknown> {
  const support = pythonSupport(config.method.id);
  if ('refused' in support)
    throw new PythonExportError(
      `method ${config.method.id} does not carry over to transformers/PEFT: ${support.refused}`,
    );
  if (config.method.id === 'hra') {
    // PEFT's HRA layer (tuners/hra/layer.py) takes nn.Linear only; HRAConfig has one r (no rank_pattern)
    if (peftNamingOf(modelConfig).fanInFanOut)
      throw new PythonExportError(
        "method hra does not carry over to transformers/PEFT on GPT-2: PEFT's HRA layer takes nn.Linear only and GPT-2's modules are Conv1D; export the merged model (export --merged)",
      );
    if (Object.keys(config.targets.rankOverrides).length)
      throw new PythonExportError(
        "method hra does not carry over with rank overrides: PEFT's HRAConfig has one r for every module (no rank_pattern)",
      );
  }
  const params = resolveMethodParams(getMethod(config.method.id), config.method.params);
  return {
    format: 'rankscope-python-run',
    version: 1,
    name: config.name ?? null,
    model: pythonModelRef(config),
    method: { id: config.method.id, params },
    targets: pythonTargets(config, modelConfig),
    train: { ...config.train },
    eval: { ...config.eval },
    data: { layout: config.data.layout },
    seed: config.seed,
    studio_run: config,
  };
}
