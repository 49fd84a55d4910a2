/**
 * The studio's engine lifecycle: check WebGPU on the page, start the worker, init it with the event
 * sink, and expose the remote API to actions. One engine per page; a lost device needs a reload
 * (WebGPU cannot revive a lost device's resources, and the run state lives in IndexedDB anyway).
 */
import { createEngineClient, eventSink, type EngineClient, type EngineRemote } from '../worker/client';
import { classifyError, errorText, preflightWebGpu } from './gpuSupport';
import { applyEngineEvent } from './store/actions';
import { useStudio } from './store';

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
