/**
 * Experiments (issue 13): the gallery, one smoke preset run end to end on the built-in micro model
 * (a queue of normal runs, verdict, table of mean ± spread over two seeds), its CSV, its link opened in
 * a fresh profile reproducing the same per-run losses, and the CLI's `experiment run <link>` (Dawn on
 * llvmpipe in Node) giving the same per-run losses within the cross-adapter tolerance. Also: the DyLoRA,
 * PHLoRA and sequential-forgetting presets with their final-state measurements made in the worker (same
 * numbers as the CLI), an experiment as a Python project zip, and a custom sweep's verdict clauses.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { expect, snap, test } from './helpers';
import { configureTinyRun, openStudio, runLosses } from './studio';

interface ExpState {
  experiments: Record<string, { status: string; runIds: (string | null)[] }>;
  selectedId: string | null;
}

async function selected(page: Page): Promise<ExpState['experiments'][string]> {
  return page.evaluate(() => {
    const s = (
      window as unknown as { __rankscopeExperiments: { getState(): ExpState } }
    ).__rankscopeExperiments.getState();
    return s.experiments[s.selectedId!];
  });
}

async function perRunLosses(page: Page): Promise<number[][]> {
  const e = await selected(page);
  const out: number[][] = [];
  for (const id of e.runIds) out.push(id ? await runLosses(page, id) : []);
  return out;
}

async function waitDone(page: Page, timeout: number): Promise<void> {
  await expect(page.getByTestId('exp-result')).toHaveAttribute('data-status', 'done', { timeout });
}

/** `experiment run <link> --json`: one line per run with its per-step losses. */
function cliRuns(link: string, out: string): { run: string; losses: number[]; metrics: Record<string, number> }[] {
  const text = execFileSync(
    'npm',
    ['run', '-s', 'cli', '--', 'experiment', 'run', link, '--out', out, '--overwrite', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 },
  );
  return text
    .split('\n')
    .filter((l) => l.startsWith('{"run"'))
    .map((l) => JSON.parse(l));
}

test('a smoke preset from the gallery: verdict, table, CSV; its link reproduces the per-run losses in a fresh profile and in the CLI', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(360_000);
  await openStudio(page);
  await page.getByTestId('tab-experiments').click();
  await expect(page.getByTestId('exp-gallery')).toBeVisible();
  // DyLoRA and PHLoRA run in the page too (their final-state measurements in the worker); the
  // calibration gives the presets an estimate
  await expect(page.getByTestId('exp-preset-dylora')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('exp-preset-phlora')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('exp-preset-sequential-forgetting')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('exp-calibration')).toContainText('ms per training step', { timeout: 90_000 });
  await expect(page.getByTestId('exp-preset-asymmetry').getByTestId('exp-estimate')).toBeVisible();
  await page.getByTestId('exp-seeds').selectOption('2');
  await snap(page, 'experiments-gallery');

  const t0 = Date.now();
  await page.getByTestId('exp-start-asymmetry').click();
  await expect(page.getByTestId('exp-result')).toHaveAttribute('data-status', 'running');
  await expect(page.getByTestId('exp-progress')).toContainText(/Run \d of 6/);
  await waitDone(page, 240_000);
  console.log(
    `asymmetry preset (smoke, 2 seeds): 6 runs × 3 steps in ${((Date.now() - t0) / 1000).toFixed(1)} s on SwiftShader`,
  );

  // each run is a normal run in the runs list
  const exp = await selected(page);
  expect(exp.runIds.every(Boolean)).toBe(true);
  for (const id of exp.runIds)
    await expect(page.locator(`[data-testid="run-item"][data-run-id="${id}"]`)).toHaveAttribute('data-status', 'done');
  const losses = await perRunLosses(page);
  expect(losses.map((l) => l.length)).toEqual([3, 3, 3, 3, 3, 3]);
  expect(losses.flat().every(Number.isFinite)).toBe(true);

  // the verdict (computed by the engine's rule) and the table of mean ± spread over the two seeds
  const verdict = page.getByTestId('exp-verdict');
  await expect(verdict).toHaveAttribute('data-final', 'true');
  await expect(verdict).toContainText(/Verdict: (holds|does not hold|inconclusive)/);
  await expect(page.getByTestId('exp-clause')).toContainText([
    'mean valLoss[B only] within 2.0% of mean valLoss[A+B]',
    'mean valLoss[B only] < mean valLoss[A only]',
  ]);
  const groups = page.getByTestId('exp-groups').locator('tbody tr');
  await expect(groups).toHaveCount(3);
  await expect(groups.first()).toContainText(/A\+B\s*0\.003\s*2\s*\d\.\d+ ± /);
  await expect(page.getByTestId('exp-claim')).toContainText('arXiv:2402.16842');
  await snap(page, 'experiments-result');

  // CSV of every metric
  const csvDl = page.waitForEvent('download');
  await page.getByTestId('exp-csv').click();
  const csvPath = testInfo.outputPath('experiment.csv');
  await (await csvDl).saveAs(csvPath);
  const csv = readFileSync(csvPath, 'utf8').trim().split('\n');
  expect(csv[0]).toMatch(/^run,key,group,lr,seed,status,run_id,valLoss,/);
  expect(csv.slice(1, 7).every((l) => /,done,run-/.test(l))).toBe(true);
  expect(csv).toContain('run,step,loss');
  expect(csv.filter((l) => /^\d,\d,\d/.test(l))).toHaveLength(18);

  // JSON + CSV + charts (SVG) in one zip, and a chart as PNG
  const zipDl = page.waitForEvent('download');
  await page.getByTestId('exp-export').click();
  const zipPath = testInfo.outputPath('experiment.zip');
  await (await zipDl).saveAs(zipPath);
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining([
      'experiment.json',
      'results.csv',
      'charts/experiment-loss.svg',
      'charts/experiment-metric.svg',
    ]),
  );
  const json = JSON.parse(strFromU8(files['experiment.json']));
  expect(json.experiment.id).toBe('asymmetry');
  expect(String(json.verdict.holds)).toBe(await verdict.getAttribute('data-holds'));
  expect(json.runs.map((r: { curve: number[] }) => r.curve)).toEqual(losses);
  const pngDl = page.waitForEvent('download');
  await page.getByTestId('chart-experiment-loss').getByRole('button', { name: /PNG/ }).click();
  const pngPath = testInfo.outputPath('loss.png');
  await (await pngDl).saveAs(pngPath);
  expect([...readFileSync(pngPath).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

  // the link: a fresh profile offers to run it and gets the same per-run losses
  await page.getByTestId('exp-copy-link').click();
  const link = await page.getByTestId('exp-link').inputValue();
  expect(link).toMatch(/#experiment=/);
  const ctx2 = await browser.newContext();
  const page2 = await ctx2.newPage();
  await openStudio(page2, '/' + link.slice(link.indexOf('#')));
  await expect(page2.getByTestId('exp-incoming')).toContainText('6 runs (2 seeds) on micro / brown-news');
  await page2.getByTestId('exp-incoming-run').click();
  await waitDone(page2, 240_000);
  expect(await perRunLosses(page2)).toEqual(losses);
  await snap(page2, 'experiments-reproduced');
  await ctx2.close();

  // the CLI on the same link: the same per-run losses within the cross-adapter tolerance
  const cli = cliRuns(link.slice(link.indexOf('#')), testInfo.outputPath('cli'));
  expect(cli).toHaveLength(6);
  let worst = 0;
  cli.forEach((r, i) => {
    expect(r.losses).toHaveLength(losses[i].length);
    r.losses.forEach((l, s) => (worst = Math.max(worst, Math.abs(l - losses[i][s]) / Math.abs(l))));
  });
  console.log(
    `page (SwiftShader) vs CLI (llvmpipe): largest relative per-step loss difference ${worst.toExponential(2)}`,
  );
  expect(worst).toBeLessThan(1e-5); // measured 5.2e-8 on the first version of this test
});

test('a hostile experiment link gives one line and changes nothing', async ({ page }) => {
  await openStudio(page, '/#experiment=AAAA@@');
  await expect(page.getByTestId('exp-link-error')).toContainText(
    'This experiment link cannot be opened: the experiment link: the link contains a character that does not belong in it ("@" at position 4)',
  );
  await expect(page.getByTestId('exp-incoming')).toHaveCount(0);
});

test('the queue: skip a run, pause and resume, reload mid-run and resume the experiment from the checkpoint', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 12, evalEvery: 6, analysisEvery: 0 });
  await page.getByTestId('tab-experiments').click();
  await page.getByTestId('exp-axis-seeds').fill('3');
  await expect(page.getByTestId('exp-builder-start')).toHaveText('Start 3 runs');
  await page.getByTestId('exp-builder-start').click();
  const progress = page.getByTestId('exp-progress');
  const step = async () => Number((/step (\d+)\//.exec((await progress.textContent()) ?? '') ?? [])[1] ?? -1);

  // skip run 1 once it has trained a step
  await expect(progress).toContainText(/Run 1 of 3 · step [1-9]/, { timeout: 90_000 });
  await page.getByTestId('exp-skip').click();
  await expect(progress).toContainText(/Run 2 of 3 .*1 skipped/, { timeout: 60_000 });

  // pause run 2 (the runner checkpoints on pause), then resume it
  await expect(progress).toContainText(/Run 2 of 3 · step [2-9]/, { timeout: 90_000 });
  await page.getByTestId('exp-pause').click();
  await expect(page.getByTestId('exp-status')).toHaveText('paused');
  await expect(progress).toContainText('(paused)', { timeout: 30_000 });
  const pausedAt = await step();
  await page.waitForTimeout(1000);
  expect(await step()).toBe(pausedAt);
  const run2 = (await selected(page)).runIds[1]!;
  await page.getByTestId('exp-resume').click();
  await expect(page.getByTestId('exp-status')).toHaveText('running');

  // a reload mid-run: the experiment is interrupted, its Resume continues run 2 from its checkpoint, then run 3
  await expect.poll(step, { timeout: 60_000 }).toBeGreaterThan(pausedAt);
  await page.reload();
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  await page.getByTestId('tab-experiments').click();
  await expect(page.getByTestId('exp-status')).toHaveText('interrupted');
  await snap(page, 'experiments-interrupted');
  await page.getByTestId('exp-resume').click();
  await waitDone(page, 180_000);
  const e = await selected(page);
  expect(e.runIds[1]).toBe(run2); // the same run continued, not a new one
  await expect(page.getByTestId('exp-run-row').nth(0)).toContainText('skipped');
  const losses = await perRunLosses(page);
  expect(losses[1]).toHaveLength(12);
  expect(losses[2]).toHaveLength(12);
  expect([...losses[1], ...losses[2]].every(Number.isFinite)).toBe(true);
  await expect(progress).toContainText('2 of 3 runs finished · 1 skipped');
});

test('the flat-spectra preset: matrix fits run in the worker and give the CLI’s fit errors', async ({
  page,
}, testInfo) => {
  test.setTimeout(240_000);
  await openStudio(page);
  await page.getByTestId('tab-experiments').click();
  await expect(page.getByTestId('exp-preset-flat-spectra')).toHaveAttribute('data-ready', 'true');
  const t0 = Date.now();
  await page.getByTestId('exp-start-flat-spectra').click();
  await waitDone(page, 180_000);
  console.log(`flat-spectra (smoke): 6 fits in ${((Date.now() - t0) / 1000).toFixed(1)} s on SwiftShader`);
  await expect(page.getByTestId('exp-verdict')).toHaveAttribute('data-final', 'true');
  await expect(page.getByTestId('exp-groups').locator('tbody tr')).toHaveCount(6);
  const csvDl = page.waitForEvent('download');
  await page.getByTestId('exp-csv').click();
  const csvPath = testInfo.outputPath('fits.csv');
  await (await csvDl).saveAs(csvPath);
  const lines = readFileSync(csvPath, 'utf8').split('\n');
  const head = lines[0].split(',');
  const pageErr = lines.slice(1, 7).map((l) => Number(l.split(',')[head.indexOf('fitError')]));
  const out = execFileSync(
    'npm',
    ['run', '-s', 'cli', '--', 'experiment', 'run', 'flat-spectra', '--budget', 'smoke', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 },
  );
  const cli = out
    .split('\n')
    .filter((l) => l.startsWith('{"run"'))
    .map((l) => (JSON.parse(l) as { metrics: { fitError: number } }).metrics.fitError);
  expect(cli).toHaveLength(6);
  const worst = Math.max(...cli.map((e, i) => Math.abs(e - pageErr[i]) / e));
  console.log(`fit errors page vs CLI: largest relative difference ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-4);
  await snap(page, 'experiments-fits');
});

/** Click a "Python project" button, save the download, unzip it. */
async function pythonZip(page: Page, testId: string, path: string): Promise<Record<string, Uint8Array>> {
  const dl = page.waitForEvent('download', { timeout: 120_000 });
  const t0 = Date.now();
  await page.getByTestId(testId).click();
  await (await dl).saveAs(path);
  console.log(`${testId}: zip built in the page in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return unzipSync(new Uint8Array(readFileSync(path)));
}

test('a preset as a Python project from its gallery card: runs/NN-*/train.py per run, sweep.sh, sweep_array.sh', async ({
  page,
}, testInfo) => {
  await openStudio(page);
  await page.getByTestId('tab-experiments').click();
  const files = await pythonZip(page, 'exp-python-alpha-rank', testInfo.outputPath('alpha-rank-python.zip'));
  const names = Object.keys(files);
  const trains = names.filter((f) => /^alpha-rank-smoke-python\/runs\/\d\d-[^/]+\/train\.py$/.test(f)).sort();
  expect(trains).toHaveLength(8); // the smoke budget's 8 runs, as `experiment export alpha-rank --python`
  expect(trains[0]).toMatch(/runs\/01-/);
  for (const f of ['sweep.sh', 'sweep_array.sh', 'experiment.json', 'runs.json', 'README.md'])
    expect(names).toContain(`alpha-rank-smoke-python/${f}`);
  expect(strFromU8(files['alpha-rank-smoke-python/sweep_array.sh'])).toContain('#SBATCH --array=0-7');
  // model/ and data/ once at the top (every run has the same files)
  expect(names.some((f) => f.startsWith('alpha-rank-smoke-python/model/'))).toBe(true);
  const exp = JSON.parse(strFromU8(files['alpha-rank-smoke-python/experiment.json']));
  expect([exp.id, exp.budget]).toEqual(['alpha-rank', 'smoke']);
  // matrix fits train no model: no Python button on that card
  await expect(page.getByTestId('exp-python-flat-spectra')).toHaveCount(0);
  await page.getByTestId('exp-python-alpha-rank').scrollIntoViewIfNeeded();
  await snap(page, 'experiments-python-button');
});

test('DyLoRA and PHLoRA in the page: per-rank rows measured in the worker, the verdict, and the CLI’s rank-eval numbers', async ({
  page,
}, testInfo) => {
  test.setTimeout(420_000);
  await openStudio(page);
  await page.getByTestId('tab-experiments').click();

  // DyLoRA: one r=16 run evaluated at b ∈ {1, 4, 16} + three LoRAs (smoke budget, one seed)
  let t0 = Date.now();
  await page.getByTestId('exp-start-dylora').click();
  await expect(page.getByTestId('exp-progress')).toContainText('measuring its final state (rank-eval)', {
    timeout: 120_000,
  });
  await waitDone(page, 240_000);
  console.log(`dylora (smoke): 4 runs + rank evaluation in ${((Date.now() - t0) / 1000).toFixed(1)} s on SwiftShader`);
  await expect(page.getByTestId('exp-verdict')).toHaveAttribute('data-final', 'true');
  await expect(page.getByTestId('exp-verdict')).toContainText(/Verdict: (holds|does not hold|inconclusive)/);
  await expect(page.getByTestId('exp-clause')).toHaveCount(3);
  await expect(page.getByTestId('exp-clause').first()).toContainText('valLoss@r1[DyLoRA r=16]');
  const rankRows = page.getByTestId('exp-rank-row');
  await expect(rankRows).toHaveCount(3);
  expect(await rankRows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-rank')))).toEqual(['1', '4', '16']);
  await page.getByTestId('exp-ranks').scrollIntoViewIfNeeded();
  await snap(page, 'experiments-dylora');
  const pageRanks = await page.evaluate(() => {
    const s = (
      window as unknown as {
        __rankscopeExperiments: {
          getState(): {
            experiments: Record<string, { measures?: Record<number, { metrics: Record<string, number> }> }>;
            selectedId: string;
          };
        };
      }
    ).__rankscopeExperiments.getState();
    return s.experiments[s.selectedId].measures?.[0]?.metrics ?? {};
  });
  expect(Object.keys(pageRanks).sort()).toEqual(['valLoss@r1', 'valLoss@r16', 'valLoss@r4']);
  expect(Object.values(pageRanks).every(Number.isFinite)).toBe(true);

  // the CLI on the same preset: the same per-rank validation losses within the cross-adapter tolerance
  const out = execFileSync(
    'npm',
    ['run', '-s', 'cli', '--', 'experiment', 'run', 'dylora', '--budget', 'smoke', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 },
  );
  const cli = out
    .split('\n')
    .filter((l) => l.startsWith('{"run"'))
    .map((l) => (JSON.parse(l) as { metrics: Record<string, number> }).metrics)[0];
  let worst = 0;
  for (const [k, v] of Object.entries(pageRanks)) worst = Math.max(worst, Math.abs(v - cli[k]) / Math.abs(cli[k]));
  console.log(
    `DyLoRA rank-eval page (SwiftShader) vs CLI (llvmpipe): largest relative difference ${worst.toExponential(2)}`,
  );
  expect(worst).toBeLessThan(1e-5);

  // DyLoRA has no transformers/PEFT form: its Python export is refused in one line, as the CLI's is
  await page.getByTestId('exp-python').click();
  await expect(page.getByTestId('notice').last()).toContainText(
    'Python export failed: run "DyLoRA r=16 · seed=0": method dylora does not carry over to transformers/PEFT',
  );

  // PHLoRA: full FT, ΔW truncated to r ∈ {1 … 64} and merged back
  t0 = Date.now();
  await page.getByTestId('exp-start-phlora').click();
  await waitDone(page, 180_000);
  console.log(`phlora (smoke): 1 run + 7 extractions in ${((Date.now() - t0) / 1000).toFixed(1)} s on SwiftShader`);
  await expect(page.getByTestId('exp-verdict')).toHaveAttribute('data-final', 'true');
  await expect(page.getByTestId('exp-verdict')).toContainText(/Verdict: (holds|does not hold)/);
  await expect(rankRows).toHaveCount(7);
  const cells = await rankRows.evaluateAll((rs) =>
    rs.map((r) => [...r.querySelectorAll('td')].slice(1).map((td) => Number(td.textContent))),
  );
  for (const [rank, energy, val, gap] of cells) {
    expect(rank).toBeGreaterThan(0);
    expect(energy).toBeGreaterThan(0);
    expect(energy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(val) && Number.isFinite(gap)).toBe(true);
  }
  expect(cells[6][1]).toBeGreaterThan(cells[0][1]); // more rank, more energy
  await page.getByTestId('exp-ranks').scrollIntoViewIfNeeded();
  await snap(page, 'experiments-phlora');

  // the experiment as one Python project from its result view: the files `experiment export phlora --python` writes
  const files = await pythonZip(page, 'exp-python', testInfo.outputPath('phlora-python.zip'));
  const root = 'phlora-smoke-python/';
  const names = Object.keys(files);
  const trains = names.filter((f) => /^phlora-smoke-python\/runs\/\d\d-[^/]+\/train\.py$/.test(f));
  expect(trains).toHaveLength(1);
  for (const f of ['sweep.sh', 'sweep_array.sh', 'experiment.json', 'runs.json']) expect(names).toContain(root + f);
  expect(strFromU8(files[root + 'sweep.sh'])).toContain(`runs/'${trains[0].split('/')[2]}'`);
  expect(JSON.parse(strFromU8(files[root + 'experiment.json'])).id).toBe('phlora');
});

test('a custom sweep’s verdict: clauses of each kind over the sweep’s groups, checked by the engine’s schema, judged after the runs', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 4, evalEvery: 2, analysisEvery: 0 });
  await page.getByTestId('tab-experiments').click();
  await page.getByTestId('exp-axis-rank').fill('2, 8');
  await expect(page.getByTestId('exp-builder-start')).toHaveText('Start 2 runs');
  const groups = await page
    .getByTestId('exp-rule-builder')
    .locator('legend')
    .textContent()
    .then((t) => /groups: (.*)\)/.exec(t ?? '')![1].split(', '));
  expect(groups).toHaveLength(2);
  await expect(page.getByTestId('exp-rule-default')).toContainText(`mean valLoss of ${groups[0]} below ${groups[1]}`);

  // one clause of each kind the engine judges
  for (const kind of ['compare', 'within', 'ratio', 'trend', 'threshold', 'speedup']) {
    await page.getByTestId('exp-clause-kind').selectOption(kind);
    await page.getByTestId('exp-clause-add').click();
  }
  await expect(page.getByTestId('exp-clause-edit')).toHaveCount(6);
  // compare: the larger rank's validation loss below the smaller's
  await page.getByTestId('exp-clause-0-a').selectOption(groups[1]);
  await page.getByTestId('exp-clause-0-b').selectOption(groups[0]);
  // ratio of trainable parameters: r=8 has 4× r=2's
  await page.getByTestId('exp-clause-2-metric').selectOption('trainableParams');
  await page.getByTestId('exp-clause-2-a').selectOption(groups[1]);
  await page.getByTestId('exp-clause-2-b').selectOption(groups[0]);
  await page.getByTestId('exp-clause-2-boundkind').selectOption('min');
  await page.getByTestId('exp-clause-2-bound').fill('3.9');
  // a bad number and an incomplete trend: one plain line each, and no Start
  await page.getByTestId('exp-clause-1-margin').fill('two percent');
  await expect(page.getByTestId('exp-builder-error')).toHaveText(
    'Clause 2 (within): the tolerance must be a number (got "two percent")',
  );
  await expect(page.getByTestId('exp-builder-start')).toBeDisabled();
  await page.getByTestId('exp-clause-1-margin').fill('0.5');
  await page.getByTestId(`exp-clause-3-group-${groups[1]}`).uncheck();
  await expect(page.getByTestId('exp-builder-error')).toHaveText(
    'Clause 4 (trend): a trend clause needs at least two groups in order (at groups)',
  );
  await page.getByTestId(`exp-clause-3-group-${groups[1]}`).check();
  await page.getByTestId('exp-clause-4-bound').fill('100');
  await expect(page.getByTestId('exp-builder-error')).toHaveCount(0);
  await expect(page.getByTestId('exp-rule-text')).toContainText(
    `mean trainableParams[${groups[1]}] / mean trainableParams[${groups[0]}] ≥ 3.9`,
  );
  await page.getByTestId('exp-rule-builder').scrollIntoViewIfNeeded();
  await snap(page, 'experiments-custom-verdict');

  await page.getByTestId('exp-builder-start').click();
  await waitDone(page, 240_000);
  const verdict = page.getByTestId('exp-verdict');
  await expect(verdict).toHaveAttribute('data-final', 'true');
  await expect(verdict.getByTestId('exp-clause')).toHaveCount(6);
  // the numbers decide: 4× the parameters, and every val loss under 100
  await expect(verdict.getByTestId('exp-clause').nth(2)).toContainText('✓');
  await expect(verdict.getByTestId('exp-clause').nth(4)).toContainText('✓');
  await expect(verdict).toContainText(/Verdict: (holds|does not hold|inconclusive)/);
  await verdict.scrollIntoViewIfNeeded();
  await snap(page, 'experiments-custom-verdict-result');
});

