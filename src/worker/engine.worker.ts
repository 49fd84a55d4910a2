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
import { previewData } from '../engine/data/preview';
import { snapshotDownload } from '../engine/io/hub';
import { deleteFromLibrary, listLibrary, opfsStore, snapshotFiles } from './model-library';
import type {
  AdapterAnalysisRequest,
  AdapterAnalysisResult,
  EngineApi,
  EngineEvent,
  LocalFiles,
  SelfTestReport,
} from './protocol';
import { analyzeAdapter } from './adapter-analysis';
import { pythonExperimentFiles, pythonProjectFiles } from './python-export';
import { extractRun, mitigateRun } from './run-tools';
import type { RunConfig } from '../engine/config';
import { WorkerRunner } from './runner';
import { resolveInputs } from '../engine/inputs';
import { Trainer } from '../engine/train';
import { fitMatrix } from '../engine/experiments/matrix-fit';
import { checkMethod, methodCatalog } from './methods';
import { peftFiles } from './peft-files';
import { measureExperimentRun } from './experiment-measure';
import { expandExperiment } from '../engine/experiments/schema';

let gpu: Gpu | null = null;
let emit: (e: EngineEvent) => void | Promise<void> = () => {};
let runner: WorkerRunner | null = null;
let hubAbort: AbortController | null = null;
/** Debug/test setting carried over to every runner (setCheckpointEvery). */
let checkpointEverySteps = 0;

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
    attach(gpu);
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
  async methods() {
    return methodCatalog();
  },
  async checkMethod(config) {
    return checkMethod(config);
  },
  async peftFiles(req) {
    const files = peftFiles(req.config, req.arch, req.resume);
    return Comlink.transfer(files, dedupe(Object.values(files).map((b) => b.buffer)));
  },
  async recoverDevice() {
    // Whatever the old runner held lived on the lost device: free it (a no-op on a destroyed one).
    await runner?.dispose();
    runner = null;
    try {
      gpu = await acquireGpu();
    } catch (e) {
      gpu = null;
      emit({ type: 'error', error: serializeGpuError(e) });
      throw e;
    }
    attach(gpu);
    emit({ type: 'ready', adapter: gpu.description });
    return gpu.description;
  },
  async loseDevice(opts) {
    const g = requireGpu();
    if (runner) runner.loseDevice(opts?.afterStep);
    else g.device.destroy();
  },
  async setCheckpointEvery(steps) {
    checkpointEverySteps = Math.max(0, Math.floor(steps));
    if (runner) runner.checkpointEverySteps = checkpointEverySteps;
  },
  async run(cmd) {
    requireGpu();
    runner!.start({ ...cmd, modelFiles: await withLibraryFiles(cmd.config, cmd.modelFiles) });
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
    const src = cmd.source;
    const source = src && { ...src, modelFiles: await withLibraryFiles(src.config, src.modelFiles) };
    await runner?.generate(source ? { ...cmd, source } : cmd);
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
  async hubDownload(cmd) {
    hubAbort?.abort();
    const abort = new AbortController();
    hubAbort = abort;
    try {
      const r = await snapshotDownload(cmd.spec, opfsStore, {
        endpoint: cmd.endpoint,
        token: cmd.token || null,
        signal: abort.signal,
        onProgress: (progress) => void emit({ type: 'download', spec: cmd.spec, progress }),
      });
      return { repo: r.ref.repo, commit: r.commit, files: r.files, fromCache: r.fromCache };
    } finally {
      if (hubAbort === abort) hubAbort = null;
    }
  },
  async hubCancel() {
    hubAbort?.abort();
  },
  async libraryList() {
    return listLibrary();
  },
  async libraryDelete(repo) {
    await deleteFromLibrary(repo);
  },
  async libraryManifest(repo, commit) {
    return (await snapshotFiles(repo, commit)).map((f) => ({ name: f.name, sha256: f.sha256, size: f.bytes.length }));
  },
  async libraryConfig(repo, commit) {
    const bytes = await opfsStore.readSnapshotFile(repo, commit, 'config.json');
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  },
  async extractRun(req) {
    return extractRun(requireGpu(), await withModel(req));
  },
  async mitigateRun(req) {
    return mitigateRun(requireGpu(), await withModel(req));
  },
  async experimentMeasure(req) {
    return measureExperimentRun(requireGpu(), await withModel(req));
  },
  async pythonProject(req) {
    const model = await withLibraryFiles(req.config, req.modelFiles);
    const out = await pythonProjectFiles(req, model?.files);
    return Comlink.transfer(out, dedupe(out.files.map((f) => f.bytes.buffer)));
  },
  async pythonExperiment(req) {
    const first = expandExperiment(req.experiment).find((r) => r.kind === 'train');
    const model = first?.kind === 'train' ? await withLibraryFiles(first.config, req.modelFiles) : req.modelFiles;
    const out = await pythonExperimentFiles(req, model?.files);
    return Comlink.transfer(out, dedupe(out.files.map((f) => f.bytes.buffer)));
  },
  async analyzeAdapter(req) {
    return analyzeAdapterCommand(req);
  },
  async previewData(cmd) {
    const modelFiles = await withLibraryFiles(cmd.config, cmd.modelFiles);
    return previewData(cmd.config, { modelFiles: modelFiles?.files, datasetFile: cmd.datasetFile }, cmd.n ?? 3);
  },
  async calibrate(cmd) {
    const g = requireGpu();
    const t0 = performance.now();
    const modelFiles = await withLibraryFiles(cmd.config, undefined);
    const inputs = await resolveInputs(cmd.config, { modelFiles: modelFiles?.files });
    const trainer = await Trainer.create(g, inputs);
    try {
      const prepareMs = performance.now() - t0;
      await trainer.trainStep(); // warm-up: pipelines compile on first use
      const times: number[] = [];
      const n = Math.max(1, Math.min(8, cmd.steps ?? 2, cmd.config.train.steps - 1));
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await trainer.trainStep();
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      let evalMs = 0;
      if (cmd.config.eval.every > 0) {
        const s = performance.now();
        await trainer.evaluate(inputs.data.val, cmd.config.eval.batches);
        evalMs = performance.now() - s;
      }
      return { prepareMs, stepMs: times[Math.floor(times.length / 2)], evalMs, adapter: g.name };
    } finally {
      trainer.dispose();
    }
  },
  async fitMatrix(cmd) {
    return fitMatrix(requireGpu(), cmd.fit);
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
    matmul(enc, { a: ta, b: tb, c: tc, M, N, K }); // the variant training uses (auto: the vec4 register-blocked kernels)
    enc.submit();
    const out = await g.read(tc);
    const ms = performance.now() - t0;
    for (const t of [ta, tb, tc]) g.release(t);
    const rep = compareArrays(out, matmulRef(a, b, { M, N, K }), {
      atol: 1e-4,
      rtol: 1e-4,
      label: 'matmul 33×47×65',
    });
    return {
      ok: rep.ok,
      kernel: 'matmul (auto)',
      shape: [M, K, N],
      maxAbsDiff: rep.maxAbsDiff,
      message: rep.message,
      ms,
    };
  },
};

