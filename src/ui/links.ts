/**
 * Opening and making run links. Opening validates the link (share.ts), checks what it needs
 * against what this browser has (model and data by content hash, the method, the adapter), and
 * shows it in a dialog that offers to restore the setup and reproduce. A bad link only shows a
 * message: the draft, the runs and the history are untouched.
 */
import type { RunConfig } from '../engine/config';
import { adapterName } from '../worker/gpu-info';
import { sha256Hex } from '../engine/io/assets';
import { getBlob } from './db';
import { hubModelCheck, isHubSnapshotId } from './hub-link-check';
import { checkParam } from './methods';
import { currentDatasetFile, currentModelFiles } from './localFiles';
import { startRun } from './runs';
import { restoreConfig } from './setupActions';
import { buildLink, decodeFragment, isRunFragment, lossFingerprint, type LossFingerprint } from './share';
import type { LinkCheck } from './store/shareSlice';
import { useStudio } from './store';

/** Read `location.hash`; if it is a run link, validate it and open the dialog. Clears the hash. */
export async function openLinkFromLocation(): Promise<void> {
  const hash = window.location.hash;
  if (!isRunFragment(hash)) return;
  // the link was read: take it out of the address bar so a reload does not reopen it
  history.replaceState(null, '', window.location.pathname + window.location.search);
  await openLink(hash);
}

export async function openLink(hash: string): Promise<void> {
  const st = useStudio.getState();
  const d = decodeFragment(hash);
  if (!d.ok) {
    st.setIncoming({ status: 'error', error: d.error });
    return;
  }
  st.setIncoming({ status: 'ok', config: d.config, fingerprint: d.fingerprint, checks: [], restored: false });
  const checks = await checkLink(d.config, d.fingerprint);
  const cur = useStudio.getState().incoming;
  if (cur?.status === 'ok' && cur.config === d.config) st.setIncoming({ ...cur, checks });
}

async function fetchSha(rel: string): Promise<string | null> {
  try {
    const base = (import.meta.env?.BASE_URL as string | undefined) ?? '/';
    const r = await fetch((base.endsWith('/') ? base : base + '/') + rel);
    if (!r.ok || (r.headers.get('content-type') ?? '').includes('text/html')) return null;
    return await sha256Hex(new Uint8Array(await r.arrayBuffer()));
  } catch {
    return null;
  }
}

