/**
 * CPU reference GPT-2: the whole model's loss and the gradient of every parameter, composed from the
 * per-family CPU references (embedding, layernorm, attention, elementwise/GELU, cross-entropy) with
 * the same parameter names and layouts as `Gpt2Model` (src/engine/model/gpt2.ts): Hugging Face names,
 * Conv1D weights stored (inDim, outDim), the output head tied to `wte.weight`.
 *
 * It is the test oracle for the GPU model (tests/engine/model-grad.test.ts) and is itself checked
 * against central finite differences of `gpt2LossRef`. It is NOT a usable CPU trainer: plain loops,
 * no batching tricks, tiny shapes only. It shares no code with the GPU path.
 *
 * Loss (the trainer's): L = Σₙ mask[n]·CE(logits[n], target[n]) / max(1, Σₙ mask[n]).
 *
 * Precision: the forward is float64 end to end (finite differences need it). The backward computes in
 * float64; the ref layernorm / cross-entropy / bias / embedding backwards round their RESULTS to float32
 * (they are the GPU kernels' oracles), which costs ~1e-7 relative — far below the GPU tolerance.
 * Matmuls are local float64 loops: ref/matmul.ts only has a float32-output variant.
 */
import type { ModelConfig } from '../model/config';
import { embeddingForwardF64, embeddingBackward } from './embedding';
import { layernormForwardF64, layernormBackward } from './layernorm';
import { attentionForwardRef64, attentionBackwardRef64 } from './attention';
import { addBiasF64, biasBackward, geluForwardF64, geluGradScalar } from './elementwise';
import { crossEntropyForwardF64, crossEntropyForwardBackward } from './crossentropy';

type Arr = ArrayLike<number>;

/** Parameters by HF name (any numeric arrays; read, never modified). */
export type Gpt2RefParams = ReadonlyMap<string, Arr>;

export interface Gpt2RefBatch {
  B: number;
  T: number;
  tokens: Arr; // (B*T) input ids
  targets: Arr; // (B*T) target ids (outside [0, V) = ignored)
  /** (B*T) per-target weight; null/absent = all 1. */
  mask?: Arr | null;
}

export interface Gpt2RefResult {
  loss: number;
  losses: Float64Array; // (N) mask-weighted per-token losses
  logits: Float64Array; // (N, V)
  /** ∂loss/∂p for every parameter, by HF name, same layout as the parameter. */
  grads: Map<string, Float64Array>;
}

/** C (M, N) = op(A)·op(B), float64. A is (M, K) or, transA, stored (K, M); B is (K, N) or, transB, stored (N, K). */
function mm(a: Arr, b: Arr, M: number, K: number, N: number, transA = false, transB = false): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++)
        acc += (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = acc;
    }
  }
  return out;
}

function addInto(dst: Float64Array, src: Arr): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

function get(p: Gpt2RefParams, name: string, n: number): Arr {
  const v = p.get(name);
  if (!v) throw new Error(`gpt2 ref: missing parameter ${name}`);
  if (v.length !== n) throw new Error(`gpt2 ref: ${name} has ${v.length} values, expected ${n}`);
  return v;
}

interface LayerActs {
  x: Float64Array; // (N, C) layer input (residual)
  ln1: Float64Array;
  ln1Mean: Float64Array;
  ln1Rstd: Float64Array; // (N, C), (N), (N)
  qkv: Float64Array; // (N, 3C)
  att: Float64Array; // (B, NH, T, T)
  atty: Float64Array; // (N, C)
  resid2: Float64Array; // (N, C)
  ln2: Float64Array;
  ln2Mean: Float64Array;
  ln2Rstd: Float64Array;
  fch: Float64Array; // (N, 4C)
  fchGelu: Float64Array; // (N, 4C)
  out: Float64Array; // (N, C) resid3
}

interface Forward {
  layers: LayerActs[];
  last: Float64Array; // (N, C) input of ln_f
  lnf: Float64Array;
  lnfMean: Float64Array;
  lnfRstd: Float64Array;
  logits: Float64Array; // (N, V)
  losses: Float64Array; // (N)
  mask: Float64Array; // (N)
  maskSum: number;
}

