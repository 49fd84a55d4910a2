/**
 * Generation from any stored run (issue 16 "Done when"): two runs trained, the page reloaded (the
 * engine then holds no run), the older run picked, its checkpoint loaded on demand, tokens streamed,
 * Cancel keeps what was generated, and the sample is still there after another reload.
 */
import { expect, snap, test } from './helpers';
import type { Page } from '@playwright/test';
import { configureTinyRun, openStudio, startAndFinish } from './studio';

test.use({ viewport: { width: 1024, height: 700 } });

async function engineRunId(page: Page): Promise<string | null> {
  return page.evaluate(
    () =>
      (
        window as unknown as { __rankscope: { store: { getState(): { engineRunId: string | null } } } }
      ).__rankscope.store.getState().engineRunId,
  );
}

test('generate from a non-current stored run after a reload: streams, cancels, the sample survives a reload', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 4, evalEvery: 0, analysisEvery: 0, seed: 7 });
  const older = await startAndFinish(page);
  await configureTinyRun(page, { steps: 4, evalEvery: 0, analysisEvery: 0, seed: 8 });
  const newer = await startAndFinish(page);
  expect(newer).not.toBe(older);

  await page.reload();
  await openStudio(page);
  expect(await engineRunId(page)).toBeNull(); // the engine holds no run: the checkpoint must be loaded
  await page.getByTestId('tab-generate').click();
  const pick = page.getByTestId('generate-run-select');
  await expect(pick.locator('option')).toHaveCount(2);
  await pick.selectOption(older);
  await page.getByTestId('generate-prompt').fill('The ');
  await page.locator('label:has-text("tokens") input').fill('300');
  await page.locator('label:has-text("top-p") input').fill('0.9');
  await page.getByTestId('generate-run').click();
  // streams: the token count grows while it runs
  const progress = page.getByTestId('generate-progress');
  await expect(progress).toContainText(/model: \d+ \/ 300 tokens/, { timeout: 60_000 });
  const n1 = Number(/: (\d+) \//.exec(await progress.innerText())![1]);
  await expect
    .poll(async () => Number(/: (\d+) \//.exec((await progress.innerText().catch(() => '')) || ': 0 /')?.[1] ?? 0))
    .toBeGreaterThan(n1);
  await page.getByTestId('generate-cancel').click();
  await expect(page.getByTestId('generate-cancelled')).toBeVisible();
  await expect(page.getByTestId('generate-run')).toBeEnabled();
  const base = await page.getByTestId('generate-base').innerText();
  expect(base.length).toBeGreaterThan(4);
  expect(base.length).toBeLessThan(4 + 300 * 8); // stopped before maxTokens
  await snap(page, 'generate-stored-run-1024x700');

  // kept with the run across a reload
  await page.waitForTimeout(1500); // the record's write is queued for the next flush
  await page.reload();
  await openStudio(page);
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate-run-select').selectOption(older);
  await expect(page.getByTestId('generate-base')).toHaveText(base);
  await expect(page.getByTestId('generate-cancelled')).toBeVisible();
  // the tab fits at every size: nothing wider than the view, no sideways page scroll
  for (const [w, h] of [
    [1024, 700],
    [1360, 900],
    [1920, 1080],
  ]) {
    await page.setViewportSize({ width: w, height: h });
    for (const id of ['generate-controls', 'generate-output']) {
      const r = await page.getByTestId(id).evaluate((el) => ({
        left: el.getBoundingClientRect().left,
        right: el.getBoundingClientRect().right,
        w: innerWidth,
        scroll: document.documentElement.scrollWidth,
      }));
      expect(r.left, id).toBeGreaterThanOrEqual(0);
      expect(r.right, id).toBeLessThanOrEqual(r.w);
      expect(r.scroll).toBeLessThanOrEqual(r.w);
    }
    await snap(page, `generate-${w}x${h}`);
  }
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.getByTestId('generate-run-select').selectOption(newer);
  await expect(page.getByTestId('generate-output')).toHaveCount(0);
  await snap(page, 'generate-after-reload-1024x700');
});
