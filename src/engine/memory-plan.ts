/**
 * The memory plan of a run, from the configs alone — before anything is allocated (issue 19 item 3: a
 * 488-character link asking for a 4.8-billion-parameter model must be refused with figures, not
 * allocated until the process is killed).
 *
 * Bytes by category, as the trainer allocates them (float32 everywhere):
 * - weights: every model parameter;
 * - trainable parameters of the method: all of them for full fine-tuning, otherwise the adapter's
 *   factors (r·(in + out) per targeted linear, + out for DoRA's magnitude), and their gradients (×1)
 *   and AdamW moments (×2);
 * - activations: what `ensureActivations(B, T)` keeps per token — per layer ≈ 15·C + 4 + H·T floats
 *   (norm outputs and statistics, q/k/v, attention probabilities, MLP hidden ×2, residuals), plus
 *   backward scratch (≈ 14·C), plus one chunk of logits (the head's chunked cross-entropy, vocab.ts
 *   headLoss: at most 64 MiB and one binding of rows, never the whole (B·T, V));
 * - the largest single buffer (the logits chunk, attention (B, H, T, T), a parameter; the vocabulary
 *   matrices — embedding and head, (V, C) — count as one row shard, since the models hold them in
 *   shards that each fit one binding) against the adapter's `maxStorageBufferBindingSize` and `maxBufferSize`.
 * This is a plan, not a measurement: tests/engine/validate.test.ts checks it against the live
 * buffers of a real run.
 */
import type { RunConfig } from './config';
import type { Gpu } from '../gpu/device';
import { headDimOf, parameterCount, type ModelConfig } from './model/config';
import { expandSelectors, paramSpecsFor } from './model/family-meta';

export interface MemoryLimits {
  /** GPUDevice.limits.maxStorageBufferBindingSize (bytes). */
  maxStorageBufferBindingSize: number;
  /** GPUDevice.limits.maxBufferSize (bytes). */
  maxBufferSize: number;
  /** What the run may use in all (bytes): WebGPU does not report device memory, so the caller sets it. */
  budgetBytes: number;
}

/** WebGPU's guaranteed minimums and a 4 GiB budget: what any adapter offers. */
export const DEFAULT_LIMITS: MemoryLimits = {
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxBufferSize: 256 * 2 ** 20,
  budgetBytes: 4 * 2 ** 30,
};

export interface MemoryPlan {
  totalParams: number;
  trainableParams: number;
  bytes: { weights: number; gradients: number; optimizer: number; activations: number; total: number };
  largestBuffer: { name: string; bytes: number };
  limits: MemoryLimits;
  /** One line per limit the plan exceeds (empty: it fits). */
  problems: string[];
  /** What would fit instead, when something does not. */
  suggestions: string[];
}

/** The linear layers of a model: name (e.g. "h.0.attn.c_attn"), in and out width. */
export interface LinearShape {
  name: string;
  inDim: number;
  outDim: number;
}

const F32 = 4;
/** vocab.ts headChunkRows' default budget for one chunk of logits. */
const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * Parameter shapes of a model config (GPU layout: linear weights (in, out)), from its family's specs.
 * A family without an implementation plans from `parameterCount` and skips the per-module checks.
 */
export function modelParamShapes(cfg: ModelConfig): { name: string; shape: number[] }[] {
  try {
    return paramSpecsFor(cfg);
  } catch {
    return [];
  }
}

/** Linear layers: 2-D `<…>.<layer>.<type>.weight` parameters inside the transformer blocks. */
export function linearShapes(cfg: ModelConfig): LinearShape[] {
  const out: LinearShape[] = [];
  for (const p of modelParamShapes(cfg)) {
    const m = /^(.*\.)?(\d+)\.(.+)\.weight$/.exec(p.name);
    if (!m || p.shape.length !== 2) continue;
    out.push({ name: p.name.slice(0, -'.weight'.length), inDim: p.shape[0], outDim: p.shape[1] });
  }
  return out;
}

/** "h.3.mlp.c_fc" → { layer: 3, type: "mlp.c_fc" }. */
export function splitLinearName(name: string): { layer: number; type: string } | null {
  const m = /^(?:.*\.)?(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), type: m[2] } : null;
}

