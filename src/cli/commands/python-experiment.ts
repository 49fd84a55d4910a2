/**
 * The CLI's file side of issue 14 item 4 (called by experiment.ts):
 *   experiment export <preset|file.json|link> --python OUT …   the experiment as one Python project
 *   import --python-experiment DIR --out RESULTS                the runs' out/metrics.jsonl back as results
 * The project and the results are built in src/engine/export/python/experiment.ts.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError, emit } from '../args';
import { isDirectory, writeFiles } from '../fsio';
import type { InputSources } from '../../engine/inputs';
import type { Experiment } from '../../engine/experiments/schema';
import { PythonExportError } from '../../engine/export/python/mapping';
import { PythonImportError } from '../../engine/export/python/import';
import {
  buildPythonExperiment,
  pythonExperimentResults,
  type PythonExperimentResults,
} from '../../engine/export/python/experiment';

export async function writePythonExperiment(
  exp: Experiment,
  sources: InputSources,
  out: string,
  json: boolean,
): Promise<number> {
  let project;
  try {
    project = await buildPythonExperiment(exp, sources);
  } catch (e) {
    if (e instanceof PythonExportError) throw new CliError(`experiment export --python: ${e.message}`);
    throw e;
  }
  for (const d of new Set(project.files.map((f) => path.dirname(f.name)).filter((d) => d !== '.')))
    await fs.mkdir(path.join(out, d), { recursive: true });
  await writeFiles(out, project.files);
  for (const sh of ['sweep.sh', 'sweep_array.sh']) await fs.chmod(path.join(out, sh), 0o755);
  if (json)
    emit({ export: { python: { dir: out, runs: project.runs, files: project.files.length, notes: project.notes } } });
  else {
    for (const n of project.notes) console.log(`note: ${n}`);
    console.log(`Python experiment ${exp.id} (${project.runs.length} runs) → ${out}`);
    console.log(`train it: (cd ${out} && ./sweep.sh), or on SLURM: (cd ${out} && sbatch sweep_array.sh)`);
  }
  return 0;
}

/** An exported experiment folder's runs as results (runs without out/metrics.jsonl are pending). */
export async function readPythonExperiment(dir: string): Promise<PythonExperimentResults> {
  if (!(await isDirectory(dir)))
    throw new CliError(
      `--python-experiment ${dir}: not a directory (expected the folder of experiment export --python)`,
    );
  const read = async (name: string) => {
    try {
      return await fs.readFile(path.join(dir, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  const expJson = await read('experiment.json');
  const runsJson = await read('runs.json');
  if (expJson === undefined || runsJson === undefined)
    throw new CliError(
      `--python-experiment ${dir}: no experiment.json and runs.json there (not an exported experiment)`,
    );
  const metrics: Record<string, string | undefined> = {};
  try {
    for (const r of JSON.parse(runsJson) as { dir: string }[])
      metrics[r.dir] = await read(path.join('runs', r.dir, 'out', 'metrics.jsonl'));
    return pythonExperimentResults(expJson, runsJson, metrics);
  } catch (e) {
    if (e instanceof PythonImportError || e instanceof SyntaxError)
      throw new CliError(`import --python-experiment ${dir}: ${e.message}`);
    throw e;
  }
}
