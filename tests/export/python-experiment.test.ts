/**
 * Issue 14 item 4: an experiment exported as one Python project (src/engine/export/python/experiment.ts).
 * The alpha-rank smoke preset (8 runs) is exported; every run's train.py compiles and its
 * test_mapping.py passes with the system python3 (on the shared model/ and data/); sweep.sh and sweep_array.sh launch every run; the
 * runs' metrics files, written in train.py's format, come back as results whose verdict is judged by
 * the experiment's own verdict code; the CLI (experiment export, import --python-experiment) does the
 * same through files. A method the run exporter refuses fails the export naming the run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from '../../src/engine/experiments/presets';
import { expandExperiment, type Experiment } from '../../src/engine/experiments/schema';
import { judge } from '../../src/engine/experiments/verdict';
import {
  buildPythonExperiment,
  pythonExperimentResults,
  type PythonExperimentProject,
} from '../../src/engine/export/python/experiment';
import { PythonExportError } from '../../src/engine/export/python/mapping';
import { runCli, ourErrors } from '../helpers/cli';

const hasPython = spawnSync('python3', ['--version']).status === 0;

function smoke(id: string): Experiment {
  const exp = structuredClone(getPreset(id)!);
  exp.budget = 'smoke';
  exp.seeds = 1;
  return exp;
}

/** metrics.jsonl as train.py writes it: step 0 eval, one row per step, final eval, summary. */
function metricsJsonl(losses: number[], val: number, complete = true): string {
  const rows: object[] = [{ step: 0, valLoss: val + 1 }];
  losses.forEach((loss, i) =>
    rows.push({
      step: i + 1,
      loss,
      lr: 0.003,
      gradNorm: 1.5,
      tokensPerSec: 1000,
      ...(i === losses.length - 1 ? { valLoss: val } : {}),
    }),
  );
  if (complete)
    rows.push({ summary: { finalLoss: losses.at(-1), valLoss: val, seconds: 2, devices: 1, complete: true } });
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

describe('experiment → one Python project', () => {
  let exp: Experiment;
  let project: PythonExperimentProject;
  let dir: string;
  const file = (name: string) => readFileSync(path.join(dir, name), 'utf8');

  beforeAll(async () => {
    exp = smoke('alpha-rank');
    project = await buildPythonExperiment(exp);
    dir = mkdtempSync(path.join(os.tmpdir(), 'rs-pyexp-'));
    for (const f of project.files) {
      mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
      writeFileSync(path.join(dir, f.name), f.bytes);
    }
  }, 60_000);

  it('holds every expanded run under runs/<dir>/, the model once, experiment.json and the launchers', () => {
    const keys = expandExperiment(exp).map((r) => r.key);
    expect(project.runs.map((r) => r.key)).toEqual(keys);
    expect(keys.length).toBe(8);
    expect(new Set(project.runs.map((r) => r.dir)).size).toBe(keys.length);
    const names = new Set(project.files.map((f) => f.name));
    for (const r of project.runs)
      for (const f of ['train.py', 'rs_config.py', 'test_mapping.py', 'run_config.json', 'requirements.txt'])
        expect(names.has(`runs/${r.dir}/${f}`), `${r.dir}/${f}`).toBe(true);
    expect([...names].filter((n) => n.startsWith('model/')).length).toBeGreaterThan(0);
    expect([...names].some((n) => /^runs\/[^/]+\/model\//.test(n))).toBe(false);
    // the runs share one dataset sample (same seed): the data files are written once
    expect(names.has('data/train.jsonl') && names.has('data/val.jsonl')).toBe(true);
    expect([...names].some((n) => /^runs\/[^/]+\/data\//.test(n))).toBe(false);
    expect(JSON.parse(file('experiment.json')).id).toBe('alpha-rank');
    // each run's config is the expanded run's (rank and method differ between runs)
    const cfg = JSON.parse(file(`runs/${project.runs[7].dir}/run_config.json`));
    expect(cfg.studio_run).toEqual(
      JSON.parse(JSON.stringify((expandExperiment(exp)[7] as { config: unknown }).config)),
    );
    const sweep = file('sweep.sh'),
      array = file('sweep_array.sh'),
      readme = file('README.md');
    expect(sweep.match(/accelerate launch/g)!.length).toBe(8);
    expect(sweep.match(/train\.py --model_path \.\.\/\.\.\/model --data_dir \.\.\/\.\.\/data/g)!.length).toBe(8);
    expect(array).toContain('train.py --model_path ../../model --data_dir ../../data');
    expect(array).toContain('#SBATCH --array=0-7');
    expect(array).toContain('$SLURM_ARRAY_TASK_ID');
    for (const r of project.runs) {
      expect(sweep).toContain(`runs/'${r.dir}'`);
      expect(array).toContain(`'${r.dir}'`);
      expect(readme).toContain(`runs/${r.dir}`);
    }
    expect(readme).toContain('sbatch sweep_array.sh');
    expect(readme).toContain('import --python-experiment');
    if (hasPython) {
      expect(spawnSync('bash', ['-n', path.join(dir, 'sweep.sh')]).status).toBe(0);
      expect(spawnSync('bash', ['-n', path.join(dir, 'sweep_array.sh')]).status).toBe(0);
    }
  });

  it.skipIf(!hasPython)(
    'every train.py compiles and every run passes its test_mapping.py',
    () => {
      for (const r of project.runs) {
        const rd = path.join(dir, 'runs', r.dir);
        execFileSync('python3', ['-m', 'py_compile', 'train.py', 'rs_config.py', 'test_mapping.py'], { cwd: rd });
        const t = spawnSync('python3', ['test_mapping.py'], { cwd: rd, encoding: 'utf8' });
        expect(t.status, `${r.dir}: ${t.stderr}`).toBe(0);
      }
    },
    60_000,
  );

  it('recorded metrics come back as results judged by the experiment verdict', () => {
    const experimentJson = file('experiment.json'),
      runsJson = file('runs.json');
    // rsLoRA: the loss falls with rank and beats LoRA at r=128 → the claim holds
    const loss = (r: { key: string }) => {
      const rank = Number(/r=(\d+)/.exec(r.key)![1]);
      return r.key.startsWith('rsLoRA') ? 5 - Math.log2(rank) * 0.1 : 5;
    };
    const metrics = Object.fromEntries(
      project.runs.map((r) => [r.dir, metricsJsonl([6, 5.5, loss(r)], loss(r) + 0.2)] as [string, string]),
    );
    const res = pythonExperimentResults(experimentJson, runsJson, metrics);
    expect(res.rows.every((r) => r.status === 'done')).toBe(true);
    const r8 = res.rows.find((r) => r.key === project.runs[7].key)!;
    expect(r8.curve).toEqual([6, 5.5, loss(r8)]);
    expect(r8.metrics.valLoss).toBeCloseTo(loss(r8) + 0.2, 12);
    expect(r8.metrics.step0ValLoss).toBeCloseTo(loss(r8) + 1.2, 12);
    expect(r8.metrics.meanLoss).toBeCloseTo((6 + 5.5 + loss(r8)) / 3, 12);
    expect(res.verdict).toEqual(judge(res.experiment, res.rows));
    expect(res.verdict.finished).toBe(8);
    expect(res.verdict.holds).toBe(true);
    // reversed numbers: rsLoRA worse at high rank → does not hold
    const rev = Object.fromEntries(
      project.runs.map((r) => [r.dir, metricsJsonl([6, 5.5, 10 - loss(r)], 10 - loss(r))] as [string, string]),
    );
    expect(pythonExperimentResults(experimentJson, runsJson, rev).verdict.holds).toBe(false);
    // a run not trained yet is pending; one cut short is failed; neither counts
    const partial = {
      ...metrics,
      [project.runs[0].dir]: undefined,
      [project.runs[1].dir]: metricsJsonl([6], 5, false),
    };
    const pr = pythonExperimentResults(experimentJson, runsJson, partial);
    expect(pr.rows[0].status).toBe('pending');
    expect(pr.rows[1].status).toBe('failed');
    expect(pr.rows[1].error).toContain('stopped at step 1 of 3');
    expect(pr.verdict.finished).toBe(6);
  });

  it('refuses the whole experiment when the run exporter refuses a run, naming it', async () => {
    const e = smoke('alpha-rank');
    e.variants = [
      { label: 'LoRA', set: { 'method.id': 'lora' } },
      { label: 'DyLoRA', set: { 'method.id': 'dylora' } },
    ];
    e.axes = [];
    e.verdict = { all: [{ rule: 'compare', metric: 'finalLoss', a: 'LoRA', op: '<', b: 'DyLoRA', says: 'x' }] };
    await expect(buildPythonExperiment(e)).rejects.toThrow(PythonExportError);
    await expect(buildPythonExperiment(e)).rejects.toThrow(/run "DyLoRA · seed=0".*dylora|run "DyLoRA · seed=0"/);
  }, 60_000);

  it('CLI: experiment export --python, then import --python-experiment writes results.json with the verdict', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rs-pyexp-cli-'));
    const proj = path.join(root, 'proj');
    const ex = await runCli(
      ['experiment', 'export', 'alpha-rank', '--budget', 'smoke', '--seeds', '1', '--python', proj, '--json'],
      { strictJson: true },
    );
    expect(ex.code, ex.stderr).toBe(0);
    const runs = (ex.lines[0].export as { python: { runs: { dir: string; key: string }[] } }).python.runs;
    expect(runs.map((r) => r.key)).toEqual(project.runs.map((r) => r.key));
    for (const r of runs) {
      mkdirSync(path.join(proj, 'runs', r.dir, 'out'), { recursive: true });
      writeFileSync(path.join(proj, 'runs', r.dir, 'out', 'metrics.jsonl'), metricsJsonl([6, 5.5, 5], 5.1));
    }
    const im = await runCli(['import', '--python-experiment', proj, '--out', path.join(root, 'res'), '--json'], {
      strictJson: true,
    });
    expect(im.code, im.stderr).toBe(0);
    const v = im.lines.at(-1)!.verdict as { holds: boolean | null; numbers: { finished: number } };
    expect(v.numbers.finished).toBe(8);
    expect(v.holds).toBe(false); // equal losses: no trend with rank
    const results = JSON.parse(readFileSync(path.join(root, 'res', 'results.json'), 'utf8'));
    expect(results.rows.length).toBe(8);
    expect(results.verdict.holds).toBe(false);
    const bad = await runCli(['experiment', 'export', 'alpha-rank'], {});
    expect(bad.code).toBe(1);
    expect(ourErrors(bad.stderr)[0]).toMatch(/needs --python OUT/);
  }, 120_000);
});
