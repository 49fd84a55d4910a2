/**
 * The training loop's engine: one Trainer per run. A step is one command encoder and one submit —
 * zero grads, forward, backward, per-tensor Σg², global-norm clip, AdamW on every trainable tensor
 * — followed by one small readback (per-token losses, per-tensor Σg², the clip pair). Everything is a
 * pure function of (config, seed, adapter): same inputs ⇒ bit-identical losses.
 */
import type { Gpu, GpuTensor } from '../gpu/device';
import { sumSquaresInto, globalNormClip } from '../gpu/kernels/reduce';
import { adamwStep, createStepScalars, writeStepScalars } from '../gpu/kernels/adamw';
import { Batcher, evalBatches, type Batch, type TokenStream } from './data/batcher';
import { learningRate } from './optim/schedule';
import { splitModuleName, type LanguageModel } from './model/language-model';
import { createModel, selectLinears } from './model/families';
import type { ModelOptions } from './model/vocab-params';
import { getMethod, listMethods, resolveMethodParams } from './adapters/registry';
import { assertValidRun } from './validate';
import { adapterLimits } from './memory-plan';
import { DivergenceMonitor } from './divergence';
import { scanFinite } from './analysis/computable';
import type { AdapterMethod, MethodInstance, TrainableTensor } from './adapters/types';
import type { Linear } from './model/linear';
import type { RunInputs } from './inputs';
import { ConfigError } from './config';
import { scale as scaleInPlace } from '../gpu/kernels/elementwise';
import type { OptimizerStateBytes } from './optim/projector';

export interface StepMetrics {
  step: number; // 1-based count of completed steps
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  ms: number;
  /** Method-specific per-step figures from its step hooks (AdaLoRA's regulariser, LoRA-Pro's ‖g̃ − G‖). */
  extra?: Record<string, number>;
}

export interface MemoryReport {
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  adapter: number;
  analysis: number;
  scratch: number;
  total: number;
  trainableParams: number;
  totalParams: number;
  /** Exact optimizer-state bytes (moments vs projection bases), independent of buffer rounding. */
  optimizerState?: OptimizerStateBytes;
}

/** A NaN or Inf stopped the run; the parameters still hold the last good step. */
export class NonFiniteError extends Error {
  readonly step: number;
  readonly tensor: string;
  constructor(step: number, tensor: string, what: string) {
    super(
      `non-finite ${what} at step ${step} in ${tensor}; the run stopped and kept the parameters of step ${step - 1}`,
    );
    this.name = 'NonFiniteError';
    this.step = step;
    this.tensor = tensor;
  }
}

/**
 * The loss stayed finite but ran away (divergence.ts). A NonFiniteError subclass so every caller that
 * stops on NaN stops here too; unlike NaN, the diverged step's update has been applied.
 */
export class DivergenceError extends NonFiniteError {
  constructor(step: number, reason: string, lr: number) {
    super(step, 'loss', 'loss');
    this.name = 'DivergenceError';
    this.message = `${reason}; the run stopped (lower train.lr, now ${lr})`;
  }
}

interface OptState {
  t: TrainableTensor;
  m: GpuTensor; // param.shape, or the projector's stateShape
  v: GpuTensor;
  /** With a projector: the projected gradient and the low-rank update Adam writes (stateShape). */
  projected?: GpuTensor;
  update?: GpuTensor;
}

export class Trainer {
  readonly gpu: Gpu;
  readonly inputs: RunInputs;
  readonly model: LanguageModel;
  readonly method: MethodInstance;
  readonly B: number;
  readonly T: number;
  /** Completed steps. */
  step = 0;
  private readonly batcher: Batcher;
  private readonly opt: OptState[];
  private readonly stepScalars: GpuTensor;
  private readonly partials: GpuTensor; // (count) Σ g² per trainable
  private readonly clip: GpuTensor; // (2) [norm, scale]
  private readonly readback: GpuTensor; // (N + count + 2)
  private readonly evalCache = new Map<TokenStream, Batch[]>();
  private readonly divergence = new DivergenceMonitor();

  private constructor(gpu: Gpu, inputs: RunInputs, model: LanguageModel, method: MethodInstance, batcher: Batcher) {
    this.gpu = gpu;
    this.inputs = inputs;
    this.model = model;
    this.method = method;
    this.batcher = batcher;
    this.B = inputs.config.train.batchSize;
    this.T = inputs.config.train.contextLength;
    this.opt = method.trainables.map((t) => {
      const shape = t.projector?.stateShape ?? t.param.shape;
      const o: OptState = {
        t,
        m: gpu.zeros(shape, `adam.m:${t.name}`, 'optimizer'),
        v: gpu.zeros(shape, `adam.v:${t.name}`, 'optimizer'),
      };
      if (t.projector) {
        o.projected = gpu.zeros(shape, `projected-grad:${t.name}`, 'scratch');
        o.update = gpu.zeros(shape, `projected-update:${t.name}`, 'scratch');
      }
      return o;
    });
    const count = Math.max(1, this.opt.length);
    this.stepScalars = createStepScalars(gpu);
    this.partials = gpu.zeros([count], 'grad-norm-partials', 'optimizer');
    this.clip = gpu.zeros([2], 'grad-clip', 'optimizer');
    this.readback = gpu.tensor([this.B * this.T + count + 2], 'step-readback', 'scratch');
  }

  /**
   * The one validation layer (validate.ts) on these inputs: targets against the model, evaluation
   * bounded by the data, the memory plan against this adapter — the rules the CLI and the page apply
   * too. Throws a ConfigError (one line per problem); returns the plan and the notes (warnings).
   */
  static check(
    gpu: Gpu,
    inputs: RunInputs,
    opts: { memoryBudgetBytes?: number } = {},
  ): ReturnType<typeof assertValidRun> {
    return assertValidRun(inputs.config, inputs.modelConfig, {
      methods: listMethods(),
      data: {
        trainTokens: inputs.data.train.tokens.length,
        valTokens: inputs.data.val.tokens.length,
        probeTokens: inputs.data.probe?.tokens.length,
      },
      limits: adapterLimits(gpu.device.limits, opts.memoryBudgetBytes),
    });
  }

  /** opts.model: model creation options (tests force small vocabulary shards with maxShardRows). */
  static async create(
    gpu: Gpu,
    inputs: RunInputs,
    opts: { memoryBudgetBytes?: number; model?: ModelOptions } = {},
  ): Promise<Trainer> {
    const cfg = inputs.config;
    // Validate the method before allocating anything: a config error must not leak GPU memory.
    const m = getMethod(cfg.method.id);
    const params = resolveMethodParams(m, cfg.method.params);
    const problems = m.validate?.(params, cfg) ?? [];
    if (problems.length) throw new ConfigError(problems.join('\n'));
    Trainer.check(gpu, inputs, opts);
    const model = createModel(gpu, inputs.modelConfig, inputs.weights, cfg.seed, opts.model);
    try {
      return await Trainer.build(gpu, inputs, model, m, params);
    } catch (e) {
      model.destroy();
      throw e;
    }
  }

  private static async build(
    gpu: Gpu,
    inputs: RunInputs,
    model: LanguageModel,
    m: AdapterMethod,
    params: Record<string, number | boolean | string>,
  ): Promise<Trainer> {
    const cfg = inputs.config;
    const B = cfg.train.batchSize,
      T = cfg.train.contextLength;
    model.ensureActivations(B, T);
    const layout = cfg.data.layout;
    const batcher = new Batcher(inputs.data.train, { B, T, seed: cfg.seed, purpose: 'data/train', layout });
    const targets = selectTargets(model, cfg.targets.modules, cfg.targets.layers);
    const rankDefault = typeof params.rank === 'number' ? params.rank : 8;
    const instance = await m.init({
      gpu,
      model,
      config: cfg,
      params,
      targets,
      seed: cfg.seed,
      rankFor(layer: Linear) {
        const o = cfg.targets.rankOverrides;
        const type = splitModuleName(layer.name)?.type ?? layer.name;
        return o[layer.name] ?? o[type] ?? rankDefault;
      },
      async runBatches(n, opts) {
        const initBatcher = new Batcher(inputs.data.train, { B, T, seed: cfg.seed, purpose: 'data/init', layout });
        for (let i = 0; i < n; i++) {
          const b = initBatcher.batchAt(i);
          model.setBatch(B, T, b.inputs, b.targets, b.mask);
          const enc = gpu.encoder(`init-batch ${i}`);
          model.forward(enc, B, T);
          if (opts.withGrad) model.backward(enc, B, T, 1 / Math.max(1, sum(b.mask)));
          enc.submit();
          await opts.visit(i);
        }
      },
    });
    return new Trainer(gpu, inputs, model, instance, batcher);
  }

