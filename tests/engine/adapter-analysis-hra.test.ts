/**
 * Opening a PEFT HRA adapter for analysis (engine/analysis/adapter.ts mergeAdapter, what the page's worker
 * src/worker/adapter-analysis.ts and `analyze --adapter` call): an HRA adapter exported by exportPeft for
 * every linear of the tiny Llama (tests/fixtures/hf/tiny/llama; square and non-square modules, random hra_u)
 * merges into exactly what importHraPeft + the HRA method's own merge (ref/hra.ts hraMerge, used by
 * HraAdapter.merged) gives, and equals PEFT's convention W_hf' = W_hf·H_0·H_1⋯H_{r−1} computed densely in
 * float64 here. The analysis then sees an orthogonal transform: the tuned σ equal the base's and ΔW has
 * rank ≤ r. The golden PEFT HRA fixture merges too; what cannot apply is refused in one line (GPT-2 base,
 * apply_GS, a base of other widths).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeMatrix } from '../../src/engine/analysis';
import { AdapterAnalysisError, mergeAdapter } from '../../src/engine/analysis/adapter';
import { loadModelFiles, type NamedFile } from '../../src/engine/io/checkpoint';
import { exportPeft } from '../../src/engine/io/peft';
import { importHraPeft } from '../../src/engine/io/peft-hra';
import { hraMerge } from '../../src/engine/ref/hra';
import { parseRunConfig } from '../../src/engine/config';
import { peftNamingOf } from '../../src/engine/model/families';
import { linearShapes } from '../../src/engine/memory-plan';

const FIX = path.resolve(__dirname, '../fixtures');
const read = (dir: string): NamedFile[] =>
  readdirSync(path.join(FIX, dir)).map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(FIX, dir, name))),
  }));
const R = 4;

/** An HRA adapter of every linear of `cfg`, as exportPeft writes it; hra_u a fixed pseudo-random pattern. */
async function exportedHra() {
  const base = await loadModelFiles('tiny/llama', read('hf/tiny/llama'));
  const lins = linearShapes(base.config);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const tensors = new Map(lins.map((l) => [`${l.name}.hra_u`, Float32Array.from({ length: l.inDim * R }, rnd)]));
  const config = parseRunConfig({
    model: { source: 'preset', id: 'micro', arch: base.config },
    dataset: { source: 'builtin', id: 'english' },
    method: { id: 'hra', params: { rank: R } },
    targets: { modules: ['all-linear'], layers: null, rankOverrides: {} },
    train: { steps: 1 },
  });
  const ex = exportPeft(
    config,
    { tensors, meta: { ranks: Object.fromEntries(lins.map((l) => [l.name, R])) } },
    { naming: peftNamingOf(base.config), nLayer: base.config.nLayer, baseModel: 'tiny/llama' },
  );
  return { base, lins, files: ex.files as NamedFile[] };
}

