/**
 * PEFT HRA adapters through the CLI (the same dispatch as LoRA/AdaLoRA, engine/io/peft.ts
 * importPeftAdapter): `import --peft` reads the golden PEFT 0.17.1 HRA adapter
 * (tests/fixtures/peft-golden/hra: 2 × q_proj, hra_u [32, 4]) against the tiny Llama it was made for and
 * prints its modules; what cannot apply is one line (no --model, a GPT-2 base, apply_GS, a base of other
 * widths). `analyze --adapter` merges it with the HRA method's merge: an orthogonal transform, so the
 * tuned spectrum keeps the base's effective rank and ΔW has rank ≤ r.
 */
import { runCli, ROOT, type CliRun } from '../helpers/cli';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSafetensors, toFloat32, writeSafetensors } from '../../src/engine/io/safetensors';

const cli = (...args: string[]): Promise<CliRun> => runCli(args);
const GOLDEN = path.join(ROOT, 'tests/fixtures/peft-golden/hra');
const LLAMA = path.join(ROOT, 'tests/fixtures/hf/tiny/llama');
const oneLine = (r: CliRun) => r.stderr.trim().split('\n').filter(Boolean);

describe('cli: PEFT HRA adapters', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-hra-'));

  it('import --peft reads the golden HRA adapter against the tiny Llama', async () => {
    const im = await cli('import', '--peft', GOLDEN, '--model', LLAMA, '--json');
    expect(im.code, im.stderr).toBe(0);
    const s = im.lines[0].import as {
      peft_type: string;
      r: number;
      apply_GS: boolean;
      modules: { module: string; r: number; inDim: number; params: number }[];
      totalParams: number;
      ignored: string[];
    };
    expect(s.peft_type).toBe('HRA');
    expect(s.r).toBe(4);
    expect(s.apply_GS).toBe(false);
    expect(s.modules).toEqual([
      { module: 'model.layers.0.self_attn.q_proj', r: 4, inDim: 32, params: 128 },
      { module: 'model.layers.1.self_attn.q_proj', r: 4, inDim: 32, params: 128 },
    ]);
    expect(s.totalParams).toBe(256);
    expect(s.ignored).toEqual([]);
    const text = await cli('import', '--peft', GOLDEN, '--model', LLAMA);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/PEFT HRA adapter for rankscope\/tiny-llama: r = 4 Householder reflections; 2 module/);
    expect(text.stdout).toMatch(/hra_u \[32, 4\]/);
  }, 120_000);

  it('refuses in one line what cannot apply: no --model, a GPT-2 base, apply_GS, other widths', async () => {
    const none = await cli('import', '--peft', GOLDEN);
    expect(none.code).not.toBe(0);
    expect(oneLine(none)).toHaveLength(1);
    expect(none.stderr).toMatch(/HRA adapter is for nn\.Linear families.*give --model/);
    const gpt2 = await cli('import', '--peft', GOLDEN, '--model', 'micro');
    expect(gpt2.code).not.toBe(0);
    expect(oneLine(gpt2)).toHaveLength(1);
    expect(gpt2.stderr).toMatch(/Conv1D/);
    mkdirSync(path.join(tmp, 'gs'));
    const cfg = JSON.parse(readFileSync(path.join(GOLDEN, 'adapter_config.json'), 'utf8'));
    writeFileSync(path.join(tmp, 'gs', 'adapter_config.json'), JSON.stringify({ ...cfg, apply_GS: true }));
    copyFileSync(path.join(GOLDEN, 'adapter_model.safetensors'), path.join(tmp, 'gs', 'adapter_model.safetensors'));
    const gs = await cli('import', '--peft', path.join(tmp, 'gs'), '--model', LLAMA);
    expect(gs.code).not.toBe(0);
    expect(oneLine(gs)).toHaveLength(1);
    expect(gs.stderr).toMatch(/apply_GS/);
    // an adapter of another width (hra_u [16, 4]) and one for a layer the model lacks: each one line, named
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(GOLDEN, 'adapter_model.safetensors'))));
    const [t0, t1] = [...st.tensors.values()].sort((a, b) => a.name.localeCompare(b.name));
    mkdirSync(path.join(tmp, 'bad'));
    copyFileSync(path.join(GOLDEN, 'adapter_config.json'), path.join(tmp, 'bad', 'adapter_config.json'));
    writeFileSync(
      path.join(tmp, 'bad', 'adapter_model.safetensors'),
      writeSafetensors([
        { name: t0.name, shape: [16, 4], data: toFloat32(t0).slice(0, 64) },
        { name: t1.name.replace('layers.1.', 'layers.5.'), shape: [32, 4], data: toFloat32(t1) },
      ]),
    );
    const bad = await cli('import', '--peft', path.join(tmp, 'bad'), '--model', LLAMA);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(
      /model\.layers\.0\.self_attn\.q_proj: hra_u is \[16, 4\] but the model's linear takes 32 inputs/,
    );
    expect(bad.stderr).toMatch(/model\.layers\.5\.self_attn\.q_proj: the model has layers 0…1, not 5/);
  }, 120_000);

  it('analyze --adapter merges it through the HRA method: same σ, ΔW of rank ≤ r, no intruders', async () => {
    const a = await cli('analyze', '--adapter', GOLDEN, '--base', LLAMA, '--json', '--cpu');
    expect(a.code, a.stderr).toBe(0);
    type Line = {
      name: string;
      erank: number;
      spectralNorm: number;
      base: { erank: number; spectralNorm: number };
      delta: { numericalRank: number; frobenius: number };
      intruders: { count: number; minMaxCos: number };
    };
    const mats = a.lines.filter((l) => typeof l.name === 'string' && 'delta' in l) as unknown as Line[];
    expect(mats.map((l) => l.name).sort()).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.1.self_attn.q_proj.weight',
    ]);
    for (const l of mats) {
      // W_hf·H with H orthogonal: the same singular values and left singular vectors (no intruders)
      expect(l.erank).toBeCloseTo(l.base.erank, 2);
      expect(l.spectralNorm).toBeCloseTo(l.base.spectralNorm, 3);
      expect(l.delta.frobenius).toBeGreaterThan(0);
      expect(l.delta.numericalRank).toBeGreaterThan(0);
      expect(l.delta.numericalRank).toBeLessThanOrEqual(4);
      expect(l.intruders.count).toBe(0);
      expect(l.intruders.minMaxCos).toBeGreaterThan(0.999);
    }
  }, 120_000);
});
