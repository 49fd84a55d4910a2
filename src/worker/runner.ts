/**
 * WorkerRunner: drives one training run inside the worker and turns it into protocol events.
 * The loop yields to the worker's event loop between steps, so pause/stop/generate commands are
 * handled promptly; metrics are batched (~every 250 ms) and sent as transferred typed arrays.
 */
import { chatPrompt } from '../engine/data/chat';
import type { Gpu } from '../gpu/device';
import { GpuDeviceLostError, serializeGpuError } from '../gpu/errors';
import { resolveInputs, type RunInputs } from '../engine/inputs';
import { NonFiniteError, Trainer } from '../engine/train';
import type { LanguageModel } from '../engine/model/language-model';
import { createModel, peftNamingOf } from '../engine/model/families';
import { sampleText } from '../engine/generate';
import type {
  AdapterExport,
  Command,
  EngineEvent,
  MetricsBatch,
  ResumeState,
  RunState,
  SpectrumSnapshot,
} from './protocol';
import { exportPeft, PeftUnsupportedError } from '../engine/io/peft';
import { modelFiles } from '../engine/io/checkpoint';
import { SpectraTracker } from './spectra';
import { loadStoredRun, type StoredRunModels } from './stored-run';

type RunCmd = Extract<Command, { type: 'run' }>;

const METRICS_INTERVAL_MS = 250;
const CHECKPOINT_INTERVAL_MS = 5000;

export class MetricsBuffer {
  private rows: number[][] = [];
  private extras: (Record<string, number> | undefined)[] = [];
  push(
    step: number,
    loss: number,
    lr: number,
    gradNorm: number,
    tps: number,
    val: number,
    probe: number,
    extra?: Record<string, number>,
  ): void {
    this.rows.push([step, loss, lr, gradNorm, tps, val, probe]);
    this.extras.push(extra);
  }
  get size(): number {
    return this.rows.length;
  }
  drain(): MetricsBatch {
    const n = this.rows.length;
    const b: MetricsBatch = {
      step: new Int32Array(n),
      loss: new Float32Array(n),
      lr: new Float32Array(n),
      gradNorm: new Float32Array(n),
      tokensPerSec: new Float32Array(n),
      valLoss: new Float32Array(n),
      probeLoss: new Float32Array(n),
    };
    this.rows.forEach((r, i) => {
      b.step[i] = r[0];
      b.loss[i] = r[1];
      b.lr[i] = r[2];
      b.gradNorm[i] = r[3];
      b.tokensPerSec[i] = r[4];
      b.valLoss[i] = r[5];
      b.probeLoss[i] = r[6];
    });
    const keys = [...new Set(this.extras.flatMap((x) => (x ? Object.keys(x) : [])))];
    if (keys.length)
      b.extra = Object.fromEntries(
        keys.map((k) => [k, Float32Array.from(this.extras, (x) => (x && k in x ? x[k] : NaN))]),
      );
    this.rows = [];
    this.extras = [];
    return b;
  }
}

export class WorkerRunner {
  readonly gpu: Gpu;
  /** Sends an event to the page; the promise rejects when it cannot be delivered (e.g. a DataCloneError). */
  readonly emit: (e: EngineEvent, transfer?: Transferable[]) => unknown;
  private trainer: Trainer | null = null;
  private inputs: RunInputs | null = null;
  private baseModel: LanguageModel | null = null;
  private spectra: SpectraTracker | null = null;
  private runId = '';
  private state: RunState = 'idle';
  private paused = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Work that must not interleave with a step (generation, analysis): run between steps. */
  private sideTasks: (() => Promise<void>)[] = [];

  /** Milliseconds between periodic checkpoints (tests use 0: a checkpoint after every step). */
  private readonly checkpointIntervalMs: number;
  /** Checkpoint after every N-th step instead of every few seconds (0: time-based). Debug/test setting: known checkpoint steps. */
  checkpointEverySteps = 0;
  /** Debug/test: destroy the device right after this step (loseDevice). */
  private loseAfterStep: number | null = null;

  constructor(
    gpu: Gpu,
    emit: (e: EngineEvent, transfer?: Transferable[]) => unknown,
    opts: { checkpointIntervalMs?: number; checkpointEverySteps?: number } = {},
  ) {
    this.gpu = gpu;
    this.emit = emit;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
    this.checkpointEverySteps = opts.checkpointEverySteps ?? 0;
  }

