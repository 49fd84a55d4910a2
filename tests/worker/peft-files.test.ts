/**
 * The page's adapter export from a stored checkpoint, written in the worker (worker/peft-files.ts, the
 * `peftFiles` request): the worker's checkpoint event (what IndexedDB keeps) → peftFiles → the same PEFT
 * files the CLI writes; full fine-tuning → the tuned model; a method PEFT would misread → a note instead
 * of files.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { WorkerRunner } from '../../src/worker/runner';
import type { EngineEvent, ResumeState } from '../../src/worker/protocol';
import { parseRunConfig, type RunConfig } from '../../src/engine/config';
import { parseSafetensors } from '../../src/engine/io/safetensors';
import { MODEL_PRESETS } from '../../src/engine/model/config';
import { peftFiles } from '../../src/worker/peft-files';

const arch = MODEL_PRESETS.micro; // C = 32, L = 2
const C = arch.nEmbd;

async function checkpointOf(
  method: string,
  params: Record<string, number>,
): Promise<{ config: RunConfig; resume: ResumeState }> {
  const gpu = await testGpu();
  const events: EngineEvent[] = [];
  const runner = new WorkerRunner(gpu, (e) => events.push(e));
  const config = parseRunConfig({
    model: { source: 'builtin', id: 'micro' },
    dataset: { source: 'builtin', id: 'brown-news' },
    method: { id: method, params },
    targets: { modules: ['attn.c_attn', 'mlp.c_proj'], layers: null, rankOverrides: { 'h.1.attn.c_attn': 2 } },
    train: { steps: 2, batchSize: 1, contextLength: 8 },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k: 4, eps: 0.5 },
  });
  runner.start({ type: 'run', runId: method, config });
  for (let i = 0; i < 400 && !events.some((e) => e.type === 'done' || e.type === 'error'); i++)
    await new Promise((r) => setTimeout(r, 25));
  const ck = events.filter((e) => e.type === 'checkpoint').at(-1) as
    Extract<EngineEvent, { type: 'checkpoint' }> | undefined;
  if (!ck) throw new Error(`no checkpoint: ${JSON.stringify(events.filter((e) => e.type === 'error'))}`);
  return { config, resume: ck.resume };
}

describe('adapter export from a stored checkpoint', () => {
  it('LoRA → PEFT names, shapes, rank_pattern and config fields', async () => {
    const { config, resume } = await checkpointOf('lora', { rank: 4, alpha: 8 });
    const files = peftFiles(config, arch, resume);
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']));
    const st = parseSafetensors(files['adapter_model.safetensors']);
    expect([...st.tensors.keys()]).toHaveLength(8); // A and B of 4 modules; optimizer moments left out
    expect(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!.shape).toEqual([4, C]);
    expect(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape).toEqual([3 * C, 4]);
    expect(st.tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')!.shape).toEqual([2, C]);
    expect(st.tensors.get('base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight')!.shape).toEqual([4, 4 * C]);
    const ac = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
    expect(ac).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, fan_in_fan_out: true, use_dora: false });
    expect(Object.values(ac.rank_pattern)).toEqual([2]);
  });

  it('full fine-tuning → the tuned model in HF layout', async () => {
    const { config, resume } = await checkpointOf('full', {});
    const files = peftFiles(config, arch, resume);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(parseSafetensors(files['model.safetensors']).tensors.get('h.0.attn.c_attn.weight')!.shape).toEqual([
      C,
      3 * C,
    ]);
  });

  it('VeRA → a note saying why, no files PEFT would misread', async () => {
    const { config, resume } = await checkpointOf('vera', { rank: 4 });
    const files = peftFiles(config, arch, resume);
    expect(Object.keys(files)).toEqual(['NOT-EXPORTED.txt']);
    expect(new TextDecoder().decode(files['NOT-EXPORTED.txt'])).toMatch(/VeRA/);
  });
});
