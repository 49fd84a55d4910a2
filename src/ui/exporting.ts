/**
 * Export and import of runs. An export is one .zip: run.json (the record, the link, every metric
 * batch and spectra snapshot), the adapter weights from the newest checkpoint as safetensors with a
 * PEFT-style adapter_config.json, and the charts on screen as SVG. Import takes that .zip (or a bare
 * run.json), validates it against a schema (imports come from outside, like links), and adds the run
 * to the history without touching any other run.
 */
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { z } from 'zod';
import { issuesOneLine } from '../engine/strings';
import { RunConfigSchema } from '../engine/config';
import type { MetricsBatch, SpectrumSnapshot } from '../worker/protocol';
import { getCheckpoint, loadRunData, replaceRun, type StoredCheckpoint } from './db';
import { archForConfig } from './catalog';
import { errorText } from './gpuSupport';
import { shareLinkFor, sharedConfig } from './links';
import { engineApi } from './engine';
import { flushWrites } from './persist';
import { ensureRunData } from './runHistory';
import { safeJsonParse } from './share';
import { applyMetricsBatch, applySpectra, emptyMetrics, emptySpectra } from './store/runData';
import { useStudio } from './store';
import type { RunRecord } from './types';

export const EXPORT_FORMAT = 'rankscope-run';
const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

// ---- JSON forms of typed arrays ----------------------------------------------------------------

const arr = (x: ArrayLike<number>) => Array.from(x, (v) => (Number.isFinite(v) ? v : null));
const nums = z.array(z.number().nullable()).max(2_000_000);
const f32 = (x: (number | null)[]) => Float32Array.from(x, (v) => (v === null ? NaN : v));

function batchToJson(b: MetricsBatch) {
  return {
    step: Array.from(b.step),
    loss: arr(b.loss),
    lr: arr(b.lr),
    gradNorm: arr(b.gradNorm),
    tokensPerSec: arr(b.tokensPerSec),
    valLoss: arr(b.valLoss),
    probeLoss: arr(b.probeLoss),
  };
}

function snapToJson(s: SpectrumSnapshot) {
  return {
    ...s,
    sigmaBase: arr(s.sigmaBase),
    sigmaTuned: arr(s.sigmaTuned),
    sigmaDelta: arr(s.sigmaDelta),
    overlap: arr(s.overlap),
    intruders: { ...s.intruders, maxCos: arr(s.intruders.maxCos) },
  };
}

const BatchJson = z.object({
  step: z.array(z.int().min(0).max(1e9)).max(1_000_000),
  loss: nums,
  lr: nums,
  gradNorm: nums,
  tokensPerSec: nums,
  valLoss: nums,
  probeLoss: nums,
});

const SnapJson = z.object({
  step: z.int().min(0),
  name: z.string().max(128),
  shape: z.tuple([z.int().min(1), z.int().min(1)]),
  sigmaBase: nums,
  sigmaTuned: nums,
  sigmaDelta: nums,
  erank: z.number().nullable(),
  stableRank: z.number().nullable(),
  deltaErank: z.number().nullable(),
  deltaStableRank: z.number().nullable(),
  alpha: z.number().nullable(),
  alphaXmin: z.number().nullable(),
  intruders: z.object({
    k: z.int().min(0),
    eps: z.number(),
    count: z.int().min(0),
    maxCos: nums,
    sweep: z.array(z.object({ eps: z.number(), count: z.int().min(0) })).max(1000),
    indices: z.array(z.int().min(0)).max(4096).optional(),
  }),
  esd: z.object({ log10Edges: z.array(z.number()).max(4096), counts: z.array(z.number()).max(4096) }).optional(),
  anglesDeg: z.array(z.number().nullable()).max(4096).optional(),
  overlap: nums,
  overlapCols: z.int().min(0),
});

const RunJson = z.object({
  id: z.string().regex(/^[\w.-]{1,80}$/),
  name: z.string().max(200),
  config: RunConfigSchema,
  createdAt: z.number(),
  updatedAt: z.number().optional(),
  status: z.enum(['idle', 'queued', 'preparing', 'running', 'paused', 'stopped', 'done', 'error', 'interrupted']),
  step: z.int().min(0),
  totalSteps: z.int().min(0),
  adapterName: z.string().max(300),
  modelHash: z.string().max(128).optional(),
  datasetHash: z.string().max(128).optional(),
  matrices: z.array(z.string().max(128)).max(4096).default([]),
  rankAllocation: z.record(z.string().max(128), z.number()).optional(),
  message: z.string().max(2000).optional(),
  summary: z.record(z.string().max(128), z.unknown()).optional(),
});

