/**
 * Run control: start, pause, resume, stop, resume after a reload or a lost device from the last
 * checkpoint, reproduce, generate, analyze. The stored history (load, rename, delete) is ./runHistory.ts. Everything here talks to the engine
 * through the protocol and to the store through its actions; views only call these functions.
 */
import type { RunConfig } from '../engine/config';
import { adapterName } from '../worker/gpu-info';
import type { Command, GenerateSource } from '../worker/protocol';
import { getCheckpoint, putRun } from './db';
import { runName } from './draft';
import { engineApi, recoverDevice, restartEngine } from './engine';
import { errorText } from './gpuSupport';
import { currentDatasetFile, currentModelFiles, restoreDatasetFile, restoreModelFiles } from './localFiles';
import { flushWrites, persist } from './persist';
import { lossFingerprint, type LossFingerprint } from './share';
import { flushMetrics } from './store/actions';
import { emptyMetrics, emptySpectra, truncateMetrics } from './store/runData';
import { ensureRunData, isActive, markRunLoaded } from './runHistory';
import { useStudio, type StudioState } from './store';
import type { RunRecord } from './types';

/** The run the engine is busy with, if any. */
export function busyRun(): RunRecord | null {
  const st = useStudio.getState();
  const r = st.engineRunId ? st.runs[st.engineRunId] : null;
  return isActive(r) ? r : null;
}

/**
 * Why Start training is blocked by the engine being busy — a run in progress, or a worker call that is
 * not a run (engineTask: an experiment's measurement) — or null. A selector: StartBar reads it.
 */
export function engineBusy(s: StudioState): string | null {
  const r = s.engineRunId ? s.runs[s.engineRunId] : null;
  if (isActive(r)) return 'A run is in progress.';
  return s.engineTask;
}

function newRunId(): string {
  const rnd = globalThis.crypto?.getRandomValues
    ? globalThis.crypto.getRandomValues(new Uint32Array(1))[0].toString(36)
    : Math.random().toString(36).slice(2, 8);
  return `run-${Date.now().toString(36)}-${rnd}`;
}

/** Files the engine needs for a config, from memory or IndexedDB; a message when they are missing. */
export async function sourcesFor(
  config: RunConfig,
): Promise<{ cmd: Partial<Extract<Command, { type: 'run' }>>; missing: string | null }> {
  const cmd: Partial<Extract<Command, { type: 'run' }>> = {};
  if (config.model.source === 'local' && config.model.id.startsWith('hf:')) {
    // a hub model: the worker reads it from the model library
    if (!/^hf:[^@]+@[0-9a-f]{40}$/.test(config.model.id))
      return { cmd, missing: 'Choose a Hugging Face model: download it or pick it from the library under Model.' };
  } else if (config.model.source === 'local') {
    const want = config.model.files ?? [];
    let have = currentModelFiles();
    const ok = (fs: typeof have) =>
      want.length > 0 && want.every((w) => fs.some((f) => f.name === w.name && f.sha256 === w.sha256));
    if (!ok(have) && want.length) {
      await restoreModelFiles(config.model.id, want);
      have = currentModelFiles();
    }
    if (!ok(have)) {
      return {
        cmd,
        missing: `This run needs the model files ${want.map((w) => `${w.name} (sha256 ${w.sha256.slice(0, 12)}…)`).join(', ') || 'config.json + model.safetensors'}: choose them under Model.`,
      };
    }
    cmd.modelFiles = { files: have.map((f) => ({ name: f.name, bytes: f.bytes })) };
  }
  if (config.dataset.source === 'upload') {
    let f = currentDatasetFile();
    const want = config.dataset.hash;
    if ((!f || (want && f.sha256 !== want)) && want) {
      await restoreDatasetFile(config.dataset.id, want);
      f = currentDatasetFile();
    }
    if (!f || (want && f.sha256 !== want)) {
      return {
        cmd,
        missing: `This run needs the dataset file ${config.dataset.id}${want ? ` (sha256 ${want.slice(0, 12)}…)` : ''}: choose it under Dataset.`,
      };
    }
    cmd.datasetFile = { name: f.name, bytes: f.bytes };
  }
  return { cmd, missing: null };
}

