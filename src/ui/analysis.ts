/**
 * Opening a PEFT adapter for analysis in the page (issue 11 items 5–6). The worker downloads, merges and
 * analyses (worker/adapter-analysis.ts); here the result becomes an "analysis" entry in the runs list: a
 * RunRecord (status done, 0 steps) whose spectra snapshots are stored like a run's (IndexedDB), so it
 * survives a reload and the Spectra / Intruders views and the layer grid show it unchanged. The record
 * carries `analysis` (what was opened: hub ids, resolved commits, content hashes) — the analysis link.
 */
import { create } from 'zustand';
import { z } from 'zod';
import { parseRunConfig, type RunConfig } from '../engine/config';
import type { AdapterAnalysisResult } from '../worker/protocol';
import { replaceRun } from './db';
import { engineApi } from './engine';
import { errorText } from './gpuSupport';
import { forPage, useHub } from './hub';
import { applySpectra, emptySpectra } from './store/runData';
import { useStudio } from './store';
import type { RunRecord } from './types';

/** What an analysis entry opened (kept on its RunRecord). */
export interface AdapterAnalysisInfo {
  adapter: AdapterAnalysisResult['adapter'];
  base: AdapterAnalysisResult['base'];
  modelType: string;
  peft: AdapterAnalysisResult['peft'];
  k: number;
  eps: number;
  ms: number;
}

export type AnalysisRecord = RunRecord & { analysis: AdapterAnalysisInfo };

export function isAnalysis(r: RunRecord | null | undefined): r is AnalysisRecord {
  return !!r && typeof (r as Partial<AnalysisRecord>).analysis === 'object' && (r as AnalysisRecord).analysis !== null;
}

export type AdapterSource = { hub: string } | { files: File[] };

interface AnalysisUi {
  busy: boolean;
  status: string | null;
  error: string | null;
}

export const useAnalysisUi = create<AnalysisUi>(() => ({ busy: false, status: null, error: null }));

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const fileList = z.array(z.object({ name: z.string().max(256), sha256: hash })).max(16);
const commit = z.string().regex(/^[0-9a-f]{40}$/);
const repo = z.string().regex(/^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/);

/** An analysis link's content (`#analysis=<base64url JSON>`): only hub adapters can be linked. */
export const AnalysisLinkSchema = z.strictObject({
  v: z.literal(1),
  adapter: z.strictObject({ repo, commit, files: fileList }),
  base: z.discriminatedUnion('source', [
    z.strictObject({ source: z.literal('hub'), repo, commit, files: fileList }),
    z.strictObject({ source: z.literal('builtin'), id: z.string().regex(/^[\w.-]{1,64}$/), hash }),
  ]),
  k: z.int().min(1).max(64),
  eps: z.number().gt(0).lt(1),
});
export type AnalysisLink = z.infer<typeof AnalysisLinkSchema>;

const FILE_NAMES = ['adapter_config.json', 'adapter_model.safetensors'];

/** "h.0.attn.c_attn" → "attn.c_attn" (the module type, as RunConfig targets name it). */
const moduleType = (name: string) => name.replace(/^(?:.*?\.)?\d+\./, '');

/** The RunConfig an analysis entry carries: its base as the model, the adapter as a LoRA or HRA (never trained). */
export function analysisConfig(name: string, res: AdapterAnalysisResult, k: number, eps: number): RunConfig {
  const b = res.base;
  return parseRunConfig({
    name,
    model:
      b.source === 'hub'
        ? { source: 'local', id: `hf:${b.repo}@${b.commit}`, files: b.files.slice(0, 8) }
        : { source: 'builtin', id: b.id, hash: b.hash },
    method:
      res.peft.type === 'HRA'
        ? { id: 'hra', params: { rank: res.peft.r } }
        : { id: res.peft.useRslora ? 'rslora' : 'lora', params: { rank: res.peft.r, alpha: res.peft.alpha } },
    targets: { modules: [...new Set(res.snapshots.map((s) => moduleType(s.name)))], layers: null, rankOverrides: {} },
    train: { steps: 1 },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k, eps },
  });
}

