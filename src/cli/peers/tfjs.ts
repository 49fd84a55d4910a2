/**
 * TensorFlow.js's WebGPU backend as the peer in benchmarks, running in this same Node process on the
 * same Dawn adapter as our kernels. Only the CLI's benchmarks import this (tfjs is a dev dependency).
 */
import { nodeGpuEntry } from '../../gpu/node';

export type Tf = typeof import('@tensorflow/tfjs-core');

let loaded: Promise<Tf> | null = null;

export function loadTfjsWebgpu(): Promise<Tf> {
  if (!loaded) {
    loaded = (async () => {
      const gpu = await nodeGpuEntry();
      // tfjs-backend-webgpu registers itself only when navigator.gpu exists at import time.
      const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
      if (!g.navigator)
        Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      // Keep tfjs's own console chatter (e.g. "Platform node has already been set") quiet.
      tf.env().set('IS_TEST', true);
      const ok = await tf.setBackend('webgpu');
      if (!ok) throw new Error('tfjs: the webgpu backend failed to initialise on this adapter');
      await tf.ready();
      return tf;
    })();
  }
  return loaded;
}

/** Median of an array of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
