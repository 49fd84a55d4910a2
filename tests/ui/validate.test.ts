import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '../../src/engine/model/config';
import { canonicalJson, defaultDraft, getIn, runName, setIn } from '../../src/ui/draft';
import { checkParam, defaultParams } from '../../src/ui/methods';
import type { MethodMeta } from '../../src/worker/protocol';
import { issuesAt, validateSetup, type SetupContext } from '../../src/ui/validate';

const meta = { order: 0, paper: '', description: '', trainsBase: false, crossChecks: false };
const lora: MethodMeta = {
  ...meta,
  id: 'lora',
  label: 'LoRA',
  peft: { kind: 'lora', note: '' },
  params: [
    { key: 'rank', label: 'Rank r', type: 'int', default: 8, min: 1, max: 256 },
    { key: 'alpha', label: 'α', type: 'float', default: 16, min: 0 },
    { key: 'init', label: 'Init', type: 'enum', default: 'kaiming', options: ['kaiming', 'gaussian'] },
  ],
};
const full: MethodMeta = {
  ...meta,
  id: 'full',
  label: 'Full fine-tuning',
  params: [],
  trainsBase: true,
  peft: { kind: 'none', note: '' },
};
const ctx: SetupContext = {
  methods: [full, lora],
  arch: MODEL_PRESETS.micro,
  localModelReady: false,
  uploadReady: false,
};
const draft = () => defaultDraft([full, lora]);

