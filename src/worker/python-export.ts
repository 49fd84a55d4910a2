/**
 * "Export as Python project" in the page (issue 14 item 1): the same files the CLI's `export --run DIR
 * --python OUT` writes (engine/export/python/project.ts), built in the worker from the run's config and its
 * inputs (the model's files for a local or hub model, an uploaded dataset); the page zips them.
 */
import { resolveInputs } from '../engine/inputs';
import { buildPythonProject, builtinModelFiles } from '../engine/export/python/project';
import type { PythonProjectRequest, PythonProjectFiles } from './protocol';

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
