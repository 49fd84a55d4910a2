/**
 * The typed protocol between the page and the engine worker (ARCHITECTURE.md data flow).
 *
 * Commands go page → worker through Comlink (`EngineApi` methods); events come back worker → page
 * through one proxied callback `(event: EngineEvent) => void`. Metrics are batched (one event per
 * `metricsEvery` steps or ~100 ms, not one per step) and bulk numbers travel as transferred typed
 * arrays. The main thread never waits on training: every method returns as soon as the command is
 * queued.
 */
import type { RunConfig } from '../engine/config';
import type { ModelConfig } from '../engine/model/config';
import type { MemoryReport } from '../engine/train';
import type { AdapterDescription } from '../gpu/adapter-info';
import type { SerializedGpuError } from '../gpu/errors';
import type { DataPreview } from '../engine/data/preview';
import type { DownloadProgress } from '../engine/io/hub';
import type { LibraryModel } from './model-library';
import type { FitConfig, FitResult } from '../engine/experiments/matrix-fit';
import type { ExperimentMeasureRequest, ExperimentMeasureResult, PageMeasure } from './experiment-measure';
import type { PythonExperimentRequest } from './python-export';
import type { MethodParamSpec, PeftSupport } from '../engine/adapters/types';

export type { LibraryModel, ExperimentMeasureRequest, ExperimentMeasureResult, PageMeasure };

export interface HubDownloadResult {
  repo: string;
  commit: string;
  files: string[];
  fromCache: boolean;
}

// ---- commands ------------------------------------------------------------------------------------

export type Command =
  | { type: 'init' }
  | {
      type: 'run';
      runId: string;
      config: RunConfig;
      resume?: ResumeState;
      modelFiles?: LocalFiles;
      datasetFile?: { name: string; bytes: Uint8Array };
    }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | {
      type: 'generate';
      prompt: string;
      maxTokens: number;
      temperature: number;
      topK: number;
      seed: number;
      /** Nucleus sampling mass; absent or 1 = off. */
      topP?: number;
      /** The run to sample from; absent = the run the engine holds. */
      runId?: string;
      /** A stored run the engine does not hold: its config and checkpoint, loaded on demand. */
      source?: GenerateSource;
    }
  | { type: 'analyze'; matrix?: string };

/** What the worker needs to rebuild a stored run's base and tuned models (issue 16). */
export interface GenerateSource {
  config: RunConfig;
  resume: ResumeState;
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
}

/** A person's own model files, read on the page and handed to the worker. */
export interface LocalFiles {
  files: { name: string; bytes: Uint8Array }[];
}

/** What the page keeps (IndexedDB) so a reload can resume a run from its last checkpoint. */
export interface ResumeState {
  step: number;
  /** Trainable tensors by name, plus optimizer moments `m:<name>`, `v:<name>`. */
  tensors: Record<string, Float32Array>;
  /** The method's complete adapter state (frozen factors, bases, metadata) for export; absent for full fine-tuning. */
  adapter?: { tensors: Record<string, Float32Array>; meta: Record<string, unknown> };
}

