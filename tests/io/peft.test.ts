/**
 * PEFT interchange (src/engine/io/peft.ts) without a GPU: merge/unmerge on ΔW (LoRA and DoRA),
 * names, shapes and config fields of the export, the import's validation, and refusals for methods
 * PEFT would misread. The GPU round trip through real training is tests/engine/peft-export.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { randn } from '../helpers/gpu';
import { parseRunConfig, type RunConfig } from '../../src/engine/config';
import { parseSafetensors, writeSafetensors } from '../../src/engine/io/safetensors';
import {
  exportPeft,
  importPeft,
  parsePeftTensorName,
  peftTensorName,
  PeftUnsupportedError,
  type AdapterState,
} from '../../src/engine/io/peft';
import { loraDelta, mergeDora, mergeLora, MergeError, unmergeDora, unmergeLora } from '../../src/engine/adapters/merge';

const inDim = 6,
  outDim = 9;

function runConfig(
  method: string,
  params: Record<string, number> = {},
  targets: Partial<RunConfig['targets']> = {},
): RunConfig {
  return parseRunConfig({
    model: { source: 'builtin', id: 'micro' },
    method: { id: method, params },
    targets: { modules: ['attn.c_attn', 'attn.c_proj'], ...targets },
  });
}

/** A LoRA-shaped state for modules with ranks, the way loraInstance.state() writes it. */
function loraState(
  ranks: Record<string, number>,
  scaling: (r: number) => number,
  extra: (name: string, r: number) => [string, Float32Array][] = () => [],
): AdapterState {
  const tensors = new Map<string, Float32Array>();
  let seed = 1;
  for (const [name, r] of Object.entries(ranks)) {
    tensors.set(`${name}.lora_A`, randn(r * inDim, seed++));
    tensors.set(`${name}.lora_B`, randn(outDim * r, seed++));
    for (const [k, v] of extra(name, r)) tensors.set(`${name}.${k}`, v);
  }
  return {
    tensors,
    meta: { ranks, scaling: Object.fromEntries(Object.entries(ranks).map(([k, r]) => [k, scaling(r)])) },
  };
}

describe('merge / unmerge', () => {
  const r = 3,
    s = 1.7;
  const A = randn(r * inDim, 1),
    B = randn(outDim * r, 2),
    W = randn(inDim * outDim, 3);

  it('ΔW = s·(B·A)ᵀ in the (in, out) layout, and unmerge undoes merge', () => {
    const d = loraDelta(A, B, r, inDim, outDim, s);
    let acc = 0;
    for (let k = 0; k < r; k++) acc += B[4 * r + k] * A[k * inDim + 2];
    expect(d[2 * outDim + 4]).toBeCloseTo(s * acc, 5); // element (i = 2, o = 4)
    const merged = mergeLora(W, d);
    const back = unmergeLora(merged, d);
    for (let i = 0; i < W.length; i++) expect(back[i]).toBeCloseTo(W[i], 5);
    expect(() => mergeLora(W, d.subarray(1))).toThrow(MergeError);
  });

  it('DoRA: merged columns have norm |m|; unmerge with the cached norms recovers W', () => {
    const d = loraDelta(A, B, r, inDim, outDim, s);
    const m = randn(outDim, 4).map((v) => 1 + 0.2 * v);
    const { merged, norm } = mergeDora(W, d, m, inDim, outDim);
    for (let o = 0; o < outDim; o++) {
      let sq = 0;
      for (let i = 0; i < inDim; i++) sq += merged[i * outDim + o] ** 2;
      expect(Math.sqrt(sq)).toBeCloseTo(Math.abs(m[o]), 5);
    }
    const back = unmergeDora(merged, d, m, norm, inDim, outDim);
    for (let i = 0; i < W.length; i++) expect(back[i]).toBeCloseTo(W[i], 5);
    // With m = the norms (DoRA at init) the merge is W + ΔW itself.
    const plain = mergeDora(W, d, norm, inDim, outDim).merged;
    const lora = mergeLora(W, d);
    for (let i = 0; i < W.length; i++) expect(plain[i]).toBeCloseTo(lora[i], 5);
  });
});

