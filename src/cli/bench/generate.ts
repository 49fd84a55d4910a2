/**
 * `bench generate`: tokens/s of generation with the KV cache (model/gpt2-decode.ts for GPT-2,
 * model/decoder-decode.ts for the other families) against re-running the full forward for every token
 * (`cache: false`, what the engine did before), same model, same prompt, same adapter, same process. One
 * JSON line per generated length (16, 64, 256 tokens).
 *
 * Model (--model): `base` (default) the built-in base model's shape (GPT-2, 4 layers × 128 wide, byte
 * vocabulary); `llama`, `qwen2`, `pythia` the same size in that family's layout (llama/qwen2: GQA with 2
 * kv heads, RoPE, SwiGLU; pythia: fused query_key_value, partial rotary, parallel residual); all with a
 * 512-token context so 256 new tokens fit without the window slide, random weights (speed does not depend
 * on them); `smollm2-135m` SmolLM2-135M's shape (30 layers × 576, 9 heads / 3 kv heads, 49152 vocabulary),
 * random weights; or a model folder / id as `sample --model` takes (its own weights and context).
 * Greedy decoding, so both sides must produce the same tokens: `same_tokens` checks it.
 * Timing: the two sides alternate (cached, full, cached, full …) after one warm-up each; the figure is
 * the median per side. Wall-clock per call, including the per-token logits readback both sides need.
 * Flags: --model M · --lengths 16,64,256 · --reps N (timed runs per side, default 3; 1 for lengths ≥ 256) · --quick (16,64; 1 rep).
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu } from '../../gpu/device';
import type { ModelConfig } from '../../engine/model/config';
import type { LanguageModel } from '../../engine/model/language-model';
import { Gpt2Model } from '../../engine/model/gpt2';
import { createModel } from '../../engine/model/families';
import { sampleTokens } from '../../engine/generate';
import { median } from '../peers/tfjs';
import { loadCliModel } from '../model';
import { SHAPES as FAMILY_SHAPES } from './family-step';

const ARCH: ModelConfig = {
  arch: 'gpt2',
  vocabSize: 256,
  contextLength: 512,
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
};
/** The base shape in the other families' layouts (intermediate 344 ≈ 8/3·C rounded to 8, Llama's ratio). */
const SHAPES: Record<string, { cfg: ModelConfig; label: string }> = {
  base: { cfg: ARCH, label: 'base shape (gpt2 L4 C128 NH4 V256), context 512, random weights' },
  llama: {
    cfg: { ...ARCH, arch: 'llama', nKvHead: 2, intermediateSize: 344, ropeTheta: 10000 },
    label: 'llama shape (L4 C128 NH4 NKV2 I344 V256), context 512, random weights',
  },
  qwen2: {
    cfg: { ...ARCH, arch: 'qwen2', nKvHead: 2, intermediateSize: 344, ropeTheta: 1e6, layerNormEps: 1e-6 },
    label: 'qwen2 shape (L4 C128 NH4 NKV2 I344 V256, q/k/v bias), context 512, random weights',
  },
  pythia: {
    cfg: { ...ARCH, arch: 'gpt_neox', rotaryPct: 0.25, parallelResidual: true, tieWordEmbeddings: false },
    label: 'pythia shape (gpt_neox L4 C128 NH4 V256, rotary 0.25, parallel residual), context 512, random weights',
  },
  'smollm2-135m': {
    // family-step's SmolLM2-135M shape (its head tied, as a Llama config's default), byte tokenizer
    cfg: { ...FAMILY_SHAPES['smollm2-135m'], tokenizer: 'byte' },
    label: 'SmolLM2-135M shape (llama L30 C576 NH9 NKV3 I1536 V49152), random weights',
  },
};
const PROMPT = [...'Once upon a time'].map((c) => c.charCodeAt(0)); // 16 tokens

async function benchModel(gpu: Gpu, ref: string): Promise<{ model: LanguageModel; label: string }> {
  const shape = SHAPES[ref];
  if (shape)
    return {
      model: shape.cfg.arch === 'gpt2' ? Gpt2Model.random(gpu, shape.cfg, 0) : createModel(gpu, shape.cfg, null, 0),
      label: shape.label,
    };
  const loaded = await loadCliModel(ref);
  const c = loaded.config;
  const kv = c.nKvHead && c.nKvHead !== c.nHead ? ` NKV${c.nKvHead}` : '';
  return {
    model: createModel(gpu, c, loaded.weights),
    label: `${loaded.id} (${c.arch} L${c.nLayer} C${c.nEmbd} NH${c.nHead}${kv} V${c.vocabSize}), context ${c.contextLength}`,
  };
}

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench generate',
    declaredIn: 'src/cli/bench/generate.ts',
    booleans: ['json', 'quick'],
    values: ['lengths', 'reps', 'model'],
  });
  const quick = has(args, 'quick');
  const lengths = (flag(args, 'lengths') ?? (quick ? '16,64' : '16,64,256')).split(',').map(Number);
  const repsFlag = numberFlag(args, 'reps', quick ? 1 : 3);
  if (!Number.isInteger(repsFlag) || repsFlag < 1) throw new CliError(`--reps must be a positive integer`);
  const { model, label } = await benchModel(gpu, flag(args, 'model') ?? 'base');
  const ctx = model.cfg.contextLength;
  for (const n of lengths)
    if (!Number.isInteger(n) || n < 1 || n + PROMPT.length > ctx) {
      model.destroy();
      throw new CliError(`--lengths: each must be an integer in [1, ${ctx - PROMPT.length}] for this model, got ${n}`);
    }
  const V = model.cfg.vocabSize;
  const prompt = PROMPT.map((t) => t % V);
  const generate = async (maxTokens: number, cache: boolean) => {
    const t0 = performance.now();
    const ids = await sampleTokens(gpu, model, prompt, { maxTokens, temperature: 0, topK: 0, seed: 0, cache });
    return { ms: performance.now() - t0, ids };
  };
  await generate(4, true); // warm-up: compile the pipelines of both paths
  await generate(4, false);
  for (const n of lengths) {
    const reps = has(args, 'reps') ? repsFlag : n >= 256 ? 1 : repsFlag;
    const cached: number[] = [],
      full: number[] = [];
    let same = true;
    for (let r = 0; r < reps; r++) {
      const a = await generate(n, true);
      const b = await generate(n, false);
      cached.push(a.ms);
      full.push(b.ms);
      same &&= a.ids.length === b.ids.length && a.ids.every((x, i) => x === b.ids[i]);
    }
    const cachedTps = n / (median(cached) / 1000),
      fullTps = n / (median(full) / 1000);
    emit({
      bench: 'generate',
      model: label,
      prompt_tokens: prompt.length,
      tokens: n,
      cached_tokens_per_s: round(cachedTps),
      full_tokens_per_s: round(fullTps),
      ratio: round(cachedTps / fullTps),
      cached_ms: round(median(cached)),
      full_ms: round(median(full)),
      same_tokens: same,
      reps,
      adapter: gpu.name,
    });
  }
  model.destroy();
}

function round(x: number, digits = 3): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
