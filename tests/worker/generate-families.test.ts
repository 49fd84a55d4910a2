/**
 * The page's Generate path (WorkerRunner.generate → sampleText) on a Llama-family run: base and tuned
 * sides decode with the KV cache (model/decoder-decode.ts, spied), stream one event per token, give the
 * text re-running the full forward gives, and Cancel stops after the token in flight.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { WorkerRunner } from '../../src/worker/runner';
import type { EngineEvent } from '../../src/worker/protocol';
import { parseRunConfig } from '../../src/engine/config';
import { DecoderKvDecoder } from '../../src/engine/model/decoder-decode';
import { sampleText } from '../../src/engine/generate';
import type { LanguageModel } from '../../src/engine/model/language-model';
import type { Trainer } from '../../src/engine/train';
import type { RunInputs } from '../../src/engine/inputs';

const config = (steps: number) =>
  parseRunConfig({
    model: {
      source: 'preset',
      id: 'micro',
      arch: {
        arch: 'llama',
        vocabSize: 256,
        contextLength: 32,
        nLayer: 2,
        nHead: 4,
        nKvHead: 2,
        nEmbd: 32,
        intermediateSize: 48,
        layerNormEps: 1e-5,
        ropeTheta: 10000,
        tokenizer: 'byte',
      },
    },
    dataset: { source: 'builtin', id: 'brown-fiction' },
    method: { id: 'lora', params: { rank: 4, alpha: 8 } },
    targets: { modules: ['default'], layers: null, rankOverrides: {} },
    train: { steps, batchSize: 2, contextLength: 16, lr: 3e-2 },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k: 4, eps: 0.5 },
    seed: 5,
  });

async function runToEnd(runner: WorkerRunner, events: EngineEvent[], runId: string, steps: number) {
  runner.start({ type: 'run', runId, config: config(steps) });
  for (let i = 0; i < 1200; i++) {
    const last = events.filter((e) => e.type === 'state' && e.runId === runId).at(-1) as
      Extract<EngineEvent, { type: 'state' }> | undefined;
    if (last && (last.state === 'done' || last.state === 'error' || last.state === 'stopped')) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('run did not finish');
}

afterEach(() => vi.restoreAllMocks());

describe('Generate on a Llama-family run', () => {
  it('both sides use the KV cache, stream, match the full forward, and cancel', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const runner = new WorkerRunner(gpu, (e) => events.push(e));
    const end = await runToEnd(runner, events, 'l', 4);
    expect(end.state, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('done');
    const append = vi.spyOn(DecoderKvDecoder.prototype, 'append');
    const ask = { type: 'generate' as const, prompt: 'The ', maxTokens: 10, temperature: 0, topK: 0, seed: 1 };
    await runner.generate(ask);
    expect(append).toHaveBeenCalledTimes(20); // 10 tokens per side, prompt prefill included in the first
    const gen = events.find((e) => e.type === 'generated') as Extract<EngineEvent, { type: 'generated' }>;
    const streamed = events.filter((e) => e.type === 'generating') as Extract<EngineEvent, { type: 'generating' }>[];
    expect(streamed.filter((e) => e.side === 'base').map((e) => e.tokens)).toEqual(
      [...Array(10).keys()].map((i) => i + 1),
    );
    expect(streamed.filter((e) => e.side === 'tuned').at(-1)!.text).toBe(gen.tuned);
    // the same text as re-running the full forward per token, on both models
    const held = runner as unknown as { baseModel: LanguageModel; trainer: Trainer; inputs: RunInputs };
    const o = { prompt: ask.prompt, maxTokens: 10, temperature: 0, topK: 0, seed: 1, cache: false };
    expect(await sampleText(gpu, held.baseModel, held.inputs.tokenizer, o)).toBe(gen.base);
    expect(await sampleText(gpu, held.trainer.model, held.inputs.tokenizer, o)).toBe(gen.tuned);
    expect(gen.tuned).not.toBe(gen.base); // the adapter changed the model

    // cancel after the third token: the text so far, flagged
    events.length = 0;
    const sink = new WorkerRunner(gpu, (e) => {
      events.push(e);
      if (e.type === 'generating' && e.tokens === 3) sink.cancelGenerate();
    });
    await runToEnd(sink, events, 'l2', 1);
    await sink.generate({ ...ask, maxTokens: 50 });
    const cancelled = events.find((e) => e.type === 'generated') as Extract<EngineEvent, { type: 'generated' }>;
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.tuned).toBe('');
    const base = events.filter((e) => e.type === 'generating' && e.side === 'base');
    expect(base).toHaveLength(3);
  }, 120_000);
});
