/** The left column's run setup form. */
import { useStudio } from '../store';
import { DatasetSection } from './DatasetSection';
import { MethodSection } from './MethodSection';
import { ModelSection } from './ModelSection';
import { TargetsSection } from './TargetsSection';
import { TrainingSection } from './TrainingSection';

export function SetupPanel() {
  const loaded = useStudio((s) => s.catalog.loaded);
  return (
    <section className="card setup-panel" data-testid="setup-panel" data-loaded={loaded}>
      <h2 className="card-title">Run setup</h2>
      {!loaded ? (
        <p className="muted small">Loading models, datasets and methods…</p>
      ) : (
        <>
          <ModelSection />
          <DatasetSection />
          <MethodSection />
          <TargetsSection />
          <TrainingSection />
        </>
      )}
    </section>
  );
}
