/**
 * The CLI's `experiment` as a person runs it (child processes, JSON lines): `list --json` gives one
 * object per preset; `run asymmetry --budget smoke` runs the preset end to end on the built-in micro
 * model through the same Trainer as `train`, prints one line per run and the final verdict, writes
 * results.json + CSVs into --out; running it twice gives identical per-run losses; bad input is
 * refused in one line before any work.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, ourErrors, type CliRun } from '../helpers/cli';

const cli = (...args: string[]): Promise<CliRun> => runCli(args, { strictJson: true });

describe('cli experiment', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rankscope-exp-'));
  const out = path.join(dir, 'out');
  let list: CliRun, a: CliRun, b: CliRun, unknown: CliRun, badBudget: CliRun, waiting: CliRun, badFile: CliRun;

  beforeAll(async () => {
    // The refusals stop before the GPU; let them overlap the first run.
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ id: 'x', title: 't', claim: 'c', paper: { title: 'p', arxiv: '1' } }));
    // an experiment naming a method the engine does not have (yet): listed as waiting, refused to run
    const future = path.join(dir, 'future.json');
    writeFileSync(
      future,
      JSON.stringify({
        id: 'future',
        title: 'future',
        claim: 'a claim about a method to come',
        paper: { title: 'p', arxiv: '2401.00001' },
        base: { model: { source: 'builtin', id: 'micro' } },
        variants: [{ label: 'New', set: { 'method.id': 'not-yet-a-method' } }],
        verdict: { all: [{ rule: 'threshold', metric: 'valLoss', groups: ['New'], op: '<', value: 9 }] },
      }),
    );
    [list, a, unknown, badBudget, waiting, badFile] = await Promise.all([
      cli('experiment', 'list', '--json'),
      cli('experiment', 'run', 'asymmetry', '--budget', 'smoke', '--out', out, '--json'),
      cli('experiment', 'run', 'no-such-preset', '--json'),
      cli('experiment', 'run', 'asymmetry', '--budget', 'huge', '--json'),
      cli('experiment', 'run', future, '--json'),
      cli('experiment', 'run', bad, '--json'),
    ]);
    b = await cli('experiment', 'run', 'asymmetry', '--budget', 'smoke', '--json');
  }, 420_000);

  it('list --json: one object per preset with id, claim, paper, waiting, budgets, runs', () => {
    expect(list.code, list.stderr).toBe(0);
    expect(list.lines.length).toBeGreaterThanOrEqual(11);
    for (const p of list.lines) {
      expect(typeof p.id).toBe('string');
      expect(typeof p.claim).toBe('string');
      expect((p.paper as { arxiv: string }).arxiv).toMatch(/^\d{4}\.\d{4,5}$/);
      expect(Array.isArray(p.waiting)).toBe(true);
      expect(p.budgets).toEqual(['smoke', 'full']);
    }
    // waiting is computed from the registry: a waiting preset has no run count
    for (const p of list.lines) if ((p.waiting as string[]).length) expect(p.runs).toEqual({ smoke: null, full: null });
    expect(list.lines.filter((p) => (p.waiting as string[]).length === 0).length).toBeGreaterThanOrEqual(9);
  });

  it('run: one JSON line per run, then the verdict computed from the numbers', () => {
    expect(a.code, a.stderr).toBe(0);
    expect(ourErrors(a.stderr)).toEqual([]);
    const runs = a.lines.filter((l) => 'run' in l);
    expect(runs.map((r) => r.run)).toEqual(['A+B · seed=0', 'B only · seed=0', 'A only · seed=0']);
    for (const r of runs) {
      expect(r.status).toBe('done');
      expect((r.losses as number[]).length).toBe(3);
      const m = r.metrics as Record<string, number>;
      for (const k of ['valLoss', 'step0ValLoss', 'finalLoss', 'trainableParams', 'optimizerBytes', 'wallSeconds'])
        expect(Number.isFinite(m[k]), k).toBe(true);
    }
    // B only trains out·r of LoRA's (in + out)·r, A only in·r (c_attn: out = 3·in)
    const params = runs.map((r) => (r.metrics as { trainableParams: number }).trainableParams);
    expect(params[1]).toBeLessThan(params[0]);
    expect(params[2]).toBe(params[0] - params[1]);
    const last = a.lines.at(-1) as {
      verdict: { holds: boolean | null; reason: string; numbers: { clauses: unknown[] }; rule: string };
    };
    expect([true, false, null]).toContain(last.verdict.holds);
    expect(last.verdict.reason.length).toBeGreaterThan(10);
    expect(last.verdict.numbers.clauses.length).toBe(2);
    expect(last.verdict.rule).toContain('valLoss[B only] within 2.0% of mean valLoss[A+B]');
    expect(last.verdict.rule).toContain('mean valLoss[B only] < mean valLoss[A only]');
  });

  it('the same preset twice gives identical per-run losses', () => {
    expect(b.code, b.stderr).toBe(0);
    const losses = (r: CliRun) =>
      r.lines.filter((l) => 'run' in l).map((l) => [l.run, l.losses, (l.metrics as { valLoss: number }).valLoss]);
    expect(losses(b)).toEqual(losses(a));
  });

  it('--out holds results.json, metrics.csv, steps.csv and a finished status', () => {
    expect(readdirSync(out).sort()).toEqual([
      'experiment.json',
      'metrics.csv',
      'results.json',
      'status.json',
      'steps.csv',
    ]);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      rows: { key: string; curve: number[] }[];
      verdict: { holds: boolean | null };
      state: { results: Record<string, unknown> };
    };
    expect(results.rows.length).toBe(3);
    expect(Object.keys(results.state.results).length).toBe(3);
    const csv = readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^run,group,lr,seed,status,.*valLoss/);
    expect(csv.length).toBe(4);
    const steps = readFileSync(path.join(out, 'steps.csv'), 'utf8').trim().split('\n');
    expect(steps[0]).toBe('run,step,loss,valLoss,probeLoss');
    expect(steps.length).toBe(1 + 3 * 4); // step 0 (evaluation) + 3 training steps, per run
    expect(JSON.parse(readFileSync(path.join(out, 'status.json'), 'utf8')).complete).toBe(true);
  });

  it('bad input is refused in one line, before any work', () => {
    for (const [r, re] of [
      [unknown, /not a preset \(intruders, .*\), a \.json file or an experiment link/],
      [badBudget, /--budget must be smoke or full, got "huge"/],
      [waiting, /waiting for methods not in the engine yet: not-yet-a-method/],
      [badFile, /invalid experiment: .*arXiv/],
    ] as const) {
      expect(r.code).toBe(1);
      const errs = ourErrors(r.stderr);
      expect(errs.length, r.stderr).toBe(1);
      expect(errs[0]).toMatch(re);
      expect(r.lines).toEqual([]);
    }
  });
});
