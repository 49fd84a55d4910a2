/**
 * "Python project" for an experiment (result view and gallery cards): the zip of what the CLI's
 * `experiment export … --python OUT` writes — one train.py project per run under runs/, sweep.sh and
 * sweep_array.sh (experimentsPython.ts). Matrix-fit experiments train no model: no button.
 */
import { useState } from 'react';
import type { Experiment } from '../experiments';
import { exportPythonExperiment } from '../experimentsPython';
import { useStudio } from '../store';

export function ExperimentsPythonButton({ exp, testId }: { exp: Experiment; testId: string }) {
  const ready = useStudio((s) => s.engine === 'ready');
  const [busy, setBusy] = useState(false);
  if (exp.kind === 'matrix-fit') return null;
  return (
    <button
      type="button"
      className="btn small"
      data-testid={testId}
      disabled={!ready || busy}
      title="Every run as a train.py project (transformers + PEFT + accelerate) under runs/, with sweep.sh and a SLURM sweep_array.sh (.zip) — to run the sweep on GPUs and import the results back"
      onClick={() => {
        setBusy(true);
        void exportPythonExperiment(exp).finally(() => setBusy(false));
      }}
    >
      {busy ? 'Building…' : 'Python project'}
    </button>
  );
}
