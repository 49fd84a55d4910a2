/**
 * The whole journey on real WebGPU: open, choose the micro model and a built-in dataset, run LoRA
 * for a few steps, see loss, spectra and intruder views fill with real numbers, generate, train a
 * second run with full fine-tuning and compare the two, copy the link, open it in a fresh browser context, reproduce, get identical losses.
 */
import { collectErrors, expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

test('journey: train LoRA, inspect, share, reproduce in a fresh context', async ({ page, browser }) => {
  test.setTimeout(600_000);
  const errors = collectErrors(page);
  await openStudio(page);
  await snap(page, 'studio-empty');
  await configureTinyRun(page, { steps: 12 });
  await snap(page, 'setup');
  const runId = await startAndFinish(page);

  // loss views hold real numbers
  const losses = await runLosses(page, runId);
  expect(losses).toHaveLength(12);
  for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
  const stat = Number(await page.getByTestId('stat-loss').getAttribute('data-value'));
  expect(stat).toBeCloseTo(losses[11], 5);
  expect(Number(await page.getByTestId('stat-val').getAttribute('data-value'))).toBeGreaterThan(0);
  expect(Number(await page.getByTestId('stat-probe').getAttribute('data-value'))).toBeGreaterThan(0);
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-empty', 'false');
  await expect(page.getByTestId('chart-loss').locator('path[data-series]').first()).toBeVisible();
  expect(Number(await page.getByTestId('memory-bars').getAttribute('data-total'))).toBeGreaterThan(0);
  await chartsDrawn(page, ['loss', 'grad-norm', 'learning-rate', 'tokens-per-sec']);
  await snap(page, 'loss');

  // spectra: σ, ΔW, ESD, ranks
  await page.getByTestId('tab-spectra').click();
  await expect(page.getByTestId('spectra-stats')).toBeVisible();
  const erank = Number(await page.getByTestId('stat-erank').getAttribute('data-value'));
  expect(erank).toBeGreaterThan(1);
  for (const id of ['sigma-w0-vs-w', 'sigma-delta', 'esd', 'ranks'])
    await expect(page.getByTestId(`chart-${id}`)).toHaveAttribute('data-empty', 'false');
  await chartsDrawn(page, ['sigma-w0-vs-w', 'sigma-delta', 'esd', 'ranks']);
  await snap(page, 'spectra');

  // intruders
  await page.getByTestId('tab-intruders').click();
  const count = page.getByTestId('intruder-count');
  await expect(count).toHaveAttribute('data-count', /^\d+$/);
  await expect(page.getByTestId('overlap-heatmap')).toBeVisible();
  await expect(page.getByTestId('intruder-table').locator('tbody tr').first()).toBeVisible();
  await chartsDrawn(page, [
    'intruders-vs-eps',
    'overlap-heatmap',
    'intruders-on-spectrum',
    'intruders-over-steps',
    'intruders-per-matrix',
  ]);
  await snap(page, 'intruders');

  // generation, base and tuned side by side
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate-prompt').fill('The city ');
  await page.getByTestId('generate-run').click();
  await expect(page.getByTestId('generate-tuned')).not.toHaveText('The city ', { timeout: 120_000 });
  await expect(page.getByTestId('generate-base')).toBeVisible();
  await snap(page, 'generate');

  // a second run with another method (full fine-tuning), then compare the two
  await configureTinyRun(page, { steps: 12, method: 'full' });
  const run2 = await startAndFinish(page);
  expect(run2).not.toBe(runId);
  const losses2 = await runLosses(page, run2);
  expect(losses2).toHaveLength(12);
  expect(losses2[0]).toBe(losses[0]); // same model, data and seed: step 1 sees the same batch before any update
  expect(losses2).not.toEqual(losses);
  for (const item of await page.getByTestId('compare-toggle').all()) await item.check();
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('chart-compare-loss')).toHaveAttribute('data-empty', 'false');
  await expect(page.getByTestId('chart-compare-loss').locator('path[data-series]')).toHaveCount(2);
  await expect(page.getByTestId('chart-compare-intruders')).toHaveAttribute('data-empty', 'false');
  await chartsDrawn(page, ['compare-loss', 'compare-val', 'compare-intruders']);
  await snap(page, 'compare');

  // share the first run
  await page.locator(`[data-testid="run-item"][data-run-id="${runId}"]`).click();
  await page.getByTestId('share-run').click();
  const link = await page.getByTestId('share-link').inputValue();
  expect(link).toMatch(/#run=[A-Za-z0-9_-]+&fp=12\.[0-9a-f]{16}\.[0-9a-f]{8}$/);
  expect(link.length).toBeLessThan(1200);

  // a fresh context (empty IndexedDB) opens the link and reproduces it
  const ctx2 = await browser.newContext();
  const page2 = await ctx2.newPage();
  const errors2 = collectErrors(page2);
  await openStudio(page2, link.replace(/^https?:\/\/[^/]+/, ''));
  const dialog = page2.getByTestId('link-dialog');
  await expect(dialog).toBeVisible();
  await expect(page2.getByTestId('link-check-dataset')).toHaveAttribute('data-ok', 'true');
  await expect(page2.getByTestId('link-check-model')).toHaveAttribute('data-ok', 'true');
  await expect(page2.getByTestId('link-check-adapter')).toHaveAttribute('data-ok', 'true');
  await snap(page2, 'link-dialog');
  await page2.getByTestId('link-reproduce').click();
  const bar2 = page2.getByTestId('run-bar');
  await expect(bar2).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  const r3 = (await bar2.getAttribute('data-run-id'))!;
  expect(await runLosses(page2, r3)).toEqual(losses); // bit-identical float32 losses
  await expect(page2.getByTestId('reproduction-result')).toHaveAttribute('data-match', 'true');
  await expect(page2.getByTestId('reproduction-result')).toContainText('bit-identical');
  await chartsDrawn(page2, ['loss']);
  await snap(page2, 'reproduced');
  await ctx2.close();

  expect(errors.pageErrors).toEqual([]);
  expect(errors2.pageErrors).toEqual([]);
});
