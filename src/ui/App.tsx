/** The studio shell: header, banners, and either the explanation page or the studio itself. */
import { useEffect } from 'react';
import { isBlocking } from './gpuSupport';
import { startEngine } from './engine';
import { useStudio } from './store';
import { AdapterCard } from './components/AdapterCard';
import { DeviceLostBanner } from './components/DeviceLostBanner';
import { Header } from './components/Header';
import { Notices } from './components/Notices';
import { SelfTestPanel } from './components/SelfTestPanel';
import { WebGpuHelp } from './components/WebGpuHelp';

export function App() {
  const engine = useStudio((s) => s.engine);
  const problem = useStudio((s) => s.problem);
  useEffect(() => {
    void startEngine();
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
        <div className="studio" data-testid="studio">
          <aside className="setup-col">
            <AdapterCard />
            <SelfTestPanel />
          </aside>
          <main className="view-col" />
        </div>
      )}
    </div>
  );
}
