/**
 * Experiments (issue 13), the pure parts: the schema round-trip (JSON and link), hostile input refused in
 * one line, deterministic expansion (order, keys, lr policies, seeds, budgets), waiting presets computed
 * from the registry, and every preset parsing and expanding under both budgets.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LR,
  ExperimentError,
  defaultLrOf,
  expandExperiment,
  parseExperiment,
  waitingFor,
  type ExperimentInput,
} from '../../src/engine/experiments/schema';
import { decodeExperiment, experimentFragment } from '../../src/engine/experiments/link';
import { getPreset, listPresets } from '../../src/engine/experiments/presets';
import { runMetrics } from '../../src/engine/experiments/runner';
import { fitTarget, rearrange, parseFitConfig } from '../../src/engine/experiments/matrix-fit';
import { singularSpectrum } from '../../src/engine/analysis/spectra';

const SMALL: ExperimentInput = {
  id: 'small',
  title: 'small',
  claim: 'a claim',
  paper: { title: 'a paper', arxiv: '2410.21228' },
  base: { model: { source: 'preset', id: 'micro' }, train: { steps: 2 } },
  variants: [
    { label: 'LoRA', set: { 'method.id': 'lora' } },
    { label: 'rsLoRA', set: { 'method.id': 'rslora' } },
  ],
  axes: [{ path: 'method.params.rank', name: 'r', values: [2, 4] }],
  seeds: 2,
  verdict: { all: [{ rule: 'compare', metric: 'valLoss', a: 'LoRA r=2', b: 'rsLoRA r=2' }] },
};

describe('experiment schema', () => {
  it('round-trips through JSON and through a link unchanged', () => {
    for (const p of listPresets()) {
      const e = p.experiment;
      expect(parseExperiment(JSON.parse(JSON.stringify(e)))).toEqual(e);
      expect(decodeExperiment(experimentFragment(e))).toEqual(e);
      expect(decodeExperiment(`https://x.test/#${experimentFragment(e).slice(1)}`)).toEqual(e);
      expect(decodeExperiment(experimentFragment(e).replace('#experiment=', '#exp='))).toEqual(e);
    }
  });

  it('refuses hostile or wrong experiments with one line naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...SMALL, id: 'Bad Id' }, /id/],
      [{ ...SMALL, seeds: 0 }, /seeds/],
      [{ ...SMALL, lr: { policy: 'grid', values: [] } }, /lr/],
      [{ ...SMALL, variants: [{ label: 'x', set: { 'a..b': 1 } }] }, /key.*variants\.0\.set/],
      [{ ...SMALL, variants: [SMALL.variants![0], SMALL.variants![0]] }, /used twice/],
      [JSON.parse('{"__proto__": {"x": 1}}'), /not allowed/],
      [{ ...SMALL, verdict: { all: [{ rule: 'nope', metric: 'x' }] } }, /rule/],
      [{ ...SMALL, paper: { title: 'p', arxiv: 'abc' } }, /arXiv/],
    ];
    for (const [input, re] of bad) {
      let err: unknown;
      try {
        parseExperiment(input);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(input).slice(0, 80)).toBeInstanceOf(ExperimentError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    // expansion errors name the variant: a bad method param, an unknown path value type, too many runs
    expect(() =>
      expandExperiment({
        ...SMALL,
        axes: [],
        variants: [{ label: 'L', set: { 'method.id': 'lora', 'method.params.rank': -1 } }],
      }),
    ).toThrow(/variant "L".*rank/);
    expect(() => expandExperiment({ ...SMALL, variants: [{ label: 'L', set: { 'train.steps': 'many' } }] })).toThrow(
      /variant "L r=2".*train\.steps/,
    );
    expect(() =>
      expandExperiment({
        ...SMALL,
        axes: [{ path: 'seed', values: Array.from({ length: 16 }, (_, i) => i) }],
        seeds: 16,
        lr: { policy: 'grid', values: [1e-3, 2e-3] },
      }),
    ).toThrow(/at most 400/);
  });
});

describe('expandExperiment', () => {
  it('is deterministic: variants × axes × lr × seeds in a fixed order with unique keys', () => {
    const a = expandExperiment(SMALL);
    const b = expandExperiment(structuredClone(SMALL));
    expect(a).toEqual(b);
    expect(a.map((r) => r.key)).toEqual([
      'LoRA r=2 · seed=0',
      'LoRA r=2 · seed=1',
      'LoRA r=4 · seed=0',
      'LoRA r=4 · seed=1',
      'rsLoRA r=2 · seed=0',
      'rsLoRA r=2 · seed=1',
      'rsLoRA r=4 · seed=0',
      'rsLoRA r=4 · seed=1',
    ]);
    const r0 = a[2];
    if (r0.kind !== 'train') throw new Error('train run expected');
    expect(r0.config.method).toEqual({ id: 'lora', params: { rank: 4 } });
    expect(r0.config.seed).toBe(0);
    expect(r0.config.train.steps).toBe(2);
    expect(r0.config.name).toBe('LoRA r=4 · seed=0');
  });

  it('applies the lr policy: per-method defaults, a grid, or the configured lr', () => {
    const def = expandExperiment(SMALL);
    expect(def.find((r) => r.group === 'rsLoRA r=2')!.lr).toBe(DEFAULT_LR);
    expect(defaultLrOf('full')).toBe(3e-4);
    expect(def.find((r) => r.group === 'LoRA r=2')!.lr).toBe(defaultLrOf('lora'));
    expect(defaultLrOf('rslora')).toBe(DEFAULT_LR);
    const grid = expandExperiment({ ...SMALL, seeds: 1, lr: { policy: 'grid', values: [1e-3, 3e-3] } });
    expect(grid.map((r) => r.key).slice(0, 2)).toEqual([
      'LoRA r=2 · lr=0.001 · seed=0',
      'LoRA r=2 · lr=0.003 · seed=0',
    ]);
    expect(grid.length).toBe(8);
    const conf = expandExperiment({
      ...SMALL,
      lr: { policy: 'as-configured' },
      base: { ...SMALL.base, train: { lr: 5e-4 } },
    });
    expect(new Set(conf.map((r) => r.lr))).toEqual(new Set([5e-4]));
  });

  it('applies the budget settings before the variants', () => {
    const exp = { ...SMALL, budgets: { smoke: { 'train.steps': 1 }, full: { 'train.steps': 7 } } };
    const smoke = expandExperiment({ ...exp, budget: 'smoke' })[0];
    const full = expandExperiment({ ...exp, budget: 'full' })[0];
    expect(smoke.kind === 'train' && smoke.config.train.steps).toBe(1);
    expect(full.kind === 'train' && full.config.train.steps).toBe(7);
  });

  it('lists methods missing from the registry as waiting and refuses to expand them', () => {
    const exp = { ...SMALL, variants: [...SMALL.variants!, { label: 'X', set: { 'method.id': 'not-a-method' } }] };
    expect(waitingFor(parseExperiment(exp))).toEqual(['not-a-method']);
    expect(() => expandExperiment(exp)).toThrow(/waiting for methods not in the engine yet: not-a-method/);
  });
});

describe('presets', () => {
  it('at least nine of the issue presets run; each waiting preset names its methods', () => {
    const all = listPresets();
    const issue = [
      'intruders',
      'alpha-rank',
      'inits',
      'loraplus',
      'asymmetry',
      'optimizer-memory',
      'lift',
      'phlora',
      'flat-spectra',
      'dylora',
      'param-scatter',
    ];
    for (const id of issue) expect(all.map((p) => p.id)).toContain(id);
    const ready = all.filter((p) => issue.includes(p.id) && p.waiting.length === 0);
    expect(ready.length).toBeGreaterThanOrEqual(9);
    for (const p of all) {
      expect(p.claim.length).toBeGreaterThan(20);
      expect(p.paper.arxiv).toMatch(/^\d{4}\.\d{4,5}$/);
      if (p.waiting.length) expect(p.runs.smoke).toBeNull();
      else {
        for (const budget of ['smoke', 'full'] as const) {
          const runs = expandExperiment({ ...p.experiment, budget });
          expect(runs.length).toBe(p.runs[budget]);
          // every group the verdict names exists in the expansion
          const groups = new Set(runs.map((r) => r.group));
          for (const c of p.experiment.verdict.all)
            for (const g of [c.a, c.b, ...(c.groups ?? [])].filter(Boolean))
              expect(groups, `${p.id}: ${g}`).toContain(g);
        }
        const smoke = expandExperiment({ ...p.experiment, budget: 'smoke' });
        for (const r of smoke) if (r.kind === 'train') expect(r.config.model.id, p.id).toBe('micro');
      }
    }
    expect(getPreset('nope')).toBeNull();
  });
});

describe('runMetrics', () => {
  it('derives final/mean loss, forgetting and passes the counts through', () => {
    const m = runMetrics({
      curve: [4, 3, 2, 1, 1, 1, 1, 1, 1, 0.5],
      step0: { step: 0, valLoss: 3, probeLoss: 2 },
      final: { step: 10, valLoss: 1.5, probeLoss: 2.25 },
      trainableParams: 10,
      optimizerBytes: 80,
    });
    expect(m).toMatchObject({
      finalLoss: 0.5,
      meanLoss: 1.55,
      valLoss: 1.5,
      probeDelta: 0.25,
      trainableParams: 10,
      optimizerBytes: 80,
    });
    expect(
      runMetrics({ curve: [], step0: null, final: null, trainableParams: null, optimizerBytes: null }).probeDelta,
    ).toBeNull();
  });
});

describe('matrix-fit targets', () => {
  it('the Kronecker rearrangement maps A⊗B to vec(A)vec(B)ᵀ (rank 1) and is a permutation', () => {
    const f = 3,
      n = 9;
    const A = [1, 2, 3, 4, 5, 6, 7, 8, 10],
      B = [2, -1, 0, 1, 3, 1, 0, 2, -2];
    const K = new Float32Array(n * n);
    for (let i1 = 0; i1 < f; i1++)
      for (let i2 = 0; i2 < f; i2++)
        for (let j1 = 0; j1 < f; j1++)
          for (let j2 = 0; j2 < f; j2++) K[(i1 * f + i2) * n + j1 * f + j2] = A[i1 * f + j1] * B[i2 * f + j2];
    const R = rearrange(K, n);
    const s = singularSpectrum(R, n, n);
    expect(s[1] / s[0]).toBeLessThan(1e-6);
    expect([...R].sort()).toEqual([...K].sort());
  });

  it('targets have the spectrum asked for, unit RMS', () => {
    const flat = singularSpectrum(fitTarget({ size: 16, spectrum: 'flat', exponent: 1, seed: 1 }), 16, 16);
    expect(flat[15] / flat[0]).toBeGreaterThan(0.999);
    const pl = singularSpectrum(fitTarget({ size: 16, spectrum: 'power-law', exponent: 1, seed: 1 }), 16, 16);
    expect(pl[3] / pl[0]).toBeCloseTo(0.25, 4);
    const hf = fitTarget({ size: 16, spectrum: 'high-frequency', exponent: 1, seed: 1 });
    expect(hf.reduce((a, v) => a + v * v, 0)).toBeCloseTo(16, 3);
    expect(() => parseFitConfig({ adapter: 'kron', size: 12 })).toThrow(/f²/);
  });
});
