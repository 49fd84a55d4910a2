/**
 * The tiny PEFT LoRA adapter the adapter-analysis tests open (tests/fixtures/hf/peft/gpt2-lora/, served by
 * the mock hub as "peft/gpt2-lora"): r = 4, α = 8 on both layers' attn.c_attn of tests/fixtures/hf/tiny/gpt2
 * (in 32, out 96), factors drawn from the project's Philox RNG. W0 (96×32) spans only 32 of the 96 output
 * dimensions, so a random B adds directions W0 has no counterpart for: the analysis must find intruders.
 * Also writes gpt2-vera/ (a VeRA adapter_config: refused in one line).
 *   npx vite-node scripts/make-tiny-adapter.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../src/engine/rng';
import { writeSafetensors } from '../src/engine/io/safetensors';

const root = path.resolve(import.meta.dirname ?? __dirname, '../tests/fixtures/hf/peft');
const r = 4,
  inDim = 32,
  outDim = 96;
const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
for (const layer of [0, 1]) {
  const rng = new Rng(7 + layer, 'tiny-adapter');
  const p = `base_model.model.transformer.h.${layer}.attn.c_attn`;
  tensors[`${p}.lora_A.weight`] = { shape: [r, inDim], data: rng.fillNormal(new Float32Array(r * inDim), 0.3) };
  tensors[`${p}.lora_B.weight`] = { shape: [outDim, r], data: rng.fillNormal(new Float32Array(outDim * r), 0.3) };
}
const config = {
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  base_model_name_or_path: 'tiny/gpt2',
  r,
  lora_alpha: 8,
  lora_dropout: 0,
  target_modules: ['c_attn'],
  fan_in_fan_out: true,
  bias: 'none',
  use_rslora: false,
  use_dora: false,
  init_lora_weights: true,
  peft_version: '0.17.1',
};
const dir = path.join(root, 'gpt2-lora');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2) + '\n');
writeFileSync(path.join(dir, 'adapter_model.safetensors'), writeSafetensors(tensors));
const bad = path.join(root, 'gpt2-vera');
mkdirSync(bad, { recursive: true });
writeFileSync(path.join(bad, 'adapter_config.json'), JSON.stringify({ ...config, peft_type: 'VERA' }, null, 2) + '\n');
writeFileSync(path.join(bad, 'adapter_model.safetensors'), writeSafetensors(tensors));
console.log(`wrote ${dir} and ${bad}`);