test('sequential two-task forgetting in the page: the second task runs in the worker after each run and gives the CLI’s numbers', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await page.getByTestId('tab-experiments').click();
  const t0 = Date.now();
  await page.getByTestId('exp-start-sequential-forgetting').click();
  await expect(page.getByTestId('exp-progress')).toContainText('measuring its final state (sequential)', {
    timeout: 120_000,
  });
  await waitDone(page, 240_000);
  console.log(
    `sequential-forgetting (smoke): 3 runs + second tasks in ${((Date.now() - t0) / 1000).toFixed(1)} s on SwiftShader`,
  );
  const verdict = page.getByTestId('exp-verdict');
  await expect(verdict).toHaveAttribute('data-final', 'true');
  await expect(verdict).toContainText(/Verdict: (holds|does not hold|inconclusive)/);
  await expect(page.getByTestId('exp-groups').locator('thead')).toContainText('seqForgetting');
  const pageMetrics = await page.evaluate(() => {
    const s = (
      window as unknown as {
        __rankscopeExperiments: {
          getState(): {
            experiments: Record<string, { measures?: Record<number, { metrics: Record<string, number> }> }>;
            selectedId: string;
          };
        };
      }
    ).__rankscopeExperiments.getState();
    const m = s.experiments[s.selectedId].measures ?? {};
    return [0, 1, 2].map((i) => m[i]?.metrics ?? {});
  });
  const out = execFileSync(
    'npm',
    ['run', '-s', 'cli', '--', 'experiment', 'run', 'sequential-forgetting', '--budget', 'smoke', '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 },
  );
  const cli = out
    .split('\n')
    .filter((l) => l.startsWith('{"run"'))
    .map((l) => (JSON.parse(l) as { metrics: Record<string, number> }).metrics);
  expect(cli).toHaveLength(3);
  let worst = 0;
  cli.forEach((c, i) => {
    for (const k of ['task1ValAfterTask1', 'task1ValAfterTask2', 'task2ValAfterTask1', 'task2ValAfterTask2']) {
      expect(Number.isFinite(pageMetrics[i][k])).toBe(true);
      worst = Math.max(worst, Math.abs(pageMetrics[i][k] - c[k]) / Math.abs(c[k]));
    }
    // a difference of two such losses: compared absolutely
    expect(Math.abs(pageMetrics[i].seqForgetting - c.seqForgetting)).toBeLessThan(1e-4);
  });
  console.log(`sequential page (SwiftShader) vs CLI (llvmpipe): largest relative difference ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-5);
  await verdict.scrollIntoViewIfNeeded();
  await snap(page, 'experiments-sequential');
});
