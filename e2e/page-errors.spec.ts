/**
 * The shared fixture (helpers.ts `test`) fails a test on any uncaught page error or console error of
 * the page or a worker. These tests provoke one each and are marked `test.fail()`: they pass only if
 * the fixture really fails them (a check that cannot fail is no check).
 */
import { test } from './helpers';

test('an uncaught page error fails the test', async ({ page }) => {
  test.fail();
  await page.goto('/');
  await page.evaluate(() =>
    setTimeout(() => {
      throw new Error('provoked page error');
    }, 0),
  );
  await page.waitForTimeout(300);
});

test('a console error inside a worker fails the test', async ({ page }) => {
  test.fail();
  await page.goto('/');
  await page.evaluate(() => {
    const src = "console.error('provoked worker error'); postMessage(1);";
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    return new Promise((r) => (w.onmessage = r));
  });
  await page.waitForTimeout(300);
});