export async function startRun(
  config: RunConfig,
  opts: { reproduces?: { fingerprint: LossFingerprint | null }; name?: string } = {},
): Promise<string | null> {
  const st = useStudio.getState();
  const api = engineApi();
  if (!api || !st.adapter) {
    st.notify('The engine is not ready.');
    return null;
  }
  const busy = busyRun();
  if (busy) {
    st.notify(`“${busy.name}” is still running: stop it first.`);
    return null;
  }
  if (st.engineTask) {
    st.notify(`The engine is busy (${st.engineTask}): start again when it is done.`);
    return null;
  }
  const { cmd, missing } = await sourcesFor(config);
  if (missing) {
    st.notify(missing);
    return null;
  }
  const id = newRunId();
  const now = Date.now();
  const record: RunRecord = {
    id,
    name: opts.name ?? config.name ?? runName(config),
    config,
    createdAt: now,
    updatedAt: now,
    status: 'queued',
    step: 0,
    totalSteps: config.train.steps,
    adapterName: adapterName(st.adapter),
    matrices: [],
    ...(opts.reproduces ? { reproduces: opts.reproduces } : {}),
  };
  st.upsertRun(record);
  st.setRunData(id, { metrics: emptyMetrics(), spectra: emptySpectra() });
  markRunLoaded(id);
  st.selectRun(id);
  st.setEngineRun(id);
  persist(putRun(record), 'the run');
  try {
    await api.run({ type: 'run', runId: id, config, ...cmd });
  } catch (e) {
    failRun(id, e);
  }
  return id;
}

function failRun(id: string, e: unknown): void {
  const st = useStudio.getState();
  const message = errorText(e);
  st.upsertRun({ id, status: 'error', error: { name: 'Error', kind: 'internal', message } });
  const r = useStudio.getState().runs[id];
  if (r) persist(putRun(r), 'the run');
  st.notify(`Run could not start: ${message}`);
}

export async function pauseRun(): Promise<void> {
  await engineApi()?.pause();
}

export async function resumeRun(): Promise<void> {
  await engineApi()?.resume();
}

/** How long Stop waits for the worker to answer before a run still preparing is stopped by restarting it. */
const STOP_ANSWER_MS = 2000;

/**
 * Stop the active run. The worker takes Stop between two steps; while it prepares a run, though, it may
 * be inside one long synchronous call (tokenizing a large file, a slow tokenizer.json regex) and cannot
 * answer. Then the worker is ended and a fresh one started (restartEngine) and the run is marked
 * stopped: nothing of it is lost, it had no step and no checkpoint yet.
 */
export async function stopRun(): Promise<void> {
  const api = engineApi();
  if (!api) return;
  const run = busyRun();
  const answered = await Promise.race([
    api.stop().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), STOP_ANSWER_MS)),
  ]);
  const now = run ? useStudio.getState().runs[run.id] : undefined;
  if (answered || !now || now.status !== 'preparing') return;
  await restartEngine();
  useStudio.getState().upsertRun({
    id: now.id,
    status: 'stopped',
    message: 'stopped while preparing (tokenizing or loading): the engine was restarted to stop it',
  });
  const r = useStudio.getState().runs[now.id];
  if (r) persist(putRun(r), 'the run');
}

/** Continue an interrupted run from its newest checkpoint (same run id, same history). */
export async function resumeFromCheckpoint(runId: string): Promise<void> {
  const st = useStudio.getState();
  const api = engineApi();
  const run = st.runs[runId];
  if (!api || !run) return;
  if (busyRun()) {
    st.notify('Another run is in progress: stop it first.');
    return;
  }
  const ckpt = await getCheckpoint(runId).catch(() => undefined);
  if (!ckpt) {
    st.notify('This run has no saved checkpoint; start it again instead.');
    return;
  }
  const { cmd, missing } = await sourcesFor(run.config);
  if (missing) {
    st.notify(missing);
    return;
  }
  await ensureRunData(runId);
  flushMetrics();
  const m = truncateMetrics(useStudio.getState().metrics[runId] ?? emptyMetrics(), ckpt.step);
  st.setRunData(runId, { metrics: { ...m, sessionStartStep: ckpt.step, elapsedMs: 0 } });
  st.upsertRun({
    id: runId,
    status: 'queued',
    step: ckpt.step,
    error: undefined,
    message: `resuming from step ${ckpt.step}`,
  });
  st.selectRun(runId);
  st.setEngineRun(runId);
  try {
    await api.run({ type: 'run', runId, config: run.config, resume: ckpt.resume, ...cmd });
  } catch (e) {
    failRun(runId, e);
  }
}