const one = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AdapterAnalysisError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('adapter analysis: PEFT HRA adapters merge through the HRA method', () => {
  it("exported HRA on the tiny Llama: the merge is importHraPeft + hraMerge and PEFT's W_hf·H_0⋯H_{r−1}", async () => {
    const { base, lins, files } = await exportedHra();
    const m = mergeAdapter(files, base, 'tiny/llama');
    expect(m.peftType).toBe('HRA');
    expect(m.summary).toEqual({ r: R, alpha: 0, useRslora: false });
    expect(m.matrices.map((x) => x.module).sort()).toEqual(lins.map((l) => l.name).sort());
    expect(new Set(m.matrices.map((x) => `${x.rows}x${x.cols}`)).size).toBeGreaterThan(1); // square and not
    const st = files.find((f) => f.name === 'adapter_model.safetensors')!.bytes;
    const cfg = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === 'adapter_config.json')!.bytes));
    const im = importHraPeft(cfg, st, peftNamingOf(base.config));
    let maxDiff = 0;
    for (const x of m.matrices) {
      const u = im.modules.find((mm) => mm.module === x.module)!;
      const w0 = base.weights.get(`${x.module}.weight`)!;
      expect(x.base).toBe(w0);
      // the HRA method's merge, bit for bit
      expect(x.tuned).toEqual(hraMerge(w0, u.U, x.rows, x.cols, R));
      // PEFT's convention, dense in float64: W_hf (out, in) = w0ᵀ, H = H_0·H_1⋯H_{r−1}, W_hf' = W_hf·H
      const n = x.rows,
        o = x.cols;
      let H = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
      for (let k = 0; k < R; k++) {
        let nn = 0;
        for (let i = 0; i < n; i++) nn += u.U[i * R + k] ** 2;
        const v = Float64Array.from({ length: n }, (_, i) => u.U[i * R + k] / Math.sqrt(nn));
        const Hk = Float64Array.from({ length: n * n }, (_, ij) => {
          const i = Math.floor(ij / n),
            j = ij % n;
          return (i === j ? 1 : 0) - 2 * v[i] * v[j];
        });
        const P = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let l = 0; l < n; l++) for (let j = 0; j < n; j++) P[i * n + j] += H[i * n + l] * Hk[l * n + j];
        H = P;
      }
      for (let a = 0; a < o; a++)
        for (let j = 0; j < n; j++) {
          let v = 0;
          for (let i = 0; i < n; i++) v += w0[i * o + a] * H[i * n + j]; // (W_hf·H)[a, j]
          maxDiff = Math.max(maxDiff, Math.abs(v - x.tuned[j * o + a])); // ours is (in, out) = (W_hf·H)ᵀ
        }
    }
    expect(maxDiff).toBeLessThan(1e-5);
    // the analysis: an orthogonal transform keeps every σ; ΔW = (H_{r−1}⋯H_0 − I)·W0 has rank ≤ r
    const x = m.matrices.find((mm) => mm.rows !== mm.cols) ?? m.matrices[0];
    const a = await analyzeMatrix(null, {
      name: `${x.module}.weight`,
      base: x.base,
      tuned: x.tuned,
      rows: x.rows,
      cols: x.cols,
      layout: 'in-out',
      k: 4,
      eps: 0.5,
    });
    expect(a.shape).toEqual([x.cols, x.rows]);
    for (let i = 0; i < a.base.sigma.length; i++) expect(a.tuned.sigma[i]).toBeCloseTo(a.base.sigma[i], 4);
    expect(a.delta.numericalRank).toBeGreaterThan(0);
    expect(a.delta.numericalRank).toBeLessThanOrEqual(R);
  });

  it('the golden PEFT 0.17.1 HRA adapter merges into the tiny Llama; what cannot apply is refused in one line', async () => {
    const llama = await loadModelFiles('tiny/llama', read('hf/tiny/llama'));
    const golden = read('peft-golden/hra');
    const m = mergeAdapter(golden, llama, 'tiny/llama');
    expect(m.matrices.map((x) => x.module)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.1.self_attn.q_proj',
    ]);
    const x = m.matrices[0];
    expect(x.tuned).toEqual(hraMerge(x.base, m.hra!.modules[0].U, 32, 32, R));
    expect(x.tuned).not.toEqual(x.base);

    const gpt2 = await loadModelFiles('tiny/gpt2', read('hf/tiny/gpt2'));
    expect(one(() => mergeAdapter(golden, gpt2, 'tiny/gpt2'))).toMatch(/Conv1D/);
    const withCfg = (patch: Record<string, unknown>) =>
      golden.map((f) =>
        f.name === 'adapter_config.json'
          ? {
              name: f.name,
              bytes: new TextEncoder().encode(
                JSON.stringify({ ...JSON.parse(new TextDecoder().decode(f.bytes)), ...patch }),
              ),
            }
          : f,
      );
    expect(one(() => mergeAdapter(withCfg({ apply_GS: true }), llama, 'tiny/llama'))).toMatch(/apply_GS/);
    // a Llama of another width: hra_u [32, 4] against q_proj's 16 inputs
    const narrow = { config: { ...llama.config, nEmbd: 16, nHead: 2, nKvHead: 1 }, weights: llama.weights };
    expect(one(() => mergeAdapter(golden, narrow, 'narrow'))).toMatch(
      /does not fit the base narrow: model\.layers\.0\.self_attn\.q_proj: hra_u is \[32, 4\] but the model's linear takes 16 inputs/,
    );
  });
});
