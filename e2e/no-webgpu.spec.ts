/**
 * Without WebGPU the page explains what is missing and how to enable it: no blank page, no stack
 * trace. Two cases: `navigator.gpu` deleted, and `requestAdapter()` patched to return null.
 */
import { expect, snap, test } from './helpers';

test('no navigator.gpu: the explanation page shows', async ({ page }) => {
  await page.addInitScript(() => {
    // The property lives on Navigator.prototype; remove it there so `navigator.gpu` is undefined.
    delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu;
    delete (navigator as unknown as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  const help = page.getByTestId('webgpu-help');
  await expect(help).toBeVisible();
  await expect(help).toHaveAttribute('data-kind', 'unavailable');
  await expect(page.getByTestId('webgpu-help-title')).toContainText('does not offer WebGPU');
  const table = page.getByTestId('webgpu-help-browsers');
  await expect(table).toContainText('Chrome / Edge 113+');
  await expect(table).toContainText('--enable-unsafe-webgpu --enable-features=Vulkan');
  await expect(table).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(table).toContainText('Firefox 141');
  await expect(table).toContainText('dom.webgpu.enabled');
  await expect(table).toContainText('Safari 26');
  await expect(table).toContainText('Technology Preview');
  await expect(table).toContainText('Hardware acceleration');
  await expect(page.getByTestId('webgpu-help-advice')).toContainText('Linux');
  await expect(page.getByTestId('studio')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(/\s+at\s+\S+\s+\(/); // no stack trace
  await snap(page, 'no-webgpu');
});

test('requestAdapter() returns null: the no-adapter explanation shows', async ({ page }) => {
  await page.addInitScript(() => {
    GPU.prototype.requestAdapter = async () => null;
  });
  await page.goto('/');
  const help = page.getByTestId('webgpu-help');
  await expect(help).toBeVisible();
  await expect(help).toHaveAttribute('data-kind', 'no-adapter');
  await expect(page.getByTestId('webgpu-help-title')).toContainText('no GPU adapter');
  await expect(page.getByTestId('webgpu-help-reason')).toContainText('requestAdapter() returned null');
  await expect(page.getByTestId('webgpu-help-browsers')).toContainText('blocklist');
  await expect(page.getByTestId('studio')).toHaveCount(0);
  await snap(page, 'no-adapter');
});
