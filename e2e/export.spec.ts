/**
 * Export a run (run.json + PEFT adapter + charts as SVG in one .zip, a chart as PNG) and import it
 * into a fresh browser profile: the run, its losses and its spectra come back.
 */
import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { parseSafetensors } from '../src/engine/io/safetensors';
import { collectErrors, expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

test('export a run as a zip and import it in a fresh profile', async ({ page, browser }, testInfo) => {
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  await openStudio(page);
  await configureTinyRun(page, { steps: 6, evalEvery: 3, analysisEvery: 3 });
  const runId = await startAndFinish(page);
  const losses = await runLosses(page, runId);
  await chartsDrawn(page, ['loss']);

  // one chart as PNG
  const pngDl = page.waitForEvent('download');
  await page.getByTestId('chart-loss').getByRole('button', { name: /PNG/ }).click();
  const png = await pngDl;
  expect(png.suggestedFilename()).toBe('loss.png');
  const pngPath = testInfo.outputPath('loss.png');
  await png.saveAs(pngPath);
  expect([...readFileSync(pngPath).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

  // the whole run
  const zipDl = page.waitForEvent('download');
  await page.getByTestId('export-run').click();
  const dl = await zipDl;
  expect(dl.suggestedFilename()).toMatch(/\.rankscope\.zip$/);
  const zipPath = testInfo.outputPath('run.zip');
  await dl.saveAs(zipPath);
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining([
      'run.json',
      'adapter/adapter_model.safetensors',
      'adapter/adapter_config.json',
      'charts/loss.svg',
    ]),
  );
  const run = JSON.parse(strFromU8(files['run.json']));
  expect(run.format).toBe('rankscope-run');
  expect(run.link).toMatch(/#run=/);
  // The step-0 evaluation (issue 16) is an eval-only row: no training loss (null), then the 6 steps.
  const steps = run.metrics.flatMap((m: { batch: { step: number[] } }) => m.batch.step);
  const trainLoss = run.metrics.flatMap((m: { batch: { loss: (number | null)[] } }) => m.batch.loss);
  expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(trainLoss[0]).toBeNull();
  expect(trainLoss.slice(1).every((l: number | null) => typeof l === 'number' && Number.isFinite(l))).toBe(true);
  const st = parseSafetensors(files['adapter/adapter_model.safetensors']);
  expect(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')?.shape).toEqual([4, 32]);
  expect(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')?.shape).toEqual([96, 4]);
  expect(JSON.parse(strFromU8(files['adapter/adapter_config.json']))).toMatchObject({
    peft_type: 'LORA',
    r: 4,
    lora_alpha: 8,
    fan_in_fan_out: true,
  });
  expect(strFromU8(files['charts/loss.svg'])).toContain('<svg');

  // import into an empty profile
  const ctx2 = await browser.newContext();
  const page2 = await ctx2.newPage();
  await openStudio(page2);
  await page2.getByTestId('import-run').setInputFiles(zipPath);
  await expect(page2.getByTestId('run-bar')).toHaveAttribute('data-run-id', runId);
  expect(await runLosses(page2, runId)).toEqual(losses);
  await page2.getByTestId('tab-spectra').click();
  await expect(page2.getByTestId('spectra-stats')).toBeVisible();
  await chartsDrawn(page2, ['sigma-w0-vs-w']);
  await snap(page2, 'imported');
  // a broken file is refused with a message, and nothing else changes
  await page2.getByTestId('import-run').setInputFiles({
    name: 'bad.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{"format":"rankscope-run","version":1,"__proto__":{"x":1}}'),
  });
  await expect(page2.getByTestId('notice').last()).toContainText('Import failed');
  await expect(page2.getByTestId('run-item')).toHaveCount(1);
  await ctx2.close();
  expect(errors.pageErrors).toEqual([]);
});
