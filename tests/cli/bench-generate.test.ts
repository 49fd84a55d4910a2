/**
 * `bench generate --model`: the cached-vs-full generation benchmark runs on a Llama-shaped model and on
 * a family checkpoint folder (the tiny Pythia: fused rows, partial rotary), one JSON line per length with
 * the model named and the two sides' greedy tokens identical; a length past the model's context is one line.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ROOT, runCli } from '../helpers/cli';

describe('cli bench generate --model', () => {
  it('llama shape and the tiny pythia checkpoint: same tokens cached and full, model named', async () => {
    const pythia = path.join(ROOT, 'tests/fixtures/hf/tiny/pythia');
    const args = (m: string) => ['bench', 'generate', '--model', m, '--lengths', '4', '--reps', '1', '--json'];
    const [llama, neox] = await Promise.all([runCli(args('llama')), runCli(args(pythia))]);
    expect(llama.code, llama.stderr).toBe(0);
    expect(neox.code, neox.stderr).toBe(0);
    const a = llama.lines.find((l) => l.bench === 'generate')!;
    expect(a.model).toMatch(/^llama shape \(L4 C128 NH4 NKV2/);
    expect(a.same_tokens).toBe(true);
    expect(a.tokens).toBe(4);
    const b = neox.lines.find((l) => l.bench === 'generate')!;
    expect(b.model).toMatch(/\(gpt_neox L2 C32 NH4 V288\), context 64/);
    expect(b.same_tokens).toBe(true);
    const long = await runCli(['bench', 'generate', '--model', pythia, '--lengths', '60']);
    expect(long.code).not.toBe(0);
    expect(long.stderr).toMatch(/--lengths: each must be an integer in \[1, 48\] for this model, got 60/);
  }, 120_000);
});
