/**
 * Hugging Face models in the page, through the real download code (src/engine/io/hub.ts in the worker,
 * the OPFS model library) against the mock hub (tests/helpers/hub-server.ts, the hub's URL layout and
 * headers): a missing repo and a gated repo explained, a download cut mid-file then resumed after a
 * reload with a Range request, the library listing, a LoRA run on chat data with the downloaded model
 * and its spectra, and delete.
 */
import type { Page } from '@playwright/test';
import { startHubServer, type HubServer } from '../tests/helpers/hub-server';
import { expect, snap, test } from './helpers';
import { chartsDrawn, openStudio, runLosses, startAndFinish } from './studio';

// The missing and the gated repository answer 401 (as the hub does); the browser logs each failed fetch.
test.use({ allowedErrors: [/Failed to load resource: the server responded with a status of 401 \(Unauthorized\)/] });

let hub: HubServer;
test.beforeAll(async () => {
  hub = await startHubServer();
});
test.afterAll(async () => {
  await hub?.close();
});

async function pickHub(page: Page): Promise<void> {
  await page.getByTestId('input-model').selectOption('hub');
  await expect(page.getByTestId('hub-picker')).toBeVisible();
  await page.locator('.hub-settings summary').click();
  await page.getByTestId('input-hub-endpoint').fill(hub.endpoint);
}

async function download(page: Page, spec: string): Promise<void> {
  await page.getByTestId('input-hub-spec').fill(spec);
  await page.getByTestId('btn-hub-download').click();
}

test('hub: 404 and gated explained, cut download resumed after reload, train LoRA on chats, delete', async ({
  page,
}) => {
  test.setTimeout(480_000);
  await openStudio(page);
  await pickHub(page);

  // a missing repository and a gated one: one line each, saying what to do
  hub.faults.noRepo!.add('nobody/nothing');
  await download(page, 'nobody/nothing');
  await expect(page.getByTestId('hub-error')).toContainText('nobody/nothing not found');
  hub.faults.gated!.set('tiny/llama', 'secret');
  await download(page, 'tiny/llama');
  await expect(page.getByTestId('hub-error')).toContainText('gated');
  await expect(page.getByTestId('hub-error')).toContainText('Access token');
  await snap(page, 'hub-gated');

  // a download cut in the middle of the weights: progress shown, the partial file kept
  const commit = hub.commitOf('tiny/gpt2');
  hub.faults.cut = { file: 'model.safetensors', afterBytes: 20_000 };
  await page.getByTestId('input-hub-spec').fill('tiny/gpt2');
  // before downloading: the engine's memory plan from config.json alone
  await expect(page.getByTestId('hub-fit')).toContainText('LoRA r16, all linear');
  await expect(page.getByTestId('hub-fit').locator('[data-fits="true"]')).toHaveCount(2);
  await download(page, 'tiny/gpt2');
  await expect(page.getByTestId('hub-error')).toContainText('stopped at');
  await expect(page.locator('[data-testid="hub-file"][data-file="config.json"]')).toHaveAttribute('data-done', 'true');
  const stored = page.locator('[data-testid="library-item"][data-repo="tiny/gpt2"]');
  await expect(stored).toContainText('partial');
  await expect(stored.getByTestId('btn-library-use')).toHaveCount(0); // no weights yet: nothing to use
  await snap(page, 'hub-cut');

  // reload: the interrupted download is offered; resuming asks only for the rest (Range)
  await page.reload();
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  await pickHub(page);
  await expect(page.getByTestId('hub-interrupted')).toContainText('tiny/gpt2');
  const before = hub.requests.length;
  await page.getByTestId('hub-interrupted').getByTestId('btn-hub-resume').click();
  await expect(page.getByTestId('hub-download')).toHaveAttribute('data-status', 'done');
  const ranged = hub.requests.slice(before).filter((r) => r.method === 'GET' && r.range);
  expect(ranged.map((r) => r.range)).toContain('bytes=20000-');
  await expect(page.getByTestId('hub-current')).toContainText(`tiny/gpt2 at commit ${commit.slice(0, 12)}`);
  await expect(page.getByTestId('model-arch')).toContainText('L2 · C32');
  await expect(page.locator('[data-testid="library-item"][data-repo="tiny/gpt2"]')).toBeVisible();
  await expect(page.getByTestId('storage-estimate')).toContainText('Storage used');
  await snap(page, 'hub-library');

  // a LoRA run on chat data with the downloaded model: real losses, then spectra
  await page.getByTestId('input-method').selectOption('lora');
  for (const [id, v] of [
    ['input-param-rank', 4],
    ['input-train-steps', 6],
    ['input-train-batchSize', 2],
    ['input-train-contextLength', 64],
    ['input-eval-every', 3],
  ] as const)
    await page.getByTestId(id).fill(String(v));
  const adv = page.getByTestId('advanced-optimizer');
  if (!(await adv.evaluate((d) => (d as HTMLDetailsElement).open))) await adv.locator('summary').click();
  await page.getByTestId('input-eval-batches').fill('1');
  await page.getByTestId('input-analysis-every').fill('3');
  await page.getByTestId('input-analysis-k').fill('4');
  // short chats: the tiny tokenizer is nearly byte-level and the model reads 64 positions
  await page.getByTestId('input-dataset').selectOption('upload');
  const lines: string[] = [];
  for (let i = 0; i < 40; i++)
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `${i}+1?` },
          { role: 'assistant', content: `${i + 1}` },
        ],
      }),
    );
  await page
    .getByTestId('input-dataset-file')
    .setInputFiles({ name: 'plus1.jsonl', mimeType: 'application/json', buffer: Buffer.from(lines.join('\n')) });
  await page.getByTestId('btn-preview').click();
  await expect(page.getByTestId('preview-stats')).toContainText('All fit the context');
  await expect(page.getByTestId('preview-example').first()).toContainText('<|endoftext|>');
  await snap(page, 'hub-chat-preview');
  const runId = await startAndFinish(page, 300_000);
  const losses = await runLosses(page, runId);
  expect(losses).toHaveLength(6);
  for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
  await page.getByTestId('tab-spectra').click();
  await expect(page.getByTestId('spectra-stats')).toBeVisible();
  await chartsDrawn(page, ['sigma-w0-vs-w', 'sigma-delta']);
  await snap(page, 'hub-spectra');

  // delete: gone from the library
  await page.getByTestId('tab-loss').click();
  await page.locator('[data-testid="library-item"][data-repo="tiny/gpt2"]').getByTestId('btn-library-delete').click();
  await expect(page.locator('[data-testid="library-item"][data-repo="tiny/gpt2"]')).toHaveCount(0);
});
