/**
 * Start-up order: engine (WebGPU check, worker, adapter) → catalog (methods, models, datasets) →
 * history (IndexedDB) → a run link in the address bar, if any. Each step reports its own failure;
 * none of them can leave a blank page.
 */
import { startEngine } from './engine';
import { openLink, openLinkFromLocation } from './links';
import { watchCompareLinks } from './compareLink';
import { loadHistory } from './runHistory';
import { loadCatalog } from './setupActions';
import { isRunFragment } from './share';
import { useStudio } from './store';
import { applyEngineEvent } from './store/actions';

let booted = false;

export async function bootStudio(): Promise<void> {
  if (booted) return;
  booted = true;
  exposeForDebugging();
  await startEngine(applyEngineEvent);
  if (useStudio.getState().engine !== 'ready') return;
  await loadCatalog();
  await loadHistory();
  await openLinkFromLocation();
  watchCompareLinks(); // `#compare=` links (issue 16): tick the runs this browser has, offer to train the rest
  // experiments (issue 13), in their own chunk: the engine's experiment module brings the method registry
  // and the engine with it, which this lazy chunk may hold and the main entry chunk may not (the page gets
  // method metadata from the worker; tests/ui/main-chunk.test.ts). The queue follows its runs' states, a
  // reload finds it, `#experiment=` links open in its tab
  const experiments = await import('./experimentsQueue');
  experiments.watchRuns();
  await experiments.loadExperiments();
  experiments.openExperimentLink(window.location.hash);
  window.addEventListener('hashchange', () => {
    const h = window.location.hash;
    if (experiments.openExperimentLink(h)) return;
    if (!isRunFragment(h)) return;
    history.replaceState(null, '', window.location.pathname + window.location.search);
    void openLink(h);
  });
}

/** `window.__rankscope` in the console (and in e2e tests): the store, read-only use intended. */
function exposeForDebugging(): void {
  (window as unknown as { __rankscope?: unknown }).__rankscope = { store: useStudio, applyEngineEvent };
}
