/**
 * The engine worker: owns the GPU device, the model, the optimizer and the run. The page talks to it
 * only through the typed protocol in protocol.ts (via Comlink). Nothing here touches the DOM.
 */
import * as Comlink from 'comlink';
import { acquireGpu, type Gpu } from '../gpu/device';
import { serializeGpuError } from '../gpu/errors';
import { matmul } from '../gpu/kernels/matmul';
import { matmulRef } from '../engine/ref/matmul';
import { compareArrays } from '../engine/ref/compare';
import { Rng } from '../engine/rng';
import type { EngineApi, EngineEvent, SelfTestReport } from './protocol';
import { WorkerRunner } from './runner';

let gpu: Gpu | null = null;
let emit: (e: EngineEvent) => void | Promise<void> = () => {};
let runner: WorkerRunner | null = null;

function requireGpu(): Gpu {
  if (!gpu) throw new Error('engine not initialised: call init() first');
  return gpu;
}

const api: EngineApi = {
  async init(onEvent) {
    emit = onEvent;
    try {
      gpu = gpu ?? (await acquireGpu());
    } catch (e) {
      emit({ type: 'error', error: serializeGpuError(e) });
      throw e;
    }
    gpu.onError((e) => emit({ type: 'error', error: serializeGpuError(e) }));
    runner = new WorkerRunner(gpu, (e, transfer) => emit(transfer?.length ? Comlink.transfer(e, dedupe(transfer)) : e));
    // Nothing may fail only in the console: an error no caller awaited still reaches the page.
    self.addEventListener('unhandledrejection', (ev) => {
      void emit({ type: 'error', error: serializeGpuError((ev as PromiseRejectionEvent).reason) });
    });
    self.addEventListener('error', (ev) => {
      void emit({
        type: 'error',
        error: serializeGpuError((ev as ErrorEvent).error ?? new Error((ev as ErrorEvent).message)),
      });
    });
    emit({ type: 'ready', adapter: gpu.description });
    return gpu.description;
  },
  async run(cmd) {
    requireGpu();
    runner!.start(cmd);
  },
  async pause() {
    runner?.pause();
  },
  async resume() {
    runner?.resume();
  },
  async stop() {
    runner?.stop();
  },
  async generate(cmd) {
    await runner?.generate(cmd);
  },
  async cancelGenerate() {
    runner?.cancelGenerate();
  },
  async analyze(cmd) {
    await runner?.analyze(cmd);
  },
  async exportAdapter(opts) {
    if (!runner) throw new Error('engine not initialised: call init() first');
    const out = await runner.exportAdapter(opts);
    return Comlink.transfer(out, dedupe(out.files.map((f) => f.bytes.buffer)));
  },
  async selfTest(): Promise<SelfTestReport> {
    const g = requireGpu();
    const M = 33,
      K = 47,
      N = 65;
    const rng = new Rng(1, 'selftest');
    const a = rng.fillNormal(new Float32Array(M * K));
    const b = rng.fillNormal(new Float32Array(K * N));
    const t0 = performance.now();
    const ta = g.upload(a, [M, K], 'selftest:A');
    const tb = g.upload(b, [K, N], 'selftest:B');
    const tc = g.tensor([M, N], 'selftest:C');
    const enc = g.encoder('selftest');
    matmul(enc, { a: ta, b: tb, c: tc, M, N, K, variant: 'tiled' });
    enc.submit();
    const out = await g.read(tc);
    const ms = performance.now() - t0;
    for (const t of [ta, tb, tc]) g.release(t);
    const rep = compareArrays(out, matmulRef(a, b, { M, N, K }), {
      atol: 1e-4,
      rtol: 1e-4,
      label: 'matmul_tiled 33×47×65',
    });
    return {
      ok: rep.ok,
      kernel: 'matmul_tiled',
      shape: [M, K, N],
      maxAbsDiff: rep.maxAbsDiff,
      message: rep.message,
      ms,
    };
  },
};

/** A buffer may appear twice (views of one ArrayBuffer); transfer lists must not repeat. */
function dedupe(list: Transferable[]): Transferable[] {
  return [...new Set(list)];
}

Comlink.expose(api);
