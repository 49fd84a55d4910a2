/**
 * The CLI on every Hugging Face family's tiny checkpoint (tests/fixtures/hf/tiny), as a person runs it:
 *   - `score --ids` matches transformers' per-token losses (expected-losses.json) — here for Llama and
 *     GPT-Neo through the CLI process; tests/engine/families.test.ts checks every fixture in process;
 *   - `train --method lora` on each family — all-linear (the family's own module names) on GPT-2, Pythia,
 *     Llama and Qwen2; no --targets on GPT-Neo and Qwen3, which gives the family's PEFT default
 *     (q_proj + v_proj) — and `train --method full` on every family: the training loss falls (mean of the
 *     last 3 steps below the mean of the first 3);
 *   - `train --model <tiny llama> --method lora` with no --targets runs on Llama's PEFT default: exactly
 *     q_proj and v_proj of every layer are trained (r·(in + out) each);
 *   - on a non-GPT-2 family (Llama): `export --peft` writes PEFT's names for that family
 *     (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, fan_in_fan_out false, the
 *     family's target_modules) and `analyze` reads the base and the merged model with the (out, in) layout.
 * Runs are kept to a few steps of a 2-layer, width-32 model on a 40 000-character corpus (the start of
 * brown-news): tokenizing the whole built-in `english` set with each family's BPE cost more than training.
 */
import { runCli, type CliRun } from '../helpers/cli';
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';