/** Wire a (new) device to the page: its asynchronous failures become events, and a runner drives runs on it. */
function attach(g: Gpu): void {
  g.onError((e) => emit({ type: 'error', error: serializeGpuError(e) }));
  runner = new WorkerRunner(g, (e, transfer) => emit(transfer?.length ? Comlink.transfer(e, dedupe(transfer)) : e), {
    checkpointEverySteps,
  });
}

/** Adapter analysis (issue 11 item 5): shares the hub download's cancel; snapshots transferred. */
async function analyzeAdapterCommand(req: AdapterAnalysisRequest): Promise<AdapterAnalysisResult> {
  hubAbort?.abort();
  const abort = new AbortController();
  hubAbort = abort;
  try {
    const out = await analyzeAdapter(
      gpu,
      req,
      (spec, progress) => void emit({ type: 'download', spec, progress }),
      abort.signal,
    );
    const transfer = out.snapshots.flatMap((s) => [
      s.sigmaBase.buffer,
      s.sigmaTuned.buffer,
      s.sigmaDelta.buffer,
      s.overlap.buffer,
      s.intruders.maxCos.buffer,
    ]);
    return Comlink.transfer(out, dedupe(transfer));
  } finally {
    if (hubAbort === abort) hubAbort = null;
  }
}

/** A hub model from the library ("hf:owner/name@commit"): its files are read here, not sent by the page. */
async function withLibraryFiles(config: RunConfig, given: LocalFiles | undefined): Promise<LocalFiles | undefined> {
  const hub = config.model.source === 'local' ? /^hf:([^@]+)@([0-9a-f]{40})$/.exec(config.model.id) : null;
  if (!hub || given?.files.length) return given;
  return { files: await snapshotFiles(hub[1], hub[2]) };
}

/** A request's model files, from the library for a hub model. */
async function withModel<T extends { config: RunConfig; modelFiles?: LocalFiles }>(req: T): Promise<T> {
  return { ...req, modelFiles: await withLibraryFiles(req.config, req.modelFiles) };
}

/** A buffer may appear twice (views of one ArrayBuffer); transfer lists must not repeat. */
function dedupe(list: Transferable[]): Transferable[] {
  return [...new Set(list)];
}

Comlink.expose(api);