function dims(cfg: ModelConfig, b: Gpt2RefBatch) {
  const { B, T } = b;
  const N = B * T;
  if (b.tokens.length !== N || b.targets.length !== N)
    throw new Error(`gpt2 ref: tokens/targets need B·T = ${N} values`);
  if (b.mask && b.mask.length !== N) throw new Error(`gpt2 ref: mask needs B·T = ${N} values`);
  if (T > cfg.contextLength) throw new Error(`gpt2 ref: T = ${T} exceeds the context ${cfg.contextLength}`);
  return { B, T, N, C: cfg.nEmbd, NH: cfg.nHead, V: cfg.vocabSize, L: cfg.nLayer, eps: cfg.layerNormEps };
}

function forward(cfg: ModelConfig, p: Gpt2RefParams, batch: Gpt2RefBatch): Forward {
  const { B, T, N, C, NH, V, L, eps } = dims(cfg, batch);
  const mask = new Float64Array(N);
  for (let i = 0; i < N; i++) mask[i] = batch.mask ? batch.mask[i] : 1;
  let x = embeddingForwardF64({
    tokens: batch.tokens,
    wte: get(p, 'wte.weight', V * C),
    wpe: get(p, 'wpe.weight', cfg.contextLength * C),
    B,
    T,
    C,
  });
  const layers: LayerActs[] = [];
  for (let l = 0; l < L; l++) {
    const pre = `h.${l}`;
    const w = (name: string, n: number) => get(p, `${pre}.${name}`, n);
    const ln1 = layernormForwardF64({ x, gamma: w('ln_1.weight', C), beta: w('ln_1.bias', C), N, C, eps });
    const qkv = addBiasF64({
      x: mm(ln1.out, w('attn.c_attn.weight', C * 3 * C), N, C, 3 * C),
      bias: w('attn.c_attn.bias', 3 * C),
      N,
      C: 3 * C,
    });
    const { out: atty, att } = attentionForwardRef64(qkv, { B, T, C, NH });
    const attProj = addBiasF64({
      x: mm(atty, w('attn.c_proj.weight', C * C), N, C, C),
      bias: w('attn.c_proj.bias', C),
      N,
      C,
    });
    const resid2 = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) resid2[i] = x[i] + attProj[i];
    const ln2 = layernormForwardF64({ x: resid2, gamma: w('ln_2.weight', C), beta: w('ln_2.bias', C), N, C, eps });
    const fch = addBiasF64({
      x: mm(ln2.out, w('mlp.c_fc.weight', C * 4 * C), N, C, 4 * C),
      bias: w('mlp.c_fc.bias', 4 * C),
      N,
      C: 4 * C,
    });
    const fchGelu = geluForwardF64({ x: fch });
    const fcProj = addBiasF64({
      x: mm(fchGelu, w('mlp.c_proj.weight', 4 * C * C), N, 4 * C, C),
      bias: w('mlp.c_proj.bias', C),
      N,
      C,
    });
    const out = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) out[i] = resid2[i] + fcProj[i];
    layers.push({
      x,
      ln1: ln1.out,
      ln1Mean: ln1.mean,
      ln1Rstd: ln1.rstd,
      qkv,
      att,
      atty,
      resid2,
      ln2: ln2.out,
      ln2Mean: ln2.mean,
      ln2Rstd: ln2.rstd,
      fch,
      fchGelu,
      out,
    });
    x = out;
  }
  const lnf = layernormForwardF64({ x, gamma: get(p, 'ln_f.weight', C), beta: get(p, 'ln_f.bias', C), N, C, eps });
  // Tied head: logits (N, V) = lnf (N, C) · wteᵀ
  const logits = mm(lnf.out, get(p, 'wte.weight', V * C), N, C, V, false, true);
  const losses = crossEntropyForwardF64({ logits, targets: batch.targets, mask, N, V });
  let maskSum = 0;
  for (let i = 0; i < N; i++) maskSum += mask[i];
  return { layers, last: x, lnf: lnf.out, lnfMean: lnf.mean, lnfRstd: lnf.rstd, logits, losses, mask, maskSum };
}

function meanLoss(f: Forward): number {
  let s = 0;
  for (let i = 0; i < f.losses.length; i++) s += f.losses[i];
  return s / Math.max(1, f.maskSum);
}

/** The loss alone, float64: the finite-difference oracle's f. */
export function gpt2LossRef(cfg: ModelConfig, params: Gpt2RefParams, batch: Gpt2RefBatch): number {
  return meanLoss(forward(cfg, params, batch));
}

