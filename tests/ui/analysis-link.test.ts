/**
 * Analysis links (issue 11 item 6, src/ui/analysis.ts): an analysed hub adapter's link round-trips
 * (adapter and base ids, commits, file hashes, k, ε), a damaged or hostile one is one message, files picked
 * on the page give no link (and say why), the record's RunConfig is valid, and a mismatch between the
 * link's hashes and what was downloaded is named.
 */
import { describe, expect, it } from 'vitest';
import {
  analysisConfig,
  analysisLinkOf,
  decodeAnalysisFragment,
  isAnalysisFragment,
  linkMismatch,
  type AnalysisRecord,
} from '../../src/ui/analysis';
import type { AdapterAnalysisResult } from '../../src/worker/protocol';

const h = (c: string) => c.repeat(64);
const commit = (c: string) => c.repeat(40);
const res: AdapterAnalysisResult = {
  adapter: {
    source: 'hub',
    repo: 'peft/gpt2-lora',
    commit: commit('a'),
    files: [
      { name: 'adapter_config.json', sha256: h('1') },
      { name: 'adapter_model.safetensors', sha256: h('2') },
    ],
  },
  base: {
    source: 'hub',
    repo: 'tiny/gpt2',
    commit: commit('b'),
    files: [{ name: 'model.safetensors', sha256: h('3') }],
  },
  modelType: 'gpt2',
  peft: { r: 4, alpha: 8, useRslora: false, modules: 2, ranks: [4] },
  snapshots: [],
  ms: 1,
};
const record = (r: AdapterAnalysisResult) =>
  ({
    analysis: { adapter: r.adapter, base: r.base, modelType: 'gpt2', peft: r.peft, k: 10, eps: 0.5, ms: 1 },
  }) as AnalysisRecord;
const encode = (v: unknown) =>
  '#analysis=' +
  Buffer.from(JSON.stringify(v)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('analysis links', () => {
  it('round-trip the hub ids, commits, hashes, k and ε', () => {
    const link = analysisLinkOf(record(res));
    expect(typeof link).toBe('object');
    const hash = encode(link);
    expect(isAnalysisFragment(hash)).toBe(true);
    const d = decodeAnalysisFragment(hash);
    expect(d).toEqual({ ok: true, link });
    expect(linkMismatch(d.ok ? d.link : (null as never), res)).toBeNull();
  });

  it('refuse damaged and hostile links in one message', () => {
    for (const bad of [
      '#analysis=%%%',
      '#analysis=' + 'A'.repeat(20_000),
      encode({ v: 2 }),
      encode({ __proto__: 1 }),
    ]) {
      const d = decodeAnalysisFragment(bad);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.error).not.toContain('\n');
    }
    const link = analysisLinkOf(record(res)) as object;
    const evil = decodeAnalysisFragment(
      encode({ ...link, adapter: { ...(link as { adapter: object }).adapter, repo: '../../x' } }),
    );
    expect(evil.ok).toBe(false);
  });

  it('name what differs from the link, and give no link for picked files', () => {
    const link = analysisLinkOf(record(res));
    const changed: AdapterAnalysisResult = {
      ...res,
      base: { ...res.base, files: [{ name: 'model.safetensors', sha256: h('9') }] } as AdapterAnalysisResult['base'],
    };
    expect(linkMismatch(link as never, changed)).toMatch(/^base model\.safetensors has sha256 999999999999…$/);
    const files = record({ ...res, adapter: { source: 'files', name: 'my-lora', files: [] } });
    expect(analysisLinkOf(files)).toMatch(/only an adapter on the hub can be linked/);
  });

  it("builds a valid RunConfig naming the base snapshot and the adapter's rank", () => {
    const c = analysisConfig(
      'analysis: peft/gpt2-lora',
      { ...res, snapshots: [{ name: 'h.0.attn.c_attn' } as never] },
      10,
      0.5,
    );
    expect(c.model).toEqual({
      source: 'local',
      id: `hf:tiny/gpt2@${commit('b')}`,
      files: res.base.source === 'hub' ? res.base.files : [],
    });
    expect(c.method).toEqual({ id: 'lora', params: { rank: 4, alpha: 8 } });
    expect(c.targets.modules).toEqual(['attn.c_attn']);
  });

  it('an HRA adapter (peft.type "HRA") is recorded as the hra method at its r, without α', () => {
    const hra = { ...res, peft: { ...res.peft, type: 'HRA' as const, alpha: 0 } };
    const c = analysisConfig(
      'analysis: peft/llama-hra',
      { ...hra, snapshots: [{ name: 'h.0.attn.c_attn' } as never] },
      10,
      0.5,
    );
    expect(c.method.id).toBe('hra');
    expect(c.method.params).toMatchObject({ rank: 4 });
    expect(c.method.params).not.toHaveProperty('alpha');
  });
});
