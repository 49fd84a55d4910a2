/**
 * Resume after a reload, for LoRA, a residual method (PiSSA: its frozen base is W − s·B·A) and VeRA (its
 * frozen projections are shared by every layer), issue 17 item 2. Per method: an uninterrupted reference
 * run, then the same configuration reloaded mid-run (after a checkpoint), resumed from the ResumeBanner
 * and run to the end; every per-step loss equals the reference's, bit for bit (the page's checkpoint holds
 * everything a resume needs; the CLI's tests/cli/resume.test.ts checks the same for every method).
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { configureTinyRun, openStudio, runLosses } from './studio';

const STEPS = 8;

type Debug = {
  __rankscope: {
    checkpointEvery(n: number): Promise<void>;
    store: { getState(): { runs: Record<string, { status: string; step: number; checkpointStep?: number }> } };
  };
};

async function runState(page: Page, id: string) {
  return page.evaluate((i) => {
    const r = (window as unknown as Debug).__rankscope.store.getState().runs[i];
    return { status: r.status, step: r.step, checkpointStep: r.checkpointStep };
  }, id);
}

async function configure(page: Page, method: string): Promise<void> {
  // VeRA has no alpha: configure as LoRA, then switch the method and set its rank
  await configureTinyRun(page, {
    method: method === 'vera' ? 'lora' : method,
    steps: STEPS,
    evalEvery: 5,
    analysisEvery: 0,
  });
  if (method === 'vera') {
    await page.getByTestId('input-method').selectOption('vera');
    await page.getByTestId('input-param-rank').fill('4');
  }
  await expect(page.getByTestId('input-train-steps')).toHaveValue(String(STEPS));
  await expect(page.getByTestId('start-run')).toBeEnabled();
}

async function start(page: Page, notId?: string): Promise<string> {
  await page.getByTestId('start-run').click();
  const bar = page.getByTestId('run-bar');
  if (notId) await expect(bar).not.toHaveAttribute('data-run-id', notId);
  await expect(bar).toHaveAttribute('data-status', /queued|preparing|running|done/);
  return (await bar.getAttribute('data-run-id'))!;
}

for (const method of ['lora', 'pissa', 'vera']) {
  test(`${method}: a reload mid-run, resume from the checkpoint, losses equal an uninterrupted run's`, async ({
    page,
  }) => {
    test.setTimeout(240_000);
    await openStudio(page);
    await configure(page, method);
    const bar = page.getByTestId('run-bar');
    const refId = await start(page);
    await expect(bar).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    const reference = await runLosses(page, refId);
    expect(reference.length).toBe(STEPS);

    // the same configuration again, with a checkpoint every 3 steps; reload once the first one is taken
    await page.evaluate(() => (window as unknown as Debug).__rankscope.checkpointEvery(3));
    const runId = await start(page, refId);
    await expect.poll(async () => (await runState(page, runId)).checkpointStep ?? 0, { timeout: 120_000 }).toBe(3);
    const at = await runState(page, runId);
    expect(at.status).toBe('running');
    await page.reload();
    await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });

    const banner = page.locator(`[data-testid="resume-banner"][data-run-id="${runId}"]`);
    await expect(banner).toBeVisible();
    const stored = (await runState(page, runId)).checkpointStep!;
    expect(stored).toBeGreaterThanOrEqual(3);
    expect(stored).toBeLessThan(STEPS);
    await banner.getByTestId('resume-from-checkpoint').click();
    await expect(banner).toHaveCount(0);
    await expect(bar).toHaveAttribute('data-run-id', runId);
    await expect(bar).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    const resumed = await runLosses(page, runId);
    expect(resumed.length).toBe(STEPS);
    expect(resumed).toEqual(reference);
  });
}
