/**
 * The page's handle on the engine worker: a Comlink wrap of `EngineApi` (protocol.ts) plus the one
 * proxied event callback. This file owns the Worker object's lifetime and nothing else: it holds no
 * UI state (the store does) and never interprets events (src/ui/store/actions.ts does).
 */
import * as Comlink from 'comlink';
import type { EngineApi, EngineEvent } from './protocol';

export type EngineRemote = Comlink.Remote<EngineApi>;

export interface EngineClient {
  api: EngineRemote;
  /** Ends the worker (and with it the GPU device). The client is unusable afterwards. */
  terminate(): void;
}

/**
 * Start the worker. Events from `init(onEvent)` are delivered to `onEvent` on the main thread.
 * A worker that fails to load (syntax error, 404) is reported through `onCrash` instead of hanging.
 */
export function createEngineClient(onCrash?: (message: string) => void): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), {
    type: 'module',
    name: 'rankscope-engine',
  });
  worker.addEventListener('error', (ev) => {
    ev.preventDefault();
    onCrash?.(ev.message || 'the engine worker failed to start');
  });
  worker.addEventListener('messageerror', () => onCrash?.('a message from the engine worker could not be decoded'));
  const api = Comlink.wrap<EngineApi>(worker);
  return {
    api,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/** Wrap an event callback so the worker can call it across the thread boundary. */
export function eventSink(onEvent: (e: EngineEvent) => void): (e: EngineEvent) => void {
  return Comlink.proxy(onEvent);
}
