/**
 * Fuzzing the config parsers (issue 17 item 4): config.json of every model family (`fromHfConfig`,
 * seeded from `toHfConfig` of each preset and family), the RunConfig schema (`parseRunConfig`, seeded
 * from the run presets), and tokenizer_config.json (`parseTokenizerConfig`). Accepted results must
 * satisfy their schema; rejections are deliberate errors with one line (a JS TypeError/RangeError
 * from inside the parser counts as a crash).
 */
import { describe, it } from 'vitest';
import {
  fromHfConfig,
  toHfConfig,
  MODEL_PRESETS,
  ModelConfigSchema,
  parameterCount,
} from '../../src/engine/model/config';
import { parseRunConfig, RUN_PRESETS, RunConfigSchema } from '../../src/engine/config';
import { parseTokenizerConfig } from '../../src/engine/io/hf-model';
import { expectClean, fuzz, isJsError, mutateJson } from './harness';

const CASES = 10_000;
const deliberate = (e: unknown) => e instanceof Error && !isJsError(e);

/** A config.json per family, as Hugging Face writes them. */
const FAMILY_SEEDS: Record<string, unknown>[] = [
  ...Object.values(MODEL_PRESETS).map((c) => toHfConfig(c)),
  {
    model_type: 'llama',
    vocab_size: 64,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
  },
  {
    model_type: 'qwen2',
    vocab_size: 64,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
    rope_theta: 1e6,
    tie_word_embeddings: true,
  },
  {
    model_type: 'qwen3',
    vocab_size: 64,
    hidden_size: 32,
    head_dim: 16,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
  },
  {
    model_type: 'gpt_neox',
    vocab_size: 64,
    hidden_size: 32,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 64,
    rotary_pct: 0.25,
    use_parallel_residual: true,
    layer_norm_eps: 1e-5,
  },
  {
    model_type: 'gpt_neo',
    vocab_size: 64,
    hidden_size: 32,
    num_layers: 2,
    num_heads: 4,
    max_position_embeddings: 64,
    attention_types: [[['global', 'local'], 1]],
    window_size: 16,
  },
];

describe('fuzz: configs', () => {
  it(`${CASES} config.json files over every model family: a valid ModelConfig or one line`, async () => {
    const rep = await fuzz({
      name: 'config.json (model families)',
      cases: CASES,
      gen: (rng) => {
        const seed = rng.pick(FAMILY_SEEDS);
        return rng.chance(0.9) ? mutateJson(rng, seed) : structuredClone(seed);
      },
      run: (j) => fromHfConfig(j),
      typed: deliberate,
      valid: (c) => {
        const r = ModelConfigSchema.safeParse(c);
        if (!r.success) return `accepted a config its schema rejects: ${r.error.message.slice(0, 120)}`;
        return Number.isFinite(parameterCount(c)) ? null : 'parameter count is not finite';
      },
    });
    expectClean(rep);
  });

  it(`${CASES} run configs (the RunConfig schema every link, file and CLI flag goes through)`, async () => {
    const seeds = Object.values(RUN_PRESETS).map((p) => parseRunConfig(structuredClone(p)));
    const rep = await fuzz({
      name: 'RunConfig',
      cases: CASES,
      gen: (rng) => mutateJson(rng, rng.pick(seeds)),
      run: (j) => parseRunConfig(j),
      typed: deliberate,
      valid: (c) => (RunConfigSchema.safeParse(c).success ? null : 'accepted a config the schema rejects'),
    });
    expectClean(rep);
  });

  it(`${CASES} tokenizer_config.json files: parsed fields or one line`, async () => {
    const seed = {
      bos_token: '<s>',
      eos_token: { content: '</s>', lstrip: false },
      pad_token: null,
      unk_token: '<unk>',
      add_bos_token: true,
      model_max_length: 1e30,
      chat_template: "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
    };
    const rep = await fuzz({
      name: 'tokenizer_config.json',
      cases: CASES,
      gen: (rng) => mutateJson(rng, seed),
      run: (j) => parseTokenizerConfig(j),
      typed: deliberate,
      valid: (t) =>
        t.modelMaxLength === null || Number.isSafeInteger(t.modelMaxLength) ? null : 'modelMaxLength not an integer',
    });
    expectClean(rep);
  });
});
