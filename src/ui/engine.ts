/**
 * The studio's engine lifecycle: check WebGPU on the page, start the worker, init it with the event
 * sink the caller hands in (boot.ts passes the store's applyEngineEvent), and expose the remote API.
 * One engine per page. A lost device cannot be revived, but the worker can get a new one:
 * `recoverDevice` does that; run control (runs.ts, resumeOnNewDevice) then resumes the run the loss cut
 * off. This module imports neither the store's actions nor run control, so neither is in an import cycle.
 */
import { createEngineClient, eventSink, type EngineClient, type EngineRemote } from '../worker/client';
import type { EngineEvent } from '../worker/protocol';
import { classifyError, errorText, preflightWebGpu } from './gpuSupport';
import { useStudio } from './store';

let client: EngineClient | null = null;
let starting: Promise<void> | null = null;
/** The event sink the engine was started with (restartEngine starts the new worker with it). */
let sink: ((e: EngineEvent) => void) | null = null;

export function engineApi(): EngineRemote | null {
  return useStudio.getState().engine === 'ready' && client ? client.api : null;
}

/** Start the engine once; every event the worker sends goes to `onEvent`. */
export function startEngine(onEvent: (e: EngineEvent) => void): Promise<void> {
  sink = onEvent;
  starting ??= doStart(onEvent);
  return starting;
}

/**
 * End the worker — its device and any synchronous work stuck in it (a run preparing inside one long
 * call cannot answer Stop; runs.ts stopRun) — and start a fresh one. The page's state is untouched.
 */
export async function restartEngine(): Promise<void> {
  if (!sink) return;
  client?.terminate();
  client = null;
  starting = null;
  await startEngine(sink);
}

async function doStart(onEvent: (e: EngineEvent) => void): Promise<void> {
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
    const adapter = await client.api.init(eventSink(onEvent));
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

/**
 * After a lost device (issue 17): a new adapter and device in the same worker (pipelines and buffers
 * are per device, nothing of the old one is reused). False, with a notice, when none can be had.
 */
export async function recoverDevice(): Promise<boolean> {
  if (!client) return false;
  try {
    const adapter = await client.api.recoverDevice();
    useStudio.getState().setEngine('ready', { adapter, problem: null });
    return true;
  } catch (e) {
    useStudio.getState().notify(`Could not get a new GPU device: ${errorText(e)}. Reload the page to try again.`);
    return false;
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