export interface EngineApi {
  init(onEvent: (e: EngineEvent) => void): Promise<AdapterDescription>;
  /**
   * The methods on offer, as plain data from the worker's adapter registry (worker/methods.ts): the page
   * keeps them in its store and never bundles the registry. Needs no GPU: it may be called before init.
   */
  methods(): Promise<MethodMeta[]>;
  /**
   * A method's own cross-field checks (its record's `validate`, code that stays in the worker) for a
   * draft config: messages as `validateRun` words them; [] when the method has none or the draft does
   * not parse yet (the page's schema checks report that).
   */
  checkMethod(config: unknown): Promise<string[]>;
  /**
   * Adapter files from a stored run's checkpoint (worker/peft-files.ts), through the engine's one PEFT
   * exporter: what the page's run export zips under adapter/.
   */
  peftFiles(req: PeftFilesRequest): Promise<Record<string, Uint8Array>>;
  run(cmd: Extract<Command, { type: 'run' }>): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  generate(cmd: Extract<Command, { type: 'generate' }>): Promise<void>;
  /** Stop the generation in progress after its current token; 'generated' then arrives with cancelled: true. */
  cancelGenerate(): Promise<void>;
  analyze(cmd: Extract<Command, { type: 'analyze' }>): Promise<void>;
  /**
   * Files for the current run's adapter: PEFT's `adapter_config.json` + `adapter_model.safetensors`
   * when PEFT can load the method (residual methods converted losslessly), else — and always with
   * `merged: true` — the merged model (`config.json` + `model.safetensors`). `notes` says which.
   */
  exportAdapter(opts: { merged?: boolean }): Promise<AdapterExport>;
  /** Run one matmul on the GPU and compare it with the CPU reference (the page's self-test). */
  selfTest(): Promise<SelfTestReport>;
  /**
   * Time a config's training step on this adapter without creating a run (the experiments gallery's
   * estimate): build the trainer, one warm-up step (pipelines compile), then `steps` timed steps and one
   * evaluation; everything is released after. Call it only while no run is in progress.
   */
  calibrate(cmd: { config: RunConfig; steps?: number }): Promise<CalibrationReport>;
  /**
   * One model-free matrix fit of an experiment (src/engine/experiments/matrix-fit.ts: a target of
   * controlled spectrum fitted by a LoRA or Kronecker adapter on the GPU) — the flat-spectra preset's runs.
   * Call it only while no run is in progress.
   */
  fitMatrix(cmd: { fit: FitConfig }): Promise<FitResult>;
  /** The training data as the model will see it: first examples as tokens with the loss mask, length figures. No GPU. */
  previewData(cmd: {
    config: RunConfig;
    modelFiles?: LocalFiles;
    datasetFile?: { name: string; bytes: Uint8Array };
    n?: number;
  }): Promise<DataPreview>;
  /**
   * Bring a hub model (`owner/name[@revision]`) into the browser's model library, resuming a partial
   * download; progress arrives as 'download' events. Rejects with the hub's one-line explanation.
   */
  hubDownload(cmd: { spec: string; endpoint: string; token?: string }): Promise<HubDownloadResult>;
  /** Stop the download in progress (pause or cancel): what arrived stays for resuming. */
  hubCancel(): Promise<void>;
  libraryList(): Promise<LibraryModel[]>;
  libraryDelete(repo: string): Promise<void>;
  /** A stored snapshot's files with their sha256 and size: the run config's content hashes. */
  libraryManifest(repo: string, commit: string): Promise<{ name: string; sha256: string; size: number }[]>;
  /** A stored snapshot's config.json, parsed. */
  libraryConfig(repo: string, commit: string): Promise<Record<string, unknown>>;
  /**
   * Open a PEFT adapter for analysis, no training (issue 11 item 5; worker/adapter-analysis.ts): adapter and
   * base downloaded into the library as needed ('download' events), merged, every adapted matrix analysed.
   * Rejects with one line for what cannot be represented.
   */
  analyzeAdapter(req: AdapterAnalysisRequest): Promise<AdapterAnalysisResult>;
  /** The run as a ready Python project (issue 14; worker/python-export.ts): the files the CLI's export --python writes. */
  pythonProject(req: PythonProjectRequest): Promise<PythonProjectFiles>;
  /**
   * An experiment as one Python project (worker/python-export.ts): the files the CLI's `experiment export
   * --python OUT` writes (runs/NN-…/train.py per run, sweep.sh, sweep_array.sh, experiment.json, runs.json).
   */
  pythonExperiment(req: PythonExperimentRequest): Promise<PythonProjectFiles & { runs: number }>;
  /** PHLoRA extraction from a full fine-tuning run's checkpoint (issue 12 item 3; worker/run-tools.ts). */
  extractRun(req: ExtractRequest): Promise<ExtractResult>;
  /** PEFT's intruder mitigation on a LoRA run's checkpoint, with probe loss before/after on the GPU (issue 12 item 5). */
  mitigateRun(req: MitigateRequest): Promise<MitigateResult>;
  /**
   * An experiment's final-state measurement on a finished page run (issue 13; worker/experiment-measure.ts):
   * the run's final checkpoint restored, then the engine runner's measureFinalState — DyLoRA's per-rank
   * validation loss ('rank-eval'), PHLoRA's energy and re-merged loss per extracted rank ('extract').
   * Call it only while no run is in progress.
   */
  experimentMeasure(req: ExperimentMeasureRequest): Promise<ExperimentMeasureResult>;
  /**
   * After a lost device: acquire a new adapter and device in this worker and a fresh runner on it
   * (pipelines and buffers are per device, so nothing of the old one is reused). The page then
   * resumes the interrupted run from its last checkpoint (`run` with `resume`).
   */
  recoverDevice(): Promise<AdapterDescription>;
  /**
   * Debug/test only (issue 17): destroy the real GPU device with `device.destroy()` — now, or right
   * after step `afterStep` of the active run (after that step's checkpoint, if any). The engine then
   * sees `device.lost` as it would after a driver reset.
   */
  loseDevice(opts?: { afterStep?: number }): Promise<void>;
  /** Debug/test only: checkpoint after every `steps`-th step instead of every few seconds (0: back to time-based). */
  setCheckpointEvery(steps: number): Promise<void>;
}