/** Loss, logits and the gradient of the loss w.r.t. every parameter (backward in mirror order). */
export function gpt2ForwardBackwardRef(cfg: ModelConfig, params: Gpt2RefParams, batch: Gpt2RefBatch): Gpt2RefResult {
  const f = forward(cfg, params, batch);
  const { B, T, N, C, NH, V, L } = dims(cfg, batch);
  const grads = new Map<string, Float64Array>();
  const gradScale = 1 / Math.max(1, f.maskSum);
  const { dlogits } = crossEntropyForwardBackward({
    logits: f.logits,
    targets: batch.targets,
    mask: f.mask,
    N,
    V,
    gradScale,
  }); // (N, V)
  const wte = get(params, 'wte.weight', V * C);
  // lm head: dlnf (N, C) = dlogits · wte;  dwte (V, C) += dlogitsᵀ · lnf
  const dlnf = mm(dlogits, wte, N, V, C);
  const dwte = mm(dlogits, f.lnf, V, N, C, true);
  const lnfB = layernormBackward({
    dout: dlnf,
    x: f.last,
    gamma: get(params, 'ln_f.weight', C),
    mean: f.lnfMean,
    rstd: f.lnfRstd,
    N,
    C,
  });
  grads.set('ln_f.weight', Float64Array.from(lnfB.dgamma));
  grads.set('ln_f.bias', Float64Array.from(lnfB.dbeta));
  const dres = Float64Array.from(lnfB.dx); // (N, C) gradient of the residual stream
  /** y = x·W + b backward: returns dx; stores dW = xᵀ·dy and db = Σ dy. */
  const linearBack = (name: string, x: Float64Array, dy: Float64Array, inDim: number, outDim: number): Float64Array => {
    grads.set(`${name}.weight`, mm(x, dy, inDim, N, outDim, true));
    grads.set(`${name}.bias`, Float64Array.from(biasBackward({ dout: dy, N, C: outDim })));
    return mm(dy, get(params, `${name}.weight`, inDim * outDim), N, outDim, inDim, false, true);
  };
  for (let l = L - 1; l >= 0; l--) {
    const a = f.layers[l];
    const pre = `h.${l}`;
    // out = resid2 + c_proj(gelu(c_fc(ln_2(resid2))))
    const dfchGelu = linearBack(`${pre}.mlp.c_proj`, a.fchGelu, dres, 4 * C, C);
    const dfch = new Float64Array(N * 4 * C);
    for (let i = 0; i < dfch.length; i++) dfch[i] = dfchGelu[i] * geluGradScalar(a.fch[i]);
    const dln2 = linearBack(`${pre}.mlp.c_fc`, a.ln2, dfch, C, 4 * C);
    const ln2B = layernormBackward({
      dout: dln2,
      x: a.resid2,
      gamma: get(params, `${pre}.ln_2.weight`, C),
      mean: a.ln2Mean,
      rstd: a.ln2Rstd,
      N,
      C,
    });
    grads.set(`${pre}.ln_2.weight`, Float64Array.from(ln2B.dgamma));
    grads.set(`${pre}.ln_2.bias`, Float64Array.from(ln2B.dbeta));
    addInto(dres, ln2B.dx); // now ∂L/∂resid2
    // resid2 = x + c_proj(attention(c_attn(ln_1(x))))
    const datty = linearBack(`${pre}.attn.c_proj`, a.atty, dres, C, C);
    const dqkv = attentionBackwardRef64(datty, a.qkv, a.att, { B, T, C, NH });
    const dln1 = linearBack(`${pre}.attn.c_attn`, a.ln1, dqkv, C, 3 * C);
    const ln1B = layernormBackward({
      dout: dln1,
      x: a.x,
      gamma: get(params, `${pre}.ln_1.weight`, C),
      mean: a.ln1Mean,
      rstd: a.ln1Rstd,
      N,
      C,
    });
    grads.set(`${pre}.ln_1.weight`, Float64Array.from(ln1B.dgamma));
    grads.set(`${pre}.ln_1.bias`, Float64Array.from(ln1B.dbeta));
    addInto(dres, ln1B.dx); // now ∂L/∂x (the layer's input)
  }
  // embeddings: dwte += scatter of dres by token, dwpe[t] += Σ_b dres[b, t]
  const emb = embeddingBackward({
    tokens: batch.tokens,
    dout: dres,
    dwte: new Float64Array(V * C),
    dwpe: new Float64Array(cfg.contextLength * C),
    B,
    T,
    C,
  });
  addInto(dwte, emb.dwte);
  grads.set('wte.weight', dwte);
  grads.set('wpe.weight', Float64Array.from(emb.dwpe));
  return { loss: meanLoss(f), losses: f.losses, logits: f.logits, grads };
}
