/**
 * Opening a PEFT adapter for analysis (issue 11 item 5; engine/analysis/adapter.ts, used by the page's
 * worker): the tiny adapter fixture (scripts/make-tiny-adapter.ts) merged into tests/fixtures/hf/tiny/gpt2
 * equals W0 + s·(B·A)ᵀ, its analysis finds intruder dimensions (new directions, k = 10), and what cannot be
 * represented is refused in one line: another PEFT type, a missing file, a base of other shapes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeMatrix } from '../../src/engine/analysis';
import { AdapterAnalysisError, adapterBaseName, mergeAdapter } from '../../src/engine/analysis/adapter';
import { loadModelFiles, type NamedFile } from '../../src/engine/io/checkpoint';

const FIX = path.resolve(__dirname, '../fixtures/hf');
const read = (dir: string): NamedFile[] =>
  readdirSync(path.join(FIX, dir)).map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(FIX, dir, name))),
  }));

describe('adapter analysis: merge and refusals', () => {
  it('merges the tiny LoRA into its base and finds new-direction intruders', async () => {
    const files = read('peft/gpt2-lora');
    expect(adapterBaseName(files)).toBe('tiny/gpt2');
    const base = await loadModelFiles('tiny/gpt2', read('tiny/gpt2'));
    const m = mergeAdapter(files, base, 'tiny/gpt2');
    expect(m.matrices.map((x) => x.module)).toEqual(['h.0.attn.c_attn', 'h.1.attn.c_attn']);
    const x = m.matrices[0];
    expect([x.rows, x.cols, x.r, x.scaling]).toEqual([32, 96, 4, 2]);
    // one entry by hand: tuned[i, o] = W0[i, o] + s·Σ_j B[o, j]·A[j, i]
    const mod = m.peft!.modules[0];
    const i = 5,
      o = 70;
    let d = 0;
    for (let j = 0; j < 4; j++) d += mod.B[o * 4 + j] * mod.A[j * 32 + i];
    expect(x.tuned[i * 96 + o]).toBeCloseTo(x.base[i * 96 + o] + 2 * d, 5);
    let total = 0;
    for (const mm of m.matrices) {
      const a = await analyzeMatrix(null, {
        name: `${mm.module}.weight`,
        base: mm.base,
        tuned: mm.tuned,
        rows: mm.rows,
        cols: mm.cols,
        layout: 'in-out',
        k: 10,
        eps: 0.5,
      });
      expect(a.shape).toEqual([96, 32]);
      expect(a.delta.numericalRank).toBe(4);
      expect(a.intruders.newDirections).toBe(a.intruders.count);
      total += a.intruders.count;
    }
    expect(total).toBeGreaterThan(0);
  });

  it('refuses other PEFT types, missing files and a base of other shapes in one line', async () => {
    const base = await loadModelFiles('tiny/gpt2', read('tiny/gpt2'));
    const one = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(AdapterAnalysisError);
        expect((e as Error).message).not.toContain('\n');
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    expect(one(() => mergeAdapter(read('peft/gpt2-vera'), base, 'tiny/gpt2'))).toContain('VERA');
    expect(
      one(() =>
        mergeAdapter(
          read('peft/gpt2-lora').filter((f) => f.name !== 'adapter_model.safetensors'),
          base,
          'x',
        ),
      ),
    ).toContain('missing adapter_model.safetensors');
    const llama = await loadModelFiles('tiny/llama', read('tiny/llama'));
    expect(one(() => mergeAdapter(read('peft/gpt2-lora'), llama, 'tiny/llama'))).toContain('holds no LoRA tensors');
    // a GPT-2 of another width (the shipped 'base' model, C = 128): the shapes are named
    const files = readdirSync(path.resolve(__dirname, '../../public/models/base')).map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(path.resolve(__dirname, '../../public/models/base', name))),
    }));
    const wide = await loadModelFiles('base', files);
    expect(one(() => mergeAdapter(read('peft/gpt2-lora'), wide, 'base'))).toMatch(
      /does not fit the base base: h\.0\.attn\.c_attn: lora_A is \[4, 32\] but the model's linear takes 128 inputs/,
    );
  });
});