/** PEFT-style module match: the type itself or its dotted suffix ("c_fc" matches "mlp.c_fc"). */
export function moduleTypeMatches(type: string, selector: string): boolean {
  return type === selector || type.endsWith('.' + selector);
}

/** What one run needs, in bytes; `trainable` overrides the method's trainable-parameter count. */
export function planMemory(
  cfg: ModelConfig,
  run: Pick<RunConfig, 'method' | 'targets' | 'train'>,
  limits: MemoryLimits = DEFAULT_LIMITS,
  opts: { trainsBase?: boolean; trainable?: number; shapes?: { name: string; shape: number[] }[] } = {},
): MemoryPlan {
  const shapes = opts.shapes ?? modelParamShapes(cfg);
  const totalParams = shapes.length
    ? shapes.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0)
    : parameterCount(cfg);
  const trainsBase = opts.trainsBase ?? run.method.id === 'full';
  const trainableParams = opts.trainable ?? (trainsBase ? totalParams : adapterParams(cfg, run));
  const { batchSize: B, contextLength: T } = run.train;
  const N = B * T;
  const C = cfg.nEmbd,
    H = cfg.nHead,
    V = cfg.vocabSize,
    L = cfg.nLayer;
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const perLayer = 15 * C + 4 + H * T;
  const Vpad = Math.ceil(V / 4) * 4;
  const chunkRows = Math.max(1, Math.min(N, Math.floor(Math.min(perBuffer, HEAD_CHUNK_BYTES) / (F32 * Vpad))));
  const activationFloats = N * (L * perLayer + 16 * C + 8) + N * H * T + chunkRows * Vpad;
  const bytes = {
    weights: totalParams * F32,
    gradients: trainableParams * F32,
    optimizer: 2 * trainableParams * F32,
    activations: activationFloats * F32,
    total: 0,
  };
  bytes.total = bytes.weights + bytes.gradients + bytes.optimizer + bytes.activations;

  // A (V, C) vocabulary matrix is held in row shards of at most one binding each (vocab-params.ts).
  const shardBytes = Math.min(V * C * F32, Math.max(4 * C * F32, Math.floor(perBuffer / (4 * C * F32)) * 4 * C * F32));
  const isVocab = (p: { shape: number[] }) => p.shape.length === 2 && p.shape[0] === V && p.shape[1] === C;
  const candidates: { name: string; bytes: number }[] = [
    { name: `logits chunk (${chunkRows} rows × vocabulary ${V})`, bytes: chunkRows * Vpad * F32 },
    { name: `attention probabilities (${B}, ${H}, ${T}, ${T})`, bytes: B * H * T * T * F32 },
  ];
  if (!shapes.length) candidates.push({ name: `token embedding shard (of ${V}, ${C})`, bytes: shardBytes });
  for (const p of shapes)
    candidates.push(
      isVocab(p)
        ? { name: `${p.name} (one row shard)`, bytes: shardBytes }
        : { name: p.name, bytes: p.shape.reduce((x, y) => x * y, 1) * F32 },
    );
  const largestBuffer = candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));

  const problems: string[] = [];
  if (largestBuffer.bytes > perBuffer)
    problems.push(
      `the largest buffer, ${largestBuffer.name}, needs ${fmtBytes(largestBuffer.bytes)}, above this adapter's ${fmtBytes(perBuffer)} per buffer`,
    );
  if (bytes.total > limits.budgetBytes)
    problems.push(
      `the run needs ${fmtBytes(bytes.total)} (weights ${fmtBytes(bytes.weights)}, gradients ${fmtBytes(bytes.gradients)}, optimizer ${fmtBytes(bytes.optimizer)}, activations ${fmtBytes(bytes.activations)} for ${fmtCount(totalParams)} parameters), above the ${fmtBytes(limits.budgetBytes)} budget`,
    );
  const plan: MemoryPlan = { totalParams, trainableParams, bytes, largestBuffer, limits, problems, suggestions: [] };
  if (problems.length && opts.trainable === undefined)
    plan.suggestions = suggest(cfg, run, limits, plan, trainsBase, shapes);
  return plan;
}

