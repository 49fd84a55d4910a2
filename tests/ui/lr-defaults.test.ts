/**
 * Per-method default learning rates: every method the registry lists that declares one cites a source;
 * switching method in the form moves the lr with it unless the person set their own; comparing methods
 * at one shared lr far from a default warns.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/ui/db', () => ({
  putRun: vi.fn(async () => undefined),
  listRuns: vi.fn(async () => []),
}));

const { useStudio } = await import('../../src/ui/store');
const { defaultLrFor, sharedLrWarnings, DEFAULT_LR } = await import('../../src/ui/methods');
// what the worker answers the page's `methods` request with
const { methodCatalog } = await import('../../src/worker/methods');

describe('per-method default learning rates', () => {
  const methods = methodCatalog();

  it('full fine-tuning, PiSSA and MiLoRA default far below LoRA, each with a source', () => {
    const lora = defaultLrFor(methods, 'lora');
    for (const id of ['full', 'pissa', 'milora']) {
      expect(defaultLrFor(methods, id), id).toBeLessThanOrEqual(lora / 3);
      expect(methods.find((m) => m.id === id)!.defaultLr!.source.length, id).toBeGreaterThan(20);
    }
    expect(defaultLrFor(methods, 'no-such-method')).toBe(DEFAULT_LR);
  });

  it('switching method changes the lr unless the person set one', () => {
    const st = useStudio.getState();
    st.setCatalog({ methods, loaded: true });
    st.chooseMethod('lora');
    st.setField('train.lr', defaultLrFor(methods, 'lora'));
    st.chooseMethod('full');
    expect(useStudio.getState().draft.train.lr).toBe(defaultLrFor(methods, 'full'));
    st.chooseMethod('lora');
    expect(useStudio.getState().draft.train.lr).toBe(defaultLrFor(methods, 'lora'));
    st.setField('train.lr', 1.234e-3); // the person's own value sticks
    st.chooseMethod('pissa');
    expect(useStudio.getState().draft.train.lr).toBe(1.234e-3);
  });

  it('warns when methods are compared at one lr far from a default', () => {
    const lora = defaultLrFor(methods, 'lora');
    const w = sharedLrWarnings(methods, [
      { method: 'lora', lr: lora },
      { method: 'full', lr: lora },
    ]);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/above its default/);
    expect(sharedLrWarnings(methods, [{ method: 'lora', lr: lora }])).toEqual([]);
  });
});
