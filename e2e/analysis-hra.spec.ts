/**
 * A PEFT HRA adapter (peft/llama-hra on the mock hub: the golden PEFT 0.17.1 HRA adapter,
 * base tiny/llama) opened for analysis in the page: the worker merges it with the HRA method's own merge
 * (W_hf·H_0⋯H_{r−1}, engine/analysis/adapter.ts), the summary says HRA, and the analysis is that of an
 * orthogonal map — 2 adapted q_proj matrices, no intruder dimensions.
 */
import { startHubServer, type HubServer } from '../tests/helpers/hub-server';
import { expect, snap, test } from './helpers';
import { openStudio } from './studio';

let hub: HubServer;
test.beforeAll(async () => {
  hub = await startHubServer();
});
test.afterAll(async () => {
  await hub?.close();
});

test('analysis: a PEFT HRA adapter from the hub, merged by HRA and analysed', async ({ page }) => {
  test.setTimeout(120_000);
  await page.addInitScript((endpoint) => localStorage.setItem('rankscope.hub.endpoint', endpoint), hub.endpoint);
  await openStudio(page);
  const panel = page.getByTestId('adapter-analysis');
  if (!(await page.getByTestId('input-adapter-spec').isVisible())) await panel.locator('summary').click();
  await page.getByTestId('input-adapter-spec').fill('peft/llama-hra');
  await page.getByTestId('btn-adapter-analyse').click();
  const summary = page.getByTestId('adapter-summary');
  await expect(summary).toBeVisible({ timeout: 90_000 });
  await expect(summary).toContainText('HRA r = 4 reflections');
  await expect(page.getByTestId('adapter-summary-base')).toContainText('tiny/llama');
  await expect(page.getByTestId('adapter-layer-row')).toHaveCount(2);
  await expect(page.getByTestId('adapter-summary-intruders')).toHaveAttribute('data-intruders', '0');
  await expect(page.getByTestId('analysis-badge')).toHaveCount(1);
  await snap(page, 'analysis-hra-adapter');
});
