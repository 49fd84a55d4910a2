/**
 * GPT-2 written with TensorFlow.js ops and trained with its autograd — the peer of `bench step`.
 * Same architecture, parameter names and layouts as src/engine/model/gpt2.ts (HF Conv1D weights
 * (in, out), learned positions, pre-LayerNorm blocks, GELU tanh, tied output): token gather + position
 * add, LayerNorm from mean/variance ops, causal attention as batched matmuls with an additive −1e9 mask
 * and softmax, softmax cross-entropy as logsumexp − target logit (masked mean), `tf.variableGrads` for
 * the backward, the same global-norm clip as ours (PyTorch clip_grad_norm_, max 1 by default) and
 * `tf.train.adam` for the update.
 *
 * Optimizer: PLAIN Adam. tfjs has no decoupled weight decay; the bench runs ours with weightDecay 0,
 * where AdamW and Adam are the same update, so the two steps do the same arithmetic.
 *
 * Only functional `tf.xxx(...)` calls: tfjs-core alone does not install the chained `t.add(…)` API.
 * Benchmark code (tfjs is a dev dependency); the engine never imports this.
 */
import type { NamedTensorMap, Optimizer, Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../engine/model/config';
import { gpt2ParamSpecs } from '../../engine/model/gpt2';
import { loadTfjsWebgpu, type Tf } from './tfjs';

/**
 * tfjs on WebGPU with autograd: tfjs-core alone registers no gradient functions (the `@tensorflow/tfjs`
 * umbrella package does), so import its registration module once.
 */
export async function loadTfjsWithGradients(): Promise<Tf> {
  const tf = await loadTfjsWebgpu();
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  return tf;
}

export interface TfGpt2Options {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Global-norm clip threshold; ≤ 0 disables clipping. */
  gradClip?: number;
}

const GELU_K = Math.sqrt(2 / Math.PI);
/** tfjs variable names are process-global: each instance gets its own prefix. */
let instances = 0;

export class TfGpt2 {
  readonly tf: Tf;
  readonly cfg: ModelConfig;
  readonly vars = new Map<string, Variable>();
  private readonly opt: Optimizer;
  private readonly gradClip: number;
  private readonly masks = new Map<number, Tensor>();

  /** `weights(name)` gives each parameter's initial values (HF name, our layout). */
  constructor(tf: Tf, cfg: ModelConfig, weights: (name: string) => Float32Array, o: TfGpt2Options) {
    this.tf = tf;
    this.cfg = cfg;
    const id = instances++;
    for (const s of gpt2ParamSpecs(cfg)) {
      const init = tf.tensor(weights(s.name), s.shape);
      this.vars.set(s.name, tf.variable(init, true, `tfgpt2-${id}/${s.name}`));
      init.dispose();
    }
    this.opt = tf.train.adam(o.lr, o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8);
    this.gradClip = o.gradClip ?? 1;
  }

  private p(name: string): Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`tfjs gpt2: no parameter ${name}`);
    return v;
  }

  /** (T, T) additive causal mask: 0 where s ≤ t, −1e9 above the diagonal. */
  private causalMask(T: number): Tensor {
    let m = this.masks.get(T);
    if (!m) {
      const a = new Float32Array(T * T);
      for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) a[t * T + s] = -1e9;
      m = this.tf.keep(this.tf.tensor(a, [T, T])); // cached across steps: out of every tidy scope
      this.masks.set(T, m);
    }
    return m;
  }

  private layerNorm(x: Tensor2D, prefix: string): Tensor2D {
    const tf = this.tf;
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), -1, true);
    const xhat = tf.mul(xc, tf.rsqrt(tf.add(variance, this.cfg.layerNormEps)));
    return tf.add(tf.mul(xhat, this.p(`${prefix}.weight`)), this.p(`${prefix}.bias`)) as Tensor2D;
  }

  /** y (N, out) = x (N, in) · W (in, out) + b. */
  private linear(x: Tensor2D, name: string): Tensor2D {
    const tf = this.tf;
    return tf.add(tf.matMul(x, this.p(`${name}.weight`)), this.p(`${name}.bias`)) as Tensor2D;
  }

  private gelu(x: Tensor2D): Tensor2D {
    const tf = this.tf;
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(x, tf.square(x)), 0.044715)), GELU_K);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as Tensor2D;
  }

  private attention(qkv: Tensor2D, B: number, T: number): Tensor2D {
    const tf = this.tf;
    const { nEmbd: C, nHead: NH } = this.cfg;
    const HS = C / NH;
    const heads = (x: Tensor) => tf.transpose(tf.reshape(x, [B, T, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(HS)), this.causalMask(T)); // (B, NH, T, T)
    const att = tf.softmax(scores, -1);
    const y = tf.matMul(att, v); // (B, NH, T, HS)
    return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, C]) as Tensor2D;
  }

  /** Mean masked cross-entropy of one batch (builds the graph; call inside variableGrads or tidy). */
  loss(tokens: Tensor, targets: Tensor, mask: Tensor, maskSum: number, B: number, T: number): Scalar {
    const tf = this.tf;
    const { nEmbd: C, vocabSize: V, nLayer: L } = this.cfg;
    const N = B * T;
    const wte = this.p('wte.weight');
    const pos = tf.slice(this.p('wpe.weight'), [0, 0], [T, C]); // (T, C)
    let x = tf.reshape(tf.add(tf.reshape(tf.gather(wte, tokens), [B, T, C]), pos), [N, C]) as Tensor2D;
    for (let l = 0; l < L; l++) {
      const h = `h.${l}`;
      const qkv = this.linear(this.layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`);
      x = tf.add(x, this.linear(this.attention(qkv, B, T), `${h}.attn.c_proj`)) as Tensor2D;
      const fc = this.gelu(this.linear(this.layerNorm(x, `${h}.ln_2`), `${h}.mlp.c_fc`));
      x = tf.add(x, this.linear(fc, `${h}.mlp.c_proj`)) as Tensor2D;
    }
    const logits = tf.matMul(this.layerNorm(x, 'ln_f'), wte, false, true); // (N, V), tied head
    const onehot = tf.cast(tf.oneHot(targets, V), 'float32');
    const nll = tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, onehot), -1)); // (N)
    return tf.div(tf.sum(tf.mul(nll, mask)), Math.max(1, maskSum)) as Scalar;
  }

  /** One training step: forward, autograd backward, global-norm clip, Adam. Resolves once the update has run. */
  async step(
    inputs: Int32Array,
    targets: Int32Array,
    mask: Float32Array,
    B: number,
    T: number,
  ): Promise<{ loss: number; gradNorm: number }> {
    const tf = this.tf;
    let maskSum = 0;
    for (const m of mask) maskSum += m;
    const tTok = tf.tensor1d(inputs, 'int32'),
      tTgt = tf.tensor1d(targets, 'int32'),
      tMask = tf.tensor1d(mask, 'float32');
    const varList = [...this.vars.values()];
    const { value, grads } = tf.variableGrads(() => this.loss(tTok, tTgt, tMask, maskSum, B, T), varList);
    const maxNorm = this.gradClip;
    const { clipped, norm } = tf.tidy(() => {
      // A chain of adds, not addN: tfjs's addN binds every input at once and the device's limit is 8 storage buffers.
      const norm = tf.sqrt(
        Object.values(grads)
          .map((g) => tf.sum(tf.square(g)))
          .reduce((a, b) => tf.add(a, b)),
      );
      const scale = maxNorm > 0 ? tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1) : tf.scalar(1);
      const clipped: NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) clipped[k] = tf.mul(g, scale);
      return { clipped, norm };
    });
    this.opt.applyGradients(clipped);
    // Read the loss, the norm and one updated weight: the step's last dispatches have run.
    const probe = tf.slice(this.p('wte.weight'), [0, 0], [1, 1]);
    const [lossV, normV] = await Promise.all([value.data(), norm.data(), probe.data()]);
    tf.dispose([tTok, tTgt, tMask, value, norm, probe, ...Object.values(grads), ...Object.values(clipped)]);
    return { loss: lossV[0], gradNorm: normV[0] };
  }

  dispose(): void {
    this.opt.dispose();
    this.tf.dispose([...this.vars.values(), ...this.masks.values()]);
    this.vars.clear();
    this.masks.clear();
  }
}
