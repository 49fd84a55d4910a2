/**
 * The CLI's LoRA-family plumbing as a person runs it (child processes, JSON lines): the per-method
 * memory report in `train`'s summary, `train --out` → `export --peft` → `import --peft` for LoRA and
 * DoRA, `export --merged`, and the refusal (non-zero exit, reason, alternative) for a method PEFT
 * would misread. Runs are a few micro steps.
 */
import { runCli, type CliRun } from '../helpers/cli';
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSafetensors } from '../../src/engine/io/safetensors';

const cli = (...args: string[]): Promise<CliRun> => runCli(args);

type Summary = { method: string; memory: Record<string, number>; methodMemory: Record<string, number> };
const summaryOf = (r: CliRun) => r.lines.find((l) => 'summary' in l)!.summary as Summary;

describe('cli: method memory, export and import', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-export-'));
  const dir = (n: string) => path.join(tmp, n);
  let lora: CliRun, dora: CliRun, full: CliRun;

  beforeAll(async () => {
    const train = (method: string, steps: string, out: string) =>
      cli(
        'train',
        '--config',
        'micro',
        '--method',
        method,
        '--param',
        'rank=4',
        '--steps',
        steps,
        '--out',
        dir(out),
        '--json',
      );
    lora = await train('lora', '3', 'lora-run');
    dora = await train('dora', '3', 'dora-run');
    full = await cli(
      'train',
      '--config',
      'micro',
      '--method',
      'full',
      '--steps',
      '1',
      '--out',
      dir('full-run'),
      '--json',
    );
  });

  it('train reports methodMemory: trainable parameters, AdamW state, adapter and activation bytes', () => {
    expect(lora.code, lora.stderr).toBe(0);
    expect(dora.code, dora.stderr).toBe(0);
    const l = summaryOf(lora),
      d = summaryOf(dora);
    for (const s of [l, d]) {
      expect(s.methodMemory.trainableParams).toBe(s.memory.trainableParams);
      expect(s.methodMemory.optimizerBytes).toBe(8 * s.methodMemory.trainableParams);
      expect(s.methodMemory.gradientBytes).toBe(4 * s.methodMemory.trainableParams);
      expect(s.methodMemory.adapterBytes).toBeGreaterThan(0);
      expect(s.methodMemory.activationBytes).toBeGreaterThan(0);
    }
    // micro: 2 layers, c_attn 32 → 96, rank 4: LoRA 2·(4·32 + 96·4) = 1024; DoRA adds a magnitude per output.
    expect(l.methodMemory.trainableParams).toBe(1024);
    expect(d.methodMemory.trainableParams).toBe(1024 + 2 * 96);
    // DoRA keeps z (N, out) per layer on top of LoRA's activations.
    expect(d.methodMemory.activationBytes).toBeGreaterThan(l.methodMemory.activationBytes);
  });

  it('LoRA: export --peft writes PEFT names and shapes; import --peft reads them back', async () => {
    const ex = await cli('export', '--run', dir('lora-run'), '--peft', dir('lora-peft'), '--json');
    expect(ex.code, ex.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(dir('lora-peft'), 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 16,
      target_modules: ['c_attn'],
      fan_in_fan_out: true,
      use_dora: false,
      use_rslora: false,
      task_type: 'CAUSAL_LM',
    });
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(dir('lora-peft'), 'adapter_model.safetensors'))));
    expect(st.tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')!.shape).toEqual([4, 32]);
    expect(st.tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight')!.shape).toEqual([96, 4]);
    const im = await cli('import', '--peft', dir('lora-peft'), '--json');
    expect(im.code, im.stderr).toBe(0);
    const found = im.lines[0].import as {
      modules: { module: string; r: number; scaling: number; dora: boolean }[];
      totalParams: number;
    };
    expect(found.modules.map((m) => m.module)).toEqual(['h.0.attn.c_attn', 'h.1.attn.c_attn']);
    expect(found.modules.every((m) => m.r === 4 && m.scaling === 4 && !m.dora)).toBe(true);
    expect(found.totalParams).toBe(1024);
  });

  it('DoRA: use_dora and the magnitude vectors survive export → import', async () => {
    const ex = await cli('export', '--run', dir('dora-run'), '--peft', dir('dora-peft'), '--json');
    expect(ex.code, ex.stderr).toBe(0);
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(dir('dora-peft'), 'adapter_model.safetensors'))));
    expect(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector')!.shape).toEqual([96]);
    const im = await cli('import', '--peft', dir('dora-peft'));
    expect(im.code, im.stderr).toBe(0);
    expect(im.stdout).toMatch(/DoRA/);
    expect(im.stdout).toMatch(/m \[96\]/);
  });

  it('full fine-tuning: --peft is refused with the reason; --merged writes the merged checkpoint', async () => {
    expect(full.code, full.stderr).toBe(0);
    const refused = await cli('export', '--run', dir('full-run'), '--peft', dir('full-peft'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/full fine-tuning has no adapter.*--merged/s);
    expect(existsSync(path.join(dir('full-peft'), 'adapter_config.json'))).toBe(false);
    const merged = await cli('export', '--run', dir('full-run'), '--merged', dir('full-merged'), '--json');
    expect(merged.code, merged.stderr).toBe(0);
    expect(
      readFileSync(path.join(dir('full-merged'), 'model.safetensors')).equals(
        readFileSync(path.join(dir('full-run'), 'model.safetensors')),
      ),
    ).toBe(true);
    expect(existsSync(path.join(dir('full-merged'), 'config.json'))).toBe(true);
  });
});
