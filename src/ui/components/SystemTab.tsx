/** The GPU adapter and the engine self-test. */
import { AdapterCard } from './AdapterCard';
import { SelfTestPanel } from './SelfTestPanel';

export function SystemTab() {
  return (
    <div className="grid2">
      <AdapterCard />
      <SelfTestPanel />
    </div>
  );
}