describe('PEFT export', () => {
  it('LoRA: PEFT names, [r, in] / [out, r] shapes, config fields, and a lossless import', () => {
    const ranks = { 'h.0.attn.c_attn': 4, 'h.0.attn.c_proj': 4, 'h.1.attn.c_attn': 4, 'h.1.attn.c_proj': 4 };
    const state = loraState(ranks, (r) => 16 / r);
    const ex = exportPeft(runConfig('lora', { rank: 4, alpha: 16 }), state, { nLayer: 2 });
    const cfg = JSON.parse(new TextDecoder().decode(ex.files.find((f) => f.name === 'adapter_config.json')!.bytes));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 16,
      fan_in_fan_out: true,
      bias: 'none',
      use_rslora: false,
      use_dora: false,
      init_lora_weights: true,
      rank_pattern: {},
      alpha_pattern: {},
      base_model_name_or_path: 'rankscope/micro',
      target_modules: ['c_attn', 'attn.c_proj'],
    });
    expect(typeof cfg.peft_version).toBe('string');
    const st = parseSafetensors(ex.files.find((f) => f.name === 'adapter_model.safetensors')!.bytes);
    expect(st.metadata.format).toBe('pt');
    const a = st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!;
    const b = st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!;
    expect(a.shape).toEqual([4, inDim]);
    expect(b.shape).toEqual([outDim, 4]);
    expect(a.dtype).toBe('F32');
    expect(st.tensors.size).toBe(8);
    const im = importPeft(ex.files);
    expect(im.modules.map((m) => m.module)).toEqual(Object.keys(ranks));
    for (const m of im.modules) {
      expect(m.r).toBe(4);
      expect(m.scaling).toBe(4);
      expect(m.magnitude).toBeNull();
      expect([...m.A]).toEqual([...state.tensors.get(`${m.module}.lora_A`)!]);
      expect([...m.B]).toEqual([...state.tensors.get(`${m.module}.lora_B`)!]);
    }
  });

  it('rsLoRA: use_rslora and α recovered from s = α/√r; per-module ranks go to rank_pattern; restricted layers use full paths', () => {
    const ranks = { 'h.0.attn.c_attn': 4, 'h.0.attn.c_proj': 8, 'h.1.attn.c_attn': 4 };
    const state = loraState(ranks, (r) => 8 / Math.sqrt(r));
    const ex = exportPeft(runConfig('rslora', { rank: 4, alpha: 8 }, { layers: [0, 1] }), state);
    expect(ex.config.use_rslora).toBe(true);
    expect(ex.config.r).toBe(4);
    expect(ex.config.lora_alpha).toBe(8);
    expect(ex.config.rank_pattern).toEqual({ 'transformer.h.0.attn.c_proj': 8 });
    expect(ex.config.alpha_pattern).toEqual({});
    expect(ex.config.target_modules).toEqual([
      'transformer.h.0.attn.c_attn',
      'transformer.h.0.attn.c_proj',
      'transformer.h.1.attn.c_attn',
    ]);
    const im = importPeft(ex.files);
    const proj = im.modules.find((m) => m.module === 'h.0.attn.c_proj')!;
    expect(proj.r).toBe(8);
    expect(proj.scaling).toBeCloseTo(8 / Math.sqrt(8), 10);
  });

  it('"c_proj" is qualified unless both projections are targeted (PEFT matches target names by suffix)', () => {
    const both = exportPeft(
      runConfig('lora', { rank: 2, alpha: 4 }, { modules: ['attn.c_proj', 'mlp.c_proj'] }),
      loraState({ 'h.0.attn.c_proj': 2, 'h.0.mlp.c_proj': 2 }, (r) => 4 / r),
      { nLayer: 1 },
    );
    expect(both.config.target_modules).toEqual(['c_proj']);
    const one = exportPeft(
      runConfig('lora', { rank: 2, alpha: 4 }, { modules: ['mlp.c_proj'] }),
      loraState({ 'h.0.mlp.c_proj': 2 }, (r) => 4 / r),
      { nLayer: 1 },
    );
    expect(one.config.target_modules).toEqual(['mlp.c_proj']);
  });

  it('DoRA: use_dora and lora_magnitude_vector [out] without a .weight suffix; import checks it', () => {
    const ranks = { 'h.0.attn.c_attn': 2 };
    const state = loraState(
      ranks,
      (r) => 4 / r,
      () => [['lora_magnitude_vector', randn(outDim, 9)]],
    );
    const ex = exportPeft(runConfig('dora', { rank: 2, alpha: 4 }), state, { nLayer: 1 });
    expect(ex.config.use_dora).toBe(true);
    const st = parseSafetensors(ex.files[1].bytes);
    const mag = st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector')!;
    expect(mag.shape).toEqual([outDim]);
    expect(st.tensors.has('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector.weight')).toBe(false);
    const im = importPeft(ex.files);
    expect([...im.modules[0].magnitude!]).toEqual([...state.tensors.get('h.0.attn.c_attn.lora_magnitude_vector')!]);
    // use_dora without magnitudes is refused
    const cfg = JSON.parse(new TextDecoder().decode(ex.files[0].bytes));
    const noMag = writeSafetensors(
      [...st.tensors.values()]
        .filter((t) => !t.name.endsWith('magnitude_vector'))
        .map((t) => ({ name: t.name, shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) })),
      { format: 'pt' },
    );
    expect(() =>
      importPeft([
        { name: 'adapter_config.json', bytes: new TextEncoder().encode(JSON.stringify(cfg)) },
        { name: 'adapter_model.safetensors', bytes: noMag },
      ]),
    ).toThrow(/magnitude vector is missing/);
  });

  it('residual methods need --convert, then become a rank-2r LoRA relative to the pretrained weight', () => {
    const r = 2,
      s = 3;
    const state = loraState(
      { 'h.0.attn.c_attn': r },
      () => s,
      (_n, rr) => [
        ['lora_A0', randn(rr * inDim, 20)],
        ['lora_B0', randn(outDim * rr, 21)],
      ],
    );
    state.meta.residualBase = true;
    const cfg = runConfig('pissa', { rank: r, alpha: 6 });
    expect(() => exportPeft(cfg, state)).toThrow(PeftUnsupportedError);
    expect(() => exportPeft(cfg, state)).toThrow(/residual base.*--convert.*--merged/s);
    const ex = exportPeft(cfg, state, { convert: true, nLayer: 1 });
    expect(ex.config.r).toBe(2 * r);
    expect(ex.config.lora_alpha).toBe(s * 2 * r); // scaling kept: (2α)/(2r)
    const m = importPeft(ex.files).modules[0];
    // The converted adapter's ΔW is s·(B·A − B₀·A₀).
    const t = state.tensors;
    const want = loraDelta(t.get('h.0.attn.c_attn.lora_A')!, t.get('h.0.attn.c_attn.lora_B')!, r, inDim, outDim, s);
    const init = loraDelta(t.get('h.0.attn.c_attn.lora_A0')!, t.get('h.0.attn.c_attn.lora_B0')!, r, inDim, outDim, s);
    const got = loraDelta(m.A, m.B, m.r, inDim, outDim, m.scaling);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i] - init[i], 4);
  });

  it('methods PEFT cannot load as LoRA say so and point to --merged', () => {
    for (const id of ['full', 'vera']) {
      expect(() =>
        exportPeft(
          runConfig(id),
          loraState({ 'h.0.attn.c_attn': 2 }, () => 1),
        ),
      ).toThrow(/--merged/);
    }
    expect(() =>
      exportPeft(
        runConfig('nola'),
        loraState({ 'h.0.attn.c_attn': 2 }, () => 1),
      ),
    ).toThrow(/--convert.*materialised/s);
  });
});

