/**
 * A comparison as a link (issue 16): two runs compared, "Copy comparison link", the link opened in the
 * same profile ticks the same runs; opened in a fresh profile it names the two missing runs, trains them
 * from the link's configs, and the rebuilt comparison has bit-identical losses. The Compare charts
 * export as SVG and PNG.
 */
import { collectErrors, expect, snap, test } from './helpers';
import { configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

test.use({ viewport: { width: 1360, height: 900 } });

test('comparison link: same profile ticks the runs, a fresh profile trains them to identical losses', async ({
  page,
  browser,
}) => {
  test.setTimeout(400_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 4, evalEvery: 2, analysisEvery: 0, seed: 3 });
  const a = await startAndFinish(page);
  await configureTinyRun(page, { method: 'full', steps: 4, evalEvery: 2, analysisEvery: 0, seed: 3 });
  const b = await startAndFinish(page);
  const lossA = await runLosses(page, a);
  const lossB = await runLosses(page, b);

  for (const t of await page.getByTestId('compare-toggle').all()) await t.check();
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-table').locator('tbody tr')).toHaveCount(2);
  for (const kind of ['SVG', 'PNG']) {
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download compare-loss as ${kind}` }).click(),
    ]);
    expect(dl.suggestedFilename()).toMatch(new RegExp(`compare-loss.*\\.${kind.toLowerCase()}$`));
  }
  await page.getByTestId('compare-link').click();
  const link = await page.getByTestId('compare-link-text').inputValue();
  expect(link).toMatch(/#compare=[\w-]+$/);

  // same profile: untick, open the link → the same two runs are ticked, nothing to train
  for (const t of await page.getByTestId('compare-toggle').all()) await t.uncheck();
  await expect(page.getByTestId('compare-empty')).toBeVisible();
  await page.goto(link);
  await expect(page.getByTestId('compare-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('compare-link-banner')).toContainText('names 2 runs; 2 are in this browser');
  await expect(page.getByTestId('compare-link-train')).toHaveCount(0);

  // a fresh profile: the link names two runs it lacks; training them rebuilds the comparison
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const fresh = await ctx.newPage();
  const errors = collectErrors(fresh);
  await openStudio(fresh, link);
  const banner = fresh.getByTestId('compare-link-banner');
  await expect(banner).toContainText('names 2 runs; 0 are in this browser');
  await fresh.getByTestId('compare-link-train').click();
  await expect(banner).toHaveCount(0, { timeout: 240_000 });
  const rows = fresh.getByTestId('compare-table').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(fresh.getByTestId('compare-cost').locator('tbody tr').nth(1)).toContainText('done', {
    timeout: 120_000,
  });
  const ids = await fresh.getByTestId('run-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')!));
  expect(ids).toHaveLength(2);
  const got = await Promise.all(ids.map((id) => runLosses(fresh, id)));
  // bit-identical on the same adapter: same config, same seed
  expect(got).toContainEqual(lossA);
  expect(got).toContainEqual(lossB);
  await snap(fresh, 'compare-link-fresh-1360x900');
  expect(errors.pageErrors).toEqual([]);
  expect(errors.consoleErrors).toEqual([]);
  await ctx.close();
});