/** Open an adapter (hub id or picked files) against its base (default: the one its config names). */
export async function openAdapterAnalysis(
  source: AdapterSource,
  opts: { base?: string; k?: number; eps?: number; expect?: AnalysisLink } = {},
): Promise<string | null> {
  const api = engineApi();
  if (!api) return null;
  const k = opts.k ?? 10,
    eps = opts.eps ?? 0.5;
  const set = (p: Partial<AnalysisUi>) => useAnalysisUi.setState(p);
  set({ busy: true, error: null, status: 'reading the adapter…' });
  try {
    let adapter: { hub: string } | { files: { name: string; bytes: Uint8Array }[]; name: string };
    if ('hub' in source) {
      const spec = source.hub.trim().replace(/^hf:/, '');
      if (!spec) throw new Error('give a hub id (owner/name[@revision]) or pick the adapter files');
      adapter = { hub: spec };
      set({ status: `downloading ${spec} and its base, then merging and analysing…` });
    } else {
      const picked = source.files.filter((f) => FILE_NAMES.includes(f.name));
      const missing = FILE_NAMES.filter((n) => !picked.some((f) => f.name === n));
      if (missing.length)
        throw new Error(
          `a PEFT adapter needs adapter_config.json and adapter_model.safetensors; missing ${missing.join(' and ')}`,
        );
      const folder = (source.files[0] as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
      adapter = {
        name: folder || 'adapter files',
        files: await Promise.all(
          picked.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
        ),
      };
      set({ status: 'fetching the base, merging and analysing…' });
    }
    const { endpoint, token } = useHub.getState();
    const res = await api.analyzeAdapter({ adapter, base: opts.base?.trim() || undefined, endpoint, token, k, eps });
    const mismatch = opts.expect ? linkMismatch(opts.expect, res) : null;
    const id = await storeAnalysis(res, k, eps);
    set({
      busy: false,
      status: mismatch
        ? `Analysed, but the files differ from the link's: ${mismatch}`
        : opts.expect
          ? 'Analysed: every file matches the link’s content hash.'
          : null,
      error: null,
    });
    return id;
  } catch (e) {
    set({ busy: false, status: null, error: forPage(errorText(e)) });
    return null;
  }
}

function label(res: AdapterAnalysisResult): string {
  return res.adapter.source === 'hub' ? res.adapter.repo : res.adapter.name;
}

async function storeAnalysis(res: AdapterAnalysisResult, k: number, eps: number): Promise<string> {
  const st = useStudio.getState();
  const id = `analysis-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const name = `analysis: ${label(res)}`.slice(0, 120);
  const now = Date.now();
  const record: AnalysisRecord = {
    id,
    name,
    config: analysisConfig(name, res, k, eps),
    createdAt: now,
    updatedAt: now,
    status: 'done',
    step: 0,
    totalSteps: 0,
    adapterName: st.adapter
      ? st.adapter.description || [st.adapter.vendor, st.adapter.device].filter(Boolean).join(' ')
      : '',
    matrices: res.snapshots.map((s) => s.name),
    summary: { analysis: true, intruders: res.snapshots.reduce((n, s) => n + s.intruders.count, 0) },
    analysis: { adapter: res.adapter, base: res.base, modelType: res.modelType, peft: res.peft, k, eps, ms: res.ms },
  };
  await replaceRun(record, [], [{ runId: id, snapshots: res.snapshots }]);
  const s2 = useStudio.getState();
  s2.upsertRun(record);
  s2.setRunData(id, { spectra: applySpectra(emptySpectra(), res.snapshots) });
  s2.selectRun(id);
  if (res.snapshots.length) s2.setMatrix(res.snapshots[0].name);
  s2.setTab('intruders');
  return id;
}

// ---- links ---------------------------------------------------------------------------------------------

const b64url = (s: string) =>
  btoa(unescape(encodeURIComponent(s)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const unb64url = (s: string) =>
  decodeURIComponent(escape(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4))));

/** The link content of an analysis entry, or why it has none (files picked on the page cannot be linked). */
export function analysisLinkOf(r: AnalysisRecord): AnalysisLink | string {
  const a = r.analysis;
  if (a.adapter.source !== 'hub')
    return 'this adapter came from files on this computer: only an adapter on the hub can be linked';
  return {
    v: 1,
    adapter: { repo: a.adapter.repo, commit: a.adapter.commit, files: a.adapter.files },
    base:
      a.base.source === 'hub'
        ? { source: 'hub', repo: a.base.repo, commit: a.base.commit, files: a.base.files.slice(0, 16) }
        : { source: 'builtin', id: a.base.id, hash: a.base.hash },
    k: a.k,
    eps: a.eps,
  };
}

export function analysisUrl(link: AnalysisLink): string {
  return `${window.location.origin}${window.location.pathname}#analysis=${b64url(JSON.stringify(link))}`;
}

export function isAnalysisFragment(hash: string): boolean {
  return /^#?analysis=/.test(hash);
}

/** Decode `#analysis=…`; never throws: a message for the person instead. */
export function decodeAnalysisFragment(hash: string): { ok: true; link: AnalysisLink } | { ok: false; error: string } {
  const body = hash.replace(/^#?analysis=/, '');
  let value: unknown;
  try {
    if (body.length > 16_000) throw new Error('too long');
    value = JSON.parse(unb64url(body));
  } catch {
    return { ok: false, error: 'This analysis link is damaged (it is not valid base64 JSON).' };
  }
  const r = AnalysisLinkSchema.safeParse(value);
  if (!r.success) return { ok: false, error: `This analysis link is not valid: ${r.error.issues[0]?.message ?? ''}` };
  return { ok: true, link: r.data };
}

/** Where the files an analysis read differ from the link's (null: all equal). */
export function linkMismatch(link: AnalysisLink, res: AdapterAnalysisResult): string | null {
  const diff: string[] = [];
  const cmp = (what: string, want: { name: string; sha256: string }[], got: { name: string; sha256: string }[]) => {
    for (const w of want) {
      const g = got.find((x) => x.name === w.name);
      if (!g) diff.push(`${what} ${w.name} missing`);
      else if (g.sha256 !== w.sha256) diff.push(`${what} ${w.name} has sha256 ${g.sha256.slice(0, 12)}…`);
    }
  };
  if (res.adapter.source === 'hub') {
    if (res.adapter.commit !== link.adapter.commit) diff.push(`adapter at commit ${res.adapter.commit.slice(0, 12)}`);
    cmp('adapter', link.adapter.files, res.adapter.files);
  }
  if (link.base.source === 'hub' && res.base.source === 'hub') cmp('base', link.base.files, res.base.files);
  if (link.base.source === 'builtin' && res.base.source === 'builtin' && link.base.hash !== res.base.hash)
    diff.push(`built-in base ${res.base.id} differs`);
  return diff.length ? diff.join('; ') : null;
}

/** The analysis link in the address bar, if any: kept for the dialog, taken out of the address bar. */
export const useIncomingAnalysis = create<{ link: AnalysisLink | null; error: string | null }>(() => ({
  link: null,
  error: null,
}));

export function readAnalysisLinkFromLocation(): void {
  const h = window.location.hash;
  if (!isAnalysisFragment(h)) return;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  const d = decodeAnalysisFragment(h);
  useIncomingAnalysis.setState(d.ok ? { link: d.link, error: null } : { link: null, error: d.error });
}

/** Open the link's analysis: the adapter and base at the link's commits (downloaded as needed), hashes checked. */
export async function openIncomingAnalysis(): Promise<void> {
  const { link } = useIncomingAnalysis.getState();
  if (!link) return;
  const base = link.base.source === 'hub' ? `${link.base.repo}@${link.base.commit}` : link.base.id;
  const id = await openAdapterAnalysis(
    { hub: `${link.adapter.repo}@${link.adapter.commit}` },
    { base, k: link.k, eps: link.eps, expect: link },
  );
  if (id) useIncomingAnalysis.setState({ link: null, error: null });
}
