/**
 * The CLI's `sample`: --stream prints each token as it is drawn (JSON lines under --json), the KV
 * cache and --no-cache give the same greedy text (GPT-2 and a Llama-family checkpoint, whose cache is
 * model/decoder-decode.ts), a bad --top-p is one clear line, and so is a KV cache above the memory budget.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { runCli, ROOT } from '../helpers/cli';

const base = ['sample', '--model', 'micro', '--prompt', 'The ', '--tokens', '12', '--temperature', '0', '--json'];

describe('cli sample', () => {
  it('--stream --json: one line per token, the last text equals the result; --no-cache agrees', async () => {
    const [streamed, full] = await Promise.all([runCli([...base, '--stream']), runCli([...base, '--no-cache'])]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    const tokens = streamed.lines.filter((l) => 'token' in l);
    expect(tokens.map((l) => l.index)).toEqual([...Array(12).keys()]);
    const result = streamed.lines.at(-1)!;
    expect(tokens.at(-1)!.text).toBe(result.text);
    expect(full.lines.at(-1)!.text).toBe(result.text);
  }, 60_000);

  it('--top-p outside (0, 1] is refused in one line', async () => {
    const r = await runCli(['sample', '--model', 'micro', '--top-p', '1.5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--top-p must be in \(0, 1\], got 1.5/);
  }, 60_000);

  it('a Llama-family checkpoint: cached and --no-cache give the same greedy text; a cache over budget is one line', async () => {
    const llama = [
      'sample',
      '--model',
      path.join(ROOT, 'tests/fixtures/hf/tiny/llama'),
      '--prompt',
      'ab',
      '--tokens',
      '16',
    ];
    const greedy = [...llama, '--temperature', '0', '--json'];
    const [cached, full] = await Promise.all([runCli(greedy), runCli([...greedy, '--no-cache'])]);
    expect(cached.code, cached.stderr).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    expect(cached.lines.at(-1)!.text).toBe(full.lines.at(-1)!.text);
    const over = await runCli(llama, { env: { RANKSCOPE_MEMORY_BUDGET: '1K' } });
    expect(over.code).not.toBe(0);
    expect(over.stderr).toMatch(
      /generation: the KV cache of \d+ positions needs .* above the 1\.0 KiB budget: ask for fewer new tokens/,
    );
  }, 90_000);
});
