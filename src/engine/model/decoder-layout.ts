/**
 * A decoder family's structure as plain data — module names, norm kind, fused or separate q/k/v, MLP kind,
 * rotary dims, attention windows — and what follows from it without running anything: every parameter's
 * name and shape, and the adapter slots. family-meta.ts builds each family's `DecoderLayout` from
 * config.json (GPT-Neo, GPT-NeoX, Llama, Qwen2, Qwen3); decoder.ts runs it on the GPU. This file imports
 * no kernel or model code, so the page can size a model (memory plan, target picker) without loading them.
 */
import { headDimOf, intermediateOf, type ModelConfig } from './config';
import type { ParamSpec } from './language-model';

export interface LayerLayout {
  /** Full module prefixes; norms get `.weight` (+ `.bias` for LayerNorm). */
  ln1: string;
  ln2: string;
  attn:
    | { kind: 'separate'; q: string; k: string; v: string; bias: boolean }
    | { kind: 'fused'; qkv: string; bias: boolean };
  o: string;
  oBias: boolean;
  /** Qwen3's per-head RMSNorm on q and k before RoPE. */
  qNorm: string | null;
  kNorm: string | null;
  mlp:
    | { kind: 'swiglu'; gate: string; up: string; down: string; bias: boolean }
    | { kind: 'gelu' | 'gelu_new'; fc: string; proj: string; bias: boolean };
  /** Sliding window (GPT-Neo local layers); 0 = global causal. */
  window: number;
}

export interface DecoderLayout {
  embed: string; // (V, C)
  pos: string | null; // learned positions (P, C), GPT-Neo
  finalNorm: string;
  head: string | null; // untied head (V, C); null = tied to embed
  norm: 'layernorm' | 'rmsnorm';
  layers: LayerLayout[];
  /** Attention scale; undefined = 1/√HS (GPT-Neo: 1, modeling_gpt_neo.py applies none). */
  scale?: number;
  /** Rotated dims per head (0 = no RoPE). */
  rotDim: number;
  parallelResidual: boolean;
}

type NormKind = DecoderLayout['norm'];

/** Every parameter of a layout: HF names, GPU shapes ((in, out) for linears, marked transposed). */
export function decoderParamSpecs(cfg: ModelConfig, lay: DecoderLayout): ParamSpec[] {
  const C = cfg.nEmbd,
    V = cfg.vocabSize,
    I = intermediateOf(cfg),
    HS = headDimOf(cfg),
    NH = cfg.nHead,
    KV = cfg.nKvHead ?? NH;
  const std = 0.02;
  const specs: ParamSpec[] = [{ name: `${lay.embed}.weight`, shape: [V, C], init: 'normal', std, decay: true }];
  if (lay.pos)
    specs.push({ name: `${lay.pos}.weight`, shape: [cfg.contextLength, C], init: 'normal', std: 0.01, decay: false });
  const norm = (p: string, n: number, kind: NormKind = lay.norm) => {
    specs.push({ name: `${p}.weight`, shape: [n], init: 'ones', std: 0, decay: false });
    if (kind === 'layernorm') specs.push({ name: `${p}.bias`, shape: [n], init: 'zeros', std: 0, decay: false });
  };
  const linear = (p: string, inDim: number, outDim: number, bias: boolean) => {
    specs.push({ name: `${p}.weight`, shape: [inDim, outDim], init: 'normal', std, decay: true, transposed: true });
    if (bias) specs.push({ name: `${p}.bias`, shape: [outDim], init: 'zeros', std: 0, decay: false });
  };
  for (const l of lay.layers) {
    norm(l.ln1, C);
    if (l.attn.kind === 'fused') linear(l.attn.qkv, C, 3 * NH * HS, l.attn.bias);
    else {
      linear(l.attn.q, C, NH * HS, l.attn.bias);
      linear(l.attn.k, C, KV * HS, l.attn.bias);
      linear(l.attn.v, C, KV * HS, l.attn.bias);
    }
    if (l.qNorm) norm(l.qNorm, HS, 'rmsnorm');
    if (l.kNorm) norm(l.kNorm, HS, 'rmsnorm');
    linear(l.o, NH * HS, C, l.oBias);
    norm(l.ln2, C);
    if (l.mlp.kind === 'swiglu') {
      linear(l.mlp.gate, C, I, l.mlp.bias);
      linear(l.mlp.up, C, I, l.mlp.bias);
      linear(l.mlp.down, I, C, l.mlp.bias);
    } else {
      linear(l.mlp.fc, C, I, l.mlp.bias);
      linear(l.mlp.proj, I, C, l.mlp.bias);
    }
  }
  norm(lay.finalNorm, C);
  if (lay.head) specs.push({ name: `${lay.head}.weight`, shape: [V, C], init: 'normal', std, decay: true });
  return specs;
}

/** The adapter slots of a layout, in layer order. */
export function decoderLinearNames(lay: DecoderLayout): string[] {
  const out: string[] = [];
  for (const l of lay.layers) {
    if (l.attn.kind === 'fused') out.push(l.attn.qkv);
    else out.push(l.attn.q, l.attn.k, l.attn.v);
    out.push(l.o);
    if (l.mlp.kind === 'swiglu') out.push(l.mlp.gate, l.mlp.up, l.mlp.down);
    else out.push(l.mlp.fc, l.mlp.proj);
  }
  return out;
}
