/**
 * Generation from any stored run (issue 16): a fresh runner (the page after a reload) given a run's
 * config and its last checkpoint rebuilds the base and tuned models and samples exactly what the
 * runner that trained the run sampled; a runner that holds another run does the same; the events
 * carry the run id.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { WorkerRunner } from '../../src/worker/runner';
import type { EngineEvent, ResumeState } from '../../src/worker/protocol';
import { parseRunConfig } from '../../src/engine/config';

const cfg = (seed: number) =>
  parseRunConfig({
    model: { source: 'builtin', id: 'micro' },
    dataset: { source: 'builtin', id: 'brown-fiction' },
    method: { id: 'lora', params: { rank: 4, alpha: 8 } },
    targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} },
    train: { steps: 4, batchSize: 2, contextLength: 16, lr: 3e-2 },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k: 4, eps: 0.5 },
    seed,
  });

async function train(runner: WorkerRunner, events: EngineEvent[], runId: string, seed: number): Promise<ResumeState> {
  runner.start({ type: 'run', runId, config: cfg(seed) });
  for (let i = 0; i < 1200; i++) {
    if (events.some((e) => e.type === 'state' && e.runId === runId && e.state === 'done')) break;
    const err = events.find((e) => e.type === 'error');
    if (err) throw new Error(JSON.stringify(err));
    await new Promise((r) => setTimeout(r, 25));
  }
  const ck = events.filter((e) => e.type === 'checkpoint' && e.runId === runId).at(-1);
  if (!ck || ck.type !== 'checkpoint') throw new Error('no checkpoint');
  // the page stores a structured clone (IndexedDB), not the transferred buffers
  return structuredClone(ck.resume);
}

const ask = {
  type: 'generate' as const,
  prompt: 'The ',
  maxTokens: 12,
  temperature: 0.8,
  topK: 20,
  topP: 0.9,
  seed: 3,
};
const generated = (events: EngineEvent[]) =>
  events.filter((e): e is Extract<EngineEvent, { type: 'generated' }> => e.type === 'generated').at(-1)!;

describe('generation from a stored run', () => {
  it('a fresh runner rebuilds the run from its checkpoint and samples the same text; events carry the run id', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const trainer = new WorkerRunner(gpu, (e) => events.push(e));
    const resume = await train(trainer, events, 'a', 7);
    await trainer.generate({ ...ask, runId: 'a' });
    const held = generated(events);
    expect(held.runId).toBe('a');
    expect(held.tuned).not.toBe(held.base); // the tuned model is not the base

    // after a reload: nothing held, the page sends config + checkpoint
    const fresh: EngineEvent[] = [];
    const reloaded = new WorkerRunner(gpu, (e) => fresh.push(e));
    await reloaded.generate({ ...ask, runId: 'a', source: { config: cfg(7), resume } });
    const again = generated(fresh);
    expect(again.runId).toBe('a');
    expect(again.base).toBe(held.base);
    expect(again.tuned).toBe(held.tuned);
    const streamed = fresh.filter((e) => e.type === 'generating');
    expect(streamed.length).toBe(24);
    expect(streamed.every((e) => e.type === 'generating' && e.runId === 'a')).toBe(true);

    // a runner holding another run still samples the stored one exactly
    await train(reloaded, fresh, 'b', 8);
    await reloaded.generate({ ...ask, runId: 'a', source: { config: cfg(7), resume } });
    expect(generated(fresh).tuned).toBe(held.tuned);
    await reloaded.generate({ ...ask, runId: 'b' });
    expect(generated(fresh).runId).toBe('b');
    expect(generated(fresh).tuned).not.toBe(held.tuned);

    // without a checkpoint, a run the runner does not hold is an error event, not a crash
    const before = fresh.length;
    await reloaded.generate({ ...ask, runId: 'zzz' });
    expect(fresh.slice(before).some((e) => e.type === 'error')).toBe(true);
  }, 120_000);
});