// ---- method metadata (issue 15 item 1) ----------------------------------------------------------------

/**
 * What the page knows of a method: its registry record (src/engine/adapters/types.ts AdapterMethod)
 * without the code — structured-cloneable, so it crosses postMessage.
 */
export interface MethodMeta {
  id: string;
  label: string;
  /** Position in the method lists (lower first); the list arrives sorted by it. */
  order: number;
  /** Paper link (arXiv). */
  paper: string;
  description: string;
  /** One form control per parameter (also the run-link schema). */
  params: MethodParamSpec[];
  /** Trains every base weight (full fine-tuning): targets and rank do not apply. */
  trainsBase: boolean;
  /** The learning rate the form proposes, and its source (absent: the page's DEFAULT_LR). */
  defaultLr?: { value: number; source: string };
  /** How PEFT loads the method's result (kind + note). */
  peft: PeftSupport;
  /** The method has its own cross-field checks (`checkMethod` runs them in the worker). */
  crossChecks: boolean;
}

export interface PeftFilesRequest {
  config: RunConfig;
  arch: ModelConfig;
  resume: ResumeState;
}

// ---- adapter analysis (issue 11 item 5) --------------------------------------------------------------

export interface AdapterAnalysisRequest {
  /** A hub adapter repo (`owner/name[@revision]`) or its files read on the page. */
  adapter: { hub: string } | { files: { name: string; bytes: Uint8Array }[]; name: string };
  /** The base (hub id or built-in id); default: adapter_config.json's base_model_name_or_path. */
  base?: string;
  endpoint: string;
  token?: string;
  k: number;
  eps: number;
}

export interface ExtractRequest {
  config: RunConfig;
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
  /** The run's checkpoint tensors (tuned weights by name). */
  tensors: Record<string, Float32Array>;
  /** Module names to extract (the run's matrices). */
  matrices: string[];
  /** Uniform rank, or (when absent) the smallest rank reaching `energy` per matrix. */
  rank?: number;
  energy?: number;
}

export interface ExtractResult {
  matrices: {
    module: string;
    r: number;
    outDim: number;
    inDim: number;
    energyCurve: number[];
    captured: number;
    relError: number;
  }[];
  r: number;
  rankPattern: Record<string, number>;
  files: { name: string; bytes: Uint8Array }[];
  notes: string[];
}

export interface MitigateRequest {
  config: RunConfig;
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
  /** The run's adapter state (checkpoint): lora_A/lora_B by module, meta.ranks, meta.scaling. */
  adapter: { tensors: Record<string, Float32Array>; meta: Record<string, unknown> };
  lambda: number;
  k: number;
  eps: number;
}

export interface MitigateResult {
  layers: { module: string; before: number; after: number; minMaxCos: number }[];
  before: number;
  after: number;
  /** Mean loss on the forgetting probe (or the validation split) with the adapter, then mitigated. */
  probeBefore: number;
  probeAfter: number;
  probeSplit: 'probe' | 'val';
  files: { name: string; bytes: Uint8Array }[];
  notes: string[];
}

export interface PythonProjectRequest {
  config: RunConfig;
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
}

export interface PythonProjectFiles {
  files: { name: string; bytes: Uint8Array }[];
  notes: string[];
}

export interface AdapterAnalysisResult {
  adapter:
    | { source: 'hub'; repo: string; commit: string; files: { name: string; sha256: string }[] }
    | { source: 'files'; name: string; files: { name: string; sha256: string }[] };
  base:
    | { source: 'hub'; repo: string; commit: string; files: { name: string; sha256: string }[] }
    | { source: 'builtin'; id: string; hash: string };
  modelType: string;
  /** type: the adapter's peft_type (absent in analyses stored before HRA was read: LoRA); alpha 0 for HRA. */
  peft: {
    type?: 'LORA' | 'ADALORA' | 'HRA';
    r: number;
    alpha: number;
    useRslora: boolean;
    modules: number;
    ranks: number[];
  };
  snapshots: SpectrumSnapshot[];
  ms: number;
}