  /**
   * After a non-finite step: the first parameter (model specs in forward order, then the method's
   * trainables) or activation (forward order) holding a NaN/Inf. Reads tensors back; runs only on failure.
   */
  private async firstNonFinite(): Promise<{ name: string; what: string } | null> {
    const bad = async (t: GpuTensor) => (await this.gpu.read(t)).some((v) => !Number.isFinite(v));
    for (const s of this.model.specs) {
      const t = this.model.params.get(s.name);
      if (t && (await bad(t))) return { name: s.name, what: 'parameter' };
    }
    for (const o of this.opt)
      if (!this.model.params.has(o.t.name) && (await bad(o.t.param))) return { name: o.t.name, what: 'parameter' };
    const acts: GpuTensor[] = [];
    const collect = (v: unknown, depth: number): void => {
      if (!v || typeof v !== 'object' || depth > 4) return;
      const t = v as Partial<GpuTensor>;
      if (t.buffer && Array.isArray(t.shape) && typeof t.label === 'string') acts.push(v as GpuTensor);
      else for (const x of Object.values(v)) collect(x, depth + 1);
    };
    collect(this.model.activations, 0);
    for (const t of acts) if (t.label !== 'act:dlogits' && (await bad(t))) return { name: t.label, what: 'activation' };
    return null;
  }

  get totalSteps(): number {
    return this.inputs.config.train.steps;
  }

  lrAt(step: number): number {
    const t = this.inputs.config.train;
    const lr = learningRate(step, {
      lr: t.lr,
      warmupSteps: Math.min(t.warmupSteps, t.steps),
      totalSteps: t.steps,
      schedule: t.schedule,
      minLrRatio: t.minLrRatio,
    });
    return this.method.lrFactor ? lr * this.method.lrFactor(step) : lr;
  }

