/**
 * The golden PEFT fixture (tests/fixtures/peft-golden/{lora,dora}/, written down from PEFT 0.17.1's and
 * safetensors' source by scripts/make-peft-golden.py; README.md there cites every field): a tiny GPT-2
 * LoRA and DoRA adapter exactly as `get_peft_model(...).save_pretrained()` writes them. Our import must
 * read them (names, shapes, scaling, values), and our export of the same adapter must produce the same
 * adapter_config.json fields and values (plus `peft_version`, documented in io/peft.ts) and a
 * byte-identical adapter_model.safetensors (keys, dtypes, shapes, offsets, header padding, data).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRunConfig } from '../../src/engine/config';
import { exportPeft, importPeft, type AdapterState } from '../../src/engine/io/peft';
import { parseSafetensors, toFloat32 } from '../../src/engine/io/safetensors';

const DIR = path.resolve(__dirname, '../fixtures/peft-golden');
const N_LAYER = 2,
  C = 32,
  R = 4,
  ALPHA = 8;

function golden(kind: 'lora' | 'dora') {
  const files = ['adapter_config.json', 'adapter_model.safetensors'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(DIR, kind, name))),
  }));
  return { files, config: JSON.parse(new TextDecoder().decode(files[0].bytes)) as Record<string, unknown> };
}

for (const kind of ['lora', 'dora'] as const) {
  describe(`golden PEFT 0.17.1 ${kind} adapter (tiny GPT-2, r=${R}, c_attn)`, () => {
    const g = golden(kind);

    it('our import reads it: modules, shapes, scaling α/r, values, magnitude', () => {
      const imp = importPeft(g.files);
      expect(imp.modules.map((m) => m.module).sort()).toEqual(['h.0.attn.c_attn', 'h.1.attn.c_attn']);
      const st = parseSafetensors(g.files[1].bytes);
      for (const m of imp.modules) {
        expect([m.r, m.inDim, m.outDim, m.alpha, m.scaling]).toEqual([R, C, 3 * C, ALPHA, ALPHA / R]);
        const p = `base_model.model.transformer.${m.module}`;
        expect(m.A).toEqual(toFloat32(st.tensors.get(`${p}.lora_A.weight`)!));
        expect(m.B).toEqual(toFloat32(st.tensors.get(`${p}.lora_B.weight`)!));
        if (kind === 'dora') expect(m.magnitude).toEqual(toFloat32(st.tensors.get(`${p}.lora_magnitude_vector`)!));
        else expect(m.magnitude).toBeNull();
      }
    });

    it('our export of the same adapter writes the same config fields and a byte-identical safetensors', () => {
      const imp = importPeft(g.files);
      const tensors = new Map<string, Float32Array>();
      for (const m of imp.modules) {
        tensors.set(`${m.module}.lora_A`, m.A);
        tensors.set(`${m.module}.lora_B`, m.B);
        if (m.magnitude) tensors.set(`${m.module}.lora_magnitude_vector`, m.magnitude);
      }
      const state: AdapterState = {
        tensors,
        meta: {
          ranks: Object.fromEntries(imp.modules.map((m) => [m.module, m.r])),
          scaling: Object.fromEntries(imp.modules.map((m) => [m.module, m.scaling])),
        },
      };
      const config = parseRunConfig({
        model: { source: 'builtin', id: 'micro' },
        method: { id: kind, params: { rank: R, alpha: ALPHA } },
        targets: { modules: ['attn.c_attn'] },
      });
      const ex = exportPeft(config, state, { nLayer: N_LAYER });
      const ours = JSON.parse(new TextDecoder().decode(ex.files.find((f) => f.name === 'adapter_config.json')!.bytes));
      const { peft_version, ...fields } = ours as Record<string, unknown>;
      expect(typeof peft_version).toBe('string');
      expect(Object.keys(fields).sort()).toEqual(Object.keys(g.config).sort());
      expect(fields).toEqual(g.config);
      const st = ex.files.find((f) => f.name === 'adapter_model.safetensors')!.bytes;
      const header = (b: Uint8Array) => {
        const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
        return new TextDecoder().decode(b.subarray(8, 8 + n));
      };
      expect(header(st)).toBe(header(g.files[1].bytes));
      expect(Buffer.from(st).equals(Buffer.from(g.files[1].bytes))).toBe(true);
    });
  });
}
