/**
 * What goes wrong is said plainly and changes nothing else: invalid setups are explained next to
 * the control, hostile or malformed links only show a message, a hash that does not match says
 * which file is needed, and a lost GPU device shows a banner while the history stays.
 */
import { deflateSync } from 'fflate';
import { expect, snap, test } from './helpers';
import { chartsDrawn, configureTinyRun, openStudio } from './studio';
import { buildFragment } from '../src/ui/share';
import { defaultDraft, setIn } from '../src/ui/draft';

const b64url = (bytes: Uint8Array) =>
  Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

test('invalid combinations are explained next to the control before a run can start', async ({ page }) => {
  await openStudio(page);
  await configureTinyRun(page);
  await page.getByTestId('input-train-contextLength').fill('64');
  await expect(page.getByTestId('field-train-contextLength').getByTestId('issue-train.contextLength')).toContainText(
    'at most 32 tokens',
  );
  await page.getByTestId('input-param-rank').fill('64');
  await expect(page.getByTestId('field-param-rank').getByTestId('issue-method.params.rank')).toContainText(
    'exceeds the size of the target matrices (32)',
  );
  await page.getByTestId('input-train-warmupSteps').fill('100');
  await expect(page.getByTestId('issue-train.warmupSteps')).toContainText('longer than the run');
  await expect(page.getByTestId('start-run')).toBeDisabled();
  // warmup longer than the run is a warning (the trainer cuts it; src/engine/validate.ts): one error left
  await expect(page.getByTestId('start-blocked')).toContainText(/\d+ problems? to fix/);
  await page.getByTestId('setup-panel').getByTestId('field-train-contextLength').scrollIntoViewIfNeeded();
  await snap(page, 'setup-invalid');
  await page.getByTestId('input-train-contextLength').fill('16');
  await page.getByTestId('input-param-rank').fill('4');
  await page.getByTestId('input-train-warmupSteps').fill('2');
  await expect(page.getByTestId('start-run')).toBeEnabled();
});

test('malformed and hostile links show a message and change nothing', async ({ page }) => {
  await openStudio(page);
  await configureTinyRun(page, { steps: 9, seed: 3 });
  const draftBefore = await page.evaluate(() =>
    JSON.stringify(
      (window as unknown as { __rankscope: { store: { getState(): { draft: unknown } } } }).__rankscope.store.getState()
        .draft,
    ),
  );
  const bomb = b64url(deflateSync(new Uint8Array(4 << 20).fill(32), { level: 9 }));
  const polluted = b64url(deflateSync(new TextEncoder().encode('{"__proto__":{"polluted":true},"version":1}')));
  const cases: [string, RegExp][] = [
    ['#run=%%%not-base64', /character/],
    ['#run=' + bomb, /more than/],
    ['#run=' + polluted, /forbidden key/],
    ['#run=' + b64url(deflateSync(new TextEncoder().encode(JSON.stringify({ ...defaultDraft(), seed: 'x' })))), /seed/],
  ];
  for (const [hash, re] of cases) {
    await page.evaluate((h) => (window.location.hash = h), hash);
    await expect(page.getByTestId('link-error-message')).toContainText(re);
    if (re.source === 'forbidden key') await snap(page, 'link-rejected');
    await page.getByTestId('link-dismiss').click();
    await expect(page.getByTestId('link-error')).toHaveCount(0);
  }
  const draftAfter = await page.evaluate(() =>
    JSON.stringify(
      (window as unknown as { __rankscope: { store: { getState(): { draft: unknown } } } }).__rankscope.store.getState()
        .draft,
    ),
  );
  expect(draftAfter).toBe(draftBefore);
  expect(await page.evaluate(() => (({}) as Record<string, unknown>).polluted)).toBeUndefined();
  expect(await page.getByTestId('run-item').count()).toBe(0);
});

test('a dataset hash that does not match is said plainly and blocks reproduction', async ({ page }) => {
  await openStudio(page);
  const cfg = setIn(setIn(defaultDraft(), 'model', { source: 'builtin', id: 'micro' }), 'dataset', {
    source: 'builtin',
    id: 'brown-news',
    hash: 'f'.repeat(64),
  });
  await page.evaluate((h) => (window.location.hash = h), '#' + buildFragment(cfg));
  await expect(page.getByTestId('link-check-dataset')).toHaveAttribute('data-ok', 'false');
  await expect(page.getByTestId('link-check-dataset')).toContainText(`needs sha256 ${'f'.repeat(64)}`);
  await expect(page.getByTestId('link-reproduce')).toBeDisabled();
  await snap(page, 'link-hash-mismatch');
  const local = setIn(cfg, 'model', {
    source: 'local',
    id: 'my-gpt',
    files: [
      { name: 'model.safetensors', sha256: 'a'.repeat(64) },
      { name: 'config.json', sha256: 'b'.repeat(64) },
    ],
  });
  await page.getByTestId('link-dismiss').click();
  await page.evaluate((h) => (window.location.hash = h), '#' + buildFragment(local));
  await expect(page.getByTestId('link-check-model')).toContainText(`model.safetensors with sha256 ${'a'.repeat(64)}`);
});

test('a lost GPU device shows a banner with reload and keeps the history visible', async ({ page }) => {
  await openStudio(page);
  await configureTinyRun(page, { steps: 6, analysisEvery: 0, evalEvery: 3 });
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-bar')).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  // the worker reports device loss as an error event (protocol.ts); deliver one as the engine would
  await page.evaluate(() => {
    const rs = (window as unknown as { __rankscope: { applyEngineEvent(e: unknown): void } }).__rankscope;
    rs.applyEngineEvent({
      type: 'error',
      error: {
        name: 'GpuDeviceLostError',
        kind: 'device-lost',
        message: 'GPU device lost (unknown): the GPU process crashed',
      },
    });
  });
  await expect(page.getByTestId('device-lost-banner')).toBeVisible();
  await expect(page.getByTestId('device-lost-reload')).toBeVisible();
  await expect(page.getByTestId('run-item')).toHaveCount(1);
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-empty', 'false');
  await expect(page.getByTestId('start-run')).toBeDisabled();
  await chartsDrawn(page, ['loss']);
  await snap(page, 'device-lost');
});
