// Reading a Hugging Face model directory: single file vs sharded (same tensors), BF16, tokenizer_config,
// and one clear line for each broken directory (missing shard, bad index, tensor in the wrong shard).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readModelDir,
  parseTokenizerConfig,
  toFloat32,
  ModelDirError,
  type ModelDirFile,
} from '../../src/engine/io/hf-model';

const ROOT = path.resolve(__dirname, '../fixtures/hf/tiny');

function dirFiles(name: string): ModelDirFile[] {
  return readdirSync(path.join(ROOT, name)).map((f) => ({
    name: f,
    bytes: new Uint8Array(readFileSync(path.join(ROOT, name, f))),
  }));
}

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('readModelDir', () => {
  it('reads a sharded checkpoint to the same tensors as the single-file one', () => {
    const one = readModelDir(dirFiles('qwen2'));
    const sharded = readModelDir(dirFiles('qwen2-sharded'));
    expect(one.sharded).toBe(false);
    expect(sharded.sharded).toBe(true);
    expect(sharded.weightFiles).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(new Set(sharded.tensorFile.values()).size).toBe(2);
    expect([...sharded.tensors.keys()].sort()).toEqual([...one.tensors.keys()].sort());
    for (const [name, t] of one.tensors) {
      const s = sharded.tensors.get(name)!;
      expect(s.shape).toEqual(t.shape);
      expect(toFloat32(s)).toEqual(toFloat32(t));
    }
    expect(one.configJson.model_type).toBe('qwen2');
    expect(one.tensors.get('model.layers.0.self_attn.q_proj.bias')!.shape).toEqual([32]);
  });

  it('reads BF16 weights as the bfloat16 rounding of the F32 ones', () => {
    const f32 = readModelDir(dirFiles('llama'));
    const bf16 = readModelDir(dirFiles('llama-bf16'));
    const a = f32.tensors.get('model.layers.1.mlp.down_proj.weight')!;
    const b = bf16.tensors.get('model.layers.1.mlp.down_proj.weight')!;
    expect(b.dtype).toBe('BF16');
    expect(b.shape).toEqual([32, 48]); // nn.Linear (out, in)
    const x = toFloat32(a),
      y = toFloat32(b);
    let maxRel = 0;
    for (let i = 0; i < x.length; i++) maxRel = Math.max(maxRel, Math.abs(x[i] - y[i]) / Math.abs(x[i]));
    expect(maxRel).toBeGreaterThan(0);
    expect(maxRel).toBeLessThanOrEqual(2 ** -8);
  });

  it('reads tokenizer.json and tokenizer_config.json (tokens, chat template)', () => {
    const d = readModelDir(dirFiles('qwen3'));
    expect(d.tokenizerConfig!.eosToken).toBe('<|im_end|>');
    expect(d.tokenizerConfig!.padToken).toBe('<|endoftext|>');
    expect(d.tokenizerConfig!.bosToken).toBeNull();
    expect(d.tokenizerConfig!.chatTemplate).toContain('<|im_start|>');
    expect((d.tokenizerJson as { model: { type: string } }).model.type).toBe('BPE');
    expect(readModelDir(dirFiles('gpt2')).tokenizerConfig!.chatTemplate).toBeNull();
  });

  it('tokenizer_config: AddedToken objects, named templates, chat_template.jinja wins', () => {
    const c = parseTokenizerConfig({
      eos_token: { content: '</s>', lstrip: false },
      chat_template: [
        { name: 'tool_use', template: 'T' },
        { name: 'default', template: 'D' },
      ],
      model_max_length: 1e30,
    });
    expect(c.eosToken).toBe('</s>');
    expect(c.chatTemplate).toBe('D');
    expect(c.modelMaxLength).toBeNull();
    expect(parseTokenizerConfig({ chat_template: 'old' }, 'new').chatTemplate).toBe('new');
    const files = dirFiles('llama').filter((f) => f.name !== 'tokenizer_config.json');
    files.push({ name: 'chat_template.jinja', bytes: new TextEncoder().encode('{{ messages }}') });
    expect(readModelDir(files).tokenizerConfig!.chatTemplate).toBe('{{ messages }}');
  });

  it('one clear line for each broken directory', () => {
    const sharded = dirFiles('qwen2-sharded');
    const without = (n: string) => sharded.filter((f) => f.name !== n);
    const replace = (n: string, bytes: Uint8Array) => [...without(n), { name: n, bytes }];
    const index = JSON.parse(readFileSync(path.join(ROOT, 'qwen2-sharded/model.safetensors.index.json'), 'utf8'));

    expect(() => readModelDir(without('config.json'))).toThrow(/config\.json is missing/);
    expect(() => readModelDir(without('model-00002-of-00002.safetensors'))).toThrow(
      /names 2 shards but 1 are missing: model-00002-of-00002\.safetensors/,
    );
    expect(() => readModelDir(dirFiles('gpt2').filter((f) => f.name !== 'model.safetensors'))).toThrow(
      /no weights: need model\.safetensors/,
    );
    expect(() =>
      readModelDir(replace('model.safetensors.index.json', enc({ weight_map: { a: '../../etc/passwd' } }))),
    ).toThrow(/must be a shard file name/);
    expect(() => readModelDir(replace('model.safetensors.index.json', enc({ metadata: {} })))).toThrow(
      /no "weight_map"/,
    );
    const moved = structuredClone(index);
    moved.weight_map['model.norm.weight'] =
      index.weight_map['model.norm.weight'] === 'model-00001-of-00002.safetensors'
        ? 'model-00002-of-00002.safetensors'
        : 'model-00001-of-00002.safetensors';
    expect(() => readModelDir(replace('model.safetensors.index.json', enc(moved)))).toThrow(
      /lists "model\.norm\.weight" in model-0000\d-of-00002\.safetensors, but it is in/,
    );
    const extra = structuredClone(index);
    extra.weight_map['lm_head.weight'] = 'model-00001-of-00002.safetensors';
    expect(() => readModelDir(replace('model.safetensors.index.json', enc(extra)))).toThrow(
      /lists "lm_head\.weight" in model-00001-of-00002\.safetensors, which lacks it/,
    );
    // the same shard twice under two names: every tensor would be in two files
    const dup = sharded.find((f) => f.name === 'model-00001-of-00002.safetensors')!;
    const twice = structuredClone(index);
    twice.weight_map['model.embed_tokens.weight'] = 'copy.safetensors';
    expect(() =>
      readModelDir([
        ...replace('model.safetensors.index.json', enc(twice)),
        { name: 'copy.safetensors', bytes: dup.bytes },
      ]),
    ).toThrow(/is in both/);
    expect(() => readModelDir(sharded, { maxWeightBytes: 1000 })).toThrow(/over the 1000-byte limit/);
    expect(() => readModelDir(replace('config.json', new TextEncoder().encode('{nope')))).toThrow(ModelDirError);
    expect(() =>
      readModelDir(replace('model-00001-of-00002.safetensors', new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0]))),
    ).toThrow(/^model-00001-of-00002\.safetensors: /);
  });
});
