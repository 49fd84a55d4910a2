/**
 * Instruction data in the page: a built-in chat set previewed as the model's tokens with the prompt
 * shaded, the rows said plainly, a malformed chat upload named by line, a good one recognised as
 * chats, and a LoRA run on chat data that reaches the spectra.
 */
import { collectErrors, expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

const chat = (q: string, a: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: q },
      { role: 'assistant', content: a },
    ],
  });

test('chat data: preview with the mask, options, upload errors, train LoRA, see spectra', async ({ page }) => {
  test.setTimeout(420_000);
  const errors = collectErrors(page);
  await openStudio(page);
  await configureTinyRun(page, { dataset: 'chat-addition', steps: 8, context: 32, analysisEvery: 4 });

  // the preview: the byte model has no chat_template, so the plain template renders the chats
  await expect(page.getByTestId('field-data-loss')).toContainText('assistant');
  await page.getByTestId('btn-preview').click();
  const stats = page.getByTestId('preview-stats');
  await expect(stats).toContainText('plain template');
  await expect(stats).toContainText('20,000 training examples; over the first 2,000: mean');
  const first = page.getByTestId('preview-example').first();
  await expect(first).toContainText('User: What is');
  const trained = await first.locator('.tok.train').allTextContents();
  expect(trained.join('')).toMatch(/^ \d+↵\n$/);
  expect(await first.locator('.tok.masked').count()).toBeGreaterThan(20);
  await page.getByTestId('data-preview').scrollIntoViewIfNeeded();
  await snap(page, 'chat-preview');

  // padded rows and every-token loss are said plainly, and change the preview's figures
  await page.getByTestId('input-data-layout').selectOption('padded');
  await expect(page.getByTestId('field-data-layout')).toContainText('one example per row');
  await page.getByTestId('btn-preview').click();
  await expect(page.getByTestId('preview-answer-cut')).toContainText('2,000 examples have their trained tokens past');
  await page.getByTestId('input-data-loss').selectOption('all');
  await page.getByTestId('btn-preview').click();
  await expect(page.getByTestId('preview-example').first().locator('.tok.masked')).toHaveCount(0);
  await page.getByTestId('input-data-loss').selectOption('answers');

  // uploads: a bad line is named; a good file is recognised as chats
  await page.getByTestId('input-dataset').selectOption('upload');
  const bad = [chat('a', 'b'), JSON.stringify({ messages: [{ role: 'user', content: 'no answer' }] })].join('\n');
  await page
    .getByTestId('input-dataset-file')
    .setInputFiles({ name: 'bad.jsonl', mimeType: 'application/json', buffer: Buffer.from(bad) });
  await expect(page.getByTestId('section-dataset')).toContainText('line 2: no message has role "assistant"');
  const lines: string[] = [];
  // short chats (about 25 bytes): they fit the micro model's 32-token rows, so padded rows train
  for (let i = 0; i < 40; i++) lines.push(chat(`${i}+1?`, `${i + 1}`));
  await page
    .getByTestId('input-dataset-file')
    .setInputFiles({ name: 'twice.jsonl', mimeType: 'application/json', buffer: Buffer.from(lines.join('\n')) });
  await expect(page.getByTestId('section-dataset')).toContainText('chats ({"messages"})');
  await page.getByTestId('btn-preview').click();
  await expect(page.getByTestId('preview-example').first()).toContainText('User: ');
  await expect(page.getByTestId('preview-stats')).toContainText('All fit the context');
  await expect(page.getByTestId('preview-answer-cut')).toHaveCount(0);
  await snap(page, 'chat-upload');

  // train on the uploaded chats, padded rows, loss on answers: real losses, then spectra
  const runId = await startAndFinish(page, 300_000);
  const losses = await runLosses(page, runId);
  expect(losses).toHaveLength(8);
  for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
  await page.getByTestId('tab-spectra').click();
  await expect(page.getByTestId('spectra-stats')).toBeVisible();
  await chartsDrawn(page, ['sigma-w0-vs-w', 'sigma-delta']);
  await snap(page, 'chat-spectra');
  expect(errors.pageErrors).toEqual([]);
});
