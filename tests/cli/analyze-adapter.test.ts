/**
 * `analyze --adapter`: a PEFT LoRA adapter analysed without training. A LoRA run on the shipped micro
 * model is exported as PEFT files; analysing that folder against its base must give the same figures
 * as analysing the merged checkpoint the exporter writes (so the merge and its layout are right), and
 * what cannot be represented is refused in one line.
 */
import { runCli, ROOT, type CliRun } from '../helpers/cli';
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const cli = (...args: string[]): Promise<CliRun> => runCli(args);
type Line = Record<string, unknown> & { name: string; delta?: Record<string, number>; intruders?: { count: number } };

describe('cli: analyze --adapter', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-adapter-'));
  const dir = (n: string) => path.join(tmp, n);

  beforeAll(async () => {
    const train = await cli(
      'train',
      '--config',
      'micro',
      '--model',
      'micro',
      '--method',
      'lora',
      '--param',
      'rank=4',
      '--param',
      'lr=0.05',
      '--steps',
      '4',
      '--out',
      dir('run'),
      '--json',
    );
    expect(train.code, train.stderr).toBe(0);
    const peft = await cli('export', '--run', dir('run'), '--peft', dir('peft'), '--json');
    expect(peft.code, peft.stderr).toBe(0);
    const merged = await cli('export', '--run', dir('run'), '--merged', dir('merged'), '--json');
    expect(merged.code, merged.stderr).toBe(0);
  }, 240_000);

  it('matches the analysis of the merged checkpoint, matrix by matrix', async () => {
    const a = await cli('analyze', '--adapter', dir('peft'), '--base', 'micro', '--json', '--cpu');
    expect(a.code, a.stderr).toBe(0);
    const m = await cli(
      'analyze',
      '--base',
      path.join(ROOT, 'public/models/micro/model.safetensors'),
      '--tuned',
      path.join(dir('merged'), 'model.safetensors'),
      '--only',
      'c_attn',
      '--json',
      '--cpu',
    );
    expect(m.code, m.stderr).toBe(0);
    const mats = (r: CliRun) => r.lines.filter((l) => typeof l.name === 'string' && 'delta' in l) as Line[];
    const fromAdapter = mats(a);
    const fromMerged = new Map(mats(m).map((l) => [l.name, l]));
    expect(fromAdapter.map((l) => l.name).sort()).toEqual(['h.0.attn.c_attn.weight', 'h.1.attn.c_attn.weight']);
    for (const l of fromAdapter) {
      const ref = fromMerged.get(l.name)!;
      expect(ref, l.name).toBeDefined();
      expect(l.outIn).toEqual([96, 32]);
      for (const key of ['erank', 'stableRank'] as const) expect(l[key]).toBeCloseTo(ref[key] as number, 3);
      expect(l.delta!.erank).toBeCloseTo(ref.delta!.erank, 2);
      expect(l.delta!.erank).toBeLessThanOrEqual(4.01); // a rank-4 update
      expect(l.delta!.frobenius).toBeGreaterThan(0);
      expect(l.intruders!.count).toBe(ref.intruders!.count);
    }
  }, 120_000);

  it('refuses other PEFT types and a base the adapter does not fit, in one line', async () => {
    mkdirSync(dir('ia3'));
    const cfg = JSON.parse(readFileSync(path.join(dir('peft'), 'adapter_config.json'), 'utf8'));
    writeFileSync(path.join(dir('ia3'), 'adapter_config.json'), JSON.stringify({ ...cfg, peft_type: 'IA3' }));
    copyFileSync(
      path.join(dir('peft'), 'adapter_model.safetensors'),
      path.join(dir('ia3'), 'adapter_model.safetensors'),
    );
    const ia3 = await cli('analyze', '--adapter', dir('ia3'), '--base', 'micro', '--json');
    expect(ia3.code).not.toBe(0);
    expect(ia3.stderr).toMatch(/peft_type "IA3" is not supported/);
    const wrong = await cli('analyze', '--adapter', dir('peft'), '--base', 'base', '--json');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/does not fit the base base/);
    const none = await cli('analyze', '--adapter', dir('nothing-here'));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/not a folder/);
  }, 120_000);
});
