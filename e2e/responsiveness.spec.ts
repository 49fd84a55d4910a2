/**
 * The main thread stays free while the worker trains and analyses: a PerformanceObserver records
 * every long task (> 50 ms) on the page, and none may fall inside the training window. Loss and
 * Spectra views are open in turn (they redraw during training); the test waits for the run's end
 * inside the page (one evaluate, no polling: Playwright's own polling runs on the page's main
 * thread and would be measured too).
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { configureTinyRun, openStudio } from './studio';

type LongTask = { start: number; duration: number };

async function trainAndWatch(page: Page, tab: string, steps: number): Promise<{ window: number; during: LongTask[] }> {
  await page.getByTestId(`tab-${tab}`).click();
  await page.waitForTimeout(1500); // start-up and the tab switch settle before the window opens
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('start-run').click();
  const t1 = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const store = (
          window as unknown as {
            __rankscope: {
              store: {
                getState(): { selectedRunId: string | null; runs: Record<string, { status: string }> };
                subscribe(f: () => void): () => void;
              };
            };
          }
        ).__rankscope.store;
        const finished = () => {
          const s = store.getState();
          const r = s.selectedRunId ? s.runs[s.selectedRunId] : null;
          return !!r && ['done', 'error', 'stopped'].includes(r.status);
        };
        if (finished()) return resolve(performance.now());
        const off = store.subscribe(() => {
          if (finished()) {
            off();
            resolve(performance.now());
          }
        });
      }),
  );
  await expect(page.getByTestId('run-bar')).toHaveAttribute('data-status', 'done');
  expect(await page.getByTestId('run-bar').getAttribute('data-step')).toBe(String(steps));
  const tasks = await page.evaluate(() => (window as unknown as { __longtasks: LongTask[] }).__longtasks);
  return {
    window: t1 - t0,
    during: tasks
      .filter((t) => t.start >= t0 && t.start <= t1)
      .map((t) => ({ start: Math.round(t.start - t0), duration: t.duration })),
  };
}

test('no long task on the main thread while training and analysing', async ({ page }) => {
  test.setTimeout(400_000);
  await page.addInitScript(() => {
    const w = window as unknown as { __longtasks: LongTask[] };
    w.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        w.__longtasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: true });
  });
  await openStudio(page);
  await configureTinyRun(page, { steps: 30, evalEvery: 5, analysisEvery: 5 });
  const loss = await trainAndWatch(page, 'loss', 30);
  const spectra = await trainAndWatch(page, 'spectra', 30);
  for (const [name, r] of [
    ['loss', loss],
    ['spectra', spectra],
  ] as const) {
    console.log(
      `${name} view: training window ${(r.window / 1000).toFixed(1)} s, long tasks ${r.during.length}${r.during.length ? ' (ms after the click) ' + JSON.stringify(r.during) : ''}`,
    );
  }
  expect(loss.during, 'long tasks while training with the Loss view open').toEqual([]);
  expect(spectra.during, 'long tasks while training with the Spectra view open').toEqual([]);
});
