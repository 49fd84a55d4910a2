/**
 * The page's side of Hugging Face models: the curated list, the hub endpoint and token settings, the
 * download in progress (the worker downloads into the model library, src/worker/model-library.ts, and
 * reports progress as events), the library listing with the browser's storage quota, and choosing a
 * stored model for a run. A chosen hub model is a `local` model whose id is `hf:<owner/name>@<commit>`
 * and whose files carry their sha256: the run link names the hub id, the resolved commit and the content
 * hashes, and the worker reads the files from the library itself.
 */
import { create } from 'zustand';
import { fromHfConfig } from '../engine/model/config';
import type { DownloadProgress } from '../engine/io/hub';
import type { HubDownloadResult, LibraryModel } from '../worker/protocol';
import { engineApi } from './engine';
import { errorText } from './gpuSupport';
import { useStudio } from './store';

export interface CuratedModel {
  id: string;
  revision?: string;
  family: string;
  /** Parameters, approximate (embeddings included). */
  params: number;
  /** Bytes of the safetensors weights as published (dtype in `dtype`). */
  bytes: number;
  dtype: 'F32' | 'F16' | 'BF16';
  license: string;
  note?: string;
}

/** Small decoder models worth fine-tuning in a browser. Figures from the model cards (approximate). */
export const CURATED: CuratedModel[] = [
  { id: 'distilbert/distilgpt2', family: 'gpt2', params: 82e6, bytes: 353e6, dtype: 'F32', license: 'apache-2.0' },
  { id: 'openai-community/gpt2', family: 'gpt2', params: 124e6, bytes: 548e6, dtype: 'F32', license: 'mit' },
  {
    id: 'HuggingFaceTB/SmolLM2-135M',
    family: 'llama',
    params: 135e6,
    bytes: 269e6,
    dtype: 'BF16',
    license: 'apache-2.0',
  },
  {
    id: 'HuggingFaceTB/SmolLM2-360M',
    family: 'llama',
    params: 362e6,
    bytes: 724e6,
    dtype: 'BF16',
    license: 'apache-2.0',
  },
  { id: 'EleutherAI/pythia-70m', family: 'gpt_neox', params: 70e6, bytes: 166e6, dtype: 'F16', license: 'apache-2.0' },
  {
    id: 'EleutherAI/pythia-160m',
    family: 'gpt_neox',
    params: 162e6,
    bytes: 375e6,
    dtype: 'F16',
    license: 'apache-2.0',
  },
  { id: 'Qwen/Qwen2.5-0.5B', family: 'qwen2', params: 494e6, bytes: 988e6, dtype: 'BF16', license: 'apache-2.0' },
  { id: 'Qwen/Qwen3-0.6B', family: 'qwen3', params: 596e6, bytes: 1.5e9, dtype: 'BF16', license: 'apache-2.0' },
  {
    id: 'roneneldan/TinyStories-33M',
    family: 'gpt_neo',
    params: 68e6,
    bytes: 275e6,
    dtype: 'F32',
    license: 'see the model card',
    note: 'main holds pytorch_model.bin only: type the revision of a safetensors conversion (e.g. refs/pr/N) after "@"',
  },
];

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const ENDPOINT_KEY = 'rankscope.hub.endpoint';
const PENDING_KEY = 'rankscope.hub.pending';

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function store(key: string, v: string | null): void {
  try {
    if (v === null) localStorage.removeItem(key);
    else localStorage.setItem(key, v);
  } catch {
    // storage disabled: settings last for this page only
  }
}

export type DownloadStatus = 'downloading' | 'paused' | 'done' | 'error' | 'cancelled';

export interface DownloadState {
  spec: string;
  status: DownloadStatus;
  /** Latest progress per file, in the order files started. */
  files: DownloadProgress[];
  error?: string;
  result?: HubDownloadResult;
}

interface HubState {
  endpoint: string;
  /** An access token for gated/private repositories: kept in memory only, never stored or put in a link. */
  token: string;
  download: DownloadState | null;
  /** A download a reload interrupted (its partial file is kept in the library). */
  interrupted: string | null;
  library: LibraryModel[] | null;
  estimate: { usage: number; quota: number } | null;
  persisted: boolean | null;
  libraryError: string | null;
}

export const useHub = create<HubState>(() => ({
  endpoint: stored(ENDPOINT_KEY) ?? DEFAULT_ENDPOINT,
  token: '',
  download: null,
  interrupted: stored(PENDING_KEY),
  library: null,
  estimate: null,
  persisted: null,
  libraryError: null,
}));

export function setEndpoint(v: string): void {
  useHub.setState({ endpoint: v });
  store(ENDPOINT_KEY, v.trim() === DEFAULT_ENDPOINT || v.trim() === '' ? null : v.trim());
}

/** Progress event from the worker. */
export function hubProgress(spec: string, p: DownloadProgress): void {
  const d = useHub.getState().download;
  if (!d || d.spec !== spec) return;
  const files = d.files.slice();
  const i = files.findIndex((f) => f.file === p.file);
  if (i >= 0) files[i] = p;
  else files.push(p);
  useHub.setState({ download: { ...d, files } });
}

