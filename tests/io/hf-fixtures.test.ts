// The tiny Hugging Face checkpoints written by scripts/make-tiny-checkpoints.py: every fixture parses
// (config, safetensors or index + shards, tokenizer.json through @huggingface/tokenizers,
// tokenizer_config.json), and the numpy oracle's expected losses for GPT-2 agree with the project's own
// independent GPT-2 CPU reference (src/engine/ref/gpt2.ts) — two implementations, one answer.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, toFloat32 } from '../../src/engine/io/safetensors';
import { createHfTokenizer } from '../../src/engine/io/tokenizers/hf';
import { loadModelFiles } from '../../src/engine/io/checkpoint';
import { gpt2ForwardBackwardRef } from '../../src/engine/ref/gpt2';

const ROOT = path.resolve(__dirname, '../fixtures/hf/tiny');
const FIXTURES = readdirSync(ROOT).sort();

function json(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ROOT, dir, name), 'utf8')) as Record<string, unknown>;
}

function bytes(dir: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(ROOT, dir, name)));
}

interface Expected {
  ids: number[][];
  losses: number[][];
}

describe('tiny HF fixtures', () => {
  it('cover every family, in F32, BF16, F16 and sharded form', () => {
    const types = new Set(FIXTURES.map((f) => json(f, 'config.json').model_type));
    expect([...types].sort()).toEqual(['gpt2', 'gpt_neo', 'gpt_neox', 'llama', 'qwen2', 'qwen3']);
    expect(FIXTURES).toEqual(expect.arrayContaining(['llama-bf16', 'pythia-f16', 'qwen2-sharded', 'llama3-rope']));
  });

  for (const name of FIXTURES) {
    it(`${name}: weights, tokenizer and expected losses are consistent`, async () => {
      const cfg = json(name, 'config.json');
      const vocab = cfg.vocab_size as number;
      const indexPath = path.join(ROOT, name, 'model.safetensors.index.json');
      const files = existsSync(indexPath)
        ? [...new Set(Object.values(json(name, 'model.safetensors.index.json').weight_map as Record<string, string>))]
        : ['model.safetensors'];
      const dtypes = new Set<string>();
      let tensors = 0;
      for (const f of files) {
        for (const t of parseSafetensors(bytes(name, f)).tensors.values()) {
          dtypes.add(t.dtype);
          tensors++;
          expect(toFloat32(t).every(Number.isFinite)).toBe(true);
        }
      }
      expect(tensors).toBeGreaterThan(10);
      expect([...dtypes]).toEqual([name.endsWith('-bf16') ? 'BF16' : name.endsWith('-f16') ? 'F16' : 'F32']);

      const tokCfg = json(name, 'tokenizer_config.json');
      const tok = await createHfTokenizer(json(name, 'tokenizer.json'), tokCfg);
      expect(tok.vocabSize).toBeLessThanOrEqual(vocab);
      const text = 'the cat sat on the hill.';
      const ids = tok.encode(text);
      expect(ids.length).toBeLessThan(text.length); // the merges apply
      expect(tok.decode(ids)).toBe(text);
      expect(tok.eosId).toBe(tok.encode(tokCfg.eos_token as string)[0]);

      const exp = json(name, 'expected-losses.json') as unknown as Expected;
      expect(exp.ids.length).toBe(exp.losses.length);
      exp.ids.forEach((seq, s) => {
        expect(exp.losses[s].length).toBe(seq.length - 1);
        expect(seq.every((id) => Number.isInteger(id) && id >= 0 && id < vocab)).toBe(true);
        expect(exp.losses[s].every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      });
    });
  }

  it.each(['gpt2', 'gpt2-legacy'])('the numpy oracle agrees with src/engine/ref/gpt2.ts on tiny/%s', async (dir) => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => ({
      name: f,
      bytes: bytes(dir, f),
    }));
    const model = await loadModelFiles(`tiny-${dir}`, files);
    const exp = json(dir, 'expected-losses.json') as unknown as Expected;
    for (let s = 0; s < exp.ids.length; s++) {
      const seq = exp.ids[s];
      const T = seq.length - 1;
      const r = gpt2ForwardBackwardRef(model.config, model.weights, {
        B: 1,
        T,
        tokens: seq.slice(0, T),
        targets: seq.slice(1),
      });
      for (let i = 0; i < T; i++) expect(Math.abs(r.losses[i] - exp.losses[s][i])).toBeLessThan(1e-9);
    }
  });
});