const FIX = 'tests/fixtures/hf/tiny';
const FAMILIES = ['gpt2', 'gpt-neo', 'pythia', 'llama', 'qwen2', 'qwen3'];
const SCORED = ['llama', 'gpt-neo'];
/** LoRA runs without --targets: the family's default (PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
const DEFAULT_TARGETS = ['gpt-neo', 'qwen3'];
const cli = (...args: string[]): Promise<CliRun> => runCli(args, { strictJson: true });
const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-families-'));
const corpus = path.join(tmp, 'corpus.txt');
writeFileSync(corpus, gunzipSync(readFileSync('public/data/brown-news.txt.gz')).toString('utf8').slice(0, 40_000));

const TRAIN = (family: string, method: string, out?: string, o: { steps?: number; allLinear?: boolean } = {}) => [
  'train',
  '--config',
  'micro',
  '--model',
  `${FIX}/${family}`,
  '--dataset',
  corpus,
  '--method',
  method,
  '--steps',
  String(o.steps ?? 12),
  ...(method !== 'full' && (o.allLinear ?? !DEFAULT_TARGETS.includes(family))
    ? ['--param', 'targets.modules=["all-linear"]']
    : []),
  '--param',
  'train.lr=1e-2',
  '--param',
  'train.contextLength=16',
  '--param',
  'train.warmupSteps=0',
  ...(method === 'full' ? [] : ['--param', 'rank=4']),
  ...(out ? ['--out', out] : []),
  '--json',
];

function losses(r: CliRun): number[] {
  return r.lines.filter((l) => typeof l.loss === 'number' && !('summary' in l)).map((l) => l.loss as number);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('cli on every HF family', () => {
  const runs = new Map<string, CliRun>();
  const scores = new Map<string, CliRun>();
  const loraOut = path.join(tmp, 'llama-lora');
  let exported: CliRun, analyzed: CliRun, llamaDefault: CliRun;

  beforeAll(async () => {
    for (const f of FAMILIES) {
      const exp = JSON.parse(readFileSync(`${FIX}/${f}/expected-losses.json`, 'utf8')) as { ids: number[][] };
      const ids = path.join(tmp, `${f}.ids`);
      writeFileSync(ids, exp.ids[0].join(' '));
      if (SCORED.includes(f)) scores.set(f, await cli('score', '--model', `${FIX}/${f}`, '--ids', ids, '--json'));
      runs.set(`${f}/lora`, await cli(...TRAIN(f, 'lora', f === 'llama' ? loraOut : undefined)));
    }
    for (const f of FAMILIES) runs.set(`${f}/full`, await cli(...TRAIN(f, 'full')));
    llamaDefault = await cli(...TRAIN('llama', 'lora', undefined, { steps: 2, allLinear: false }));
    exported = await cli('export', '--run', loraOut, '--peft', path.join(tmp, 'llama-peft'), '--json');
    analyzed = await cli(
      'analyze',
      '--base',
      `${FIX}/llama/model.safetensors`,
      '--tuned',
      path.join(loraOut, 'model.safetensors'),
      '--json',
      '--k',
      '4',
    );
  }, 1_500_000);

  for (const f of SCORED)
    it(`score --ids on ${f} matches transformers token by token`, () => {
      const r = scores.get(f)!;
      expect(r.code, r.stderr).toBe(0);
      const exp = JSON.parse(readFileSync(`${FIX}/${f}/expected-losses.json`, 'utf8')) as { losses: number[][] };
      const got = r.lines[0] as { tokens: number; meanLoss: number; losses: number[] };
      expect(got.losses.length).toBe(exp.losses[0].length);
      expect(got.tokens).toBe(exp.losses[0].length + 1);
      exp.losses[0].forEach((w, i) =>
        expect(Math.abs(got.losses[i] - w), `token ${i}`).toBeLessThanOrEqual(2e-3 + 1e-3 * Math.abs(w)),
      );
    });

  for (const key of [...FAMILIES.map((f) => `${f}/lora`), ...FAMILIES.map((f) => `${f}/full`)])
    it(`train ${key}: the loss falls`, () => {
      const r = runs.get(key)!;
      expect(r.code, r.stderr).toBe(0);
      const l = losses(r);
      expect(l.length).toBe(12);
      expect(l.every(Number.isFinite)).toBe(true);
      expect(mean(l.slice(-3)), `losses ${l.map((x) => x.toFixed(3)).join(' ')}`).toBeLessThan(
        mean(l.slice(0, 3)) - 0.05,
      );
    });

  it("export --peft on Llama writes the family's PEFT names", () => {
    expect(exported.code, exported.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(tmp, 'llama-peft', 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(cfg.fan_in_fan_out).toBe(false);
    expect(new Set(cfg.target_modules as string[])).toEqual(
      new Set(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
    );
    const st = readFileSync(path.join(tmp, 'llama-peft', 'adapter_model.safetensors'));
    const header = st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8');
    expect(header).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(header).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
  });

  it("train on Llama without --targets adapts PEFT's default, q_proj and v_proj", () => {
    expect(llamaDefault.code, llamaDefault.stderr).toBe(0);
    const c = JSON.parse(readFileSync(`${FIX}/llama/config.json`, 'utf8')) as Record<string, number>;
    const C = c.hidden_size,
      HS = c.head_dim ?? C / c.num_attention_heads,
      r = 4; // TRAIN's --param rank=4
    const summary = llamaDefault.lines.find((l) => 'summary' in l)!.summary as {
      memory: { trainableParams: number };
    };
    const qv = r * (C + c.num_attention_heads * HS) + r * (C + c.num_key_value_heads * HS);
    expect(summary.memory.trainableParams).toBe(c.num_hidden_layers * qv);
  });

  it('analyze reads the Llama base and the merged LoRA model, (out, in) per nn.Linear', () => {
    expect(analyzed.code, analyzed.stderr).toBe(0);
    const q = analyzed.lines.find((l) => l.name === 'model.layers.0.self_attn.q_proj.weight') as
      { outIn: number[]; transposed: boolean; delta: { numericalRank: number } } | undefined;
    expect(q, 'q_proj analysed').toBeDefined();
    expect(q!.transposed).toBe(false);
    // ΔW of a rank-4 LoRA has numerical rank ≤ 4
    expect(q!.delta.numericalRank).toBeGreaterThan(0);
    expect(q!.delta.numericalRank).toBeLessThanOrEqual(4);
  });
});
