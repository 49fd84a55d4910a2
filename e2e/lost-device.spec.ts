/**
 * A real lost device (issue 17 item 3): the worker destroys its GPU device with `device.destroy()` mid-run
 * (the debug hook `window.__rankscope.loseDevice(afterStep)`, no injected event). The engine sees
 * `device.lost`, the page shows the banner with the reason, one click gets a new device in the same
 * worker and resumes the run from its last checkpoint; no reload. The run's history has no gap and no
 * duplicate, and every loss equals an uninterrupted reference run's (deterministic resume).
 */
import type { Page } from '@playwright/test';
import { expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio, runLosses } from './studio';

// No allowedErrors: the destroyed device logs no console error; the run's error reaches the page as an event.

const STEPS = 12;
const CHECKPOINT_EVERY = 3;
const LOSE_AFTER = 7;

type Debug = {
  __rankscope: {
    loseDevice(afterStep?: number): Promise<void>;
    checkpointEvery(n: number): Promise<void>;
    store: {
      getState(): {
        runs: Record<string, { status: string; step: number; checkpointStep?: number; error?: { kind: string } }>;
      };
    };
  };
};

async function run(page: Page, id: string) {
  return page.evaluate((i) => (window as unknown as Debug).__rankscope.store.getState().runs[i], id);
}

test('a destroyed GPU device: banner, one click, the run resumes on a new device with its history', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: STEPS, evalEvery: 4, analysisEvery: 0 });
  await page.evaluate(
    async ([every, after]) => {
      const d = (window as unknown as Debug).__rankscope;
      await d.checkpointEvery(every);
      await d.loseDevice(after);
    },
    [CHECKPOINT_EVERY, LOSE_AFTER],
  );
  await page.getByTestId('start-run').click();
  const bar = page.getByTestId('run-bar');
  const runId = (await bar.getAttribute('data-run-id'))!;

  const banner = page.getByTestId('device-lost-banner');
  await expect(banner).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('device-lost-reason')).toContainText('GPU device lost (destroyed)');
  await expect(bar).toHaveAttribute('data-status', 'error');
  const lost = await run(page, runId);
  expect(lost.error?.kind).toBe('device-lost');
  expect(lost.checkpointStep).toBe(6); // checkpoints at 3 and 6; the device went after step 7
  const before = await runLosses(page, runId);
  expect(before.length).toBe(LOSE_AFTER);
  await expect(banner).toContainText('resumes from its last checkpoint (step 6)');
  await snap(page, 'device-lost-real');

  await page.getByTestId('device-lost-resume').click();
  await expect(banner).toHaveCount(0, { timeout: 60_000 });
  await expect(bar).toHaveAttribute('data-run-id', runId);
  await expect(bar).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  const resumed = await runLosses(page, runId);
  expect(resumed.length).toBe(STEPS);
  expect(resumed.every(Number.isFinite)).toBe(true); // no gap (a gap is NaN), and one entry per step
  expect(resumed.slice(0, 6)).toEqual(before.slice(0, 6)); // the history before the checkpoint is kept
  expect(resumed[LOSE_AFTER - 1]).toBe(before[LOSE_AFTER - 1]); // step 7 redone on the new device: same loss
  await chartsDrawn(page, ['loss']);
  await snap(page, 'device-lost-resumed');

  // reference: the same configuration, uninterrupted, on the new device
  await page.getByTestId('start-run').click();
  await expect(bar).not.toHaveAttribute('data-run-id', runId);
  const refId = (await bar.getAttribute('data-run-id'))!;
  await expect(bar).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  const reference = await runLosses(page, refId);
  expect(reference.length).toBe(STEPS);
  expect(resumed).toEqual(reference);
});

test('after a lost device, Reload (the fallback) offers the run from its checkpoint, and it completes', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 6, evalEvery: 3, analysisEvery: 0 });
  await page.evaluate(async () => {
    const d = (window as unknown as Debug).__rankscope;
    await d.checkpointEvery(2);
    await d.loseDevice(4);
  });
  await page.getByTestId('start-run').click();
  const bar = page.getByTestId('run-bar');
  const runId = (await bar.getAttribute('data-run-id'))!;
  await expect(page.getByTestId('device-lost-banner')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('resume-banner')).toHaveCount(0); // the device banner's button is the one offered
  const before = await runLosses(page, runId);
  expect(before.length).toBe(4);

  await page.getByTestId('device-lost-reload').click();
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  await expect(page.getByTestId('device-lost-banner')).toHaveCount(0);
  const banner = page.locator(`[data-testid="resume-banner"][data-run-id="${runId}"]`);
  await expect(banner).toContainText('was stopped by a lost GPU device at step 4');
  await expect(banner.getByTestId('resume-from-checkpoint')).toContainText('step 4');
  await banner.getByTestId('resume-from-checkpoint').click();
  await expect(bar).toHaveAttribute('data-run-id', runId);
  await expect(bar).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  const after = await runLosses(page, runId);
  expect(after.length).toBe(6);
  expect(after.every(Number.isFinite)).toBe(true);
  expect(after.slice(0, 4)).toEqual(before);
});
