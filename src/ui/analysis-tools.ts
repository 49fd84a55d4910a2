/**
 * The page's extract and mitigate buttons (issue 12 items 3, 5): the run's newest checkpoint (IndexedDB)
 * and inputs go to the worker (worker/run-tools.ts), which does the SVD work and the GPU probe evaluation;
 * the PEFT files come back and download as one zip.
 */
import { zipSync } from 'fflate';
import type { ExtractResult, MethodMeta, MitigateResult } from '../worker/protocol';
import { getCheckpoint } from './db';
import { engineApi } from './engine';
import { download } from './exporting';
import { sourcesFor } from './runs';
import { useStudio } from './store';
import type { RunRecord } from './types';

/**
 * Which tool a run offers: PHLoRA extraction on full fine-tuning, mitigation on a plain LoRA-kind adapter
 * (the method's PEFT support kind, from the worker's method metadata in the store).
 */
export function runTool(
  r: RunRecord | null | undefined,
  methods: readonly MethodMeta[],
): 'extract' | 'mitigate' | null {
  if (!r || !['done', 'stopped', 'interrupted'].includes(r.status) || (r.checkpointStep ?? 0) < 1) return null;
  if (r.config.method.id === 'full') return 'extract';
  return methods.find((m) => m.id === r.config.method.id)?.peft.kind === 'lora' ? 'mitigate' : null;
}

async function prepare(runId: string) {
  const run = useStudio.getState().runs[runId];
  const api = engineApi();
  if (!run || !api) throw new Error('the engine is not ready');
  const ckpt = await getCheckpoint(runId);
  if (!ckpt) throw new Error('this run has no saved checkpoint in this browser');
  const { cmd, missing } = await sourcesFor(run.config);
  if (missing) throw new Error(missing);
  return { run, api, ckpt, sources: { modelFiles: cmd.modelFiles, datasetFile: cmd.datasetFile } };
}

export async function extractFromRun(
  runId: string,
  choice: { rank?: number; energy?: number },
): Promise<ExtractResult> {
  const { run, api, ckpt, sources } = await prepare(runId);
  const tensors: Record<string, Float32Array> = {};
  for (const m of run.matrices) {
    const t = ckpt.resume.tensors[`${m}.weight`];
    if (t) tensors[`${m}.weight`] = t;
  }
  return api.extractRun({ config: run.config, ...sources, tensors, matrices: run.matrices, ...choice });
}

export async function mitigateInPage(runId: string, lambda: number): Promise<MitigateResult> {
  const { run, api, ckpt, sources } = await prepare(runId);
  if (!ckpt.resume.adapter) throw new Error('the checkpoint holds no adapter state');
  return api.mitigateRun({
    config: run.config,
    ...sources,
    adapter: ckpt.resume.adapter,
    lambda,
    k: run.config.analysis.k,
    eps: run.config.analysis.eps,
  });
}

export function downloadPeft(runName: string, suffix: string, files: { name: string; bytes: Uint8Array }[]): void {
  const root = `${runName.replace(/[^\w.-]+/g, '-').slice(0, 60)}-${suffix}`;
  const zip = zipSync(Object.fromEntries(files.map((f) => [`${root}/${f.name}`, f.bytes])), { level: 6 });
  download(`${root}.zip`, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
}