  /** One optimizer step. Throws NonFiniteError (parameters untouched) on NaN/Inf. */
  async trainStep(): Promise<StepMetrics> {
    const t0 = performance.now();
    const cfg = this.inputs.config.train;
    const { B, T, gpu, model } = this;
    const N = B * T;
    const batch = this.batcher.batchAt(this.step);
    const maskSum = sum(batch.mask);
    model.setBatch(B, T, batch.inputs, batch.targets, batch.mask);
    const lr = this.lrAt(this.step);
    writeStepScalars(gpu, this.stepScalars, { lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, t: this.step + 1 });
    this.method.beforeStep?.(this.step);
    let enc = gpu.encoder(`train-step ${this.step + 1}`);
    model.zeroGrads(enc);
    this.method.zeroGrads?.(enc);
    model.forward(enc, B, T);
    model.backward(enc, B, T, 1 / Math.max(1, maskSum));
    let extra: Record<string, number> | undefined;
    if (this.method.afterBackward) {
      const r = await this.method.afterBackward({ enc, step: this.step });
      enc = r.enc;
      if (r.metrics) extra = { ...r.metrics };
    }
    this.opt.forEach((o, i) => sumSquaresInto(enc, { x: o.t.grad, partials: this.partials, slot: i }));
    globalNormClip(enc, { partials: this.partials, count: this.opt.length, maxNorm: cfg.gradClip, clip: this.clip });
    // Gradient projectors whose basis is due are refreshed from this step's gradient (GaLore Alg. 1).
    const due = this.opt.filter((o) => o.t.projector?.needsRefresh(this.step));
    if (due.length) {
      enc.submit();
      for (const o of due) await o.t.projector!.refresh(this.step, { m: o.m, v: o.v });
      enc = gpu.encoder(`train-step ${this.step + 1} (after projector refresh)`);
    }
    for (const o of this.opt) {
      const p = o.t.projector;
      if (p && o.projected && o.update) {
        // Adam on the projected gradient; its update lands in a zeroed scratch and is mapped back onto W.
        p.project(enc, o.projected);
        enc.clear(o.update);
        adamwStep(enc, {
          param: o.update,
          grad: o.projected,
          m: o.m,
          v: o.v,
          clip: this.clip,
          step: this.stepScalars,
          weightDecay: 0,
          lrScale: o.t.lrScale,
          label: `adamw (projected) ${o.t.name}`,
        });
        // Decoupled weight decay on the full W, as AdamW does (galore_torch's AdamW applies it to p).
        if (o.t.decay && cfg.weightDecay > 0)
          scaleInPlace(enc, { x: o.t.param, n: o.t.param.size, s: 1 - lr * o.t.lrScale * cfg.weightDecay });
        p.apply(enc, o.update);
        continue;
      }
      adamwStep(enc, {
        param: o.t.param,
        grad: o.t.grad,
        m: o.m,
        v: o.v,
        clip: this.clip,
        step: this.stepScalars,
        weightDecay: o.t.decay ? cfg.weightDecay : 0,
        lrScale: o.t.lrScale,
        label: `adamw ${o.t.name}`,
      });
    }
    const count = Math.max(1, this.opt.length);
    enc.copy(model.activations.losses, this.readback, N, 0, 0);
    enc.copy(this.partials, this.readback, count, 0, N);
    enc.copy(this.clip, this.readback, 2, 0, N + count);
    enc.submit();
    const rb = await gpu.read(this.readback, N + count + 2);
    gpu.throwIfFailed();
    const stepNo = this.step + 1;
    let lossSum = 0;
    for (let i = 0; i < N; i++) lossSum += rb[i];
    const loss = lossSum / Math.max(1, maskSum);
    const gradNorm = rb[N + count];
    const badGrad = this.opt.findIndex((_, i) => !Number.isFinite(rb[N + i]));
    if (!Number.isFinite(loss) || badGrad >= 0) {
      // issue 19 item 6: name the first tensor that went non-finite, in forward order — never just "loss"
      // (a finite loss with a non-finite gradient: the backward overflowed — name that gradient)
      const where = Number.isFinite(loss) ? null : await this.firstNonFinite();
      if (where) throw new NonFiniteError(stepNo, where.name, where.what);
      if (badGrad >= 0) throw new NonFiniteError(stepNo, this.opt[badGrad].t.name, 'gradient');
      throw new NonFiniteError(stepNo, 'loss', 'loss');
    }
    for (const o of this.opt)
      if (o.t.projector?.finish && o.projected && o.update)
        await o.t.projector.finish({
          step: this.step,
          lr: lr * o.t.lrScale,
          clipScale: rb[N + count + 1],
          projected: o.projected,
          update: o.update,
        });
    if (this.method.afterStep) {
      const byName = new Map(this.opt.map((o) => [o.t.name, o]));
      const more = await this.method.afterStep({
        step: this.step,
        moments: (name) => {
          const o = byName.get(name);
          if (!o) throw new Error(`afterStep: no trainable named ${name}`);
          return { m: o.m, v: o.v };
        },
      });
      if (more) extra = { ...extra, ...more };
    }
    this.step = stepNo;
    const diverged = this.divergence.observe(stepNo, loss);
    if (diverged) throw new DivergenceError(stepNo, diverged, cfg.lr);
    const ms = performance.now() - t0;
    return { step: stepNo, loss, lr, gradNorm, tokensPerSec: (N / ms) * 1000, ms, ...(extra ? { extra } : {}) };
  }

  /** Mean loss per counted token (nats) over the first `maxBatches` evaluation windows of a stream. */
  async evaluate(stream: TokenStream, maxBatches: number): Promise<number> {
    let batches = this.evalCache.get(stream);
    if (!batches || batches.length < maxBatches) {
      batches = evalBatches(stream, { B: this.B, T: this.T, maxBatches, layout: this.inputs.config.data.layout });
      this.evalCache.set(stream, batches);
    }
    return meanLoss(this.gpu, this.model, batches.slice(0, maxBatches), this.B, this.T);
  }

  memory(): MemoryReport {
    const u = this.gpu.pool.usage();
    const trainableParams = this.method.trainables.reduce((a, t) => a + t.param.size, 0);
    let moments = 0,
      projection = 0;
    for (const o of this.opt) {
      moments += o.m.size + o.v.size;
      projection += o.t.projector?.stateElements ?? 0;
    }
    return {
      ...u,
      optimizerState: { moments: moments * 4, projection: projection * 4, total: (moments + projection) * 4 },
      trainableParams,
      totalParams:
        this.model.parameterCount + (getMethod(this.inputs.config.method.id).trainsBase ? 0 : trainableParams),
    };
  }