describe('PEFT import validation', () => {
  const enc = new TextEncoder();
  const good = exportPeft(
    runConfig('lora', { rank: 2, alpha: 4 }),
    loraState({ 'h.0.attn.c_attn': 2 }, (r) => 4 / r),
    { nLayer: 1 },
  );
  const withConfig = (c: Record<string, unknown>) => [
    { name: 'adapter_config.json', bytes: enc.encode(JSON.stringify(c)) },
    good.files[1],
  ];

  it('names parse both ways', () => {
    expect(peftTensorName('h.3.mlp.c_fc', 'lora_B')).toBe('base_model.model.transformer.h.3.mlp.c_fc.lora_B.weight');
    expect(parsePeftTensorName('base_model.model.transformer.h.3.mlp.c_fc.lora_B.weight')).toEqual({
      module: 'h.3.mlp.c_fc',
      kind: 'lora_B',
    });
    expect(parsePeftTensorName('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector')).toEqual({
      module: 'h.0.attn.c_attn',
      kind: 'lora_magnitude_vector',
    });
    expect(parsePeftTensorName('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toBeNull();
  });

  it('rejects missing files, other adapter types, wrong ranks and half pairs with a clear message', () => {
    expect(() => importPeft([good.files[1]])).toThrow(/adapter_config.json is missing/);
    expect(() => importPeft([good.files[0]])).toThrow(/adapter_model.safetensors is missing/);
    expect(() => importPeft(withConfig({ ...good.config, peft_type: 'VERA' }))).toThrow(/only "LORA"/);
    expect(() => importPeft(withConfig({ ...good.config, r: 3 }))).toThrow(/do not match its rank 3/);
    expect(() =>
      importPeft([good.files[0], { name: 'adapter_model.safetensors', bytes: new Uint8Array([1, 2, 3]) }]),
    ).toThrow();
    const st = parseSafetensors(good.files[1].bytes);
    const half = writeSafetensors(
      [...st.tensors.values()]
        .filter((t) => t.name.includes('lora_A'))
        .map((t) => ({ name: t.name, shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) })),
    );
    expect(() => importPeft([good.files[0], { name: 'adapter_model.safetensors', bytes: half }])).toThrow(
      /has lora_A but not lora_B/,
    );
  });
});
