/**
 * `bench generate`: tokens/s of generation with the KV cache (src/engine/model/gpt2-decode.ts) against
 * re-running the full forward for every token (`cache: false`, what the engine did before), same model,
 * same prompt, same adapter, same process. One JSON line per generated length (16, 64, 256 tokens).
 *
 * Model: the built-in base model's shape (4 layers × 128 wide, byte vocabulary) with a 512-token
 * context so 256 new tokens fit without the window slide, random weights (speed does not depend on
 * them). Greedy decoding, so both sides must produce the same tokens: `same_tokens` checks it.
 * Timing: the two sides alternate (cached, full, cached, full …) after one warm-up each; the figure is
 * the median per side. Wall-clock per call, including the per-token logits readback both sides need.
 * Flags: --lengths 16,64,256 · --reps N (timed runs per side, default 3; 1 for lengths ≥ 256) · --quick (16,64; 1 rep).
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import type { Gpu } from '../../gpu/device';
import type { ModelConfig } from '../../engine/model/config';
import { Gpt2Model } from '../../engine/model/gpt2';
import { sampleTokens } from '../../engine/generate';
import { median } from '../peers/tfjs';

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
const PROMPT = [...'Once upon a time'].map((c) => c.charCodeAt(0)); // 16 tokens

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    command: 'bench generate',
    declaredIn: 'src/cli/bench/generate.ts',
    booleans: ['json', 'quick'],
    values: ['lengths', 'reps'],
  });
  const quick = has(args, 'quick');
  const lengths = (flag(args, 'lengths') ?? (quick ? '16,64' : '16,64,256')).split(',').map(Number);
  for (const n of lengths)
    if (!Number.isInteger(n) || n < 1 || n + PROMPT.length > ARCH.contextLength)
      throw new CliError(`--lengths: each must be an integer in [1, ${ARCH.contextLength - PROMPT.length}], got ${n}`);
  const repsFlag = numberFlag(args, 'reps', quick ? 1 : 3);
  if (!Number.isInteger(repsFlag) || repsFlag < 1) throw new CliError(`--reps must be a positive integer`);
  const model = Gpt2Model.random(gpu, ARCH, 0);
  const generate = async (maxTokens: number, cache: boolean) => {
    const t0 = performance.now();
    const ids = await sampleTokens(gpu, model, PROMPT, { maxTokens, temperature: 0, topK: 0, seed: 0, cache });
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
      model: 'base shape (L4 C128 NH4 V256), context 512, random weights',
      prompt_tokens: PROMPT.length,
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