  /** Trainable tensors and their AdamW moments (for resume). */
  async snapshot(): Promise<{ step: number; tensors: Record<string, Float32Array> }> {
    const tensors: Record<string, Float32Array> = {};
    for (const o of this.opt) {
      tensors[o.t.name] = await this.gpu.read(o.t.param);
      tensors[`m:${o.t.name}`] = await this.gpu.read(o.m);
      tensors[`v:${o.t.name}`] = await this.gpu.read(o.v);
      if (o.t.projector) tensors[`projector:${o.t.name}`] = await o.t.projector.save();
    }
    const extra = (await this.method.extraState?.()) ?? {};
    for (const [k, v] of Object.entries(extra)) tensors[`method:${k}`] = v.slice();
    return { step: this.step, tensors };
  }

  /**
   * The method's adapter state as arrays the caller owns. `MethodInstance.state()` may hand out arrays
   * the method keeps using (the residual methods' A0/B0, VeRA's shared projections); a caller that
   * transfers them to another thread would detach them and every later checkpoint would fail. So every
   * snapshot copies here, in one place, rather than trusting each method to return fresh arrays.
   */
  async adapterSnapshot(): Promise<{ tensors: Record<string, Float32Array>; meta: Record<string, unknown> }> {
    const st = await this.method.state();
    const tensors: Record<string, Float32Array> = {};
    for (const [name, t] of st.tensors) tensors[name] = t.slice();
    return { tensors, meta: structuredClone(st.meta) };
  }

  restore(s: { step: number; tensors: Record<string, Float32Array> }): void {
    for (const o of this.opt) {
      for (const [key, t] of [
        [o.t.name, o.t.param],
        [`m:${o.t.name}`, o.m],
        [`v:${o.t.name}`, o.v],
      ] as const) {
        const data = s.tensors[key];
        if (!data || data.length !== t.size) throw new Error(`resume: checkpoint lacks ${key} or its size differs`);
        const nf = scanFinite(data); // a checkpoint with NaN/Inf must not become the run's state (issue 19)
        if (nf.nonFinite)
          throw new Error(
            `resume: checkpoint tensor ${key} holds ${nf.nonFinite} non-finite values (first at index ${nf.first})`,
          );
        this.gpu.write(t, data);
      }
      const proj = s.tensors[`projector:${o.t.name}`];
      if (o.t.projector) {
        if (!proj) throw new Error(`resume: checkpoint lacks projector:${o.t.name}`);
        o.t.projector.load(proj);
      }
    }
    if (this.method.loadExtraState) {
      const extra: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(s.tensors)) if (k.startsWith('method:')) extra[k.slice(7)] = v;
      this.method.loadExtraState(extra);
    }
    this.step = s.step;
  }

  dispose(): void {
    this.method.dispose();
    for (const o of this.opt) {
      this.gpu.release(o.m);
      this.gpu.release(o.v);
      if (o.projected) this.gpu.release(o.projected);
      if (o.update) this.gpu.release(o.update);
    }
    for (const t of [this.stepScalars, this.partials, this.clip, this.readback]) this.gpu.release(t);
    this.model.destroy();
  }
}

/** Mean loss per counted token (nats) of a model over evaluation batches of shape (B, T); forward only. */
export async function meanLoss(
  gpu: Gpu,
  model: LanguageModel,
  batches: readonly Batch[],
  B: number,
  T: number,
): Promise<number> {
  let total = 0,
    count = 0;
  for (const b of batches) {
    model.setBatch(B, T, b.inputs, b.targets, b.mask);
    const enc = gpu.encoder('eval');
    model.forward(enc, B, T);
    model.loss(enc, B, T);
    enc.submit();
    const losses = await gpu.read(model.activations.losses, B * T);
    for (let i = 0; i < B * T; i++) total += losses[i];
    count += sum(b.mask);
  }
  return total / Math.max(1, count);
}

function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** Linear layers matching the config's module selectors (family names or presets) and layers. */
export function selectTargets(
  model: LanguageModel,
  modules: readonly string[],
  layers: readonly number[] | null,
): Linear[] {
  return selectLinears(model, modules, layers);
}
