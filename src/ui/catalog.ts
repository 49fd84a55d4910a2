/**
 * What the setup form offers: models (architecture presets, built-in checkpoints from
 * public/models/index.json) and datasets (the engine's registry, with sizes and hashes from
 * public/data/index.json). Missing index files are not errors: the list is just shorter.
 */
import { formatBytes } from './format';
import { MODEL_PRESETS, fromHfConfig, parameterCount, type ModelConfig } from '../engine/model/config';
import { listDatasets } from '../engine/data/datasets';
import type { RunConfig } from '../engine/config';
import { getBlob } from './db';

export interface ModelOption {
  /** Select key: "preset:micro", "builtin:micro". */
  key: string;
  source: 'preset' | 'builtin';
  id: string;
  label: string;
  description: string;
  params: number | null;
  /** Known up front for presets; fetched from config.json for built-ins. */
  arch: ModelConfig | null;
}

export interface DatasetOption {
  id: string;
  label: string;
  kind: 'text' | 'pairs' | 'chat';
  description: string;
  license: string;
  sha256?: string;
  /** Size of the compressed file the page downloads. */
  bytes?: number;
  /** Size of the text itself (what the person trains on). */
  rawBytes?: number;
}

/**
 * The one size shown for a dataset (issue 16): the text's own size, the compressed download in
 * parentheses; null for generated sets.
 */
export function datasetSizeText(d: Pick<DatasetOption, 'bytes' | 'rawBytes'>): string | null {
  if (d.rawBytes)
    return `${formatBytes(d.rawBytes)}${d.bytes && d.bytes < d.rawBytes ? ` (${formatBytes(d.bytes)} compressed)` : ''}`;
  return d.bytes ? `${formatBytes(d.bytes)} compressed` : null;
}

interface BuiltinModelEntry {
  id: string;
  label?: string;
  description?: string;
  params?: number;
  files?: string[];
}

function assetUrl(rel: string): string {
  const base = (import.meta.env?.BASE_URL as string | undefined) ?? '/';
  return (base.endsWith('/') ? base : base + '/') + rel;
}

async function fetchJson(rel: string): Promise<unknown | null> {
  try {
    const r = await fetch(assetUrl(rel));
    if (!r.ok) return null;
    const type = r.headers.get('content-type') ?? '';
    // Vite's preview/dev servers answer unknown paths with index.html (200): not JSON, not an index.
    if (type.includes('text/html')) return null;
    return await r.json();
  } catch {
    return null;
  }
}

export function presetModels(): ModelOption[] {
  return Object.entries(MODEL_PRESETS).map(([id, arch]) => ({
    key: `preset:${id}`,
    source: 'preset' as const,
    id,
    label: `${id} (random init)`,
    description: `${arch.nLayer} layers × ${arch.nEmbd} wide, ${arch.nHead} heads, context ${arch.contextLength}, ${arch.tokenizer} tokenizer; weights initialised from the run seed.`,
    params: parameterCount(arch),
    arch,
  }));
}

export async function builtinModels(): Promise<ModelOption[]> {
  const j = await fetchJson('models/index.json');
  if (!Array.isArray(j)) return [];
  return (j as BuiltinModelEntry[])
    .filter((e) => e && typeof e.id === 'string' && /^[\w.-]{1,64}$/.test(e.id))
    .map((e) => ({
      key: `builtin:${e.id}`,
      source: 'builtin' as const,
      id: e.id,
      label: `${e.label ?? e.id} (pretrained)`,
      description: e.description ?? '',
      params: typeof e.params === 'number' ? e.params : null,
      arch: null,
    }));
}

/** The architecture of a built-in checkpoint, from its config.json. */
export async function builtinArch(id: string): Promise<ModelConfig> {
  const j = await fetchJson(`models/${id}/config.json`);
  if (!j) throw new Error(`could not read models/${id}/config.json`);
  return fromHfConfig(j);
}

export async function datasetOptions(): Promise<DatasetOption[]> {
  const manifest = await fetchJson('data/index.json');
  const byId = new Map<string, { sha256?: string; bytes?: number; rawBytes?: number }>();
  if (Array.isArray(manifest))
    for (const e of manifest as { id: string; sha256?: string; bytes?: number; rawBytes?: number }[])
      if (e && typeof e.id === 'string') byId.set(e.id, e);
  return listDatasets().map((d) => ({
    id: d.id,
    label: d.label,
    kind: d.kind,
    description: d.description,
    license: d.license,
    sha256: byId.get(d.id)?.sha256,
    bytes: byId.get(d.id)?.bytes,
    rawBytes: byId.get(d.id)?.rawBytes,
  }));
}

/** The architecture a run config trains (presets: known; built-ins: config.json; local: the stored config.json). */
export async function archForConfig(c: RunConfig): Promise<ModelConfig> {
  if (c.model.source === 'preset') {
    const a = c.model.arch ?? MODEL_PRESETS[c.model.id];
    if (!a) throw new Error(`unknown model preset "${c.model.id}"`);
    return a;
  }
  if (c.model.source === 'builtin') return builtinArch(c.model.id);
  const cfg = c.model.files?.find((f) => f.name === 'config.json');
  const blob = cfg ? await getBlob(cfg.sha256) : undefined;
  if (!blob) throw new Error(`the local model's config.json is not stored in this browser`);
  return fromHfConfig(JSON.parse(new TextDecoder().decode(blob.bytes)));
}
