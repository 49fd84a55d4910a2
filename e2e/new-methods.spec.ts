/**
 * The methods added with issue 12 train in the page, not only from the CLI: HRA, ReLoRA, AdaLoRA and
 * LoRA-Pro on the built-in micro model, each from the method picker with its own controls, to the end,
 * with finite per-step losses (the shared fixture fails the test on any page or worker error).
 */
import { expect, test } from './helpers';
import { configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

const STEPS = 6;

test('hra, relora, adalora and lora-pro train in the page', async ({ page }) => {
  test.setTimeout(420_000);
  await openStudio(page);
  // configure as LoRA (the shared helper fills rank and alpha), then switch: not every method has an alpha
  await configureTinyRun(page, { steps: STEPS, evalEvery: 3, analysisEvery: 0 });
  for (const method of ['hra', 'relora', 'adalora', 'lora-pro']) {
    await page.getByTestId('input-method').selectOption(method);
    const rank = page.getByTestId('input-param-rank');
    if ((await rank.count()) > 0) await rank.fill('4');
    await expect(page.getByTestId('start-run'), `${method}: start enabled`).toBeEnabled();
    const runId = await startAndFinish(page);
    const losses = await runLosses(page, runId);
    expect(losses, method).toHaveLength(STEPS);
    expect(losses.every(Number.isFinite), `${method}: ${losses.join(', ')}`).toBe(true);
  }
});
