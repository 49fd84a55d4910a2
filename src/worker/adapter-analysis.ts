/**
 * Opening a PEFT adapter for analysis in the page (issue 11 item 5), in the worker: the adapter from the
 * hub (into the OPFS library, like models) or from files the page read; its base from the request, else
 * from adapter_config.json's base_model_name_or_path — a built-in model by id, or a hub model downloaded
 * into the library (or already there); merged (engine/analysis/adapter.ts: LoRA/AdaLoRA as W0 + s·(B·A)ᵀ,
 * HRA by the HRA method's own merge W' = H_{r−1}⋯H_0·W0) and analysed matrix by matrix
 * with the same code as a run's spectra (analyzeMatrix → snapshotOf). No training.
 */
import type { Gpu } from '../gpu/device';
import { analyzeMatrix } from '../engine/analysis';
import { AdapterAnalysisError, adapterBaseName, mergeAdapter } from '../engine/analysis/adapter';
import { sha256Hex } from '../engine/io/assets';
import {
  listBuiltinModels,
  loadBuiltinModel,
  loadModelFiles,
  type LoadedModel,
  type NamedFile,
} from '../engine/io/checkpoint';
import { parseHubRef, snapshotDownload, type DownloadProgress } from '../engine/io/hub';
import { adapterDownload } from '../engine/io/hub-adapter';
import { opfsStore, snapshotFiles } from './model-library';
import { snapshotOf } from './spectra';
import type { AdapterAnalysisRequest, AdapterAnalysisResult } from './protocol';

export async function analyzeAdapter(
  gpu: Gpu | null,
  req: AdapterAnalysisRequest,
  onProgress: (spec: string, p: DownloadProgress) => void,
  signal?: AbortSignal,
): Promise<AdapterAnalysisResult> {
  const t0 = performance.now();
  const hubOpts = (spec: string) => ({
    endpoint: req.endpoint,
    token: req.token || null,
    signal,
    onProgress: (p: DownloadProgress) => onProgress(spec, p),
  });
  // the adapter
  let files: NamedFile[];
  let adapter: AdapterAnalysisResult['adapter'];
  if ('hub' in req.adapter) {
    const a = await adapterDownload(req.adapter.hub, opfsStore, hubOpts(req.adapter.hub));
    files = a.files;
    adapter = { source: 'hub', repo: a.repo, commit: a.commit, files: await hashes(files) };
  } else {
    files = req.adapter.files.map((f) => ({ name: f.name.split('/').pop()!, bytes: f.bytes }));
    adapter = { source: 'files', name: req.adapter.name, files: await hashes(files) };
  }
  // the base
  const baseName = req.base?.trim() || adapterBaseName(files);
  if (!baseName)
    throw new AdapterAnalysisError(
      'adapter_config.json names no base_model_name_or_path: give the base model (hub id or built-in id)',
    );
  let model: LoadedModel;
  let base: AdapterAnalysisResult['base'];
  const builtins = await listBuiltinModels();
  if (builtins.some((m) => m.id === baseName)) {
    model = await loadBuiltinModel(baseName);
    base = { source: 'builtin', id: baseName, hash: model.hash };
  } else {
    if (baseName.startsWith('/') || baseName.startsWith('.'))
      throw new AdapterAnalysisError(
        `the adapter's base is the local path ${JSON.stringify(baseName)}: give its hub id or a built-in model instead`,
      );
    const spec = baseName.replace(/^hf:/, '');
    parseHubRef(spec); // a bad id is one line, before any request
    const s = await snapshotDownload(spec, opfsStore, hubOpts(spec));
    const stored = await snapshotFiles(s.ref.repo, s.commit);
    model = await loadModelFiles(`hf:${s.ref.repo}@${s.commit}`, stored);
    base = {
      source: 'hub',
      repo: s.ref.repo,
      commit: s.commit,
      files: stored.map((f) => ({ name: f.name, sha256: f.sha256 })).filter((f) => f.name !== 'generation_config.json'),
    };
  }
  const merged = mergeAdapter(files, model, baseName);
  const snapshots = [];
  for (const m of merged.matrices) {
    const a = await analyzeMatrix(gpu, {
      name: `${m.module}.weight`,
      base: m.base,
      tuned: m.tuned,
      rows: m.rows,
      cols: m.cols,
      layout: 'in-out',
      k: req.k,
      eps: req.eps,
      heatmapCols: 32,
    });
    snapshots.push(snapshotOf(a, 0, m.module));
  }
  const c = merged.summary;
  return {
    adapter,
    base,
    modelType: model.config.arch,
    peft: {
      type: merged.peftType,
      r: c.r,
      alpha: c.alpha,
      useRslora: c.useRslora,
      modules: merged.matrices.length,
      ranks: [...new Set(merged.matrices.map((m) => m.r))],
    },
    snapshots,
    ms: performance.now() - t0,
  };
}

async function hashes(files: NamedFile[]): Promise<{ name: string; sha256: string }[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, sha256: await sha256Hex(f.bytes) })));
}
