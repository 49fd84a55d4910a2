/**
 * The studio's engine lifecycle: check WebGPU on the page, start the worker, init it with the event
 * sink, and expose the remote API to actions. One engine per page. A lost device cannot be revived,
 * but the worker can get a new one: `resumeOnNewDevice` does that and resumes the run the loss cut off
 * from its last checkpoint, without a reload, so the run's history on screen simply continues.
 */
import { createEngineClient, eventSink, type EngineClient, type EngineRemote } from '../worker/client';
import { classifyError, errorText, preflightWebGpu } from './gpuSupport';
import { applyEngineEvent } from './store/actions';
import { useStudio } from './store';
import { flushWrites } from './persist';
import { resumeFromCheckpoint } from './runs';

let client: EngineClient | null = null;
let starting: Promise<void> | null = null;

export function engineApi(): EngineRemote | null {
  return useStudio.getState().engine === 'ready' && client ? client.api : null;
}

export function startEngine(): Promise<void> {
  starting ??= doStart();
  return starting;
}

async function doStart(): Promise<void> {
  const st = useStudio.getState();
  st.setEngine('checking');
  const nav =
    typeof navigator !== 'undefined' ? (navigator as unknown as Parameters<typeof preflightWebGpu>[0]) : undefined;
  const problem = await preflightWebGpu(nav, typeof window !== 'undefined' ? window.isSecureContext : true);
  if (problem) {
    st.setEngine('failed', { problem });
    return;
  }
  st.setEngine('starting');
  try {
    client = createEngineClient((message) => {
      useStudio
        .getState()
        .setEngine('failed', { problem: { kind: 'worker', message: `The engine worker stopped: ${message}` } });
    });
    const adapter = await client.api.init(eventSink(applyEngineEvent));
    useStudio.getState().setEngine('ready', { adapter, problem: null });
    exposeDebugHooks();
  } catch (e) {
    const p = classifyError(e);
    if (p.kind === 'device-lost')
      useStudio.getState().setDeviceLost({ name: 'GpuDeviceLostError', kind: 'device-lost', message: p.message });
    useStudio
      .getState()
      .setEngine('failed', { problem: p.kind === 'device-lost' ? { kind: 'internal', message: p.message } : p });
  }
}

export async function runSelfTest(): Promise<void> {
  const api = engineApi();
  const st = useStudio.getState();
  if (!api) {
    st.setSelfTest({ phase: 'error', message: 'The engine is not ready.' });
    return;
  }
  st.setSelfTest({ phase: 'running' });
  try {
    const report = await api.selfTest();
    useStudio.getState().setSelfTest({ phase: 'done', report });
  } catch (e) {
    useStudio.getState().setSelfTest({ phase: 'error', message: errorText(e) });
  }
}

let recovering = false;

/**
 * After a lost device (issue 17): a new adapter and device in the same worker, then the run the loss
 * cut off resumes from its newest checkpoint, same run id and history (resumeFromCheckpoint). The
 * resumed steps are deterministic: they equal the ones an uninterrupted run would have taken.
 */
export async function resumeOnNewDevice(): Promise<void> {
  const st = useStudio.getState();
  if (!client || recovering) return;
  recovering = true;
  try {
    const runId = st.engineRunId;
    try {
      const adapter = await client.api.recoverDevice();
      useStudio.getState().setEngine('ready', { adapter, problem: null });
    } catch (e) {
      st.notify(`Could not get a new GPU device: ${errorText(e)}. Reload the page to try again.`);
      return;
    }
    useStudio.getState().clearDeviceLost();
    const run = runId ? useStudio.getState().runs[runId] : undefined;
    // a run that had ended before the loss has nothing to resume
    if (!run || run.status === 'done' || run.status === 'stopped') return;
    if (run.checkpointStep === undefined) {
      st.notify(`“${run.name}” had no checkpoint yet when the device was lost: start it again.`);
      return;
    }
    await flushWrites(); // resume reads the newest checkpoint from IndexedDB: it must have landed there
    await resumeFromCheckpoint(run.id);
  } finally {
    recovering = false;
  }
}

/**
 * Debug/test hooks, added to `window.__rankscope` when the engine starts: `loseDevice(afterStep?)` destroys
 * the real GPU device in the worker (issue 17's lost-device e2e), `checkpointEvery(n)` checkpoints every
 * n steps instead of every few seconds (known checkpoint steps).
 */
function exposeDebugHooks(): void {
  if (typeof window === 'undefined') return;
  const w = window as unknown as { __rankscope?: Record<string, unknown> };
  w.__rankscope = { ...w.__rankscope, loseDevice: debugLoseDevice, checkpointEvery: debugCheckpointEvery };
}

async function debugLoseDevice(afterStep?: number): Promise<void> {
  await client?.api.loseDevice(afterStep === undefined ? {} : { afterStep });
}

async function debugCheckpointEvery(steps: number): Promise<void> {
  await client?.api.setCheckpointEvery(steps);
}
