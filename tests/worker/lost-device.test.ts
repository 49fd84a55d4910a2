/**
 * A real lost device in the worker's runner (issue 17 item 3), in Node over Dawn — the same code the page's
 * Web Worker runs (e2e/lost-device.spec.ts does it in Chromium). `loseDevice(afterStep)` destroys the
 * device for real; the run ends with a 'device-lost' error naming the step (not the failed readback that
 * shows first), its last checkpoint is the one before the loss, and a runner on a NEW device resumes from
 * it to the same losses as an uninterrupted run.
 */
import { describe, expect, it } from 'vitest';
import { acquireGpu } from '../../src/gpu/device';
import { nodeGpuEntry } from '../../src/gpu/node';
import { WorkerRunner } from '../../src/worker/runner';
import type { EngineEvent, ResumeState } from '../../src/worker/protocol';
import { parseRunConfig } from '../../src/engine/config';

const cfg = parseRunConfig({
  model: { source: 'builtin', id: 'micro' },
  dataset: { source: 'builtin', id: 'brown-fiction' },
  method: { id: 'lora', params: { rank: 4, alpha: 8 } },
  train: { steps: 6, batchSize: 2, contextLength: 16, lr: 1e-2 },
  eval: { every: 0, batches: 1 },
  analysis: { every: 0, k: 4, eps: 0.5 },
  seed: 3,
});

async function run(runner: WorkerRunner, events: EngineEvent[], runId: string, resume?: ResumeState) {
  runner.start({ type: 'run', runId, config: cfg, ...(resume ? { resume } : {}) });
  for (let i = 0; i < 1200; i++) {
    const last = events.filter((e) => e.type === 'state' && e.runId === runId).at(-1) as
      Extract<EngineEvent, { type: 'state' }> | undefined;
    if (last && ['done', 'error', 'stopped'].includes(last.state)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('run did not finish');
}

function losses(events: EngineEvent[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of events)
    if (e.type === 'metrics') e.batch.step.forEach((s, i) => s > 0 && out.set(s, e.batch.loss[i]));
  return out;
}

describe('a lost device in the worker', () => {
  it('device.destroy() after step 4: device-lost error, checkpoint 4 kept, a new device resumes to the same losses', async () => {
    const entry = await nodeGpuEntry();
    const events: EngineEvent[] = [];
    const lostGpu = await acquireGpu({ gpu: entry });
    const runner = new WorkerRunner(lostGpu, (e) => events.push(e), { checkpointEverySteps: 2 });
    runner.loseDevice(4);
    const end = await run(runner, events, 'lost');
    expect(end.state).toBe('error');
    const err = events.find((e) => e.type === 'error') as Extract<EngineEvent, { type: 'error' }>;
    expect(err.error.kind).toBe('device-lost');
    expect(err.error.message).toMatch(/^GPU device lost \(destroyed\)/);
    expect(err.step).toBe(4);
    const ckpts = events.filter((e) => e.type === 'checkpoint') as Extract<EngineEvent, { type: 'checkpoint' }>[];
    expect(ckpts.map((c) => c.resume.step)).toEqual([2, 4]);

    // a new device (as the page's recoverDevice gets), a fresh runner, resume from the step-4 checkpoint
    const fresh = await acquireGpu({ gpu: entry });
    const resumedEvents: EngineEvent[] = [];
    const resumed = await run(
      new WorkerRunner(fresh, (e) => resumedEvents.push(e)),
      resumedEvents,
      'lost',
      ckpts[1].resume,
    );
    expect(resumed.state).toBe('done');
    const refEvents: EngineEvent[] = [];
    expect((await run(new WorkerRunner(fresh, (e) => refEvents.push(e)), refEvents, 'ref')).state).toBe('done');
    const ref = losses(refEvents);
    const before = losses(events);
    const after = losses(resumedEvents);
    expect([...after.keys()]).toEqual([5, 6]);
    for (const s of [1, 2, 3, 4]) expect(before.get(s)).toBe(ref.get(s));
    for (const s of [5, 6]) expect(after.get(s)).toBe(ref.get(s));
    fresh.destroy();
  }, 120_000);
});
