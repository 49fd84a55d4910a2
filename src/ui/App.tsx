/** The studio shell: header, banners, and either the explanation page or the studio itself. */
import { useEffect } from 'react';
import { bootStudio } from './boot';
import { isBlocking } from './gpuSupport';
import { useStudio } from './store';
import { AdapterAnalysisPanel } from './components/AdapterAnalysisPanel';
import { AdapterAnalysisSummary } from './components/AdapterAnalysisSummary';
import { AnalysisLinkDialog } from './components/AnalysisLinkDialog';
import { DeviceLostBanner } from './components/DeviceLostBanner';
import { Header } from './components/Header';
import { IncomingLinkDialog } from './components/IncomingLinkDialog';
import { Notices } from './components/Notices';
import { ResumeBanner } from './components/ResumeBanner';
import { RunBar } from './components/RunBar';
import { RunsList } from './components/RunsList';
import { RunToolsPanel } from './components/RunToolsPanel';
import { SetupPanel } from './components/SetupPanel';
import { StartBar } from './components/StartBar';
import { ViewTabs } from './components/ViewTabs';
import { WebGpuHelp } from './components/WebGpuHelp';

export function App() {
  const engine = useStudio((s) => s.engine);
  const problem = useStudio((s) => s.problem);
  useEffect(() => {
    void bootStudio();
  }, []);
  const blocked = engine === 'failed' && isBlocking(problem);
  return (
    <div className="app" data-testid="app" data-engine={engine}>
      <Header />
      <DeviceLostBanner />
      <Notices />
      {blocked && problem ? (
        <WebGpuHelp problem={problem} />
      ) : (
        <>
          <ResumeBanner />
          <div className="studio" data-testid="studio">
            <aside className="setup-col">
              <StartBar />
              <SetupPanel />
              <RunsList />
              <AdapterAnalysisPanel />
            </aside>
            <main className="view-col">
              <AnalysisLinkDialog />
              <RunBar />
              <AdapterAnalysisSummary />
              <RunToolsPanel />
              <ViewTabs />
            </main>
          </div>
          <IncomingLinkDialog />
        </>
      )}
    </div>
  );
}
