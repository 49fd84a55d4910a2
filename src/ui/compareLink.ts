/**
 * Compare links (issue 16): the ticked runs as one `#compare=` link (compare.ts encodes it), and
 * opening one: the runs this browser has are ticked, the others are offered for training from their
 * configs, one after another, each ticked as it starts. A bad link is one notice; nothing changes.
 */
import {
  decodeCompareFragment,
  encodeCompareFragment,
  isCompareFragment,
  matchCompareLink,
  type CompareLinkRun,
} from './compare';
import { startRun } from './runs';
import { isActive } from './runHistory';
import { useStudio } from './store';

/** The link for the runs ticked now (in their order), or null when none is ticked. */
export function compareLinkFor(ids: string[], baseUrl = window.location.href): string | null {
  const runs = useStudio.getState().runs;
  const list = ids.map((id) => runs[id]).filter(Boolean);
  if (!list.length) return null;
  return `${baseUrl.split('#')[0]}#${encodeCompareFragment(list.map((r) => ({ id: r.id, name: r.name, config: r.config })))}`;
}

export function openCompareLink(hash: string): void {
  const st = useStudio.getState();
  const d = decodeCompareFragment(hash);
  if (!d.ok) {
    st.notify(`This comparison link cannot be opened: ${d.error}. Nothing was changed.`);
    return;
  }
  const { ids, missing } = matchCompareLink(d.runs, Object.values(st.runs));
  st.setCompare(ids.filter((x): x is string => !!x));
  st.setCompareLink({ total: d.runs.length, missing });
  st.setTab('compare');
}

/** Open a `#compare=` link in the address bar now and whenever the fragment changes to one. */
export function watchCompareLinks(): void {
  const take = () => {
    const h = window.location.hash;
    if (!isCompareFragment(h)) return;
    history.replaceState(null, '', window.location.pathname + window.location.search);
    openCompareLink(h);
  };
  take();
  window.addEventListener('hashchange', take);
}

/** Train the link's missing runs one after another (each ticked as it starts); stops at the first refusal. */
export async function trainMissing(): Promise<void> {
  const st = useStudio.getState();
  const pending = [...(st.compareLink?.missing ?? [])];
  while (pending.length) {
    const r: CompareLinkRun = pending[0];
    const id = await startRun(r.config, { name: r.name });
    if (!id) return; // startRun said why (busy, files missing)
    pending.shift();
    const cur = useStudio.getState();
    cur.setCompare([...cur.compareIds.filter((x) => x !== id), id]);
    cur.setCompareLink(pending.length ? { total: cur.compareLink?.total ?? 0, missing: [...pending] } : null);
    await finished(id);
    if (useStudio.getState().runs[id]?.status === 'error') return;
  }
}

function finished(id: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => !isActive(useStudio.getState().runs[id]);
    if (done()) return resolve();
    const unsub = useStudio.subscribe(() => {
      if (!done()) return;
      unsub();
      resolve();
    });
  });
}
