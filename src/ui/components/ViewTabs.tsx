/** The right column's tabs. */
import { lazy, Suspense } from 'react';
import { useStudio } from '../store';
import type { TabId } from '../store/viewSlice';
import { CompareTab } from './CompareTab';
import { GenerateTab } from './GenerateTab';
import { IntrudersTab } from './IntrudersTab';
import { LossTab } from './LossTab';
import { SpectraTab } from './SpectraTab';
import { SystemTab } from './SystemTab';

/** Its own chunk: the engine's experiment module brings the adapter registry (loaded lazily, as methods.ts does). */
const ExperimentsTab = lazy(() => import('./ExperimentsTab').then((m) => ({ default: m.ExperimentsTab })));

const TABS: { id: TabId; label: string }[] = [
  { id: 'loss', label: 'Loss' },
  { id: 'spectra', label: 'Spectra' },
  { id: 'intruders', label: 'Intruders' },
  { id: 'generate', label: 'Generate' },
  { id: 'compare', label: 'Compare' },
  { id: 'experiments', label: 'Experiments' },
  { id: 'system', label: 'System' },
];

export function ViewTabs() {
  const tab = useStudio((s) => s.tab);
  const setTab = useStudio((s) => s.setTab);
  return (
    <>
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            className="tab"
            aria-selected={tab === t.id}
            onClick={() => setTab(t.id)}
            data-testid={`tab-${t.id}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" data-testid={`panel-${tab}`}>
        {tab === 'loss' && <LossTab />}
        {tab === 'spectra' && <SpectraTab />}
        {tab === 'intruders' && <IntrudersTab />}
        {tab === 'generate' && <GenerateTab />}
        {tab === 'compare' && <CompareTab />}
        {tab === 'experiments' && (
          <Suspense fallback={<p className="muted small">Loading experiments…</p>}>
            <ExperimentsTab />
          </Suspense>
        )}
        {tab === 'system' && <SystemTab />}
      </div>
    </>
  );
}
