/**
 * A reload during training keeps the history and offers to resume from the last checkpoint; the
 * resumed run continues the same run (same id, same chart) from the checkpoint step.
 */
import type { Page } from '@playwright/test';
import { collectErrors, expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio, runLosses } from './studio';

async function runState(page: Page, runId: string): Promise<{ status: string; step: number; checkpointStep?: number }> {
  return page.evaluate((id) => {
    const r = (
      window as unknown as {
        __rankscope: {
          store: { getState(): { runs: Record<string, { status: string; step: number; checkpointStep?: number }> } };
        };
      }
    ).__rankscope.store.getState().runs[id];
    return { status: r.status, step: r.step, checkpointStep: r.checkpointStep };
  }, runId);
}

test('reload during training: history kept, resume from the last checkpoint', async ({ page }) => {
  test.setTimeout(600_000);
  const errors = collectErrors(page);
  await openStudio(page);
  await configureTinyRun(page, { steps: 2000, evalEvery: 50, analysisEvery: 0 });
  await page.getByTestId('start-run').click();
  const bar = page.getByTestId('run-bar');
  await expect(bar).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  const runId = (await bar.getAttribute('data-run-id'))!;
  // the engine checkpoints every few seconds while running
  await expect
    .poll(async () => (await runState(page, runId)).checkpointStep ?? -1, { timeout: 120_000 })
    .toBeGreaterThan(0);
  await expect
    .poll(async () => (await runState(page, runId)).step, { timeout: 60_000 })
    .toBeGreaterThan((await runState(page, runId)).checkpointStep! + 2);
  // the checkpoint step first, then the losses: a checkpoint taken in between cannot overtake them
  const ckpt = (await runState(page, runId)).checkpointStep!;
  const before = await runLosses(page, runId);
  expect(before.length).toBeGreaterThanOrEqual(ckpt);

  await page.reload();
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  const banner = page.getByTestId('resume-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('was interrupted');
  const item = page.locator(`[data-testid="run-item"][data-run-id="${runId}"]`);
  await expect(item).toHaveAttribute('data-status', 'interrupted');
  // history survived the reload: the stored losses are back, to the last step that reached IndexedDB
  await expect.poll(async () => (await runLosses(page, runId)).length).toBeGreaterThanOrEqual(ckpt);
  const after = await runLosses(page, runId);
  expect(after).toEqual(before.slice(0, after.length));
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-empty', 'false');
  await chartsDrawn(page, ['loss']);
  await snap(page, 'resume-offer');

  const stored = (await runState(page, runId)).checkpointStep!;
  await expect(page.getByTestId('resume-from-checkpoint')).toContainText(`step ${stored}`);
  await page.getByTestId('resume-from-checkpoint').click();
  await expect(page.getByTestId('resume-banner')).toHaveCount(0);
  await expect(bar).toHaveAttribute('data-run-id', runId);
  await expect(bar).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  const target = Math.min(before.length, stored + 5);
  await expect
    .poll(async () => (await runLosses(page, runId)).length, { timeout: 120_000 })
    .toBeGreaterThanOrEqual(target);
  await page.getByTestId('stop-run').click();
  await expect(bar).toHaveAttribute('data-status', 'stopped', { timeout: 60_000 });
  const resumed = await runLosses(page, runId);
  // steps redone after the checkpoint give the same losses as before the reload (deterministic resume)
  expect(resumed.slice(stored, target)).toEqual(before.slice(stored, target));
  await chartsDrawn(page, ['loss']);
  await snap(page, 'resumed');
  expect(errors.pageErrors).toEqual([]);
});
