/**
 * `bench family-step --model <gpt2|smollm2-135m|pythia-160m> [--layers N] [--steps N] [--warmup N] [--quick]`:
 * tokens/s of one training step (the real `Trainer`: forward, backward, clip, AdamW, one submit) on the
 * shapes of a real checkpoint of each family, for full fine-tuning and for LoRA r = 16 on every linear
 * (`all-linear`), with the GPU memory the run holds (the buffer pool's live bytes by category, at the end).
 * Weights are seeded random (speed does not depend on their values), batches a synthetic token stream,
 * B = 1, T = 128 (the context the published browser anchor, distilgpt2 LoRA at T = 128, uses).
 *
 * Shapes: gpt2 = GPT-2 small (V 50257, C 768, 12 layers); smollm2-135m = Llama (V 49152, C 576, 30 layers,
 * 9 heads / 3 KV heads, I 1536, tied); pythia-160m = GPT-NeoX (V 50304, C 768, 12 layers, rotary 0.25,
 * parallel residual, untied head). On a CPU Vulkan driver (llvmpipe, SwiftShader) the depth defaults to 2
 * layers (`--layers` overrides) and the output says so. The vocabulary is always the full one: a table
 * above one storage binding (GPT-2's and Pythia's 147 MiB on llvmpipe's 128 MiB) is held in row shards
 * (model/vocab-params.ts), and `V_shards` says how many.
 * No peer: the tfjs comparison (`bench step --model gpt2-small`) exists for GPT-2 only. `bench step --model
 * <gpt2|smollm2-135m|pythia-160m>` runs this bench (the names issue 10 gives it).
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu } from '../../gpu/device';
import { parseRunConfig } from '../../engine/config';
import { MODEL_PRESETS, parameterCount, type ModelConfig } from '../../engine/model/config';
import { Trainer } from '../../engine/train';
import type { TokenStream } from '../../engine/data/batcher';
import { createByteTokenizer } from '../../engine/io/tokenizers';
import type { RunInputs } from '../../engine/inputs';
import { Rng } from '../../engine/rng';
import { shardRows } from '../../engine/model/vocab';
import { median } from '../peers/tfjs';

export const SHAPES: Record<string, ModelConfig> = {
  gpt2: MODEL_PRESETS['gpt2-small'],
  'smollm2-135m': {
    arch: 'llama',
    vocabSize: 49152,
    contextLength: 8192,
    nLayer: 30,
    nHead: 9,
    nKvHead: 3,
    nEmbd: 576,
    intermediateSize: 1536,
    layerNormEps: 1e-5,
    ropeTheta: 100000,
    tieWordEmbeddings: true,
    tokenizer: 'hf',
  },
  'pythia-160m': {
    arch: 'gpt_neox',
    vocabSize: 50304,
    contextLength: 2048,
    nLayer: 12,
    nHead: 12,
    nEmbd: 768,
    intermediateSize: 3072,
    layerNormEps: 1e-5,
    rotaryPct: 0.25,
    ropeTheta: 10000,
    parallelResidual: true,
    tieWordEmbeddings: false,
    tokenizer: 'hf',
  },
};

const B = 1,
  T = 128,
  SEED = 0;

function stream(V: number, n: number): TokenStream {
  const rng = new Rng(SEED, 'bench-family-step/tokens');
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = rng.int(V);
  return { tokens, lossMask: null };
}

function inputsFor(arch: ModelConfig, method: 'full' | 'lora', steps: number): RunInputs {
  const config = parseRunConfig({
    model: { source: 'preset', id: 'bench', arch },
    dataset: { source: 'builtin', id: 'synthetic' },
    method: { id: method, params: method === 'lora' ? { rank: 16, alpha: 32 } : {} },
    targets: { modules: ['all-linear'], layers: null, rankOverrides: {} },
    train: { steps, batchSize: B, contextLength: T, lr: 1e-4, warmupSteps: 0, schedule: 'constant', gradClip: 1 },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k: 10, eps: 0.5 },
    seed: SEED,
  });
  const s = stream(arch.vocabSize, 64 * B * (T + 1));
  return {
    config,
    modelConfig: arch,
    weights: null,
    modelHash: null,
    model: null,
    tokenizer: createByteTokenizer(), // unused: the stream is already token ids
    data: { train: s, val: s },
    datasetHash: 'synthetic',
    datasetKind: 'text',
  } as RunInputs;
}

const round = (x: number, d = 3) => Number(x.toFixed(d));

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench family-step',
    declaredIn: 'src/cli/bench/family-step.ts',
    booleans: ['json', 'quick'],
    values: ['model', 'layers', 'steps', 'warmup', 'method'],
  });
  const only = flag(args, 'model');
  if (only && !SHAPES[only])
    throw new CliError(`bench family-step: --model must be one of ${Object.keys(SHAPES).join(', ')}`);
  const methodFlag = flag(args, 'method') ?? 'both';
  if (!['full', 'lora', 'both'].includes(methodFlag))
    throw new CliError('bench family-step: --method must be full, lora or both');
  const cpuDriver = /llvmpipe|lavapipe|swiftshader/i.test(gpu.name);
  const layersFlag = flag(args, 'layers');
  const warmup = numberFlag(args, 'warmup', 1);
  const timed = numberFlag(args, 'steps', has(args, 'quick') ? 1 : 3);
  if (!(Number.isInteger(warmup) && warmup >= 1 && Number.isInteger(timed) && timed >= 1))
    throw new CliError('bench family-step: --warmup and --steps must be integers ≥ 1');
  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [id, full] of Object.entries(SHAPES)) {
    if (only && only !== id) continue;
    const layers = layersFlag !== undefined ? numberFlag(args, 'layers', 2) : cpuDriver ? 2 : full.nLayer;
    if (!Number.isInteger(layers) || layers < 1 || layers > full.nLayer)
      throw new CliError(`bench family-step: --layers must be an integer in 1..${full.nLayer}`);
    const arch: ModelConfig = { ...full, nLayer: layers };
    const maxBytes = Math.min(maxBinding, gpu.device.limits.maxBufferSize);
    const shards = Math.ceil(arch.vocabSize / shardRows(arch.vocabSize, arch.nEmbd, maxBytes));
    for (const method of methodFlag === 'both' ? (['full', 'lora'] as const) : [methodFlag as 'full' | 'lora']) {
      const trainer = await Trainer.create(gpu, inputsFor(arch, method, warmup + timed));
      const ms: number[] = [];
      let loss = NaN;
      let memory: Record<string, number>;
      try {
        for (let s = 0; s < warmup + timed; s++) {
          const t0 = performance.now();
          loss = (await trainer.trainStep()).loss;
          if (s >= warmup) ms.push(performance.now() - t0);
        }
        memory = { ...gpu.pool.usage() };
      } finally {
        trainer.dispose();
      }
      const m = median(ms);
      emit({
        bench: 'family-step',
        model: id,
        arch: arch.arch,
        method: method === 'lora' ? 'lora r=16 all-linear' : 'full',
        layers,
        ...(layers !== full.nLayer
          ? { layers_reduced_from: full.nLayer, layers_reason: cpuDriver ? 'CPU driver' : '--layers' }
          : {}),
        V: arch.vocabSize,
        V_shards: shards,
        params: parameterCount(arch),
        B,
        T,
        tokens_per_s: round(((B * T) / m) * 1000, 2),
        ms_per_step: round(m, 1),
        loss_last: round(loss, 5),
        memory_mib: Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, round(v / 2 ** 20, 1)])),
        warmup,
        timed,
        adapter: gpu.name,
      });
    }
  }
}