/** Trainable parameters of a low-rank method: r·(in + out) per targeted linear (+ out for DoRA). */
function adapterParams(cfg: ModelConfig, run: Pick<RunConfig, 'method' | 'targets'>): number {
  const p = run.method.params as Record<string, unknown>;
  const rank = typeof p.rank === 'number' ? p.rank : typeof p.r === 'number' ? p.r : 8;
  const layers = run.targets.layers;
  const selectors = selectorsOf(cfg, run.targets.modules);
  let n = 0;
  for (const lin of linearShapes(cfg)) {
    const s = splitLinearName(lin.name);
    if (!s || (layers && !layers.includes(s.layer))) continue;
    if (!selectors.some((m) => moduleTypeMatches(s.type, m))) continue;
    const r = run.targets.rankOverrides[lin.name] ?? run.targets.rankOverrides[s.type] ?? rank;
    n += r * (lin.inDim + lin.outDim) + (run.method.id === 'dora' ? lin.outDim : 0);
  }
  return n;
}

/** Presets ('default', 'all-linear', …) expanded to the family's module types; others kept as selectors. */
function selectorsOf(cfg: ModelConfig, modules: readonly string[]): string[] {
  try {
    return expandSelectors(cfg, modules);
  } catch {
    return [...modules]; // a family without an implementation: plan from the names as given
  }
}

/** Smaller variants that fit: LoRA instead of full, then halving the context, then the batch. */
function suggest(
  cfg: ModelConfig,
  run: Pick<RunConfig, 'method' | 'targets' | 'train'>,
  limits: MemoryLimits,
  plan: MemoryPlan,
  trainsBase: boolean,
  shapes: { name: string; shape: number[] }[],
): string[] {
  const out: string[] = [];
  const fits = (p: MemoryPlan) => p.problems.length === 0;
  if (trainsBase) {
    const lora = { ...run, method: { id: 'lora', params: { rank: 8 } } };
    const p = planMemory(cfg, lora, limits, { trainsBase: false, trainable: adapterParams(cfg, lora), shapes });
    if (fits(p))
      out.push(
        `LoRA rank 8 on ${selectorsOf(cfg, run.targets.modules).join(', ')} would fit (${fmtBytes(p.bytes.total)})`,
      );
  }
  for (const [key, label] of [
    ['contextLength', 'context'],
    ['batchSize', 'batch'],
  ] as const) {
    for (let v = Math.floor(run.train[key] / 2); v >= (key === 'contextLength' ? 2 : 1); v = Math.floor(v / 2)) {
      const r2 = { ...run, train: { ...run.train, [key]: v } };
      const p = planMemory(cfg, r2, limits, { trainsBase, trainable: plan.trainableParams, shapes });
      if (fits(p)) {
        out.push(`${label} ${v} would fit (${fmtBytes(p.bytes.total)})`);
        break;
      }
    }
  }
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const param = shapes.find((p) => p.name === plan.largestBuffer.name);
  if (!out.length)
    out.push(
      param && plan.largestBuffer.bytes > perBuffer && plan.bytes.weights <= limits.budgetBytes
        ? `no smaller batch, context or LoRA fits: the parameter ${param.name} alone needs ${fmtBytes(plan.largestBuffer.bytes)}, more than one buffer of this adapter holds; choose a smaller model (vocabulary, width) or an adapter with larger buffers`
        : `no smaller batch, context or LoRA fits: the weights alone need ${fmtBytes(plan.bytes.weights)}; choose a smaller model`,
    );
  return out;
}

/** What generation with a KV cache allocates on top of the model (model/gpt2-decode.ts, model/decoder-decode.ts). */
export interface KvCachePlan {
  /** Cached positions (rows per layer). */
  positions: number;
  /** Every buffer of the cache and its scratch (attention rows, RoPE table, one logits row), in bytes. */
  bytes: number;
  /** Keys and values of one layer. */
  perLayerBytes: number;
  largestBuffer: { name: string; bytes: number };
  /** One line per limit exceeded (empty: it fits). */
  problems: string[];
}

/**
 * The KV cache of `positions` positions, from the config alone, before anything is allocated: per layer
 * keys and values (S, NKV·HS) each — GPT-2 (S, C) each; GPT-NeoX caches whole fused query_key_value rows
 * (S, 3·NH·HS) in one buffer — plus the attention rows of one prefill chunk (chunkRows, NH, S), the RoPE
 * table (S, rotDim) and one logits row. `liveBytes` (what is already allocated: the model, a run) counts
 * against the budget, so an oversized request is refused with figures instead of losing the device.
 */
export function planKvCache(
  cfg: ModelConfig,
  positions: number,
  limits: MemoryLimits = DEFAULT_LIMITS,
  o: { liveBytes?: number; chunkRows?: number } = {},
): KvCachePlan {
  const S = positions,
    L = cfg.nLayer,
    NH = cfg.nHead,
    HS = headDimOf(cfg),
    NKV = cfg.nKvHead ?? NH;
  const fused = cfg.arch === 'gpt_neox';
  const kvBuffer = fused ? S * 3 * NH * HS : cfg.arch === 'gpt2' ? S * cfg.nEmbd : S * NKV * HS;
  const perLayer = (fused ? 1 : 2) * kvBuffer * F32;
  const chunk = Math.min(o.chunkRows ?? S, S);
  const att = chunk * NH * S * F32;
  const rotDim =
    cfg.arch === 'gpt_neox'
      ? Math.floor(HS * (cfg.rotaryPct ?? 1))
      : cfg.arch === 'gpt2' || cfg.arch === 'gpt_neo'
        ? 0
        : HS;
  const bytes = L * perLayer + att + S * rotDim * F32 + cfg.vocabSize * F32;
  const kvName = fused ? `query_key_value rows (${S}, ${3 * NH * HS})` : `keys (${S}, ${kvBuffer / S})`;
  const largestBuffer =
    att > kvBuffer * F32
      ? { name: `attention rows (${chunk}, ${NH}, ${S})`, bytes: att }
      : { name: `one layer's cached ${kvName}`, bytes: kvBuffer * F32 };
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const problems: string[] = [];
  const fewer = 'ask for fewer new tokens or a shorter prompt';
  if (largestBuffer.bytes > perBuffer)
    problems.push(
      `the KV cache's largest buffer, ${largestBuffer.name}, needs ${fmtBytes(largestBuffer.bytes)}, above this adapter's ${fmtBytes(perBuffer)} per buffer: ${fewer}`,
    );
  const live = o.liveBytes ?? 0;
  if (live + bytes > limits.budgetBytes)
    problems.push(
      `the KV cache of ${S} positions needs ${fmtBytes(bytes)} (${L} layers × ${fmtBytes(perLayer)} of keys and values, attention rows ${fmtBytes(att)}) on top of the ${fmtBytes(live)} already allocated, above the ${fmtBytes(limits.budgetBytes)} budget: ${fewer}, or generate without the cache`,
    );
  return { positions: S, bytes, perLayerBytes: perLayer, largestBuffer, problems };
}

export function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** The plan as one line for a log: "memory plan: 1.2 MiB (weights …, activations …) — fits 4.0 GiB". */
export function describePlan(p: MemoryPlan): string {
  const b = p.bytes;
  return (
    `memory plan: ${fmtBytes(b.total)} (weights ${fmtBytes(b.weights)}, gradients ${fmtBytes(b.gradients)}, optimizer ${fmtBytes(b.optimizer)}, activations ${fmtBytes(b.activations)}; ` +
    `${fmtCount(p.trainableParams)} of ${fmtCount(p.totalParams)} parameters trainable; largest buffer ${fmtBytes(p.largestBuffer.bytes)})` +
    (p.problems.length ? ` — does not fit: ${p.problems.join('; ')}` : ` — fits ${fmtBytes(p.limits.budgetBytes)}`)
  );
}

/** The adapter's buffer limits (GPUDevice.limits) with a memory budget (default 4 GiB). */
export function adapterLimits(
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  budgetBytes = DEFAULT_LIMITS.budgetBytes,
): MemoryLimits {
  return {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    budgetBytes,
  };
}

/** A live device's buffer limits (WebGPU's minimums where it reports none) with a budget (default 4 GiB). */
export function gpuLimits(gpu: Gpu, budgetBytes = DEFAULT_LIMITS.budgetBytes): MemoryLimits {
  const l = gpu.description.limits as Partial<Record<string, number>>;
  return adapterLimits(
    {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize ?? DEFAULT_LIMITS.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize ?? DEFAULT_LIMITS.maxBufferSize,
    },
    budgetBytes,
  );
}
