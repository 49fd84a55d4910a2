/**
 * Setup actions: load the catalog (methods from the engine worker, models, datasets), keep the chosen
 * method's cross-field checks answered by the worker, choose a model (and learn its architecture),
 * restore a whole configuration (from a link, a run, an import).
 */
import type { RunConfig } from '../engine/config';
import { MODEL_PRESETS } from '../engine/model/config';
import { builtinArch, builtinModels, datasetOptions, presetModels } from './catalog';
import { defaultDraft } from './draft';
import { engineApi } from './engine';
import { errorText } from './gpuSupport';
import { currentModelFiles, restoreModelFiles } from './localFiles';
import { useStudio } from './store';
import { methodCheckKey } from './store/setupSlice';
import { syncHubArch } from './hub';

let catalogStarted = false;

export async function loadCatalog(): Promise<void> {
  if (catalogStarted) return;
  catalogStarted = true;
  const st = useStudio.getState();
  const api = engineApi();
  const [methods, builtins, datasets] = await Promise.all([
    // the method metadata comes from the worker, which holds the adapter registry (ui/methods.ts)
    (api ? api.methods() : Promise.reject(new Error('the engine is not ready'))).catch((e: unknown) => {
      st.setCatalog({ error: `The method list could not be loaded from the engine: ${errorText(e)}` });
      return [];
    }),
    builtinModels(),
    datasetOptions().catch(() => []),
  ]);
  const models = [...builtins, ...presetModels()];
  st.setCatalog({ methods, models, datasets, loaded: true });
  // First visit: defaults that fit what is offered — the pretrained base model when shipped (issue 16: not
  // the micro test model), else the micro one; LoRA when registered.
  const cur = useStudio.getState();
  if (!cur.incoming || cur.incoming.status !== 'ok') {
    const key = firstModelKey(builtins.map((m) => m.id));
    const d = defaultDraft(methods, key);
    if (!datasets.some((x) => x.id === d.dataset.id) && datasets[0])
      d.dataset = { source: 'builtin', id: datasets[0].id };
    cur.replaceDraft(d);
  }
  watchMethodChecks();
  await syncArch();
}

let watchingChecks = false;

/**
 * Whenever the draft changes and its method has cross-field checks, ask the worker for them
 * (`checkMethod`) and keep the answer while the draft is still the one asked about.
 */
export function watchMethodChecks(): void {
  if (watchingChecks) return;
  watchingChecks = true;
  let asked = '';
  const check = () => {
    const s = useStudio.getState();
    const key = methodCheckKey(s.draft);
    if (key === asked || s.methodCheck?.key === key) return;
    const api = engineApi();
    if (!api || !s.catalog.methods.find((m) => m.id === s.draft.method.id)?.crossChecks) return;
    asked = key;
    const answer = (issues: string[]) => {
      if (methodCheckKey(useStudio.getState().draft) === key) useStudio.getState().setMethodCheck({ key, issues });
      else if (asked === key) asked = ''; // the draft moved on: ask again if it comes back
    };
    api.checkMethod(s.draft).then(answer, (e: unknown) => answer([`the method's checks failed: ${errorText(e)}`]));
  };
  useStudio.subscribe((s, prev) => {
    if (s.draft !== prev.draft || s.catalog.methods !== prev.catalog.methods) check();
  });
  check();
}

/** Learn the architecture of the draft's model (presets: known; built-ins: config.json; local: the picked files). */
export async function syncArch(): Promise<void> {
  const st = useStudio.getState();
  const m = st.draft.model;
  if (m.source === 'preset') {
    const arch = m.arch ?? MODEL_PRESETS[m.id] ?? null;
    st.setArch(arch, arch ? null : `Unknown model preset "${m.id}".`);
    return;
  }
  if (m.source === 'builtin') {
    st.setArch(null, null);
    try {
      const arch = await builtinArch(m.id);
      if (useStudio.getState().draft.model === m) useStudio.getState().setArch(arch, null);
    } catch (e) {
      if (useStudio.getState().draft.model === m)
        useStudio.getState().setArch(null, `The built-in model "${m.id}" could not be read: ${errorText(e)}`);
    }
    return;
  }
  // a hub model from the browser's model library
  if (m.id.startsWith('hf:')) {
    st.setArch(null, null);
    await syncHubArch();
    return;
  }
  // local
  const want = m.files ?? [];
  const have = currentModelFiles();
  const ok = want.length > 0 && want.every((w) => have.some((f) => f.name === w.name && f.sha256 === w.sha256));
  if (!ok) {
    st.setLocalModel(null);
    st.setArch(null, null);
    if (want.length) await restoreModelFiles(m.id, want);
  }
}

export async function chooseModel(key: string): Promise<void> {
  const st = useStudio.getState();
  if (key === 'hub') {
    // the hub picker sets model + arch once a model is downloaded or chosen from the library
    st.setField('model', { source: 'local', id: 'hf:' });
  } else if (key === 'local') {
    // the file picker sets model + arch once files are chosen
    st.setField('model', {
      source: 'local',
      id: st.localModel?.id ?? 'local-model',
      ...(st.localModel ? { files: st.localModel.files.map((f) => ({ name: f.name, sha256: f.sha256 })) } : {}),
    });
  } else {
    const [source, id] = key.split(':');
    st.setField('model', source === 'builtin' ? { source: 'builtin', id } : { source: 'preset', id });
  }
  await syncArch();
}

export function modelKeyOf(c: RunConfig): string {
  if (c.model.source === 'local') return c.model.id.startsWith('hf:') ? 'hub' : 'local';
  return `${c.model.source}:${c.model.id}`;
}

export async function restoreConfig(c: RunConfig): Promise<void> {
  useStudio.getState().replaceDraft(structuredClone(c));
  await syncArch();
}

/** The model a first visit starts with: the pretrained base, else the built-in micro model, else the micro preset. */
export function firstModelKey(builtinIds: string[]): string {
  if (builtinIds.includes('base')) return 'builtin:base';
  return builtinIds.includes('micro') ? 'builtin:micro' : 'preset:micro';
}
