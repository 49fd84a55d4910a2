/**
 * The shell opens on real WebGPU (SwiftShader in headless Chromium), shows the adapter the worker
 * got, and the GPU-vs-CPU matmul self-test passes.
 */
import { collectErrors, expect, snap, test } from './helpers';

test('shell shows the adapter and the self-test passes', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Rankscope');
  await expect(page.getByTestId('header-adapter')).toBeVisible();
  await page.getByTestId('tab-system').click();

  const card = page.getByTestId('adapter-card');
  await expect(card).toHaveAttribute('data-state', 'ready');
  const name = (await page.getByTestId('adapter-name').textContent()) ?? '';
  const arch = (await page.getByTestId('adapter-architecture').textContent()) ?? '';
  const vendor = (await page.getByTestId('adapter-vendor').textContent()) ?? '';
  // Headless Chromium here runs WebGPU on SwiftShader; on a real GPU machine set E2E_ADAPTER.
  expect(`${name} ${arch} ${vendor}`).toMatch(new RegExp(process.env.E2E_ADAPTER ?? 'swiftshader', 'i'));
  await expect(page.getByTestId('adapter-is-fallback')).toHaveText(/yes|no/);
  const maxBuffer = Number(await page.getByTestId('limit-maxBufferSize').getAttribute('data-value'));
  expect(maxBuffer).toBeGreaterThan(0);
  await expect(page.getByTestId('header-adapter')).toBeVisible();

  await page.getByTestId('selftest-run').click();
  const result = page.getByTestId('selftest-result');
  await expect(result).toBeVisible();
  await expect(result).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('selftest-ok')).toHaveText('pass');
  const maxDiff = Number(await page.getByTestId('selftest-maxdiff').getAttribute('data-value'));
  expect(maxDiff).toBeLessThan(1e-3);
  const ms = Number(await page.getByTestId('selftest-ms').getAttribute('data-value'));
  expect(ms).toBeGreaterThan(0);

  await snap(page, 'shell');
  expect(errors.pageErrors).toEqual([]);
});
