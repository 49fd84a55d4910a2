/**
 * Shared e2e helpers: screenshots go to test-results/screenshots/<name>.png (ignored: look at them after
 * a run, do not commit them — every run rewrote the tracked PNGs and churned the history), and page
 * errors are collected so a test can assert the page never threw.
 */
import { expect, test as base, type Page } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function screenshotPath(name: string): string {
  return path.join(HERE, '..', 'test-results', 'screenshots', `${name}.png`);
}

/** A viewport-sized PNG of the page (not full-page: keeps the committed files small). */
export async function snap(page: Page, name: string): Promise<void> {
  await page.mouse.move(1, 1); // no chart tooltip under a leftover pointer
  await page.screenshot({ path: screenshotPath(name), animations: 'disabled', caret: 'hide' });
}

/** Collect uncaught page errors and console errors for assertions. */
export function collectErrors(page: Page): { pageErrors: string[]; consoleErrors: string[] } {
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  return { pageErrors, consoleErrors };
}

/**
 * `test` with an automatic check (issue 17: a failure visible only in the console must not exist):
 * every uncaught page error, and every console error of the page or its engine worker (Chromium
 * reports worker console messages on the page), fails the test after it ran. A spec that provokes
 * errors on purpose lists the expected ones: `test.use({ allowedErrors: [/GPU device lost/] })`.
 */
export const test = base.extend<{ allowedErrors: RegExp[]; failOnPageErrors: void }>({
  allowedErrors: [[], { option: true }],
  failOnPageErrors: [
    async ({ page, allowedErrors }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
      });
      await use();
      const unexpected = errors.filter((e) => !allowedErrors.some((re) => re.test(e)));
      expect(unexpected, 'uncaught errors or console errors in the page or its worker').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };
