/**
 * The model seam: what the trainer, the adapter methods, analysis, the worker and the CLI know about
 * a model. Every decoder family (GPT-2, GPT-Neo, GPT-NeoX, Llama, Qwen2, Qwen3) is one class that
 * implements `LanguageModel` in its own file under src/engine/model/, plus one `ModelFamily` record
 * (registered in families.ts) that says how its Hugging Face files map onto it.
 *
 * Weight layout (docs/ARCHITECTURE.md, "Weight layout"): every linear weight is held (inDim, outDim)
 * — GPT-2's Conv1D layout, the one every kernel, adapter and analysis routine uses — and HF `nn.Linear`
 * tensors, stored (out, in), are transposed when a checkpoint is read and again when one is written.
 * Parameter names are the Hugging Face state-dict names of the family (`model.layers.0.self_attn.q_proj.weight`,
 * `gpt_neox.layers.0.attention.query_key_value.weight`, GPT-2's `h.0.attn.c_attn.weight`).
 *
 * What this file is not: the kernels (src/gpu/kernels), the loaders (src/engine/io), the trainer.
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import type { ModelConfig, ModelType } from './config';
import type { Linear } from './linear';
import type { ModelOptions } from './vocab-params';

/** One GPU buffer of a parameter: the whole tensor, or one row shard of a vocabulary matrix. */
export interface ParamPart {
  /** The parameter's name when whole; `name#i` for shard i of a sharded (V, C) matrix. */
  name: string;
  param: GpuTensor;
  /** Null while the parameter is frozen. */
  grad: GpuTensor | null;
}

export interface ParamSpec {
  /** Hugging Face state-dict name. */
  name: string;
  /** Shape as held on the GPU (linear weights (inDim, outDim)). */
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
  std: number;
  /** AdamW weight decay applies to matrices only (not to biases, norms or position embeddings). */
  decay: boolean;
  /** True when HF stores this tensor transposed, (out, in): `nn.Linear` weights of every family but GPT-2. */
  transposed?: boolean;
}

/**
 * Target-module presets a run config (and the page) can name instead of listing modules. `default` is the
 * family's own LoRA default, PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (peft/utils/constants.py):
 * gpt2 c_attn, gpt_neo and llama/qwen2/qwen3 q_proj + v_proj, gpt_neox query_key_value. It is what a run
 * config without `targets.modules` gets.
 */
export const TARGET_PRESETS = ['default', 'attention', 'attention-mlp', 'all-linear'] as const;
export type TargetPreset = (typeof TARGET_PRESETS)[number];

/**
 * What the page knows of a family without its model code (family-meta.ts): names, shapes, presets, file
 * naming. `ModelFamily` adds `create`, which needs the kernels.
 */
export interface FamilyMeta {
  /** config.json `model_type`. */
  type: ModelType;
  label: string;
  /** Every parameter, HF names, GPU shapes, with the family's initialisation. */
  paramSpecs(cfg: ModelConfig): ParamSpec[];
  /** Every linear module an adapter can target, in layer order (full names, e.g. "model.layers.0.self_attn.q_proj"). */
  linearNames(cfg: ModelConfig): string[];
  /** Module types (the name after the layer index) of each preset. */
  presets: Record<TargetPreset, string[]>;
  /** A tensor name as found in a checkpoint → ours; null = not a parameter (buffers such as masks). */
  fromFileName(name: string, cfg: ModelConfig): string | null;
  /** PEFT's module path prefix under the PEFT wrapper, e.g. "base_model.model." or "base_model.model.transformer.". */
  peftPrefix: string;
  /** True only for Conv1D (GPT-2): PEFT's `fan_in_fan_out`. */
  fanInFanOut: boolean;
}

/** A decoder family: how config.json and the safetensors of a `model_type` map onto a `LanguageModel`. */
export interface ModelFamily extends FamilyMeta {
  create(gpu: Gpu, cfg: ModelConfig, weights: (spec: ParamSpec) => Float32Array, opts?: ModelOptions): LanguageModel;
}

