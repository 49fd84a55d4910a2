/**
 * The CLI's `train` as a person runs it: a child process (`vite-node --script src/cli/main.ts -- train
 * …` from the repo root, i.e. `npm run cli -- train …` without npm's wrapper), stdout parsed as JSON
 * lines. Checks the per-step and summary contract, reproducibility across processes, and that bad
 * input exits non-zero with a message naming the problem. Runs are kept to a few micro steps.
 */
import { runCli, ourErrors, type CliRun } from '../helpers/cli';
import { describe, it, expect, beforeAll } from 'vitest';

const cli = (...args: string[]): Promise<CliRun> => runCli(args, { strictJson: true });

const STEP_ARGS = ['train', '--config', 'micro', '--steps', '6', '--json'];

function steps(r: CliRun): { step: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number }[] {
  return r.lines.filter((l) => !('summary' in l)) as never;
}

describe('cli train', () => {
  let a: CliRun, b: CliRun, seed7: CliRun, badLr: CliRun, noFile: CliRun;

  beforeAll(async () => {
    // The two error runs stop before touching the GPU; let them overlap the first training run.
    [a, badLr, noFile] = await Promise.all([
      cli(...STEP_ARGS),
      cli(...STEP_ARGS, '--param', 'lr=-1'),
      cli('train', '--config', '/nonexistent.json', '--json'),
    ]);
    b = await cli(...STEP_ARGS);
    seed7 = await cli(...STEP_ARGS, '--param', 'seed=7');
  }, 120_000);

  it('prints one JSON object per step with step, loss, lr, gradNorm, tokensPerSec', () => {
    expect(a.code, a.stderr).toBe(0);
    const rows = steps(a);
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of rows) {
      for (const k of ['step', 'loss', 'lr', 'gradNorm', 'tokensPerSec'] as const) {
        expect(typeof r[k], k).toBe('number');
        expect(Number.isFinite(r[k]), k).toBe(true);
      }
      expect(r.loss).toBeGreaterThan(0);
      expect(r.lr).toBeGreaterThan(0);
      expect(r.gradNorm).toBeGreaterThan(0);
      expect(r.tokensPerSec).toBeGreaterThan(0);
    }
  });

  it('ends with a {"summary": …} line: finalLoss, steps, seed, adapter, memory by category', () => {
    const last = a.lines.at(-1)!;
    expect(Object.keys(last)).toEqual(['summary']);
    const s = last.summary as Record<string, unknown>;
    expect(s.finalLoss).toBe(steps(a).at(-1)!.loss);
    expect(s.steps).toBe(6);
    expect(s.seed).toBe(0);
    expect(typeof s.adapter).toBe('string');
    expect((s.adapter as string).length).toBeGreaterThan(0);
    const mem = s.memory as Record<string, number>;
    for (const k of ['weights', 'gradients', 'optimizer', 'activations']) {
      expect(Number.isInteger(mem[k]), k).toBe(true);
      expect(mem[k], k).toBeGreaterThan(0);
    }
    // Full fine-tuning: gradients as large as the weights, AdamW's two moments twice that.
    expect(mem.gradients).toBe(mem.weights);
    expect(mem.optimizer).toBeGreaterThanOrEqual(2 * mem.weights);
  });

  it('two runs with one seed print identical losses; --param seed=7 changes them', () => {
    expect(b.code, b.stderr).toBe(0);
    expect(seed7.code, seed7.stderr).toBe(0);
    expect(steps(b).map((r) => r.loss)).toEqual(steps(a).map((r) => r.loss));
    expect((seed7.lines.at(-1)!.summary as Record<string, unknown>).seed).toBe(7);
    const la = steps(a).map((r) => r.loss),
      l7 = steps(seed7).map((r) => r.loss);
    expect(l7).toHaveLength(6);
    for (let i = 0; i < 6; i++) expect(l7[i], `step ${i + 1}`).not.toBe(la[i]);
  });

  it('--param lr=-1 exits non-zero naming train.lr and the allowed range', () => {
    expect(badLr.code).not.toBe(0);
    expect(badLr.lines).toEqual([]);
    expect(badLr.stderr).toMatch(/train\.lr/);
    expect(badLr.stderr).toMatch(/greater than 0/);
  });

  it('--config /nonexistent.json exits non-zero with one clear line', () => {
    expect(noFile.code).not.toBe(0);
    expect(noFile.lines).toEqual([]);
    const errs = ourErrors(noFile.stderr);
    expect(errs, noFile.stderr).toHaveLength(1);
    expect(errs[0]).toMatch(/^rankscope: .*\/nonexistent\.json/);
    expect(errs[0]).not.toMatch(/\bat \S+:\d+/); // no stack trace
  });
});

describe('cli train: the step-0 evaluation', () => {
  it('prints {"step":0,"valLoss","probeLoss"} of the untouched model first; LoRA and full FT agree on it', async () => {
    const args = ['train', '--config', 'micro', '--steps', '2', '--param', 'eval.every=1', '--json'];
    const [full, lora] = await Promise.all([cli(...args), cli(...args, '--method', 'lora', '--param', 'rank=2')]);
    expect(full.code, full.stderr).toBe(0);
    expect(lora.code, lora.stderr).toBe(0);
    const first = (r: CliRun) => r.lines[0] as Record<string, number>;
    expect(Object.keys(first(full)).sort()).toEqual(['probeLoss', 'step', 'valLoss']);
    expect(first(full).step).toBe(0);
    expect(Number.isFinite(first(full).valLoss)).toBe(true);
    expect(Number.isFinite(first(full).probeLoss)).toBe(true);
    // LoRA's B starts at 0, so at step 0 both runs evaluate the same model (within float rounding)
    expect(first(lora).valLoss).toBeCloseTo(first(full).valLoss, 5);
    expect(first(lora).probeLoss).toBeCloseTo(first(full).probeLoss, 5);
    // and training moves it
    const step2 = full.lines.find((l) => (l as Record<string, number>).step === 2) as Record<string, number>;
    expect(step2.valLoss).not.toBe(first(full).valLoss);
  }, 120_000);
});
