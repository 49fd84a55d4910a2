/**
 * Generation on a Llama-family model in the page (the KV-cached decoder of src/engine/model/decoder-decode.ts
 * in the worker, not only in Node): tiny/llama downloaded from the mock hub (RMSNorm, RoPE, GQA 4/2 heads,
 * SwiGLU, tied embeddings), a 3-step LoRA run, then 8 greedy tokens from the base and the tuned model.
 */
import { startHubServer, type HubServer } from '../tests/helpers/hub-server';
import { expect, snap, test } from './helpers';
import { openStudio, startAndFinish } from './studio';

test.use({ viewport: { width: 1024, height: 700 } });

let hub: HubServer;
test.beforeAll(async () => {
  hub = await startHubServer();
});
test.afterAll(async () => {
  await hub?.close();
});

test('generate on tiny/llama: a 3-step LoRA run, 8 greedy tokens from base and tuned', async ({ page }) => {
  test.setTimeout(180_000);
  await page.addInitScript((endpoint) => localStorage.setItem('rankscope.hub.endpoint', endpoint), hub.endpoint);
  await openStudio(page);
  await page.getByTestId('input-model').selectOption('hub');
  await page.getByTestId('input-hub-spec').fill('tiny/llama');
  await page.getByTestId('btn-hub-download').click();
  await expect(page.getByTestId('hub-download')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('hub-current')).toContainText('tiny/llama');
  await expect(page.getByTestId('model-arch')).toContainText('L2 · C32');

  await page.getByTestId('input-dataset').selectOption('brown-news');
  await page.getByTestId('input-method').selectOption('lora');
  for (const [id, v] of [
    ['input-param-rank', 4],
    ['input-param-alpha', 8],
    ['input-train-steps', 3],
    ['input-train-batchSize', 2],
    ['input-train-contextLength', 16],
    ['input-train-warmupSteps', 1],
    ['input-eval-every', 0],
  ] as const)
    await page.getByTestId(id).fill(String(v));
  const adv = page.getByTestId('advanced-optimizer');
  if (!(await adv.evaluate((d) => (d as HTMLDetailsElement).open))) await adv.locator('summary').click();
  await page.getByTestId('input-analysis-every').fill('0');
  await startAndFinish(page);

  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate-prompt').fill('The ');
  await page.locator('label:has-text("tokens") input').fill('8');
  await page.locator('label:has-text("temperature") input').fill('0');
  await page.getByTestId('generate-run').click();
  await expect(page.getByTestId('generate-run')).toHaveText('Generate', { timeout: 60_000 });
  await expect(page.getByTestId('generate-run')).toBeEnabled();
  const base = await page.getByTestId('generate-base').innerText();
  const tuned = await page.getByTestId('generate-tuned').innerText();
  // the prompt, then new text from each model (8 tokens of a nearly byte-level tokenizer)
  for (const t of [base, tuned]) {
    expect(t.startsWith('The ')).toBe(true);
    expect(t.length).toBeGreaterThan('The '.length);
  }
  // The base model's greedy continuation, from the float64 numpy oracle (scripts/hf_reference.py
  // llama_logits on this checkpoint, prompt ids [84, 104, 101, 32], argmax 8 times): ids
  // [127, 254, 201, 201, 201, 201, 201, 201] = bytes 7f fe c9 c9 c9 c9 c9 c9 — random weights pick byte
  // tokens, so the text is DEL and seven U+FFFD. Smallest top-1 margin 0.023 (f32 error ~1e-6).
  expect(base).toBe(`The \x7f${'\uFFFD'.repeat(7)}`);
  await expect(page.getByTestId('generate-cancelled')).toHaveCount(0);
  await page.getByTestId('generate-output').scrollIntoViewIfNeeded();
  await snap(page, 'generate-llama');
  console.log(`tiny/llama greedy 8 tokens — base: ${JSON.stringify(base)} tuned: ${JSON.stringify(tuned)}`);
});
