/**
 * "Python project" on an experiment (the result view and each gallery card): the worker builds the files
 * the CLI's `experiment export <preset|file|link> --python OUT` writes (engine/export/python/experiment.ts:
 * runs/NN-<run>/train.py …, model/ and data/ once at the top, sweep.sh, sweep_array.sh, experiment.json,
 * runs.json, README), and they are zipped and downloaded as the single-run button does (projectZip).
 */
import { expandForPage, type Experiment } from './experiments';
import { projectZip, slug } from './analysis-python';
import { engineApi } from './engine';
import { download } from './exporting';
import { errorText } from './gpuSupport';
import { sourcesFor } from './runs';
import { useStudio } from './store';

/** The experiment's project as a zip under one folder named after it. */
export async function buildPythonExperimentZip(
  exp: Experiment,
): Promise<{ name: string; zip: Uint8Array; notes: string[]; runs: number }> {
  if (exp.kind === 'matrix-fit') throw new Error(`${exp.id} fits matrices (no model is trained): nothing to export`);
  const api = engineApi();
  if (!api) throw new Error('the engine is not ready');
  // a local model or an uploaded dataset: the files of the runs' inputs, as for one of its runs
  const first = expandForPage(exp).configs.find((c) => c !== null);
  const { cmd, missing } = first ? await sourcesFor(first) : { cmd: {}, missing: null };
  if (missing) throw new Error(missing);
  const out = await api.pythonExperiment({
    experiment: exp,
    modelFiles: cmd.modelFiles,
    datasetFile: cmd.datasetFile,
  });
  const root = `${slug(`${exp.id}-${exp.budget}`)}-python`;
  return { name: `${root}.zip`, zip: projectZip(root, out.files), notes: out.notes, runs: out.runs };
}

export async function exportPythonExperiment(exp: Experiment): Promise<void> {
  const st = useStudio.getState();
  try {
    const { name, zip, notes, runs } = await buildPythonExperimentZip(exp);
    download(name, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
    st.notify(`Python project ${name} (${runs} runs: ./sweep.sh)${notes.length ? `: ${notes.join(' ')}` : ''}`, 'info');
  } catch (e) {
    st.notify(`Python export failed: ${errorText(e)}`);
  }
}
