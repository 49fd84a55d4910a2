/**
 * Python in the page (issue 14 items 1 and 3). "Export as Python project": the worker builds the same
 * files as the CLI's `export --run DIR --python OUT` (engine/export/python), zipped here with fflate.
 * "Import Python run": the out/ folder of the exported train.py (metrics.jsonl + run_config.json +
 * adapter/), picked as a folder, as files or as a .zip, becomes a page run export (engine/export/python/
 * import.ts, as `import --python-run` writes it) and goes through the page's own Import, so Compare plots
 * it beside browser runs.
 */
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { pythonRunToExport } from '../engine/export/python/import';
import { engineApi } from './engine';
import { download, importRun, type ImportResult } from './exporting';
import { errorText } from './gpuSupport';
import { sourcesFor } from './runs';
import { useStudio } from './store';

export const slug = (s: string) =>
  s
    .replace(/[^\w.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'run';

/** The project as a zip (under one folder named after the run), or an error line. */
export async function buildPythonZip(runId: string): Promise<{ name: string; zip: Uint8Array; notes: string[] }> {
  const st = useStudio.getState();
  const run = st.runs[runId];
  if (!run) throw new Error('no such run');
  const api = engineApi();
  if (!api) throw new Error('the engine is not ready');
  const { cmd, missing } = await sourcesFor(run.config);
  if (missing) throw new Error(missing);
  const out = await api.pythonProject({ config: run.config, modelFiles: cmd.modelFiles, datasetFile: cmd.datasetFile });
  const root = `${slug(run.name)}-python`;
  return { name: `${root}.zip`, zip: projectZip(root, out.files), notes: out.notes };
}

/** A Python project's files as one zip under the folder `root` (a run's and an experiment's button). */
export function projectZip(root: string, files: { name: string; bytes: Uint8Array }[]): Uint8Array {
  const out: Record<string, Uint8Array> = {};
  for (const f of files) out[`${root}/${f.name}`] = f.bytes;
  return zipSync(out, { level: 6 });
}

export async function exportPythonProject(runId: string): Promise<void> {
  const st = useStudio.getState();
  try {
    const { name, zip, notes } = await buildPythonZip(runId);
    download(name, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
    st.notify(`Python project ${name}${notes.length ? `: ${notes.join(' ')}` : ''}`, 'info');
  } catch (e) {
    st.notify(`Python export failed: ${errorText(e)}`);
  }
}

/** A Python run's files (folder pick, several files, or one .zip) → the page's run export → Import. */
export async function importPythonRun(picked: File[]): Promise<ImportResult> {
  const st = useStudio.getState();
  try {
    const files = new Map<string, Uint8Array>(); // path relative to the run folder → bytes
    const zip = picked.length === 1 && /\.zip$/i.test(picked[0].name);
    if (zip) {
      for (const [p, b] of Object.entries(unzipSync(new Uint8Array(await picked[0].arrayBuffer()))))
        if (!p.endsWith('/')) files.set(p, b);
    } else {
      for (const f of picked) {
        const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
        files.set(rel, new Uint8Array(await f.arrayBuffer()));
      }
    }
    // the run folder is where metrics.jsonl lies (a zip or a folder pick may wrap it in folders)
    const metrics = [...files.keys()]
      .filter((p) => p.split('/').pop() === 'metrics.jsonl')
      .sort((a, b) => a.length - b.length)[0];
    if (!metrics)
      throw new Error(
        'no metrics.jsonl: pick the out/ folder train.py wrote (metrics.jsonl, run_config.json, adapter/), or a zip of it',
      );
    const dir = metrics.slice(0, metrics.length - 'metrics.jsonl'.length);
    const runConfig = files.get(`${dir}run_config.json`);
    if (!runConfig)
      throw new Error(`no run_config.json beside ${metrics} (train.py writes both into its --out folder)`);
    const adapter = [...files.keys()].filter((p) => p.startsWith(`${dir}adapter/`));
    const ex = pythonRunToExport({
      metricsJsonl: strFromU8(files.get(metrics)!),
      runConfigJson: strFromU8(runConfig),
      adapterFiles: adapter.map((p) => p.slice(dir.length + 'adapter/'.length)).sort(),
    });
    const bytes = strToU8(JSON.stringify(ex));
    return await importRun(new File([bytes as Uint8Array<ArrayBuffer>], 'run.json', { type: 'application/json' }));
  } catch (e) {
    const error = `Python import failed: ${errorText(e)}`;
    st.notify(error);
    return { ok: false, error };
  }
}