/** What the link needs and whether this browser has it. */
export async function checkLink(c: RunConfig, fp: LossFingerprint | null): Promise<LinkCheck[]> {
  const st = useStudio.getState();
  const checks: LinkCheck[] = [];

  const method = st.catalog.methods.find((m) => m.id === c.method.id);
  if (!st.catalog.loaded)
    checks.push({ what: 'method', ok: null, message: `Method “${c.method.id}”: the method list is still loading.` });
  else if (!method)
    checks.push({
      what: 'method',
      ok: false,
      message: `Method “${c.method.id}” does not exist in this version of Rankscope (it has ${st.catalog.methods.map((m) => m.id).join(', ')}).`,
    });
  else {
    const bad = method.params
      .map((p) => checkParam(p, (c.method.params as Record<string, unknown>)[p.key] ?? p.default))
      .filter(Boolean);
    checks.push(
      bad.length
        ? { what: 'method', ok: false, message: `${method.label}: ${bad.join('; ')}.` }
        : {
            what: 'method',
            ok: true,
            message: `${method.label} with ${Object.keys(c.method.params).length} parameters.`,
          },
    );
  }

  const m = c.model;
  if (m.source === 'preset')
    checks.push({
      what: 'model',
      ok: true,
      message: `Architecture preset “${m.id}”, initialised from seed ${c.seed}.`,
    });
  else if (m.source === 'builtin') {
    if (!st.catalog.models.some((x) => x.source === 'builtin' && x.id === m.id))
      checks.push({ what: 'model', ok: false, message: `Built-in model “${m.id}” is not shipped with this version.` });
    else if (!m.hash)
      checks.push({ what: 'model', ok: true, message: `Built-in model “${m.id}” (the link gives no hash).` });
    else {
      const got = await fetchSha(`models/${m.id}/model.safetensors`);
      checks.push(
        got === m.hash
          ? {
              what: 'model',
              ok: true,
              message: `Built-in model “${m.id}”, model.safetensors sha256 ${m.hash.slice(0, 12)}… matches.`,
            }
          : got
            ? {
                what: 'model',
                ok: false,
                message: `Built-in model “${m.id}” here is different: the link needs model.safetensors with sha256 ${m.hash}, this site has ${got}.`,
              }
            : {
                what: 'model',
                ok: null,
                message: `Built-in model “${m.id}”: its hash is checked when the run starts.`,
              },
      );
    }
  } else if (isHubSnapshotId(m.id)) {
    checks.push(await hubModelCheck(m.id, m.files ?? []));
  } else {
    const want = m.files ?? [];
    const have = currentModelFiles();
    const missing: string[] = [];
    for (const w of want) {
      const inMem = have.find((f) => f.name === w.name);
      if (inMem && inMem.sha256 === w.sha256) continue;
      const stored = await getBlob(w.sha256).catch(() => undefined);
      if (stored) continue;
      missing.push(
        `${w.name} with sha256 ${w.sha256}${inMem ? ` (the chosen ${w.name} has sha256 ${inMem.sha256})` : ''}`,
      );
    }
    checks.push(
      want.length === 0
        ? { what: 'model', ok: false, message: `Local model “${m.id}”: the link does not say which files it needs.` }
        : missing.length
          ? {
              what: 'model',
              ok: false,
              message: `Local model “${m.id}”: choose its files under Model. Needed: ${missing.join('; ')}.`,
            }
          : { what: 'model', ok: true, message: `Local model “${m.id}”: all ${want.length} files found by hash.` },
    );
  }

  const ds = c.dataset;
  if (ds.source === 'builtin') {
    const opt = st.catalog.datasets.find((x) => x.id === ds.id);
    if (!opt)
      checks.push({
        what: 'dataset',
        ok: st.catalog.loaded ? false : null,
        message: `Built-in dataset “${ds.id}” is not available here.`,
      });
    else if (ds.hash && opt.kind === 'text' && opt.sha256 && ds.hash !== opt.sha256) {
      checks.push({
        what: 'dataset',
        ok: false,
        message: `Built-in dataset “${ds.id}” here is different: the link needs sha256 ${ds.hash}, this site has ${opt.sha256}.`,
      });
    } else
      checks.push({
        what: 'dataset',
        ok: true,
        message: `Built-in dataset “${ds.id}”${ds.hash ? `, sha256 ${ds.hash.slice(0, 12)}…${opt.kind === 'text' ? ' matches' : ' (checked when the run starts)'}` : ''}.`,
      });
  } else {
    const cur = currentDatasetFile();
    const stored = ds.hash ? await getBlob(ds.hash).catch(() => undefined) : undefined;
    const ok = !!ds.hash && ((cur && cur.sha256 === ds.hash) || !!stored);
    checks.push(
      ok
        ? { what: 'dataset', ok: true, message: `Uploaded dataset “${ds.id}” found by hash.` }
        : {
            what: 'dataset',
            ok: false,
            message: `Uploaded dataset: choose the file ${ds.id}${ds.hash ? ` with sha256 ${ds.hash}` : ''} under Dataset.${cur && ds.hash && cur.sha256 !== ds.hash ? ` The chosen ${cur.name} has sha256 ${cur.sha256}.` : ''}`,
          },
    );
  }

  if (fp && st.adapter) {
    const mine = await lossFingerprint([], adapterName(st.adapter));
    checks.push(
      mine.adapter === fp.adapter
        ? {
            what: 'adapter',
            ok: true,
            message: `Trained on the same kind of GPU adapter (${adapterName(st.adapter)}): a reproduction should give bit-identical losses (${fp.steps} steps).`,
          }
        : {
            what: 'adapter',
            ok: null,
            message: `Trained on a different GPU adapter: a reproduction will be close, but not bit-identical.`,
          },
    );
  }
  return checks;
}

export async function restoreIncoming(): Promise<void> {
  const inc = useStudio.getState().incoming;
  if (inc?.status !== 'ok') return;
  await restoreConfig(inc.config);
  useStudio.getState().setIncoming({ ...inc, restored: true });
}

export async function reproduceIncoming(): Promise<void> {
  const inc = useStudio.getState().incoming;
  if (inc?.status !== 'ok') return;
  await restoreConfig(inc.config);
  const id = await startRun(inc.config, {
    reproduces: { fingerprint: inc.fingerprint },
    name: `${inc.config.name ?? 'shared run'} (reproduction)`,
  });
  if (id) useStudio.getState().setIncoming(null);
}

/** The config as shared: content hashes filled in from what the engine measured. */
export function sharedConfig(runId: string): RunConfig | null {
  const r = useStudio.getState().runs[runId];
  if (!r) return null;
  const c = structuredClone(r.config);
  if ((c.model.source === 'builtin' || c.model.source === 'local') && r.modelHash && /^[0-9a-f]{64}$/.test(r.modelHash))
    c.model = { ...c.model, hash: r.modelHash };
  if (r.datasetHash && /^[0-9a-f]{64}$/.test(r.datasetHash)) c.dataset = { ...c.dataset, hash: r.datasetHash };
  if (!c.name) c.name = r.name.slice(0, 120);
  return c;
}

export async function shareLinkFor(runId: string): Promise<string | null> {
  const st = useStudio.getState();
  const r = st.runs[runId];
  const c = sharedConfig(runId);
  if (!r || !c) return null;
  const m = st.metrics[runId];
  const fp = r.status === 'done' && m && m.losses.length ? await lossFingerprint(m.losses, r.adapterName) : null;
  return buildLink(window.location.origin + window.location.pathname, c, fp);
}

/** A link for the current draft (before any run): the setup only, no fingerprint. */
export function draftLink(): string | null {
  const v = useStudio.getState().validation;
  if (!v.config) return null;
  return buildLink(window.location.origin + window.location.pathname, v.config, null);
}
