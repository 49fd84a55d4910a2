/**
 * The page's analysis features against the mock hub (tests/helpers/hub-server.ts):
 *   - a PEFT adapter opened by hub id (peft/gpt2-lora, base tiny/gpt2 from its adapter_config.json), merged
 *     and analysed in the worker without training: intruders per layer, an "analysis" entry in the runs
 *     list that survives a reload; an unsupported PEFT type (VERA) refused in one line;
 *   - its analysis link opened in a fresh browser context (empty library): the downloads are offered, the
 *     same analysis appears and every file matches the link's content hash;
 *   - Python: a short LoRA run exported as a project zip (train.py, data, configs), and a recorded Python
 *     run (tests/fixtures/python-run) imported and plotted in Compare beside the browser run;
 *   - extract (PHLoRA) on a full-FT run and Reduce intruders on a LoRA run, with before/after numbers;
 *   - a run link for a hub model (hub id, commit, sha256 of each file) reproduced in a fresh context after
 *     the download it offers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Page } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { startHubServer, type HubServer } from '../tests/helpers/hub-server';
import { collectErrors, expect, snap, test } from './helpers';
import { configureTinyRun, openStudio, runLosses, startAndFinish } from './studio';

let hub: HubServer;
test.beforeAll(async () => {
  hub = await startHubServer();
});
test.afterAll(async () => {
  await hub?.close();
});

async function analyseHub(page: Page, spec: string): Promise<void> {
  const panel = page.getByTestId('adapter-analysis');
  if (!(await page.getByTestId('input-adapter-spec').isVisible())) await panel.locator('summary').click();
  await page.getByTestId('input-adapter-spec').fill(spec);
  await page.getByTestId('btn-adapter-analyse').click();
}

test('analysis: a hub PEFT adapter opened without training, kept across reload, its link in a fresh context', async ({
  page,
  browser,
}) => {
  test.setTimeout(240_000);
  await page.addInitScript((endpoint) => localStorage.setItem('rankscope.hub.endpoint', endpoint), hub.endpoint);
  await openStudio(page);

  // an adapter type the engine cannot represent: one line, nothing added
  await analyseHub(page, 'peft/gpt2-vera');
  await expect(page.getByTestId('adapter-error')).toContainText('peft_type "VERA" is not supported');
  await expect(page.getByTestId('analysis-badge')).toHaveCount(0);

  await analyseHub(page, 'peft/gpt2-lora');
  const summary = page.getByTestId('adapter-summary');
  await expect(summary).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('adapter-summary-adapter')).toContainText(
    `peft/gpt2-lora @ ${hub.commitOf('peft/gpt2-lora').slice(0, 12)}`,
  );
  await expect(page.getByTestId('adapter-summary-base')).toContainText('tiny/gpt2');
  await expect(page.getByTestId('adapter-layer-row')).toHaveCount(2);
  const intruders = Number(await page.getByTestId('adapter-summary-intruders').getAttribute('data-intruders'));
  expect(intruders).toBeGreaterThan(0);
  await expect(page.getByTestId('analysis-badge')).toHaveCount(1);
  await expect(page.getByTestId('tab-intruders')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('intruder-table')).toBeVisible();
  await snap(page, 'analysis-adapter');

  // survives a reload: the entry, its spectra, the same count
  await page.reload();
  await expect(page.getByTestId('app')).toHaveAttribute('data-engine', 'ready', { timeout: 90_000 });
  await page
    .getByTestId('run-item')
    .filter({ has: page.getByTestId('analysis-badge') })
    .click();
  await expect(page.getByTestId('adapter-summary-intruders')).toHaveAttribute('data-intruders', String(intruders));
  const url = await page.getByTestId('analysis-link').inputValue();
  expect(url).toContain('#analysis=');

  // the same adapter from files on this computer (base fetched by its config's name, now stored): same count
  const adapterDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tests/fixtures/hf/peft/gpt2-lora');
  await page
    .getByTestId('input-adapter-files')
    .setInputFiles(['adapter_config.json', 'adapter_model.safetensors'].map((f) => path.join(adapterDir, f)));
  await expect(page.getByTestId('analysis-badge')).toHaveCount(2);
  await expect(page.getByTestId('adapter-summary-adapter')).toContainText('adapter files');
  await expect(page.getByTestId('adapter-summary-intruders')).toHaveAttribute('data-intruders', String(intruders));
  await page.getByTestId('run-item').filter({ hasText: 'analysis: peft/gpt2-lora' }).click();

  // the link in a fresh profile: downloads offered, the same analysis, hashes checked
  const ctx = await browser.newContext();
  const page2 = await ctx.newPage();
  const errors = collectErrors(page2);
  await openStudio(page2, url.slice(url.indexOf('/#')));
  const dialog = page2.getByTestId('analysis-link-dialog');
  await expect(dialog).toContainText('peft/gpt2-lora');
  await expect(dialog).toContainText('tiny/gpt2');
  await page2.getByTestId('input-analysis-endpoint').fill(hub.endpoint);
  await snap(page2, 'analysis-link-dialog');
  await page2.getByTestId('btn-analysis-open').click();
  await expect(page2.getByTestId('adapter-summary-intruders')).toHaveAttribute('data-intruders', String(intruders), {
    timeout: 120_000,
  });
  await expect(page2.getByTestId('analysis-link-status')).toContainText('matches the link');
  await expect(page2.getByTestId('analysis-link-dialog')).toHaveCount(0);
  await snap(page2, 'analysis-link-opened');
  expect(errors.pageErrors).toEqual([]);
  await ctx.close();
});

test('python: a run exports as a Python project zip with train.py; a recorded Python run imports and Compare plots it', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await openStudio(page);
  await configureTinyRun(page, { steps: 4, evalEvery: 2, analysisEvery: 0 });
  const runId = await startAndFinish(page);

  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-python').click()]);
  expect(dl.suggestedFilename()).toMatch(/-python\.zip$/);
  const zip = unzipSync(new Uint8Array(readFileSync(await dl.path())));
  const names = Object.keys(zip);
  const root = names[0].split('/')[0];
  for (const f of ['train.py', 'requirements.txt', 'run_config.json', 'test_mapping.py', 'README.md'])
    expect(names, f).toContain(`${root}/${f}`);
  expect(names.some((n) => n.startsWith(`${root}/data/`) && n.endsWith('.jsonl'))).toBe(true);
  expect(strFromU8(zip[`${root}/train.py`])).toContain('peft');
  const rc = JSON.parse(strFromU8(zip[`${root}/run_config.json`])) as { studio_run: { method: { id: string } } };
  expect(rc.studio_run.method.id).toBe('lora');

  // the recorded out/ folder of a Python run (tests/fixtures/python-run): metrics.jsonl + run_config.json
  const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tests/fixtures/python-run');
  await page
    .getByTestId('import-python-files')
    .setInputFiles([path.join(fixture, 'metrics.jsonl'), path.join(fixture, 'run_config.json')]);
  const imported = page.getByTestId('run-item').filter({ hasText: '(Python' });
  await expect(imported).toHaveCount(1);
  await imported.getByTestId('compare-toggle').check();
  await page.locator(`[data-testid="run-item"][data-run-id="${runId}"]`).getByTestId('compare-toggle').check();
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('chart-compare-loss').locator('path[data-series]')).toHaveCount(2);
  await snap(page, 'analysis-python-compare');
});

test('tools: PHLoRA extraction on a full fine-tuning run, intruder mitigation on a LoRA run (counts and GPU probe loss before/after)', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openStudio(page);
  // full fine-tuning → Extract LoRA (PHLoRA): energy-vs-rank per matrix, PEFT download
  await configureTinyRun(page, { method: 'full', steps: 4, evalEvery: 2, analysisEvery: 0 });
  await startAndFinish(page);
  const extract = page.getByTestId('extract-panel');
  await expect(extract).toBeVisible();
  await page.getByTestId('extract-energy').fill('0.9');
  await page.getByTestId('btn-extract').click();
  await expect(page.getByTestId('extract-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('chart-extract-energy').locator('path[data-series]')).toHaveCount(2);
  const [peft] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-extract-download').click()]);
  const files = Object.keys(unzipSync(new Uint8Array(readFileSync(await peft.path()))));
  expect(files.map((f) => f.split('/').pop()).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  await snap(page, 'analysis-extract');

  // LoRA at a high learning rate → Reduce intruders (λ 0.75): counts and probe loss before/after
  await configureTinyRun(page, { method: 'lora', rank: 4, alpha: 32, steps: 6, evalEvery: 3, analysisEvery: 6 });
  await page.getByTestId('input-train-lr').fill('0.05');
  await startAndFinish(page);
  await expect(page.getByTestId('mitigate-panel')).toBeVisible();
  await expect(page.getByTestId('mitigate-lambda')).toHaveValue('0.75');
  await page.getByTestId('btn-mitigate').click();
  const summary = page.getByTestId('mitigate-summary');
  await expect(summary).toBeVisible({ timeout: 60_000 });
  const before = Number(await summary.getAttribute('data-before'));
  const after = Number(await summary.getAttribute('data-after'));
  const pb = Number(await summary.getAttribute('data-probe-before'));
  const pa = Number(await summary.getAttribute('data-probe-after'));
  console.log(`page mitigate: intruders ${before} → ${after}, probe ${pb} → ${pa}`);
  expect(after).toBeLessThanOrEqual(before);
  expect(Number.isFinite(pb) && Number.isFinite(pa)).toBe(true);
  const [mit] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-mitigate-download').click()]);
  expect(mit.suggestedFilename()).toMatch(/mitigated-peft\.zip$/);
  await snap(page, 'analysis-mitigate');
});

async function hubEndpoint(page: Page): Promise<void> {
  await page.getByTestId('input-model').selectOption('hub');
  await expect(page.getByTestId('hub-picker')).toBeVisible();
  await page.locator('.hub-settings summary').click();
  await page.getByTestId('input-hub-endpoint').fill(hub.endpoint);
}

test('run link of a hub model: hub id + commit + file hashes, round trip in a fresh context (download offered, same losses)', async ({
  page,
  browser,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await hubEndpoint(page);
  await page.getByTestId('input-hub-spec').fill('tiny/gpt2');
  await page.getByTestId('btn-hub-download').click();
  await expect(page.getByTestId('hub-download')).toHaveAttribute('data-status', 'done');
  const commit = hub.commitOf('tiny/gpt2');
  await page.getByTestId('input-method').selectOption('lora');
  await page.getByTestId('input-param-rank').fill('4');
  await page.getByTestId('input-train-steps').fill('4');
  await page.getByTestId('input-train-batchSize').fill('2');
  await page.getByTestId('input-train-contextLength').fill('16');
  await page.getByTestId('input-eval-every').fill('0');
  const runId = await startAndFinish(page, 180_000);
  const losses = await runLosses(page, runId);
  await page.getByTestId('share-run').click();
  const link = await page.getByTestId('share-link').inputValue();
  // the link carries the hub id, the resolved commit and the files' sha256
  const cfg = await page.evaluate(
    (id) =>
      (
        window as unknown as {
          __rankscope: { store: { getState(): { runs: Record<string, { config: { model: unknown } }> } } };
        }
      ).__rankscope.store.getState().runs[id].config.model,
    runId,
  );
  expect(cfg).toMatchObject({ source: 'local', id: `hf:tiny/gpt2@${commit}` });
  const files = (cfg as { files: { name: string; sha256: string }[] }).files;
  expect(files.map((f) => f.name)).toContain('model.safetensors');
  for (const f of files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);

  // a fresh profile: the model is not stored → the dialog says so; Restore, download that commit, reproduce
  const ctx = await browser.newContext();
  const page2 = await ctx.newPage();
  const errors = collectErrors(page2);
  await openStudio(page2, link.replace(/^https?:\/\/[^/]+/, ''));
  await expect(page2.getByTestId('link-check-model')).toHaveAttribute('data-ok', 'false');
  await expect(page2.getByTestId('link-check-model')).toContainText("not in this browser's model library");
  await page2.getByTestId('link-restore').click();
  await page2.locator('.hub-settings summary').click();
  await page2.getByTestId('input-hub-endpoint').fill(hub.endpoint);
  await page2.getByTestId('btn-hub-fetch-current').click();
  await expect(page2.getByTestId('hub-download')).toHaveAttribute('data-status', 'done');
  await page2.evaluate((h) => (window.location.hash = h), link.slice(link.indexOf('#')));
  await expect(page2.getByTestId('link-check-model')).toHaveAttribute('data-ok', 'true');
  await expect(page2.getByTestId('link-check-model')).toContainText('match by sha256');
  await snap(page2, 'analysis-hub-run-link');
  await page2.getByTestId('link-reproduce').click();
  const bar2 = page2.getByTestId('run-bar');
  await expect(bar2).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  expect(await runLosses(page2, (await bar2.getAttribute('data-run-id'))!)).toEqual(losses);
  expect(errors.pageErrors).toEqual([]);
  await ctx.close();
});
