/**
 * `train --checkpoint-every / --stop-after / --resume` over the WHOLE method registry (issue 17 item 2):
 * for every method in `listMethods()` — so a new method file is covered by adding it — a run stopped
 * after step 2 and resumed from its checkpoint prints per-step losses equal to an uninterrupted run's,
 * bit for bit. The command runs in-process (the `train` module's own `run`, stdout captured) to keep
 * 13 methods × 3 runs within seconds; tests/cli/signals.test.ts spawns the real CLI.
 *
 * Also: --out is checked before training (file, empty, the model's folder, another run's folder).
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as train } from '../../src/cli/commands/train';
import { listMethods } from '../../src/engine/adapters/registry';
import { decodeTrainingCheckpoint } from '../../src/engine/io/checkpoint';
import { CliError } from '../../src/cli/args';

interface Row {
  step: number;
  loss: number;
  summary?: Record<string, unknown>;
}

/** Run `train` in-process; returns the exit code and the JSON lines it printed. */
async function cli(
  args: string[],
): Promise<{ code: number; rows: Row[]; summary: Record<string, unknown> | null; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const e = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const l = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const code = await train(args);
    const lines = out
      .join('')
      .split('\n')
      .filter((x) => x.trim())
      .map((x) => JSON.parse(x) as Row);
    const summaryLine = lines.find((r) => r.summary);
    return {
      code,
      rows: lines.filter((r) => !r.summary),
      summary: (summaryLine?.summary as Record<string, unknown>) ?? null,
      err: err.join('\n'),
    };
  } finally {
    w.mockRestore();
    e.mockRestore();
    l.mockRestore();
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'rankscope-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = ['--config', 'micro', '--steps', '4', '--batch', '2', '--context', '16', '--json'];

describe('train --resume continues bit for bit, for every method in the registry', () => {
  const methods = listMethods().map((m) => m.id);

  it('the registry is not empty (a rename would silently empty this test)', () => {
    expect(methods.length).toBeGreaterThanOrEqual(13);
  });

  for (const id of methods) {
    it(`${id}: stop after 2 of 4, resume → losses equal an uninterrupted run's`, async () => {
      const whole = await cli([...BASE, '--method', id]);
      expect(whole.code, whole.err).toBe(0);
      expect(whole.rows.map((r) => r.step)).toEqual([1, 2, 3, 4]);

      const dir = path.join(tmp, id);
      const first = await cli([...BASE, '--method', id, '--out', dir, '--checkpoint-every', '1', '--stop-after', '2']);
      expect(first.code, first.err).toBe(0);
      expect(first.rows.map((r) => r.step)).toEqual([1, 2]);
      expect(first.summary?.complete).toBe(false);
      const status = JSON.parse(readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
      expect(status).toMatchObject({ complete: false, reason: 'stopped', step: 2, totalSteps: 4, method: id });
      const ckpt = decodeTrainingCheckpoint(readFileSync(path.join(dir, 'checkpoint.safetensors')));
      expect(ckpt.step).toBe(2);
      expect(ckpt.config.method.id).toBe(id);
      // optimizer moments travel with every trainable tensor (other prefixed entries: projector state)
      const names = Object.keys(ckpt.tensors);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names.filter((k) => !k.includes(':'))) {
        expect(ckpt.tensors[`m:${n}`], `m:${n}`).toBeDefined();
        expect(ckpt.tensors[`v:${n}`], `v:${n}`).toBeDefined();
      }

      const resumed = await cli(['--resume', dir, '--json']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.rows.map((r) => r.step)).toEqual([3, 4]);
      // Bit for bit: JSON prints the shortest round-tripping decimal of each double.
      expect(first.rows.map((r) => r.loss)).toEqual(whole.rows.slice(0, 2).map((r) => r.loss));
      expect(resumed.rows.map((r) => r.loss)).toEqual(whole.rows.slice(2).map((r) => r.loss));
      expect(resumed.summary?.complete).toBe(true);
      const done = JSON.parse(readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
      expect(done).toMatchObject({ complete: true, reason: 'done', step: 4 });
      // written as a unit: no temporary siblings left behind
      expect(readdirSync(tmp).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual([]);
    });
  }
});

describe('--out is checked before training', () => {
  let file: string, other: string, foreign: string;
  beforeAll(() => {
    file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    other = path.join(tmp, 'other-run');
    mkdirSync(other);
    writeFileSync(path.join(other, 'run.json'), '{}');
    writeFileSync(
      path.join(other, 'status.json'),
      JSON.stringify({ complete: true, reason: 'done', step: 9, totalSteps: 9, method: 'lora', message: '' }),
    );
    foreign = path.join(tmp, 'photos');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'cat.jpg'), 'x');
  });

  const refused = async (args: string[], re: RegExp) => {
    const p = cli([...BASE, '--method', 'lora', ...args]);
    await expect(p).rejects.toBeInstanceOf(CliError);
    await expect(p).rejects.toThrow(re);
  };

  it('an empty --out=, a file, a non-empty foreign folder are refused with one line', async () => {
    await refused(['--out='], /--out needs a folder path/);
    await refused(['--out', file], /is a file, not a folder/);
    await refused(['--out', foreign], /not empty and holds no Rankscope run/);
    expect(readdirSync(foreign)).toEqual(['cat.jpg']);
  });

  it('--out equal to or inside --model is refused (the base model is never overwritten)', async () => {
    const model = path.join(tmp, 'lora'); // a run folder written above: a valid model folder
    await refused(['--model', model, '--out', model], /is the input/);
    await refused(['--model', model, '--out', path.join(model, 'sub')], /is inside the input/);
    await refused(['--model', model, '--out', tmp], /contains the input/);
  });

  it('another run in --out is refused unless --overwrite, which replaces it as a unit', async () => {
    await refused(['--out', other], /already holds a finished lora run at step 9: pass --overwrite/);
    writeFileSync(path.join(other, 'stale.bin'), 'old');
    const r = await cli([...BASE, '--method', 'lora', '--steps', '1', '--out', other, '--overwrite']);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(path.join(other, 'stale.bin'))).toBe(false); // nothing of the previous run survives
    expect(JSON.parse(readFileSync(path.join(other, 'status.json'), 'utf8'))).toMatchObject({
      complete: true,
      step: 1,
    });
  });

  it('--resume refuses settings that would change the run, and a folder without a checkpoint', async () => {
    const p = cli(['--resume', path.join(tmp, 'lora'), '--steps', '9', '--json']);
    await expect(p).rejects.toThrow(/drop --steps/);
    await expect(cli(['--resume', foreign, '--json'])).rejects.toThrow(/no checkpoint\.safetensors there/);
  });
});
