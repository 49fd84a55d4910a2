import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { RunConfigSchema } from '../../src/engine/config';
import {
  MAX_JSON_BYTES,
  MAX_LINK_CHARS,
  buildFragment,
  buildLink,
  decodeFragment,
  fromBase64Url,
  inflateCapped,
  isRunFragment,
  lossFingerprint,
  toBase64Url,
} from '../../src/ui/share';

const cfg = RunConfigSchema.parse({
  name: 'micro lora',
  model: { source: 'preset', id: 'micro' },
  dataset: { source: 'builtin', id: 'brown-news', hash: 'a'.repeat(64) },
  method: { id: 'lora', params: { rank: 4, alpha: 8 } },
  targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: [0, 1], rankOverrides: { 'h.0.attn.c_attn': 2 } },
  train: { steps: 12, batchSize: 2, contextLength: 16, lr: 3e-3, schedule: 'linear', warmupSteps: 2 },
  seed: 1234,
});

const enc = (obj: unknown) =>
  toBase64Url(deflateSync(new TextEncoder().encode(typeof obj === 'string' ? obj : JSON.stringify(obj))));

describe('base64url', () => {
  it('round-trips every length', () => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(Array.from(fromBase64Url(toBase64Url(b)))).toEqual(Array.from(b));
    }
  });
  it('rejects characters outside the alphabet and impossible lengths', () => {
    expect(() => fromBase64Url('ab+c')).toThrow(/character/);
    expect(() => fromBase64Url('ab/c')).toThrow(/character/);
    expect(() => fromBase64Url('ab c')).toThrow(/character/);
    expect(() => fromBase64Url('abc=')).toThrow(/character/);
    expect(() => fromBase64Url('abcde')).toThrow(/length/);
    expect(() => fromBase64Url('ab\u00e9c')).toThrow(/character/);
  });
});

describe('run links', () => {
  it('round-trip the whole config exactly', () => {
    const frag = buildFragment(cfg);
    expect(isRunFragment('#' + frag)).toBe(true);
    const d = decodeFragment('#' + frag);
    expect(d.ok).toBe(true);
    if (d.ok) {
      expect(d.config).toEqual(cfg);
      expect(d.fingerprint).toBeNull();
    }
  });
  it('are compact enough to paste in a chat', () => {
    const link = buildLink('http://127.0.0.1:5173/', cfg);
    expect(link.length).toBeLessThan(900);
  });
  it('carry a loss fingerprint', async () => {
    const fp = await lossFingerprint([5.5, 5.25, 5.0], 'google swiftshader');
    expect(fp.steps).toBe(3);
    expect(fp.loss).toMatch(/^[0-9a-f]{16}$/);
    const d = decodeFragment(buildFragment(cfg, fp));
    expect(d.ok && d.fingerprint).toEqual(fp);
    // float32 exactness: a change in the last bit changes the fingerprint
    const fp2 = await lossFingerprint([5.5, 5.25, 5.000000476837158], 'google swiftshader');
    expect(fp2.loss).not.toBe(fp.loss);
    const fp3 = await lossFingerprint([5.5, 5.25, 5.0], 'other adapter');
    expect(fp3.loss).toBe(fp.loss);
    expect(fp3.adapter).not.toBe(fp.adapter);
  });
  it('building a link from an invalid config throws (never writes a bad link)', () => {
    expect(() => buildFragment({ ...cfg, seed: -1 })).toThrow();
  });
});

describe('hostile and malformed links: a clear message, never a throw', () => {
  const bad = (hash: string) => {
    const d = decodeFragment(hash);
    expect(d.ok).toBe(false);
    return d.ok ? '' : d.error;
  };
  it('non-base64 and truncated data', () => {
    expect(bad('#run=%%%')).toMatch(/character/);
    expect(bad('#run=')).toMatch(/no run data/);
    expect(bad('#run=' + buildFragment(cfg).slice(4, 40))).toMatch(/compressed|ends early|cut off/);
    expect(bad('#run=AAAA')).toMatch(/compressed|ends early|cut off|JSON|text/);
  });
  it('size caps before and during inflate (decompression bomb)', () => {
    expect(bad('#run=' + 'A'.repeat(MAX_LINK_CHARS + 4))).toMatch(/too long/);
    const bomb = toBase64Url(deflateSync(new Uint8Array(4 * 1024 * 1024).fill(32), { level: 9 }));
    expect(bomb.length).toBeLessThan(MAX_LINK_CHARS);
    expect(bad('#run=' + bomb)).toMatch(/more than/);
    expect(() => inflateCapped(deflateSync(new Uint8Array(MAX_JSON_BYTES + 1)), MAX_JSON_BYTES)).toThrow(/more than/);
  });
  it('not JSON, not UTF-8, not an object', () => {
    expect(bad('#run=' + enc('{not json'))).toMatch(/JSON/);
    expect(bad('#run=' + toBase64Url(deflateSync(Uint8Array.from([0xff, 0xfe, 0x80]))))).toMatch(/not text/);
    expect(bad('#run=' + enc([1, 2, 3]))).toMatch(/expected an object/);
    expect(bad('#run=' + enc('"str"'))).toMatch(/expected an object/);
    expect(bad('#run=' + enc('null'))).toMatch(/expected an object/);
  });
  it('prototype-pollution keys', () => {
    const json = JSON.stringify(cfg).replace('{', '{"__proto__":{"polluted":1},');
    expect(bad('#run=' + enc(json))).toMatch(/forbidden key "__proto__"/);
    const nested = JSON.stringify({ ...cfg, method: { id: 'lora', params: { constructor: { prototype: { x: 1 } } } } });
    expect(bad('#run=' + enc(nested))).toMatch(/forbidden key/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('wrong types and out-of-range values name the field', () => {
    expect(bad('#run=' + enc({ ...cfg, seed: 'abc' }))).toMatch(/seed/);
    expect(bad('#run=' + enc({ ...cfg, train: { ...cfg.train, steps: -5 } }))).toMatch(/steps/);
    expect(bad('#run=' + enc({ ...cfg, model: { source: 'ftp', id: 'x' } }))).toMatch(/model/);
    expect(bad('#run=' + enc({ ...cfg, method: { id: '../../etc', params: {} } }))).toMatch(/method/);
    expect(bad('#run=' + enc({ ...cfg, extra: 1 }))).toMatch(/extra|Unrecognized/i);
  });
  it('defaults-only and deeply nested payloads', () => {
    expect(bad('#run=' + enc({}))).toMatch(/incomplete/);
    let deep: unknown = 1;
    for (let i = 0; i < 50; i++) deep = { a: deep };
    expect(bad('#run=' + enc({ ...cfg, method: { id: 'lora', params: deep } }))).toMatch(/nested too deeply/);
  });
  it('unknown parts, duplicate parts and a malformed fingerprint', () => {
    const frag = buildFragment(cfg);
    expect(bad('#' + frag + '&x=1')).toMatch(/unknown part/);
    expect(bad('#' + frag + '&' + frag)).toMatch(/two/);
    expect(bad('#' + frag + '&fp=zzz')).toMatch(/fingerprint/);
    expect(bad('#fp=1.0123456789abcdef.01234567')).toMatch(/no "run=" part/);
  });
});