let recovering = false;

/**
 * After a lost device (issue 17): a new adapter and device in the same worker (engine.ts recoverDevice),
 * then the run the loss cut off resumes from its newest checkpoint, same run id and history
 * (resumeFromCheckpoint), without a reload. The resumed steps are deterministic: they equal the ones
 * an uninterrupted run would have taken.
 */
export async function resumeOnNewDevice(): Promise<void> {
  if (recovering) return;
  recovering = true;
  try {
    const runId = useStudio.getState().engineRunId;
    if (!(await recoverDevice())) return;
    const st = useStudio.getState();
    st.clearDeviceLost();
    const run = runId ? st.runs[runId] : undefined;
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

/** Train the same configuration again, and check the losses against the original when it ends. */
export async function reproduceRun(runId: string): Promise<string | null> {
  await ensureRunData(runId);
  const st = useStudio.getState();
  const run = st.runs[runId];
  const m = st.metrics[runId];
  if (!run) return null;
  const fingerprint =
    m && m.losses.length && run.status === 'done' ? await lossFingerprint(m.losses, run.adapterName) : null;
  return startRun(run.config, { reproduces: { fingerprint }, name: `${run.name} (reproduction)` });
}

// ---- generation and on-demand analysis --------------------------------------------------------

/**
 * Sample from `runId` (base and tuned side by side): the run the engine holds, or any stored run,
 * whose config and newest checkpoint the worker then loads (the model files from memory or IndexedDB).
 * The result is kept with the run (RunRecord.samples) and so survives a reload.
 */
export async function generate(
  runId: string,
  prompt: string,
  opts: { maxTokens: number; temperature: number; topK: number; topP?: number; seed: number },
): Promise<void> {
  const api = engineApi();
  const st = useStudio.getState();
  const run = st.runs[runId];
  if (!api || !run) return;
  try {
    let source: GenerateSource | undefined;
    if (runId !== st.engineRunId) {
      const ckpt = await getCheckpoint(runId);
      if (!ckpt) {
        st.notify(`“${run.name}” has no saved checkpoint in this browser, so there is no tuned model to sample from.`);
        return;
      }
      const { cmd, missing } = await sourcesFor(run.config);
      if (missing) {
        st.notify(missing);
        return;
      }
      source = { config: run.config, resume: ckpt.resume, modelFiles: cmd.modelFiles, datasetFile: cmd.datasetFile };
    }
    useStudio.getState().setLiveGeneration({
      runId,
      prompt,
      base: '',
      tuned: '',
      side: 'base',
      tokens: 0,
      maxTokens: opts.maxTokens,
      settings: { ...opts, topP: opts.topP ?? 1 },
    });
    await api.generate({ type: 'generate', prompt, ...opts, runId, ...(source ? { source } : {}) });
  } catch (e) {
    useStudio.getState().notify(`Generation failed: ${errorText(e)}`);
  } finally {
    // 'generated' (if any) arrived before the call returned: whatever is left is a generation that never ran
    if (useStudio.getState().liveGeneration?.runId === runId) useStudio.getState().setLiveGeneration(null);
  }
}

/** Stop the generation in progress after its current token (what was generated is kept). */
export async function cancelGeneration(): Promise<void> {
  await engineApi()?.cancelGenerate();
}

export async function analyze(matrix?: string): Promise<void> {
  const api = engineApi();
  if (!api) return;
  try {
    await api.analyze({ type: 'analyze', ...(matrix ? { matrix } : {}) });
  } catch (e) {
    useStudio.getState().notify(`Analysis failed: ${errorText(e)}`);
  }
}
