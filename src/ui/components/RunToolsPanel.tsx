/** The selected run's tools: PHLoRA extraction for full fine-tuning, intruder mitigation for LoRA (issue 12). */
import { runTool } from '../analysis-tools';
import { useStudio } from '../store';
import { ExtractPanel } from './ExtractPanel';
import { MitigatePanel } from './MitigatePanel';

export function RunToolsPanel() {
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  const engineRunId = useStudio((s) => s.engineRunId);
  const methods = useStudio((s) => s.catalog.methods);
  const tool = runTool(run, methods);
  if (!run || !tool || (engineRunId === run.id && run.status !== 'done' && run.status !== 'stopped')) return null;
  return tool === 'extract' ? <ExtractPanel key={run.id} run={run} /> : <MitigatePanel key={run.id} run={run} />;
}