const ExportJson = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string().max(64).optional(),
  link: z.string().max(20000).nullable().optional(),
  run: RunJson,
  metrics: z.array(z.object({ elapsedMs: z.number(), batch: BatchJson })).max(1_000_000),
  spectra: z.array(z.object({ snapshots: z.array(SnapJson).max(4096) })).max(100_000),
});

// ---- export ------------------------------------------------------------------------------------------

export function download(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function safeName(s: string): string {
  return s.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'run';
}

/**
 * Adapter files from the newest checkpoint, written by the worker (worker/peft-files.ts: the engine's PEFT
 * exporter needs the method registry, which the page does not bundle); empty when the run has none yet.
 */
export async function adapterFiles(
  run: RunRecord,
  ckpt: StoredCheckpoint | undefined,
): Promise<Record<string, Uint8Array>> {
  if (!ckpt) return {};
  const api = engineApi();
  if (!api) throw new Error('the engine is not ready');
  const arch = await archForConfig(run.config);
  return api.peftFiles({ config: run.config, arch, resume: ckpt.resume });
}

/** Serialise one chart's SVG (fonts inlined, white background) for download. */
export function chartSvg(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  for (const el of clone.querySelectorAll('[data-hover]')) el.remove(); // no hover crosshair in exports
  const w = svg.width.baseVal.value || svg.clientWidth;
  const h = svg.height.baseVal.value || svg.clientHeight;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(w));
  clone.setAttribute('height', String(h));
  clone.setAttribute('style', 'font-family: system-ui, sans-serif; font-size: 11px; background: #fff');
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#ffffff');
  clone.insertBefore(bg, clone.firstChild);
  return new XMLSerializer().serializeToString(clone);
}

export function downloadSvg(svg: SVGSVGElement, name: string): void {
  download(`${safeName(name)}.svg`, new Blob([chartSvg(svg)], { type: 'image/svg+xml' }));
}