/** The named activation structs every family keeps have these in common. */
export interface CommonActivations {
  B: number;
  T: number;
  /** Per-token losses (N) after `loss` or `backward`. */
  losses: GpuTensor;
}

export interface LanguageModel {
  readonly gpu: Gpu;
  readonly cfg: ModelConfig;
  readonly family: ModelFamily;
  readonly specs: ParamSpec[];
  /**
   * Every parameter buffer by part name (see `parts`): the spec names, except that a vocabulary matrix
   * larger than one storage binding is held as row shards `name#0`, `name#1`, … (vocab-params.ts).
   */
  readonly params: Map<string, GpuTensor>;
  /** Gradients of trainable base parameters, by part name like `params` (adapters keep their own). */
  readonly grads: Map<string, GpuTensor>;
  /** The adapter slots: every targetable linear by module name. */
  readonly linears: Map<string, Linear>;
  readonly parameterCount: number;
  readonly activations: CommonActivations;

  /** The one buffer of parameter `name`; throws for a sharded vocabulary matrix (use `parts`). */
  param(name: string): GpuTensor;
  /** Every buffer of parameter `name` with its gradient (AdamW, full fine-tuning): one, or one per row shard. */
  parts(name: string): ParamPart[];
  /** Make these base parameters trainable (allocates zeroed gradients); the others stay frozen. */
  setTrainable(names: Iterable<string>): void;
  /** Activations for batches up to (B, T); smaller batches reuse them. */
  ensureActivations(B: number, T: number): void;
  /** Upload one batch (before recording the step that uses it). mask (N) weights each target; null = all 1. */
  setBatch(B: number, T: number, inputs: Int32Array, targets: Int32Array | null, mask: Float32Array | null): void;
  /** Record the forward pass up to the final hidden state / logits. */
  forward(enc: StepEncoder, B: number, T: number): void;
  /** Per-token losses (N) without gradients (evaluation), into `activations.losses`. */
  loss(enc: StepEncoder, B: number, T: number): void;
  /**
   * Losses and the full backward, in mirror order. Gradients ACCUMULATE into `grads` and adapter
   * gradients (zero them first with zeroGrads). gradScale is 1/Σmask (gradient of the mean loss).
   */
  backward(enc: StepEncoder, B: number, T: number, gradScale: number): void;
  zeroGrads(enc: StepEncoder): void;
  /**
   * Activation capture for data-driven inits (EVA): the tensor (N, inDim) that fed linear `name` in
   * the last recorded forward.
   */
  linearInput(name: string): GpuTensor;
  /** Generation hook: the logits (V) of row `row` of the last forward (a KV-cached `decodeStep` may come later). */
  readLogitsRow(row: number): Promise<Float32Array>;
  /** Every logit (N, V) of the last forward (tests, small evaluations). */
  readLogits(B: number, T: number): Promise<Float32Array>;
  /** Every parameter read back by name, GPU layout (checkpoints, export, analysis). */
  readWeights(): Promise<Map<string, Float32Array>>;
  /** Overwrite parameters by name (GPU layout); unknown names throw. */
  writeWeights(weights: Map<string, Float32Array>): void;
  destroy(): void;
}

/** "model.layers.3.self_attn.q_proj" → { layer: 3, type: "self_attn.q_proj" }; null when the name has no layer index. */
export function splitModuleName(name: string): { layer: number; type: string } | null {
  const m = /^(?:.*\.)?(?:h|layers)\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), type: m[2] } : null;
}

/**
 * Whether a module type matches a target selector the way PEFT's `target_modules` matches: the whole
 * type ("self_attn.q_proj", "attn.c_attn") or its last dotted parts ("q_proj", "c_proj" — which in GPT-2
 * names both attn.c_proj and mlp.c_proj, as in PEFT).
 */
export function moduleMatches(type: string, selector: string): boolean {
  return type === selector || type.endsWith(`.${selector}`);
}

/** Transpose a row-major (rows, cols) matrix. */
export function transpose(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}
