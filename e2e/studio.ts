/**
 * Journey helpers: open the studio, configure a tiny run through the form, wait for states, and
 * read exact values back (window.__rankscope exposes the store read-only for tests and debugging).
 */
import { expect, type Page } from '@playwright/test';

export interface TinyRun {
  steps?: number;
  batch?: number;
  context?: number;
  rank?: number;
  alpha?: number;
  evalEvery?: number;
  analysisEvery?: number;
  k?: number;
  seed?: number;
  dataset?: string;
  method?: string;
}

export async function openStudio(page: Page, url = '/'): Promise<void> {
  await page.goto(url);
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  await expect(page.getByTestId('setup-panel')).toHaveAttribute('data-loaded', 'true');
}

async function fill(page: Page, testid: string, value: number | string): Promise<void> {
  const el = page.getByTestId(testid);
  await el.fill(String(value));
}

/** A small LoRA run on the shipped micro model: seconds on SwiftShader. */
export async function configureTinyRun(page: Page, o: TinyRun = {}): Promise<void> {
  await page.getByTestId('input-model').selectOption('builtin:micro');
  await expect(page.getByTestId('model-arch')).toContainText('L2 · C32');
  await page.getByTestId('input-dataset').selectOption(o.dataset ?? 'brown-news');
  await page.getByTestId('input-method').selectOption(o.method ?? 'lora');
  if ((o.method ?? 'lora') !== 'full') {
    await fill(page, 'input-param-rank', o.rank ?? 4);
    await fill(page, 'input-param-alpha', o.alpha ?? 8);
  }
  await fill(page, 'input-train-steps', o.steps ?? 12);
  await fill(page, 'input-train-batchSize', o.batch ?? 2);
  await fill(page, 'input-train-contextLength', o.context ?? 16);
  await fill(page, 'input-train-warmupSteps', 2);
  await fill(page, 'input-eval-every', o.evalEvery ?? 4);
  const adv = page.getByTestId('advanced-optimizer');
  if (!(await adv.evaluate((d) => (d as HTMLDetailsElement).open))) await adv.locator('summary').click();
  await fill(page, 'input-eval-batches', 1);
  await fill(page, 'input-analysis-every', o.analysisEvery ?? 6);
  await fill(page, 'input-analysis-k', o.k ?? 4);
  await fill(page, 'input-seed', o.seed ?? 7);
  await expect(page.getByTestId('start-run')).toBeEnabled();
}

export async function startAndFinish(page: Page, timeout = 180_000): Promise<string> {
  await page.getByTestId('start-run').click();
  const bar = page.getByTestId('run-bar');
  await expect(bar).toHaveAttribute('data-status', /queued|preparing|running|done/);
  const runId = (await bar.getAttribute('data-run-id'))!;
  await expect(bar).toHaveAttribute('data-status', 'done', { timeout });
  return runId;
}

/** Charts draw a moment after their data arrives (each in its own task): wait until they have. */
export async function chartsDrawn(page: Page, ids: string[]): Promise<void> {
  for (const id of ids)
    await expect(
      page
        .getByTestId(`chart-${id}`)
        .locator('path[data-series], rect[data-bar], svg[data-testid="overlap-heatmap"]')
        .first(),
    ).toBeAttached();
}

export async function runLosses(page: Page, runId: string): Promise<number[]> {
  return page.evaluate((id) => {
    const s = (
      window as unknown as { __rankscope: { store: { getState(): { metrics: Record<string, { losses: number[] }> } } } }
    ).__rankscope.store.getState();
    return [...(s.metrics[id]?.losses ?? [])];
  }, runId);
}