/** The hub's messages speak of HF_TOKEN and commands (they serve the CLI too); say it the page's way. */
export function forPage(msg: string): string {
  return msg
    .replace(
      /then set HF_TOKEN to an access token of that account/,
      'then paste an access token of that account under "Access token"',
    )
    .replace(/the token in HF_TOKEN/, 'the access token given')
    .replace(/needs HF_TOKEN/, 'needs an access token')
    .replace(/run the same command again to resume/, 'press Resume to continue');
}

export async function startDownload(spec: string): Promise<void> {
  const api = engineApi();
  const s = spec.trim();
  if (!api || !s) return;
  const { endpoint, token } = useHub.getState();
  const prev = useHub.getState().download;
  useHub.setState({
    download: { spec: s, status: 'downloading', files: prev?.spec === s ? prev.files : [] },
    interrupted: null,
  });
  store(PENDING_KEY, s);
  try {
    const result = await api.hubDownload({ spec: s, endpoint: endpoint.trim() || DEFAULT_ENDPOINT, token });
    store(PENDING_KEY, null);
    useHub.setState((h) => ({ download: h.download && { ...h.download, status: 'done', result } }));
    await refreshLibrary();
    await chooseHubModel(result.repo, result.commit);
  } catch (e) {
    const cur = useHub.getState().download;
    // a pause or cancel aborts the fetch: that is not an error
    if (cur?.spec === s && (cur.status === 'paused' || cur.status === 'cancelled')) return;
    // a cut connection keeps its partial file: a reload offers to resume it
    if (!/download of .* stopped at/.test(errorText(e))) store(PENDING_KEY, null);
    useHub.setState({
      download: { ...(cur ?? { spec: s, files: [] }), status: 'error', error: forPage(errorText(e)) },
    });
    await refreshLibrary();
  }
}

export async function pauseDownload(): Promise<void> {
  const d = useHub.getState().download;
  if (!d || d.status !== 'downloading') return;
  useHub.setState({ download: { ...d, status: 'paused' } });
  await engineApi()?.hubCancel();
  await refreshLibrary();
}

/** Stop and throw away what arrived (a repository with nothing complete is removed from the library). */
export async function cancelDownload(): Promise<void> {
  const d = useHub.getState().download;
  if (!d) return;
  useHub.setState({ download: { ...d, status: 'cancelled' } });
  store(PENDING_KEY, null);
  const api = engineApi();
  await api?.hubCancel();
  const repo = d.spec.split('@')[0];
  const lib = await api?.libraryList();
  const entry = lib?.find((m) => m.repo === repo);
  if (entry && entry.snapshots.every((s) => s.files.length === 0)) await api?.libraryDelete(repo);
  useHub.setState({ download: null, interrupted: null });
  await refreshLibrary();
}

export async function refreshLibrary(): Promise<void> {
  const api = engineApi();
  if (!api) return;
  try {
    const library = await api.libraryList();
    let estimate: HubState['estimate'] = null;
    let persisted: boolean | null = null;
    if (typeof navigator !== 'undefined' && navigator.storage) {
      const e = await navigator.storage.estimate?.();
      if (e) estimate = { usage: e.usage ?? 0, quota: e.quota ?? 0 };
      persisted = (await navigator.storage.persisted?.()) ?? null;
    }
    useHub.setState({ library, estimate, persisted, libraryError: null });
  } catch (e) {
    useHub.setState({ libraryError: `The model library could not be read: ${errorText(e)}` });
  }
}

export async function deleteModel(repo: string): Promise<void> {
  await engineApi()?.libraryDelete(repo);
  const m = useStudio.getState().draft.model;
  if (m.source === 'local' && m.id.startsWith(`hf:${repo}@`)) useStudio.getState().setArch(null, null);
  await refreshLibrary();
}

export async function requestPersist(): Promise<void> {
  const ok = (await navigator.storage?.persist?.()) ?? false;
  useHub.setState({ persisted: ok });
}

/** Make a stored snapshot the run's model: id hf:<repo>@<commit>, files with their sha256. */
export async function chooseHubModel(repo: string, commit: string): Promise<void> {
  const api = engineApi();
  if (!api) return;
  const st = useStudio.getState();
  const files = await api.libraryManifest(repo, commit);
  const wanted = files.filter((f) => f.name !== 'generation_config.json').slice(0, 8);
  st.setField('model', {
    source: 'local',
    id: `hf:${repo}@${commit}`,
    files: wanted.map((f) => ({ name: f.name, sha256: f.sha256 })),
  });
  await syncHubArch();
}

/** The architecture of the draft's hub model, from its stored config.json. */
export async function syncHubArch(): Promise<void> {
  const st = useStudio.getState();
  const m = st.draft.model;
  const hub = m.source === 'local' ? /^hf:([^@]+)@([0-9a-f]{40})$/.exec(m.id) : null;
  const api = engineApi();
  if (!hub || !api) return;
  try {
    const config = await api.libraryConfig(hub[1], hub[2]);
    st.setArch(fromHfConfig(config), null);
  } catch (e) {
    st.setArch(null, `${hub[1]}: ${errorText(e)}`);
  }
}

export function isHubModelId(id: string): boolean {
  return id.startsWith('hf:');
}
