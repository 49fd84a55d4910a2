/**
 * The page's DyLoRA and PHLoRA presets (issue 13): a page run trained by the worker's runner (the config
 * the page trains, pageConfig), its final checkpoint as the page stores it, then the worker's
 * experimentMeasure call (worker/experiment-measure.ts) — per-rank validation losses and extraction
 * energies equal to what the CLI's runner (runExperiment) measures on the same run, since both go
 * through the runner's measureFinalState; the sequential two-task forgetting likewise through
 * sequential.ts. A checkpoint short of the last step, or a measurement that is not a final-state one,
 * is refused in one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { testGpu } from '../helpers/gpu';
import { getPreset } from '../../src/engine/experiments/presets';
import { runExperiment } from '../../src/engine/experiments/runner';
import { expandExperiment, parseExperiment, secondTaskOf, type Experiment } from '../../src/engine/experiments/schema';
import { pageConfig } from '../../src/ui/experiments';
import { WorkerRunner } from '../../src/worker/runner';
import { measureExperimentRun } from '../../src/worker/experiment-measure';
import type { EngineEvent, ResumeState } from '../../src/worker/protocol';
import type { RunConfig } from '../../src/engine/config';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** One run as the page trains it: the worker's runner, its last checkpoint and final val loss. */
async function pageRun(config: RunConfig): Promise<{ resume: ResumeState; valLoss: number }> {
  const events: EngineEvent[] = [];
  const runner = new WorkerRunner(gpu, (e) => void events.push(e), { checkpointIntervalMs: 1e9 });
  runner.start({ type: 'run', runId: 'r', config });
  for (let i = 0; i < 2400 && !events.some((e) => e.type === 'state' && e.state === 'done'); i++) {
    const err = events.find((e) => e.type === 'error');
    if (err) throw new Error(JSON.stringify(err));
    await new Promise((r) => setTimeout(r, 25));
  }
  await runner.dispose();
  const ck = events.filter((e) => e.type === 'checkpoint').at(-1);
  if (ck?.type !== 'checkpoint') throw new Error('no checkpoint');
  const vals = events.flatMap((e) => (e.type === 'metrics' ? [...e.batch.valLoss].filter(Number.isFinite) : []));
  return { resume: structuredClone(ck.resume), valLoss: vals.at(-1)! };
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('experimentMeasure: the CLI runner’s final-state measurements on a page run', () => {
  it('DyLoRA: validation loss at every evaluation rank equals the CLI’s', async () => {
    const exp: Experiment = parseExperiment({ ...getPreset('dylora')!, budget: 'smoke' });
    const run = expandExperiment(exp)[0];
    if (run.kind !== 'train') throw new Error('expected a training run');
    expect(run.config.method.id).toBe('dylora');
    const cli = await runExperiment(gpu, {
      ...exp,
      variants: exp.variants.slice(0, 1),
      verdict: { all: [{ rule: 'threshold', metric: 'valLoss', groups: ['DyLoRA r=16'], op: '<=', value: 100 }] },
    });
    const cliRow = cli.rows[0];
    expect(cliRow.error).toBeUndefined();
    expect(cliRow.status).toBe('done');

    const { resume, valLoss } = await pageRun(pageConfig(exp, run));
    expect(resume.step).toBe(run.config.train.steps);
    expect(relDiff(valLoss, cliRow.metrics.valLoss!)).toBeLessThan(1e-6);
    const out = await measureExperimentRun(gpu, {
      config: run.config,
      resume,
      measure: ['rank-eval'],
      evalRanks: exp.evalRanks,
      valLoss,
    });
    console.log(`DyLoRA rank-eval page ${JSON.stringify(out.rankEval)} CLI ${JSON.stringify(cliRow.rankEval)}`);
    expect(out.rankEval!.map((r) => r.rank)).toEqual([1, 4, 16]);
    out.rankEval!.forEach((r, i) => {
      expect(Number.isFinite(r.valLoss)).toBe(true);
      expect(relDiff(r.valLoss, cliRow.rankEval![i].valLoss)).toBeLessThan(1e-6);
      expect(out.metrics[`valLoss@r${r.rank}`]).toBe(r.valLoss);
    });
    expect(Object.keys(out.metrics).sort()).toEqual(['valLoss@r1', 'valLoss@r16', 'valLoss@r4']);
  }, 120_000);

  it('PHLoRA: energy and re-merged loss per extracted rank equal the CLI’s', async () => {
    const exp: Experiment = parseExperiment({ ...getPreset('phlora')!, budget: 'smoke', extractRanks: [1, 4, 16] });
    const run = expandExperiment(exp)[0];
    if (run.kind !== 'train') throw new Error('expected a training run');
    const cli = await runExperiment(gpu, exp);
    const cliRow = cli.rows[0];
    expect(cliRow.error).toBeUndefined();
    expect(cliRow.status).toBe('done');

    const { resume, valLoss } = await pageRun(pageConfig(exp, run));
    const out = await measureExperimentRun(gpu, {
      config: run.config,
      resume,
      measure: ['extract'],
      extractRanks: exp.extractRanks,
      valLoss,
    });
    console.log(`PHLoRA extract page ${JSON.stringify(out.extract)} CLI ${JSON.stringify(cliRow.extract)}`);
    expect(out.extract!.map((r) => r.rank)).toEqual([1, 4, 16]);
    out.extract!.forEach((r, i) => {
      const c = cliRow.extract![i];
      expect(r.energy).toBeGreaterThan(0);
      expect(r.energy).toBeLessThanOrEqual(1 + 1e-9);
      expect(relDiff(r.energy, c.energy)).toBeLessThan(1e-6);
      expect(relDiff(r.valLoss, c.valLoss)).toBeLessThan(1e-6);
      expect(out.metrics[`valLossGap@r${r.rank}`]).toBeCloseTo(r.valLoss - valLoss, 12);
    });
    // energy grows with the rank
    expect(out.extract![2].energy).toBeGreaterThan(out.extract![0].energy);
    // without the page's val loss the worker evaluates the restored model itself: the same number
    const again = await measureExperimentRun(gpu, {
      config: run.config,
      resume,
      measure: ['extract'],
      extractRanks: [4],
    });
    expect(again.metrics['valLossGap@r4']).toBeCloseTo(out.metrics['valLossGap@r4'], 6);

    // refused in one line: a checkpoint short of the end, a measurement made during training
    await expect(
      measureExperimentRun(gpu, { config: run.config, resume: { ...resume, step: 1 }, measure: ['extract'] }),
    ).rejects.toThrow("the run's checkpoint is at step 1 of 3: measure the finished run");
    await expect(
      measureExperimentRun(gpu, { config: run.config, resume, measure: ['intruders' as 'extract'] }),
    ).rejects.toThrow('intruders: not a final-state measurement (rank-eval, extract, sequential)');
  }, 120_000);

  it('sequential forgetting: the second task on the merged run gives the CLI’s numbers', async () => {
    const preset = parseExperiment({ ...getPreset('sequential-forgetting')!, budget: 'smoke' });
    const exp: Experiment = parseExperiment({
      ...preset,
      variants: preset.variants.slice(0, 1),
      verdict: { all: [{ rule: 'threshold', metric: 'seqForgetting', groups: ['LoRA r=8'], op: '<', value: 100 }] },
    });
    const run = expandExperiment(exp)[0];
    if (run.kind !== 'train') throw new Error('expected a training run');
    const cliRow = (await runExperiment(gpu, exp)).rows[0];
    expect(cliRow.error).toBeUndefined();
    const { resume, valLoss } = await pageRun(pageConfig(exp, run));
    const out = await measureExperimentRun(gpu, {
      config: run.config,
      resume,
      measure: ['sequential'],
      secondTask: secondTaskOf(exp)!,
      valLoss,
    });
    console.log(`sequential page ${JSON.stringify(out.metrics)} CLI seqForgetting ${cliRow.metrics.seqForgetting}`);
    expect(out.sequentialError).toBeUndefined();
    for (const k of [
      'task1ValAfterTask1',
      'task1ValAfterTask2',
      'seqForgetting',
      'task2ValAfterTask1',
      'task2ValAfterTask2',
    ]) {
      expect(Number.isFinite(out.metrics[k])).toBe(true);
      expect(Math.abs(out.metrics[k] - cliRow.metrics[k]!)).toBeLessThan(
        1e-6 * Math.max(1, Math.abs(cliRow.metrics[k]!)),
      );
    }
    expect(out.secondCurve).toEqual(cliRow.secondCurve);
    await expect(measureExperimentRun(gpu, { config: run.config, resume, measure: ['sequential'] })).rejects.toThrow(
      "'sequential' needs the experiment's second task (secondTask)",
    );
  }, 120_000);
});