export interface AdapterExport {
  kind: 'peft' | 'merged';
  files: { name: string; bytes: Uint8Array }[];
  notes: string[];
}

export interface CalibrationReport {
  /** Building the model, data and method (once per run). */
  prepareMs: number;
  /** Median of the timed training steps (after the warm-up step). */
  stepMs: number;
  /** One evaluation of `eval.batches` batches (0 when the config evaluates never). */
  evalMs: number;
  adapter: string;
}

export interface SelfTestReport {
  ok: boolean;
  kernel: string;
  shape: [number, number, number];
  maxAbsDiff: number;
  message: string;
  ms: number;
}

// ---- events --------------------------------------------------------------------------------------

export type RunState = 'idle' | 'preparing' | 'running' | 'paused' | 'stopped' | 'done' | 'error';

/** Structure-of-arrays batch of per-step metrics (transferable). NaN where a metric was not measured. */
export interface MetricsBatch {
  step: Int32Array;
  loss: Float32Array;
  lr: Float32Array;
  gradNorm: Float32Array;
  tokensPerSec: Float32Array;
  /** Validation loss and forgetting-probe loss, measured every `eval.every` steps (NaN otherwise). */
  valLoss: Float32Array;
  probeLoss: Float32Array;
  /**
   * Method figures from its step hooks (LoRA-Pro's loraProGap/loraGap, AdaLoRA's budget, ReLoRA's
   * restarts): one column per name, NaN on rows without it. Absent when the method reports none.
   */
  extra?: Record<string, Float32Array>;
}

/** GPU bytes by category plus parameter counts (the trainer's own report). */
export type { MemoryReport } from '../engine/train';

export interface SpectrumSnapshot {
  step: number;
  name: string; // e.g. "h.0.attn.c_attn"
  shape: [number, number]; // (out, in)
  sigmaBase: Float32Array;
  sigmaTuned: Float32Array;
  sigmaDelta: Float32Array;
  erank: number;
  stableRank: number;
  deltaErank: number;
  deltaStableRank: number;
  alpha: number;
  alphaXmin: number;
  intruders: {
    k: number;
    eps: number;
    count: number;
    maxCos: Float32Array /* (k) */;
    sweep: { eps: number; count: number }[];
    indices?: number[];
    /**
     * Per top-k vector, the norm of its projection onto W0's vectors with σ within ×1.5 of its own:
     * ≥ 0.5 makes an intruder a rotation inside a near-degenerate cluster, not a new direction
     * (src/engine/analysis/intruders.ts states the rule).
     */
    clusterNorm?: Float32Array /* (k) */;
    /** ‖ΔW‖F / ‖W0‖F, shown beside every count. */
    relFrobenius?: number;
  };
  /** log10-binned eigenvalue (σ²) density of the tuned matrix, for the log-log ESD plot. */
  esd?: { log10Edges: number[]; counts: number[] };
  /** Principal angles (degrees) between ΔW's top column space and W0's top singular subspace. */
  anglesDeg?: number[];
  /** |U_tunedᵀ U_base| top-k × top-K block, row-major (k, K). */
  overlap: Float32Array;
  overlapCols: number;
}

export type EngineEvent =
  | { type: 'ready'; adapter: AdapterDescription }
  | { type: 'state'; runId: string; state: RunState; step: number; message?: string }
  | {
      type: 'prepared';
      runId: string;
      totalSteps: number;
      memory: MemoryReport;
      modelHash: string;
      datasetHash: string;
      matrices: string[];
      rankAllocation?: Record<string, number>;
    }
  | { type: 'metrics'; runId: string; batch: MetricsBatch; memory?: MemoryReport; elapsedMs: number }
  | { type: 'spectra'; runId: string; snapshots: SpectrumSnapshot[] }
  | { type: 'checkpoint'; runId: string; resume: ResumeState }
  /** Streaming: the text so far of one side (base first, then tuned), after each new token. */
  | {
      type: 'generating';
      runId?: string;
      prompt: string;
      side: 'base' | 'tuned';
      text: string;
      tokens: number;
      maxTokens: number;
    }
  | { type: 'generated'; runId?: string; base: string; tuned: string; prompt: string; cancelled?: boolean }
  | { type: 'done'; runId: string; summary: Record<string, unknown> }
  /** Hub download progress of one file of `spec` (hubDownload). */
  | { type: 'download'; spec: string; progress: DownloadProgress }
  | { type: 'error'; runId?: string; error: SerializedGpuError; step?: number };
