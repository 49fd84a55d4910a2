/**
 * Method metadata comes from the worker (issue 15 item 1): the method picker lists what the worker's
 * `methods` answer put in the store, in its order, with each method's description; a method's own
 * cross-field check (HRA's even number of reflections), code that stays in the worker, still shows next
 * to the method and blocks the start until fixed.
 */
import { expect, snap, test } from './helpers';
import { configureTinyRun, openStudio } from './studio';

test('the method picker and a method cross-field check come from the worker', async ({ page }) => {
  await openStudio(page);
  const stored = await page.evaluate(() => {
    const st = (
      window as unknown as {
        __rankscope: {
          store: { getState(): { catalog: { methods: { id: string; label: string; order: number }[] } } };
        };
      }
    ).__rankscope.store.getState();
    return st.catalog.methods.map((m) => ({ id: m.id, label: m.label, order: m.order }));
  });
  expect(stored.length).toBeGreaterThan(10);
  expect(stored.map((m) => m.order)).toEqual([...stored.map((m) => m.order)].sort((a, b) => a - b));
  const options = await page
    .getByTestId('input-method')
    .locator('option')
    .evaluateAll((os) => os.map((o) => ({ id: (o as HTMLOptionElement).value, label: o.textContent })));
  expect(options).toEqual(stored.map(({ id, label }) => ({ id, label })));

  await configureTinyRun(page, { steps: 6 });
  await page.getByTestId('input-method').selectOption('hra');
  await expect(page.getByTestId('section-method')).toContainText(/Householder/i);
  await page.getByTestId('input-param-rank').fill('3');
  // next to the parameter it names (the worker's message is "method.params.rank: HRA needs …")
  await expect(page.getByTestId('field-param-rank')).toContainText(
    'HRA needs an even number of reflections (rank = 3).',
  );
  await expect(page.getByTestId('start-run')).toBeDisabled();
  await page.getByTestId('field-param-rank').scrollIntoViewIfNeeded();
  await snap(page, 'method-cross-check');
  await page.getByTestId('input-param-rank').fill('4');
  await expect(page.getByTestId('section-method')).not.toContainText('even number of reflections');
  await expect(page.getByTestId('start-run')).toBeEnabled();
});
