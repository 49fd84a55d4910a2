/**
 * The worker's run loop, driven in Node over Dawn with the same code the page's Web Worker runs:
 * events arrive batched, spectra snapshots carry real analysis numbers, checkpoints resume exactly,
 * generation compares base and tuned, pause/stop are honoured, and a bad config becomes an error event.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { WorkerRunner } from '../../src/worker/runner';
import type { EngineEvent } from '../../src/worker/protocol';
import { parseRunConfig } from '../../src/engine/config';

function config(extra: Record<string, unknown> = {}) {
  return parseRunConfig({
    model: { source: 'builtin', id: 'micro' },
    dataset: { source: 'builtin', id: 'brown-fiction' },
    method: { id: 'lora', params: { rank: 4, alpha: 8 } },
    targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} },
    train: { steps: 6, batchSize: 2, contextLength: 16, lr: 1e-2 },
    eval: { every: 3, batches: 1 },
    analysis: { every: 3, k: 4, eps: 0.5 },
    seed: 5,
    ...extra,
  });
}

async function runToEnd(runner: WorkerRunner, events: EngineEvent[], runId: string, cfg = config()) {
  runner.start({ type: 'run', runId, config: cfg });
  for (let i = 0; i < 600; i++) {
    const last = events.filter((e) => e.type === 'state' && e.runId === runId).at(-1) as
      Extract<EngineEvent, { type: 'state' }> | undefined;
    if (last && (last.state === 'done' || last.state === 'error' || last.state === 'stopped')) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('run did not finish');
}

function losses(events: EngineEvent[], runId: string): number[] {
  return events
    .filter((e): e is Extract<EngineEvent, { type: 'metrics' }> => e.type === 'metrics' && e.runId === runId)
    .flatMap((e) => Array.from(e.batch.loss).filter((_, i) => e.batch.step[i] > 0)); // step 0 is the eval-only baseline row
}

describe('WorkerRunner', () => {
  it('runs LoRA end to end: prepared, batched metrics, spectra with real numbers, checkpoint, done', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const runner = new WorkerRunner(gpu, (e) => events.push(e));
    const end = await runToEnd(runner, events, 'r1');
    expect(end.state, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('done');
    const prepared = events.find((e) => e.type === 'prepared') as Extract<EngineEvent, { type: 'prepared' }>;
    expect(prepared.totalSteps).toBe(6);
    expect(prepared.matrices).toEqual(['h.0.attn.c_attn', 'h.0.mlp.c_fc', 'h.1.attn.c_attn', 'h.1.mlp.c_fc']);
    expect(prepared.memory.trainableParams).toBeGreaterThan(0);
    const l = losses(events, 'r1');
    expect(l).toHaveLength(6);
    expect(l.every(Number.isFinite)).toBe(true);
    const metrics = events.filter((e) => e.type === 'metrics') as Extract<EngineEvent, { type: 'metrics' }>[];
    const val = metrics.flatMap((m) => Array.from(m.batch.valLoss)).filter(Number.isFinite);
    const probe = metrics.flatMap((m) => Array.from(m.batch.probeLoss)).filter(Number.isFinite);
    expect(val.length).toBe(3); // step 0 (the untouched model), 3, 6
    expect(probe.length).toBe(3);
    expect(metrics[0].batch.step[0]).toBe(0);
    expect(metrics[0].batch.loss[0]).toBeNaN(); // no train loss before the first step
    expect(metrics[0].batch.valLoss[0]).toBe(val[0]);
    const spectra = events.filter((e) => e.type === 'spectra') as Extract<EngineEvent, { type: 'spectra' }>[];
    expect(spectra.length).toBe(3); // step 0, 3, 6
    const first = spectra[0].snapshots[0],
      last = spectra.at(-1)!.snapshots[0];
    expect(first.step).toBe(0);
    // At step 0 LoRA's B = 0: tuned = base exactly, ΔW = 0 and no intruders.
    expect(Array.from(first.sigmaTuned)).toEqual(Array.from(first.sigmaBase));
    expect(first.intruders.count).toBe(0);
    expect(Math.max(...first.sigmaDelta)).toBe(0);
    // After training, ΔW is nonzero and of rank ≤ 4 (LoRA rank).
    expect(last.step).toBe(6);
    const d = Array.from(last.sigmaDelta);
    expect(d[0]).toBeGreaterThan(0);
    expect(d.slice(4).every((s) => s <= d[0] * 1e-3)).toBe(true);
    expect(last.erank).toBeGreaterThan(1);
    expect(last.overlap.length).toBe(last.intruders.k * last.overlapCols);
    expect(events.some((e) => e.type === 'checkpoint')).toBe(true);
    // Every checkpoint arrives after the metrics of its steps (the page stores both; history must not lag).
    let seen = 0;
    for (const e of events) {
      if (e.type === 'metrics') seen = Math.max(seen, ...Array.from(e.batch.step));
      if (e.type === 'checkpoint') expect(e.resume.step).toBeLessThanOrEqual(seen);
    }
    const done = events.find((e) => e.type === 'done') as Extract<EngineEvent, { type: 'done' }>;
    expect(Math.fround(done.summary.finalLoss as number)).toBe(l.at(-1));
    // The page's export: PEFT files for LoRA, the merged model on request.
    const peft = await runner.exportAdapter({});
    expect(peft.kind).toBe('peft');
    expect(peft.files.map((f) => f.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const cfg = JSON.parse(new TextDecoder().decode(peft.files.find((f) => f.name === 'adapter_config.json')!.bytes));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, fan_in_fan_out: true });
    const merged = await runner.exportAdapter({ merged: true });
    expect(merged.kind).toBe('merged');
    expect(merged.files.map((f) => f.name)).toContain('model.safetensors');
  });

  it('same config and seed reproduce identical losses; a checkpoint resumes to the same losses', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const runner = new WorkerRunner(gpu, (e) => events.push(e));
    // Long enough that the pause below lands mid-run even on a fast GPU.
    const cfg = config({
      analysis: { every: 0, k: 4, eps: 0.5 },
      eval: { every: 0, batches: 1 },
      train: { steps: 60, batchSize: 2, contextLength: 16, lr: 1e-2 },
    });
    await runToEnd(runner, events, 'a', cfg);
    await runToEnd(runner, events, 'b', cfg);
    expect(losses(events, 'b')).toEqual(losses(events, 'a'));
    // Pause a run of the same config mid-way: pausing checkpoints; resume a fresh run from it.
    runner.start({ type: 'run', runId: 'c', config: cfg });
    for (let i = 0; i < 600 && !events.some((e) => e.type === 'metrics' && e.runId === 'c'); i++)
      await new Promise((r) => setTimeout(r, 5));
    runner.pause();
    for (let i = 0; i < 600 && !events.some((e) => e.type === 'state' && e.runId === 'c' && e.state === 'paused'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const ckpt = events.filter((e) => e.type === 'checkpoint' && e.runId === 'c').at(-1) as Extract<
      EngineEvent,
      { type: 'checkpoint' }
    >;
    const s = ckpt.resume.step;
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(60);
    runner.stop();
    for (let i = 0; i < 600 && !events.some((e) => e.type === 'state' && e.runId === 'c' && e.state === 'stopped'); i++)
      await new Promise((r) => setTimeout(r, 20));
    runner.start({ type: 'run', runId: 'd', config: cfg, resume: ckpt.resume });
    for (let i = 0; i < 600 && !events.some((e) => e.type === 'done' && e.runId === 'd'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(losses(events, 'd')).toEqual(losses(events, 'a').slice(s));
  });

  it('generates from base and tuned side by side, honours stop, and reports a bad config as an error event', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const runner = new WorkerRunner(gpu, (e) => events.push(e));
    await runToEnd(runner, events, 'g', config({ analysis: { every: 0, k: 4, eps: 0.5 } }));
    await runner.generate({ type: 'generate', prompt: 'The ', maxTokens: 8, temperature: 0, topK: 0, seed: 1 });
    const gen = events.find((e) => e.type === 'generated') as Extract<EngineEvent, { type: 'generated' }>;
    expect(gen.base.length).toBeGreaterThan(0);
    expect(gen.tuned.length).toBeGreaterThan(0);
    // streamed: one 'generating' event per token, per side, the last one carrying the final text
    const streamed = events.filter((e) => e.type === 'generating') as Extract<EngineEvent, { type: 'generating' }>[];
    expect(streamed.filter((e) => e.side === 'base').map((e) => e.tokens)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(streamed.filter((e) => e.side === 'base').at(-1)!.text).toBe(gen.base);
    expect(streamed.filter((e) => e.side === 'tuned').at(-1)!.text).toBe(gen.tuned);
    // cancel: stops after the token in flight, keeps the text so far, says so
    events.length = 0;
    const cancelAt = (e: EngineEvent) => e.type === 'generating' && e.tokens === 3;
    const sink = new WorkerRunner(gpu, (e) => {
      events.push(e);
      if (cancelAt(e)) sink.cancelGenerate();
    });
    await runToEnd(sink, events, 'g2', config({ analysis: { every: 0, k: 4, eps: 0.5 }, train: { steps: 1 } }));
    await sink.generate({ type: 'generate', prompt: 'The ', maxTokens: 50, temperature: 0, topK: 0, seed: 1 });
    const cancelled = events.find((e) => e.type === 'generated') as Extract<EngineEvent, { type: 'generated' }>;
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.base.length).toBe(3);
    expect(cancelled.tuned).toBe('');

    runner.start({
      type: 'run',
      runId: 's',
      config: config({
        train: { steps: 500, batchSize: 1, contextLength: 8, lr: 1e-3 },
        analysis: { every: 0, k: 4, eps: 0.5 },
      }),
    });
    await new Promise((r) => setTimeout(r, 1500));
    runner.stop();
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'state' && e.runId === 's' && e.state === 'stopped'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(losses(events, 's').length).toBeLessThan(500);

    const end = await runToEnd(runner, events, 'bad', config({ method: { id: 'lora', params: { rank: 0 } } }));
    expect(end.state).toBe('error');
    const err = events.find((e) => e.type === 'error' && e.runId === 'bad') as Extract<EngineEvent, { type: 'error' }>;
    expect(err.error.message).toMatch(/rank/);
  });

  it('EVA reports its per-layer rank allocation to the page (the spectra view plots it)', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const runner = new WorkerRunner(gpu, (e) => events.push(e));
    const end = await runToEnd(
      runner,
      events,
      'eva',
      config({
        method: { id: 'eva', params: { rank: 4, alpha: 8 } },
        train: { steps: 2, batchSize: 2, contextLength: 16, lr: 1e-2 },
        analysis: { every: 0, k: 4, eps: 0.5 },
      }),
    );
    expect(end.state, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('done');
    const prepared = events.find((e) => e.type === 'prepared') as Extract<EngineEvent, { type: 'prepared' }>;
    const alloc = prepared.rankAllocation!;
    expect(Object.keys(alloc).length).toBeGreaterThan(0);
    // The budget is rank × targets (4 targets × r = 4), redistributed by explained variance.
    expect(Object.values(alloc).reduce((a, b) => a + b, 0)).toBe(16);
  });

  // Issue 17: methods whose state() returns arrays they keep (PiSSA/MiLoRA/LoRA-GA's A0/B0, VeRA's shared
  // projections) detached them on the first transferred checkpoint; every later checkpoint then failed in
  // the console only. The emit here transfers exactly as postMessage does.
  for (const id of ['pissa', 'vera', 'lora-ga', 'milora']) {
    it(`${id}: every checkpoint reaches the page when buffers are transferred, and the last one holds the final step`, async () => {
      const gpu = await testGpu();
      const events: EngineEvent[] = [];
      const transferEmit = (e: EngineEvent, transfer?: Transferable[]) => {
        events.push(transfer?.length ? structuredClone(e, { transfer: [...new Set(transfer)] as Transferable[] }) : e);
      };
      const runner = new WorkerRunner(gpu, transferEmit, { checkpointIntervalMs: 0 });
      const cfg = config({
        method: { id, params: id === 'vera' ? { rank: 4 } : { rank: 4, alpha: 8 } },
        train: { steps: 3, batchSize: 2, contextLength: 16, lr: 1e-2 },
        analysis: { every: 0, k: 4, eps: 0.5 },
        eval: { every: 0, batches: 1 },
      });
      const end = await runToEnd(runner, events, id, cfg);
      expect(end.state, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('done');
      const cps = events.filter((e): e is Extract<EngineEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
      expect(cps.map((c) => c.resume.step)).toEqual([1, 2, 3, 3]);
      const last = cps.at(-1)!.resume.adapter!;
      for (const t of Object.values(last.tensors)) expect(t.length).toBeGreaterThan(0);
    });
  }

  // A method's per-step figures (AdaLoRA's budget, LoRA-Pro's gradient gap) travel as extra columns of the
  // metrics batch; their buffers must be in the transfer list as buffers (an object there made postMessage
  // throw in the worker, and the page got no losses at all).
  it('adalora: metrics batches with extra columns transfer, and every step reaches the page', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const transferEmit = (e: EngineEvent, transfer?: Transferable[]) => {
      events.push(transfer?.length ? structuredClone(e, { transfer: [...new Set(transfer)] as Transferable[] }) : e);
    };
    const runner = new WorkerRunner(gpu, transferEmit, { checkpointIntervalMs: 0 });
    const cfg = config({
      method: { id: 'adalora', params: {} },
      train: { steps: 3, batchSize: 2, contextLength: 16, lr: 1e-2 },
      analysis: { every: 0, k: 4, eps: 0.5 },
      eval: { every: 0, batches: 1 },
    });
    const end = await runToEnd(runner, events, 'adalora', cfg);
    expect(end.state, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('done');
    const batches = events.filter((e): e is Extract<EngineEvent, { type: 'metrics' }> => e.type === 'metrics');
    expect(batches.flatMap((b) => [...b.batch.step])).toEqual([1, 2, 3]);
    expect(batches.some((b) => b.batch.extra && Object.keys(b.batch.extra).length > 0)).toBe(true);
  });

  it('a checkpoint that cannot be delivered stops the run with "checkpoint failed at step N", never "done"', async () => {
    const gpu = await testGpu();
    const events: EngineEvent[] = [];
    const emit = (e: EngineEvent) => {
      if (e.type === 'checkpoint' && e.resume.step === 2)
        return Promise.reject(new Error('DataCloneError: ArrayBuffer is already detached'));
      events.push(e);
    };
    const runner = new WorkerRunner(gpu, emit, { checkpointIntervalMs: 0 });
    const cfg = config({
      train: { steps: 4, batchSize: 2, contextLength: 16, lr: 1e-2 },
      analysis: { every: 0, k: 4, eps: 0.5 },
      eval: { every: 0, batches: 1 },
    });
    const end = await runToEnd(runner, events, 'cpfail', cfg);
    expect(end.state).toBe('error');
    expect(end.message).toMatch(/checkpoint failed at step 2/);
    const err = events.find((e) => e.type === 'error' && e.runId === 'cpfail') as Extract<
      EngineEvent,
      { type: 'error' }
    >;
    expect(err.error.message).toMatch(/checkpoint failed at step 2: DataCloneError/);
  });
});