export async function downloadPng(svg: SVGSVGElement, name: string, scale = 2): Promise<void> {
  const text = chartSvg(svg);
  const w = svg.width.baseVal.value || svg.clientWidth;
  const h = svg.height.baseVal.value || svg.clientHeight;
  const img = new Image();
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    await new Promise<void>((res, rej) => {
      img.onload = () => res();
      img.onerror = () => rej(new Error('the chart could not be rasterised'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((res) => canvas.toBlob(res, 'image/png'));
    if (!blob) throw new Error('the chart could not be encoded as PNG');
    download(`${safeName(name)}.png`, blob);
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function buildExport(runId: string): Promise<{ name: string; zip: Uint8Array }> {
  await ensureRunData(runId);
  await flushWrites();
  const st = useStudio.getState();
  const run = st.runs[runId];
  if (!run) throw new Error('no such run');
  const { metrics, spectra } = await loadRunData(runId);
  const ckpt = await getCheckpoint(runId);
  const link = await shareLinkFor(runId);
  const json = {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    link,
    run: { ...run, config: sharedConfig(runId) ?? run.config },
    metrics: metrics.map((m) => ({ elapsedMs: m.elapsedMs, batch: batchToJson(m.batch) })),
    spectra: spectra.map((s) => ({ snapshots: s.snapshots.map(snapToJson) })),
  };
  const files: Record<string, Uint8Array> = { 'run.json': strToU8(JSON.stringify(json)) };
  for (const [k, v] of Object.entries(
    await adapterFiles(run, ckpt).catch((e: unknown) => ({
      'ERROR.txt': strToU8(`adapter export failed: ${errorText(e)}\n`),
    })),
  ))
    files[`adapter/${k}`] = v;
  document.querySelectorAll<SVGSVGElement>('[data-chart-id] svg[data-exportable]').forEach((svg) => {
    const id = svg.closest('[data-chart-id]')?.getAttribute('data-chart-id') ?? 'chart';
    files[`charts/${safeName(id)}.svg`] = strToU8(chartSvg(svg));
  });
  return { name: `${safeName(run.name)}.rankscope.zip`, zip: zipSync(files, { level: 6 }) };
}

export async function exportRun(runId: string): Promise<void> {
  try {
    const { name, zip } = await buildExport(runId);
    download(name, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  } catch (e) {
    useStudio.getState().notify(`Export failed: ${errorText(e)}`);
  }
}

// ---- import --------------------------------------------------------------------------------------------

export type ImportResult = { ok: true; runId: string } | { ok: false; error: string };

export function parseExport(bytes: Uint8Array): z.infer<typeof ExportJson> {
  let text: string;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(bytes, { filter: (f) => f.name === 'run.json' && f.originalSize <= MAX_IMPORT_BYTES });
    } catch {
      throw new Error('the file is not a valid zip archive');
    }
    if (!files['run.json']) throw new Error('the archive has no run.json (is it a Rankscope export?)');
    text = strFromU8(files['run.json']);
  } else {
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
  let value: unknown;
  try {
    value = safeJsonParse(text);
  } catch (e) {
    throw new Error((e as Error).message.replace('the link', 'the file'), { cause: e });
  }
  const r = ExportJson.safeParse(value);
  if (!r.success) throw new Error(`not a valid Rankscope run export: ${issuesOneLine(r.error.issues)}`);
  return r.data;
}

export async function importRun(file: File): Promise<ImportResult> {
  const st = useStudio.getState();
  try {
    if (file.size > MAX_IMPORT_BYTES)
      throw new Error(`the file is ${(file.size / 2 ** 20).toFixed(0)} MiB; imports up to 256 MiB are accepted`);
    const data = parseExport(new Uint8Array(await file.arrayBuffer()));
    const existing = st.runs[data.run.id];
    const id = existing ? `${data.run.id.slice(0, 60)}-imported-${Date.now().toString(36)}` : data.run.id;
    const status = ['queued', 'preparing', 'running', 'paused'].includes(data.run.status)
      ? 'interrupted'
      : data.run.status;
    const record: RunRecord = {
      ...data.run,
      id,
      status,
      updatedAt: Date.now(),
      name: existing ? `${data.run.name} (imported)` : data.run.name,
    } as RunRecord;
    const metrics = data.metrics.map((m) => ({
      runId: id,
      elapsedMs: m.elapsedMs,
      batch: {
        step: Int32Array.from(m.batch.step),
        loss: f32(m.batch.loss),
        lr: f32(m.batch.lr),
        gradNorm: f32(m.batch.gradNorm),
        tokensPerSec: f32(m.batch.tokensPerSec),
        valLoss: f32(m.batch.valLoss),
        probeLoss: f32(m.batch.probeLoss),
      },
    }));
    const nn = (v: number | null) => (v === null ? NaN : v);
    const spectra = data.spectra.map((s) => ({
      runId: id,
      snapshots: s.snapshots.map((x): SpectrumSnapshot => ({
        ...x,
        erank: nn(x.erank),
        stableRank: nn(x.stableRank),
        deltaErank: nn(x.deltaErank),
        deltaStableRank: nn(x.deltaStableRank),
        alpha: nn(x.alpha),
        alphaXmin: nn(x.alphaXmin),
        sigmaBase: f32(x.sigmaBase),
        sigmaTuned: f32(x.sigmaTuned),
        sigmaDelta: f32(x.sigmaDelta),
        overlap: f32(x.overlap),
        intruders: { ...x.intruders, maxCos: f32(x.intruders.maxCos) },
        anglesDeg: x.anglesDeg?.map((v) => (v === null ? NaN : v)),
      })),
    }));
    await replaceRun(record, metrics, spectra);
    let m = emptyMetrics();
    for (const row of metrics) m = applyMetricsBatch(m, row.batch, row.elapsedMs);
    let sp = emptySpectra();
    for (const row of spectra) sp = applySpectra(sp, row.snapshots);
    const s2 = useStudio.getState();
    s2.upsertRun(record);
    s2.setRunData(id, { metrics: m, spectra: sp });
    s2.selectRun(id);
    s2.notify(`Imported “${record.name}” (${m.losses.length} steps).`, 'info');
    return { ok: true, runId: id };
  } catch (e) {
    const error = `Import failed: ${errorText(e)}`;
    st.notify(error);
    return { ok: false, error };
  }
}