  /**
   * Debug/test (issue 17): a real lost device. `device.destroy()` — not `Gpu.destroy()`, which marks the
   * loss as expected — so `device.lost` resolves and the next step fails as after a driver reset.
   * Now, or right after step `afterStep` (and its checkpoint) of the active run or the next one.
   */
  loseDevice(afterStep?: number): void {
    // with a step: armed for the active run, or for the next one to start
    if (afterStep !== undefined) this.loseAfterStep = afterStep;
    else this.gpu.device.destroy();
  }

  private setState(state: RunState, message?: string): void {
    this.state = state;
    this.emit({ type: 'state', runId: this.runId, state, step: this.trainer?.step ?? 0, message });
  }

  start(cmd: RunCmd): void {
    if (this.state === 'running' || this.state === 'paused' || this.state === 'preparing') {
      this.emit({
        type: 'error',
        runId: cmd.runId,
        error: { name: 'Error', kind: 'internal', message: 'a run is already in progress: stop it first' },
      });
      return;
    }
    this.cleanup();
    this.runId = cmd.runId;
    this.paused = false;
    this.stopRequested = false;
    this.loop = this.run(cmd).catch((e) => this.fail(e));
  }

  private async fail(e: unknown): Promise<void> {
    // A lost device often surfaces first as a failed readback, a moment before `device.lost` resolves:
    // wait briefly for it, so the run names the loss (the cause), not the readback (its symptom).
    if (!(e instanceof GpuDeviceLostError) && this.gpu.failure === null)
      await Promise.race([this.gpu.device.lost, new Promise((r) => setTimeout(r, 250))]);
    const lost = this.gpu.failure instanceof GpuDeviceLostError ? this.gpu.failure : null;
    const err = lost ?? e;
    const step = err instanceof NonFiniteError ? err.step : this.trainer?.step;
    this.emit({ type: 'error', runId: this.runId, error: serializeGpuError(err), step });
    this.setState('error', err instanceof Error ? err.message : String(err));
  }

  private async run(cmd: RunCmd): Promise<void> {
    this.setState('preparing');
    const sources = {
      modelFiles: cmd.modelFiles?.files,
      datasetFile: cmd.datasetFile,
    };
    const inputs = await resolveInputs(cmd.config, sources);
    this.inputs = inputs;
    // The untouched base model, for side-by-side generation and as W0 of the spectra.
    this.baseModel = createModel(this.gpu, inputs.modelConfig, inputs.weights, cmd.config.seed);
    const trainer = await Trainer.create(this.gpu, inputs);
    this.trainer = trainer;
    if (cmd.resume) trainer.restore(cmd.resume);
    this.spectra = new SpectraTracker(
      this.gpu,
      trainer,
      this.baseModel,
      cmd.config.analysis.k,
      cmd.config.analysis.eps,
    );
    this.emit({
      type: 'prepared',
      runId: this.runId,
      totalSteps: trainer.totalSteps,
      memory: trainer.memory(),
      modelHash: inputs.modelHash ?? '',
      datasetHash: inputs.datasetHash,
      matrices: this.spectra.matrices,
      rankAllocation: trainer.method.rankAllocation?.(),
    });
    this.setState('running');
    const cfg = cmd.config;
    const buf = new MetricsBuffer();
    const t0 = performance.now();
    let lastFlush = performance.now();
    let lastCheckpoint = performance.now();
    let finalLoss: number | null = null;
    const flush = () => {
      if (!buf.size) return;
      const batch = buf.drain();
      // every column's buffer, the method's extra columns (batch.extra: name → column) included
      const { extra, ...columns } = batch;
      const transfer = [...Object.values(columns), ...Object.values(extra ?? {})].map((a) => a.buffer as ArrayBuffer);
      this.emit(
        { type: 'metrics', runId: this.runId, batch, memory: trainer.memory(), elapsedMs: performance.now() - t0 },
        transfer,
      );
      lastFlush = performance.now();
    };
    // Step 0: val and probe loss of the untouched model, the baseline Compare reads every run against.
    if (cfg.eval.every > 0 && trainer.step === 0) {
      const val = await trainer.evaluate(inputs.data.val, cfg.eval.batches);
      const probe = inputs.data.probe ? await trainer.evaluate(inputs.data.probe, cfg.eval.batches) : NaN;
      buf.push(0, NaN, NaN, NaN, NaN, val, probe);
      flush();
    }
    // A first spectra snapshot at step 0: W0 against itself (no intruders by construction).
    if (cfg.analysis.every > 0) await this.emitSpectra();
    while (trainer.step < trainer.totalSteps && !this.stopRequested) {
      if (this.paused) {
        flush();
        await this.checkpoint();
        this.setState('paused');
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        if (this.stopRequested) break;
        this.setState('running');
      }
      const m = await trainer.trainStep();
      let val = NaN,
        probe = NaN;
      if (cfg.eval.every > 0 && (m.step % cfg.eval.every === 0 || m.step === trainer.totalSteps)) {
        val = await trainer.evaluate(inputs.data.val, cfg.eval.batches);
        if (inputs.data.probe) probe = await trainer.evaluate(inputs.data.probe, cfg.eval.batches);
      }
      buf.push(m.step, m.loss, m.lr, m.gradNorm, m.tokensPerSec, val, probe, m.extra);
      finalLoss = m.loss;
      if (performance.now() - lastFlush > METRICS_INTERVAL_MS) flush();
      if (cfg.analysis.every > 0 && (m.step % cfg.analysis.every === 0 || m.step === trainer.totalSteps)) {
        flush();
        await this.emitSpectra();
      }
      // every N steps when set (debug/tests: known checkpoint steps), else every few seconds
      const every = this.checkpointEverySteps;
      if (every > 0 ? m.step % every === 0 : performance.now() - lastCheckpoint >= this.checkpointIntervalMs) {
        // Metrics up to the checkpoint's step go out first, so a page that stores both never holds a
        // checkpoint ahead of its loss history.
        flush();
        await this.checkpoint();
        lastCheckpoint = performance.now();
      }
      if (this.loseAfterStep !== null && m.step >= this.loseAfterStep) {
        flush(); // the page holds this step's loss, as it would when a real device goes away
        this.loseAfterStep = null;
        this.gpu.device.destroy();
      }
      // Let queued commands (pause, stop, generate) arrive, then run side tasks between steps.
      await new Promise((r) => setTimeout(r, 0));
      await this.runSideTasks();
    }
    flush();
    await this.runSideTasks();
    await this.checkpoint();
    const summary = {
      steps: trainer.step,
      finalLoss,
      seconds: (performance.now() - t0) / 1000,
      adapter: this.gpu.name,
      memory: trainer.memory(),
      method: cfg.method.id,
    };
    this.emit({ type: 'done', runId: this.runId, summary });
    this.setState(this.stopRequested ? 'stopped' : 'done');
  }

