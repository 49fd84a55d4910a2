/**
 * `extract` and `mitigate` as a person runs them (child processes, JSON lines), each round-tripped
 * through PEFT files: a micro full fine-tune → `extract --run --rank 2 --peft` → the files import with
 * r = 2 on every adapted linear; a micro LoRA run → `mitigate --eps 2` (every top-k vector counts, as
 * PEFT's own test forces it) → PEFT files with the run's rank, factors changed, and the counts printed.
 */
import { runCli, type CliRun } from '../helpers/cli';
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importPeft } from '../../src/engine/io/peft';
import { parseSafetensors, toFloat32 } from '../../src/engine/io/safetensors';

const cli = (...args: string[]): Promise<CliRun> => runCli(args);
const peftFiles = (dir: string) =>
  ['adapter_config.json', 'adapter_model.safetensors'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(dir, name))),
  }));

describe('cli: extract and mitigate', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-extract-'));
  const dir = (n: string) => path.join(tmp, n);
  beforeAll(async () => {
    const train = (method: string, out: string) =>
      cli(
        'train',
        '--config',
        'micro',
        '--method',
        method,
        ...(method === 'lora' ? ['--param', 'rank=4'] : []),
        '--steps',
        '3',
        '--out',
        dir(out),
        '--json',
      );
    const [full, lora] = [await train('full', 'full'), await train('lora', 'lora')];
    expect(full.code, full.stderr).toBe(0);
    expect(lora.code, lora.stderr).toBe(0);
  }, 240_000);

  it('extract --rank 2 writes a PEFT LoRA that imports with r = 2 and energies per matrix', async () => {
    const r = await cli('extract', '--run', dir('full'), '--rank', '2', '--peft', dir('ex'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const mats = r.lines.filter((l) => 'module' in l) as { r: number; captured: number; energyVsRank: unknown[] }[];
    expect(mats.length).toBeGreaterThan(0);
    for (const m of mats) {
      expect(m.r).toBe(2);
      expect(m.captured).toBeGreaterThan(0);
      expect(m.captured).toBeLessThanOrEqual(1);
    }
    const imp = importPeft(peftFiles(dir('ex')));
    expect(imp.modules.length).toBe(mats.length);
    for (const m of imp.modules) expect([m.r, m.scaling]).toEqual([2, 1]);
  }, 120_000);

  it('extract refuses a missing rank choice with one line', async () => {
    const r = await cli('extract', '--run', dir('full'), '--peft', dir('ex2'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exactly one of --rank r or --energy/);
  }, 60_000);

  it('mitigate --eps 2 re-factorises every adapted matrix at the run rank and writes PEFT files', async () => {
    const r = await cli('mitigate', '--run', dir('lora'), '--eps', '2', '--peft', dir('mit'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = r.lines.find((l) => 'mitigated' in l)!.mitigated as {
      intrudersBefore: number;
      probeBefore: number;
      probeAfter: number;
      probeSplit: string;
    };
    expect(s.intrudersBefore).toBeGreaterThan(0);
    // the forgetting-probe loss before/after, on the GPU: before = the run's adapter merged (its last
    // evaluated probe loss when the run evaluated at its end); after differs (every top-k vector was scaled)
    expect(s.probeSplit).toBe('probe');
    expect(Number.isFinite(s.probeBefore) && Number.isFinite(s.probeAfter)).toBe(true);
    expect(s.probeAfter).not.toBe(s.probeBefore);
    const imp = importPeft(peftFiles(dir('mit')));
    const orig = parseSafetensors(new Uint8Array(readFileSync(path.join(dir('lora'), 'adapter.safetensors'))));
    for (const m of imp.modules) {
      expect(m.r).toBe(4);
      const A0 = toFloat32(orig.tensors.get(`${m.module}.lora_A`)!);
      expect(A0.length).toBe(m.A.length);
      expect(A0.some((x, i) => x !== m.A[i])).toBe(true);
    }
  }, 120_000);
});