describe('setup validation', () => {
  it('the default draft is valid', () => {
    const v = validateSetup(draft(), ctx);
    expect(v.errors).toBe(0);
    expect(v.config?.method.id).toBe('lora');
  });
  it('schema errors land on the field', () => {
    const v = validateSetup(setIn(draft(), 'train.steps', -3), ctx);
    expect(issuesAt(v.issues, 'train.steps')[0].message).toMatch(/>=\s*1|at least|too small/i);
    expect(v.config).toBeNull();
    const nan = validateSetup(setIn(draft(), 'train.lr', NaN), ctx);
    expect(issuesAt(nan.issues, 'train.lr').length).toBe(1);
  });
  it('context longer than the model, layers it does not have, rank above the matrix', () => {
    let d = setIn(draft(), 'train.contextLength', 64);
    d = setIn(d, 'targets.layers', [0, 5]);
    d = setIn(d, 'method.params.rank', 64);
    const v = validateSetup(d, ctx);
    expect(issuesAt(v.issues, 'train.contextLength')[0].message).toContain('32');
    expect(issuesAt(v.issues, 'targets.layers')[0].message).toContain('layer 5');
    expect(issuesAt(v.issues, 'method.params.rank')[0].message).toMatch(/exceeds/);
    expect(validateSetup(setIn(draft(), 'targets.layers', []), ctx).errors).toBe(1);
  });
  it('method params are checked against their spec', () => {
    expect(
      issuesAt(validateSetup(setIn(draft(), 'method.params.rank', 0), ctx).issues, 'method.params.rank')[0].message,
    ).toMatch(/at least 1/);
    expect(
      issuesAt(validateSetup(setIn(draft(), 'method.params.rank', 2.5), ctx).issues, 'method.params.rank')[0].message,
    ).toMatch(/whole/);
    expect(
      issuesAt(validateSetup(setIn(draft(), 'method.params.init', 'zeros'), ctx).issues, 'method.params.init')[0]
        .message,
    ).toMatch(/one of/);
    expect(
      issuesAt(validateSetup(setIn(draft(), 'method.params.bogus', 1), ctx).issues, 'method.params')[0].message,
    ).toMatch(/bogus/);
    expect(issuesAt(validateSetup(setIn(draft(), 'method.id', 'nope'), ctx).issues, 'method.id')[0].message).toMatch(
      /Unknown method "nope"/,
    );
  });
  it("method cross-field rules (the worker's checkMethod answer) at the method's parameters", () => {
    const strict = {
      ...ctx,
      methods: [{ ...lora, crossChecks: true }],
      methodIssues: ['alpha below rank: the update is damped'],
    };
    const v = validateSetup(setIn(draft(), 'method.params.alpha', 1), strict);
    expect(issuesAt(v.issues, 'method.params')[0].message).toBe('Alpha below rank: the update is damped.');
    expect(v.config).toBeNull();
    // as validateRun: not reported while a parameter itself is out of range (that message comes first)
    // one that names its parameter goes to that parameter's control
    const named = validateSetup(draft(), { ...strict, methodIssues: ['method.params.rank: must be even (rank = 3)'] });
    expect(issuesAt(named.issues, 'method.params.rank').map((i) => i.message)).toEqual(['Must be even (rank = 3).']);
    const bad = validateSetup(setIn(draft(), 'method.params.rank', 0), strict);
    expect(issuesAt(bad.issues, 'method.params').map((i) => i.message)).not.toContain(
      'Alpha below rank: the update is damped.',
    );
  });
  it('the memory plan refuses an absurd model at the model control, with the figures', () => {
    const huge = { ...MODEL_PRESETS.micro, vocabSize: 50257, contextLength: 1024, nLayer: 24, nHead: 32, nEmbd: 4096 };
    const t0 = performance.now();
    const v = validateSetup(draft(), { ...ctx, arch: huge });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(v.config).toBeNull();
    expect(
      issuesAt(v.issues, 'model')
        .map((i) => i.message)
        .join(' '),
    ).toMatch(/5\.04B parameters.*above the 4\.0 GiB budget/);
  });
  it('rank overrides and repeated layers are checked against the model (the engine rules)', () => {
    const v = validateSetup(
      setIn(setIn(draft(), 'targets.rankOverrides', { 'h.9.attn.c_attn': 4 }), 'targets.layers', [1, 1]),
      ctx,
    );
    expect(issuesAt(v.issues, 'targets.rankOverrides')[0].message).toMatch(/layer 9 does not exist/);
    expect(issuesAt(v.issues, 'targets.layers')[0].message).toMatch(/listed twice/);
  });
  it('files not chosen, warmup longer than the run, measurement warnings', () => {
    expect(
      issuesAt(
        validateSetup(setIn(draft(), 'model', { source: 'local', id: 'mine' }), { ...ctx, arch: null }).issues,
        'model',
      )[0].message,
    ).toMatch(/model files/);
    expect(
      issuesAt(validateSetup(setIn(draft(), 'dataset', { source: 'upload', id: 'x.txt' }), ctx).issues, 'dataset')[0]
        .message,
    ).toMatch(/dataset file/);
    // the trainer cuts warmup to the run's length: a warning (src/engine/validate.ts), as in the CLI
    expect(
      issuesAt(validateSetup(setIn(draft(), 'train.warmupSteps', 100), ctx).issues, 'train.warmupSteps')[0].level,
    ).toBe('warning');
    const w = validateSetup(setIn(setIn(draft(), 'eval.every', 0), 'analysis.every', 0), ctx);
    expect(w.errors).toBe(0);
    expect(issuesAt(w.issues, 'eval.every')[0].level).toBe('warning');
    expect(issuesAt(w.issues, 'analysis.every')[0].level).toBe('warning');
  });
  it('an unreadable model is explained at the model control', () => {
    const v = validateSetup(draft(), {
      ...ctx,
      arch: null,
      archError: 'config.json: model_type "llama" is not supported yet',
    });
    expect(issuesAt(v.issues, 'model')[0].message).toMatch(/llama/);
  });
});

describe('draft helpers', () => {
  it('setIn copies only the path and refuses prototype keys', () => {
    const d = draft();
    const e = setIn(d, 'train.lr', 0.5);
    expect(e.train.lr).toBe(0.5);
    expect(d.train.lr).not.toBe(0.5);
    expect(e.model).toBe(d.model);
    expect(() => setIn(d, '__proto__.x', 1)).toThrow();
    expect(getIn(e, 'train.lr')).toBe(0.5);
    expect(getIn(e, 'nope.deeper')).toBeUndefined();
  });
  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }));
  });
  it('names and params', () => {
    expect(runName(draft())).toMatch(/^lora r8 · lr 3e-3 · 40 steps · brown-news · micro · seed 0$/);
    expect(defaultParams(lora)).toEqual({ rank: 8, alpha: 16, init: 'kaiming' });
    expect(checkParam(lora.params[0], 300)).toMatch(/at most 256/);
    expect(checkParam({ key: 'b', label: 'B', type: 'bool', default: false }, 'yes')).toMatch(/on or off/);
  });
});
