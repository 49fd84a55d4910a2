/**
 * "Export as Python project" in the page (issue 14 item 1): the same files the CLI's `export --run DIR
 * --python OUT` writes (engine/export/python/project.ts), built in the worker from the run's config and its
 * inputs (the model's files for a local or hub model, an uploaded dataset); the page zips them.
 */
import { resolveInputs } from '../engine/inputs';
import { buildPythonProject, builtinModelFiles } from '../engine/export/python/project';
import { buildPythonExperiment } from '../engine/export/python/experiment';
import type { Experiment } from '../engine/experiments/schema';
import type { LocalFiles, PythonProjectRequest, PythonProjectFiles } from './protocol';

export interface PythonExperimentRequest {
  experiment: Experiment;
  /** A local or hub model's files / an uploaded dataset, as for one of its runs. */
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
}

export async function pythonProjectFiles(
  req: PythonProjectRequest,
  modelFiles: { name: string; bytes: Uint8Array }[] | undefined,
): Promise<PythonProjectFiles> {
  const config = req.config;
  const inputs = await resolveInputs(config, { modelFiles, datasetFile: req.datasetFile });
  const project = await buildPythonProject({
    config,
    modelConfig: inputs.modelConfig,
    data: inputs.data,
    modelFiles: config.model.source === 'builtin' ? await builtinModelFiles(config.model.id) : undefined,
  });
  return { files: project.files, notes: project.notes };
}

/**
 * "Python project" on an experiment (issue 13 / 14 item 4 in the page): the files the CLI's
 * `experiment export … --python OUT` writes (engine/export/python/experiment.ts: runs/NN-…/, sweep.sh,
 * sweep_array.sh, experiment.json, runs.json), built here from the experiment and the inputs of its runs.
 */
export async function pythonExperimentFiles(
  req: PythonExperimentRequest,
  modelFiles: { name: string; bytes: Uint8Array }[] | undefined,
): Promise<PythonProjectFiles & { runs: number }> {
  const project = await buildPythonExperiment(req.experiment, {
    modelFiles,
    datasetFile: req.datasetFile,
  });
  return { files: project.files, notes: project.notes, runs: project.runs.length };
}
