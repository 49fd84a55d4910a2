/**
 * The golden PEFT fixture (tests/fixtures/peft-golden/{lora,dora}/, written down from PEFT 0.17.1's and
 * safetensors' source by scripts/make-peft-golden.py; README.md there cites every field): a tiny GPT-2
 * LoRA and DoRA adapter exactly as `get_peft_model(...).save_pretrained()` writes them. Our import must
 * read them (names, shapes, scaling, values), and our export of the same adapter must produce the same
 * adapter_config.json fields and values (plus `peft_version`, documented in io/peft.ts) and a
 * byte-identical adapter_model.safetensors (keys, dtypes, shapes, offsets, header padding, data).
 * hra/: a tiny Llama HRA adapter (HRAConfig, hra_u [in, r]) as PEFT writes it, read and written back the same way.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRunConfig } from '../../src/engine/config';
import { exportPeft, importPeft, type AdapterState } from '../../src/engine/io/peft';
import { parseSafetensors, toFloat32 } from '../../src/engine/io/safetensors';
import { hraStateFromPeft, importHraPeft } from '../../src/engine/io/peft-hra';
import { peftNamingOf } from '../../src/engine/model/families';
import type { ModelConfig } from '../../src/engine/model/config';

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

describe(`golden PEFT 0.17.1 hra adapter (tiny Llama, r=${R}, q_proj)`, () => {
  const files = ['adapter_config.json', 'adapter_model.safetensors'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(DIR, 'hra', name))),
  }));
  const gc = JSON.parse(new TextDecoder().decode(files[0].bytes)) as Record<string, unknown>;
  const llama: ModelConfig = {
    arch: 'llama',
    vocabSize: 256,
    contextLength: 32,
    nLayer: N_LAYER,
    nHead: 2,
    nEmbd: C,
    layerNormEps: 1e-5,
    tokenizer: 'byte',
    nKvHead: 1,
    intermediateSize: 48,
    ropeTheta: 10000,
    tieWordEmbeddings: true,
  };
  const naming = peftNamingOf(llama);

  it('our import reads it and our export of the same adapter writes the same fields and a byte-identical safetensors', () => {
    expect(() => importPeft(files, naming)).toThrow(/peft_type HRA/);
    const im = importHraPeft(gc, files[1].bytes, naming);
    const st = parseSafetensors(files[1].bytes);
    expect(im.modules.map((m) => m.module)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.1.self_attn.q_proj',
    ]);
    for (const m of im.modules) {
      expect([m.r, m.inDim]).toEqual([R, C]);
      expect(m.U).toEqual(toFloat32(st.tensors.get(`base_model.model.${m.module}.hra_u`)!));
    }
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro', arch: llama },
      method: { id: 'hra', params: { rank: R } },
      targets: { modules: ['self_attn.q_proj'] },
      analysis: { every: 0, k: 4, eps: 0.5 },
    });
    const ex = exportPeft(config, hraStateFromPeft(im), { naming, nLayer: N_LAYER, baseModel: 'rankscope/tiny-llama' });
    const ours = JSON.parse(new TextDecoder().decode(ex.files[0].bytes)) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(gc).sort());
    // PEFT keeps target_modules as a set: compared as one
    const { target_modules: ot, ...of } = ours,
      { target_modules: gt, ...gf } = gc;
    expect(of).toEqual(gf);
    expect([...(ot as string[])].sort()).toEqual([...(gt as string[])].sort());
    const bytes = ex.files.find((f) => f.name === 'adapter_model.safetensors')!.bytes;
    expect(Buffer.from(bytes).equals(Buffer.from(files[1].bytes))).toBe(true);
  });
});
