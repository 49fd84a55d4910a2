/**
 * The Python buttons (issue 14): "Python project" on a run (a zip of the project the CLI's export --python
 * writes) and "Import Python run" (the out/ folder of its train.py, as a folder or a zip) in the runs list.
 */
import { useState } from 'react';
import { exportPythonProject, importPythonRun } from '../analysis-python';
import { useStudio } from '../store';

export function PythonExportButton({ runId }: { runId: string }) {
  const ready = useStudio((s) => s.engine === 'ready');
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="btn small"
      data-testid="export-python"
      disabled={!ready || busy}
      title="train.py (transformers + PEFT + accelerate), the data, configs and a README (.zip) — to scale the run on GPUs"
      onClick={() => {
        setBusy(true);
        void exportPythonProject(runId).finally(() => setBusy(false));
      }}
    >
      {busy ? 'Building…' : 'Python project'}
    </button>
  );
}

export function PythonImportButton() {
  return (
    <>
      <label className="btn small" title="The out/ folder of the exported project's train.py (or a zip of it)">
        Python run…
        <input
          type="file"
          hidden
          data-testid="import-python-folder"
          {...({ webkitdirectory: '' } as Record<string, string>)}
          onChange={(e) => {
            const fs = e.target.files ? [...e.target.files] : [];
            if (fs.length) void importPythonRun(fs);
            e.target.value = '';
          }}
        />
      </label>
      <label className="btn small" title="The out/ folder of train.py as a .zip, or its files">
        (zip)
        <input
          type="file"
          hidden
          multiple
          accept=".zip,.jsonl,.json,.safetensors"
          data-testid="import-python-files"
          onChange={(e) => {
            const fs = e.target.files ? [...e.target.files] : [];
            if (fs.length) void importPythonRun(fs);
            e.target.value = '';
          }}
        />
      </label>
    </>
  );
}
