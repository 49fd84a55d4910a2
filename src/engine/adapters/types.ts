/**
 * The adapter-method contract (ARCHITECTURE.md §4): one file per method under methods/, each
 * exporting `method: AdapterMethod`. The trainer knows nothing about any particular method; it
 * asks the method for trainable tensors and lets it attach `LinearAdapter`s to the targeted layers.
 */
import type { z } from 'zod';
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import type { RunConfig } from '../config';
import type { LanguageModel } from '../model/language-model';
import type { Linear } from '../model/linear';
import type { GradientProjector } from '../optim/projector';

/** One UI control / link field. Drives the setup form and validation messages. */
export interface MethodParamSpec {
  key: string;
  label: string;
  type: 'int' | 'float' | 'bool' | 'enum';
  default: number | boolean | string;
  min?: number;
  max?: number;
  options?: string[];
  help?: string;
}

/** A tensor the optimizer updates. */
export interface TrainableTensor {
  name: string; // e.g. "h.0.attn.c_attn.lora_A"
  param: GpuTensor;
  grad: GpuTensor;
  /** AdamW weight decay applies (matrices yes; biases, norms, scaling vectors no). */
  decay: boolean;
  /** Learning-rate multiplier (LoRA+ gives B λ×). */
  lrScale: number;
  /**
   * Optimizer-side hook (src/engine/optim/projector.ts): when present, Adam runs on the projected
   * gradient and the projector maps the update back onto `param` (GaLore, Fira, GaLore-DCT, Flora).
   */
  projector?: GradientProjector;
}

/** What a method gets to set itself up. */
export interface MethodContext {
  gpu: Gpu;
  model: LanguageModel;
  config: RunConfig;
  /** Validated method params (defaults applied). */
  params: Record<string, number | boolean | string>;
  /** The linear layers the run targets, in layer order. */
  targets: Linear[];
  /** Rank for a targeted layer after per-module overrides. */
  rankFor(layer: Linear): number;
  seed: number;
  /**
   * For data-driven initialisations (LoRA-GA, EVA): run forward (+ backward when `withGrad`) on n
   * training batches, calling `visit` after each with the encoder already submitted.
   */
  runBatches(n: number, opts: { withGrad: boolean; visit: (i: number) => Promise<void> }): Promise<void>;
}

/** A method applied to one model for one run. */
export interface MethodInstance {
  trainables: TrainableTensor[];
  /** Zero this method's gradient buffers at the start of each step (base-model grads are zeroed by the trainer). */
  zeroGrads?(enc: StepEncoder): void;
  /** Called before each step is recorded (DyLoRA samples its rank here). */
  beforeStep?(step: number): void;
  /**
   * Generic step hooks (ReLoRA, AdaLoRA, LoRA-Pro) — the trainer calls them for any method that has
   * them and knows nothing else about it. All optional; `step` is the 0-based index of the step.
   *
   * A multiplier on the run's learning-rate schedule (ReLoRA's jagged restarts); the reported lr includes it.
   */
  lrFactor?(step: number): number;
  /**
   * After the backward, before the gradient norm and clipping: the trainables' grads hold this step's
   * loss gradient. The hook may record into `enc` (a regulariser's gradient) or submit it, read and
   * rewrite the gradients (LoRA-Pro), returning the encoder the step continues with. `metrics` are
   * added to the step's metrics (StepMetrics.extra: the train JSON lines and the page's run metrics).
   */
  afterBackward?(x: {
    enc: StepEncoder;
    step: number;
  }): Promise<{ enc: StepEncoder; metrics?: Record<string, number> }>;
  /**
   * After the step's update (the grads still hold its gradients): rank allocation (AdaLoRA), merge and
   * restart (ReLoRA). `moments(name)` gives Adam's m and v of a trainable, for partial resets.
   */
  afterStep?(x: {
    step: number;
    moments(name: string): { m: GpuTensor; v: GpuTensor };
  }): Promise<Record<string, number> | void>;
  /**
   * State beyond the trainables and their Adam moments that a bit-identical resume needs (ReLoRA's
   * merged base weights, AdaLoRA's importance EMAs and mask); saved as `method:<key>` in the checkpoint.
   */
  extraState?(): Promise<Record<string, Float32Array>>;
  loadExtraState?(tensors: Record<string, Float32Array>): void;
  /** Fold the adapter into the base weights: returns the merged (HF-layout) weights by name. */
  merged(): Promise<Map<string, Float32Array>>;
  /** Adapter tensors for saving/resuming/export (name → data), plus method-specific metadata. */
  state(): Promise<{ tensors: Map<string, Float32Array>; meta: Record<string, unknown> }>;
  /** Per-layer rank allocation, for methods that move ranks (EVA, DyLoRA). */
  rankAllocation?(): Record<string, number>;
  /** Effective dense update ΔW (in, out) of one targeted layer, for spectra (null: not a low-rank method). */
  deltaOf?(layer: string): Promise<Float32Array | null>;
  dispose(): void;
}

/**
 * How PEFT loads a method's result: as plain LoRA, LoRA with DoRA, a residual method's rank-2r
 * conversion, materialised factors (NOLA), or not at all as LORA (note says why and what to export).
 */
export type PeftSupportKind = 'lora' | 'dora' | 'residual' | 'materialized' | 'none';
export interface PeftSupport {
  kind: PeftSupportKind;
  note: string;
}

export interface AdapterMethod {
  id: string;
  /** Position in the studio's method lists (lower first). */
  order: number;
  /** How PEFT loads this method's result (io/peft.ts reads it). */
  peft: PeftSupport;
  label: string;
  /** Paper link (arXiv) for the method. */
  paper: string;
  description: string;
  /** Parameters beyond the shared ones (rank, alpha …); also the run-link schema. */
  params: MethodParamSpec[];
  /** True when init leaves the model's function unchanged (the conformance suite checks it). */
  preservesFunctionAtInit: boolean;
  /** True when the method trains every base parameter (full fine-tuning). */
  trainsBase: boolean;
  /**
   * The learning rate the studio proposes for this method (AdamW peak), with where it comes from;
   * absent = the studio's global default (DEFAULT_LR). Methods that move the principal directions of
   * W (full FT, PiSSA, MiLoRA) need far smaller steps than LoRA's zero-initialised B.
   */
  defaultLr?: { value: number; source: string };
  init(ctx: MethodContext): Promise<MethodInstance>;
  /** Optional zod refinement for cross-field checks, with messages for the UI. */
  validate?(params: Record<string, unknown>, config: RunConfig): string[];
  schema?: z.ZodType;
}