  private async emitSpectra(): Promise<void> {
    if (!this.spectra) return;
    const snapshots: SpectrumSnapshot[] = await this.spectra.snapshot();
    const transfer: Transferable[] = [];
    for (const s of snapshots)
      transfer.push(
        s.sigmaBase.buffer,
        s.sigmaTuned.buffer,
        s.sigmaDelta.buffer,
        s.overlap.buffer,
        s.intruders.maxCos.buffer,
      );
    this.emit({ type: 'spectra', runId: this.runId, snapshots }, transfer);
  }

  private async checkpoint(): Promise<void> {
    if (!this.trainer) return;
    const snap = await this.trainer.snapshot();
    const resume: ResumeState = { step: snap.step, tensors: snap.tensors };
    const transfer = Object.values(snap.tensors).map((t) => t.buffer);
    if (this.trainer.inputs.config.method.id !== 'full') {
      // Copies the method owns nothing of: safe to transfer.
      resume.adapter = await this.trainer.adapterSnapshot();
      transfer.push(...Object.values(resume.adapter.tensors).map((t) => t.buffer));
    }
    try {
      // Awaited: a checkpoint that cannot reach the page must stop the run visibly, not fail in the console.
      await this.emit({ type: 'checkpoint', runId: this.runId, resume }, transfer);
    } catch (e) {
      throw new Error(`checkpoint failed at step ${snap.step}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }

  pause(): void {
    if (this.state === 'running') this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  stop(): void {
    this.stopRequested = true;
    this.paused = false;
    this.wake?.();
  }

  /** Run `task` between two steps of an active run, or now when no step can be in flight. */
  private schedule<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const wrapped = () => task().then(resolve, reject);
      if (this.state === 'running') this.sideTasks.push(wrapped);
      else void wrapped();
    });
  }

  private async runSideTasks(): Promise<void> {
    while (this.sideTasks.length) await this.sideTasks.shift()!();
  }

  generate(cmd: Extract<Command, { type: 'generate' }>): Promise<void> {
    return this.schedule(() => this.generateNow(cmd));
  }

  private async generateNow(cmd: Extract<Command, { type: 'generate' }>): Promise<void> {
    const models = await this.generationModels(cmd);
    if (!models) {
      this.emit({
        type: 'error',
        error: {
          name: 'Error',
          kind: 'internal',
          message: 'start a run first: generation compares the base and the tuned model',
        },
      });
      return;
    }
    const runId = cmd.runId;
    // a run on chats generates as it trained: the prompt as a user turn through the same chat template
    const chat = models.inputs.chatFormat;
    const o = {
      prompt: chat ? chatPrompt([{ role: 'user', content: cmd.prompt }], chat) : cmd.prompt,
      maxTokens: Math.min(512, Math.max(1, cmd.maxTokens)),
      temperature: cmd.temperature,
      topK: cmd.topK,
      topP: cmd.topP ?? 1,
      seed: cmd.seed,
    };
    this.generationCancelled = false;
    const tokenizer = models.inputs.tokenizer;
    // Stream each side's text as it grows (decoded whole each time: a byte tokenizer may split a character)
    const stream = (side: 'base' | 'tuned') => {
      const ids: number[] = [];
      return {
        onToken: (id: number) => {
          ids.push(id);
          const text = tokenizer.decode(ids);
          this.emit({
            type: 'generating',
            runId,
            prompt: cmd.prompt,
            side,
            text,
            tokens: ids.length,
            maxTokens: o.maxTokens,
          });
        },
        cancelled: () => this.generationCancelled,
      };
    };
    const base = await sampleText(this.gpu, models.base, tokenizer, o, stream('base'));
    const tuned = this.generationCancelled
      ? ''
      : await sampleText(this.gpu, models.tuned, tokenizer, o, stream('tuned'));
    const cancelled = this.generationCancelled;
    this.emit({ type: 'generated', runId, prompt: cmd.prompt, base, tuned, ...(cancelled ? { cancelled } : {}) });
  }

  /** A stored run's models, loaded from its checkpoint on demand (kept until another run is asked for). */
  private stored: StoredRunModels | null = null;

  /** The base and tuned models of the asked run: the one this runner trains, or a stored one. */
  private async generationModels(
    cmd: Extract<Command, { type: 'generate' }>,
  ): Promise<{ inputs: RunInputs; base: LanguageModel; tuned: LanguageModel } | null> {
    const own = this.trainer && this.inputs && this.baseModel;
    if (own && (!cmd.runId || cmd.runId === this.runId))
      return { inputs: this.inputs!, base: this.baseModel!, tuned: this.trainer!.model };
    if (!cmd.runId || !cmd.source) return null;
    const s = this.stored;
    if (s && s.runId === cmd.runId && s.step === cmd.source.resume.step) return s;
    this.stored = null;
    s?.dispose();
    this.stored = await loadStoredRun(this.gpu, cmd.runId, cmd.source);
    return this.stored;
  }

  private generationCancelled = false;
  /** Takes effect before the next token (not scheduled: it must overtake the generation it stops). */
  cancelGenerate(): void {
    this.generationCancelled = true;
  }

  /** The adapter as PEFT files where PEFT can load it, otherwise (or on request) the merged model. */
  exportAdapter(opts: { merged?: boolean }): Promise<AdapterExport> {
    return this.schedule(() => this.exportNow(opts));
  }

  private async exportNow(opts: { merged?: boolean }): Promise<AdapterExport> {
    const trainer = this.trainer;
    if (!trainer) throw new Error('no run to export: train or resume one first');
    const cfg = trainer.inputs.config;
    const mergedExport = async (notes: string[]): Promise<AdapterExport> => {
      const files = modelFiles(trainer.model.cfg, await trainer.method.merged());
      return {
        kind: 'merged',
        files,
        notes: [
          ...notes,
          `merged model: config.json + model.safetensors (Hugging Face ${trainer.model.family.label} layout)`,
        ],
      };
    };
    if (opts.merged) return mergedExport([]);
    try {
      const out = exportPeft(cfg, await trainer.method.state(), {
        convert: true,
        nLayer: trainer.model.cfg.nLayer,
        naming: peftNamingOf(trainer.model.cfg),
      });
      return { kind: 'peft', files: out.files, notes: out.notes };
    } catch (e) {
      if (e instanceof PeftUnsupportedError) return mergedExport([e.message]);
      throw e;
    }
  }

  analyze(_cmd: Extract<Command, { type: 'analyze' }>): Promise<void> {
    return this.schedule(() => this.emitSpectra());
  }

  /** Stop whatever runs and free this runner's GPU objects (after a lost device: before a new runner). */
  async dispose(): Promise<void> {
    this.stop();
    await this.loop?.catch(() => {});
    this.cleanup();
  }

  private cleanup(): void {
    this.stored?.dispose();
    this.stored = null;
    this.trainer?.dispose();
    this.baseModel?.destroy();
    this.trainer = null;
    this.baseModel = null;
    this.spectra = null;
    this.state = 'idle';
  }
}
