/**
 * The CLI side of issue 14 (called by export.ts and import.ts):
 *   export --run DIR --python OUT [--model DIR|hf:…] [--dataset FILE]   a run as a Python project
 *   import --python-run DIR [--out FILE]                                a Python run's out/ as a page run export
 * The generator and the import are in src/engine/export/python/; this file only reads and writes files.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import { CliError, emit, flag, has, type ParsedArgs } from '../args';
import { isDirectory, readFileBytes, readModelDir, writeFiles } from '../fsio';
import { localModelRef } from '../model';
import { parseRunConfig, type RunConfig } from '../../engine/config';
import { resolveInputs, type InputSources } from '../../engine/inputs';
import { buildPythonProject, builtinModelFiles } from '../../engine/export/python/project';
import { PythonExportError } from '../../engine/export/python/mapping';
import { PythonImportError, pythonRunToExport } from '../../engine/export/python/import';

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await readFileBytes(file))) as unknown;
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
}

export async function exportPython(args: ParsedArgs): Promise<number> {
  const dir = flag(args, 'run')!;
  const out = flag(args, 'python')!;
  if (!(await isDirectory(dir)))
    throw new CliError(`--run ${dir}: not a directory (expected the --out directory of \`train\`)`);
  let config: RunConfig;
  try {
    config = parseRunConfig(await readJson(path.join(dir, 'run.json')));
  } catch (e) {
    throw new CliError(`${path.join(dir, 'run.json')}: ${(e as Error).message}`);
  }
  const sources: InputSources = {};
  const model = flag(args, 'model') ?? (config.model.id.startsWith('hf:') ? config.model.id : undefined);
  if (config.model.source === 'local') {
    if (!model)
      throw new CliError(`the run used the local model "${config.model.id}": pass its folder with --model <dir>`);
    sources.modelFiles = await readModelDir((await localModelRef(model)).path);
  }
  if (config.dataset.source === 'upload') {
    const ds = flag(args, 'dataset');
    if (!ds) throw new CliError(`the run used the dataset file "${config.dataset.id}": pass it with --dataset <file>`);
    sources.datasetFile = { name: path.basename(ds), bytes: await readFileBytes(ds) };
  }
  let project;
  try {
    const inputs = await resolveInputs(config, sources);
    project = await buildPythonProject({
      config,
      modelConfig: inputs.modelConfig,
      data: inputs.data,
      modelFiles: config.model.source === 'builtin' ? await builtinModelFiles(config.model.id) : undefined,
    });
  } catch (e) {
    if (e instanceof PythonExportError) throw new CliError(`export --python: ${e.message}`);
    throw e;
  }
  // writeFiles writes into existing folders only: make data/, accelerate/, model/ first
  for (const d of new Set(project.files.map((f) => path.dirname(f.name)).filter((d) => d !== '.')))
    await fs.mkdir(path.join(out, d), { recursive: true });
  await writeFiles(out, project.files);
  if (has(args, 'json'))
    emit({ export: { python: { dir: out, files: project.files.map((f) => f.name), notes: project.notes } } });
  else {
    for (const n of project.notes) console.log(`note: ${n}`);
    console.log(`Python project (${config.method.id}) → ${out}: ${project.files.length} files`);
    console.log(
      `check it: (cd ${out} && python3 test_mapping.py); train it: (cd ${out} && accelerate launch --config_file accelerate/single_gpu.yaml train.py)`,
    );
  }
  return 0;
}

export async function importPythonRun(args: ParsedArgs): Promise<number> {
  const dir = flag(args, 'python-run')!;
  if (!(await isDirectory(dir)))
    throw new CliError(`--python-run ${dir}: not a directory (expected the out/ folder of train.py)`);
  const read = async (name: string) => {
    try {
      return new TextDecoder().decode(await readFileBytes(path.join(dir, name)));
    } catch {
      throw new CliError(
        `--python-run ${dir}: no ${name} there (train.py writes metrics.jsonl and run_config.json into its --out folder)`,
      );
    }
  };
  const adapterDir = path.join(dir, 'adapter');
  const adapterNames = (await isDirectory(adapterDir)) ? (await fs.readdir(adapterDir)).sort() : [];
  let ex;
  try {
    ex = pythonRunToExport({
      metricsJsonl: await read('metrics.jsonl'),
      runConfigJson: await read('run_config.json'),
      adapterFiles: adapterNames,
    });
  } catch (e) {
    if (e instanceof PythonImportError) throw new CliError(`import --python-run ${dir}: ${e.message}`);
    throw e;
  }
  const files: Record<string, Uint8Array> = { 'run.json': strToU8(JSON.stringify(ex)) };
  for (const n of adapterNames) files[`adapter/${n}`] = await readFileBytes(path.join(adapterDir, n));
  const out = flag(args, 'out') ?? path.join(dir, 'run.rankscope.zip');
  await fs.writeFile(out, zipSync(files, { level: 6 }));
  const batch = (ex.metrics as { batch: { step: number[] } }[])[0].batch;
  const report = { file: out, run: ex.run, steps: batch.step.length, adapter: adapterNames };
  if (has(args, 'json')) emit({ import: { ...report, run: { id: ex.run.id, name: ex.run.name } } });
  else
    console.log(
      `Python run → ${out} (${batch.step.length} metric rows${adapterNames.length ? `, adapter: ${adapterNames.join(', ')}` : ''}); import it on the page (Import) to compare it with browser runs`,
    );
  return 0;
}
