/**
 * The worker's answer to the page's `methods` request (worker/methods.ts): every registry method as plain
 * data that survives postMessage (structuredClone), in the registry's order, with what the page reads
 * (PEFT support, default lr, parameter specs); and `checkMethod`, the methods' own cross-field checks
 * that stay in the worker, with validateRun's words.
 */
import { describe, expect, it } from 'vitest';
import { listMethods } from '../../src/engine/adapters/registry';
import { parseRunConfig } from '../../src/engine/config';
import { validateRun } from '../../src/engine/validate';
import { checkMethod, methodCatalog } from '../../src/worker/methods';

const draft = (id: string, params: Record<string, unknown>, steps = 40) => ({
  model: { source: 'builtin', id: 'micro' },
  dataset: { source: 'builtin', id: 'brown-news' },
  method: { id, params },
  targets: { modules: ['attn.c_attn'], layers: null, rankOverrides: {} },
  train: { steps, batchSize: 2, contextLength: 8 },
});

describe('method metadata for the page', () => {
  const meta = methodCatalog();

  it('lists every registry method, in order, as plain cloneable data', () => {
    expect(meta.map((m) => m.id)).toEqual(listMethods().map((m) => m.id));
    expect(structuredClone(meta)).toEqual(meta); // no functions, classes or getters: it crosses postMessage
    for (const m of meta) expect(JSON.parse(JSON.stringify(m)), m.id).toEqual(m);
    const orders = meta.map((m) => m.order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
  });

  it("carries each record's page-facing fields unchanged", () => {
    for (const m of listMethods()) {
      const x = meta.find((y) => y.id === m.id)!;
      expect(x, m.id).toMatchObject({
        label: m.label,
        paper: m.paper,
        description: m.description,
        trainsBase: m.trainsBase,
        peft: m.peft,
        params: m.params,
        crossChecks: !!m.validate,
      });
      expect(x.defaultLr, m.id).toEqual(m.defaultLr);
    }
    expect(meta.find((m) => m.id === 'lora')!.peft.kind).toBe('lora');
    expect(meta.find((m) => m.id === 'full')!.trainsBase).toBe(true);
    expect(meta.filter((m) => m.crossChecks).map((m) => m.id)).toEqual(expect.arrayContaining(['hra', 'adalora']));
  });
});

describe('checkMethod (cross-field checks in the worker)', () => {
  it("answers with the method's own messages, the ones validateRun reports", () => {
    const odd = draft('hra', { rank: 3 });
    const issues = checkMethod(odd);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/HRA needs an even number of reflections \(rank = 3\)/);
    const v = validateRun(odd, null, { methods: listMethods() });
    expect(v.issues.filter((i) => i.path === 'method.params').map((i) => i.message)).toEqual(issues);

    const ada = draft('adalora', { tinit: 30, tfinal: 20 }, 40);
    expect(checkMethod(ada).join(' ')).toMatch(/tinit \+ tfinal must be below train\.steps/);
  });

  it('is quiet on a good draft, a method without checks, an unknown method and a draft the schema refuses', () => {
    expect(checkMethod(parseRunConfig(draft('hra', { rank: 4 })))).toEqual([]);
    expect(checkMethod(draft('lora', { rank: 3 }))).toEqual([]);
    expect(checkMethod(draft('no-such-method', {}))).toEqual([]);
    expect(checkMethod(draft('hra', { rank: 3 }, -1))).toEqual([]);
    expect(checkMethod(null)).toEqual([]);
  });
});
