/**
 * An experiment as ONE Python project (issue 14 item 4), built from the run exporter (project.ts):
 * runs/<dir>/ holds exactly what `export --python` writes for that expanded run (train.py, run_config.json,
 * test_mapping.py, data/…), except model/ and data/ when every run has the same files there: those are
 * written once at the top (train.py gets --model_path ../../model --data_dir ../../data). sweep.sh launches the runs one after another,
 * sweep_array.sh as a SLURM job array, experiment.json is the experiment, runs.json maps folder → run key.
 *
 * Coming back: pythonExperimentResults reads each runs/<dir>/out/metrics.jsonl (import.ts's parser)
 * into the runner's RunResult rows and computes the verdict with the same judge() as `experiment run`.
 * Pure: no file system (the CLI reads and writes, python-experiment.ts).
 */
import type { NamedFile } from '../../io/checkpoint';
import { resolveInputs, type InputSources, type RunInputs } from '../../inputs';
import { expandExperiment, parseExperiment, type Experiment } from '../../experiments/schema';
import { judge, type Verdict } from '../../experiments/verdict';
import {
  emptyState,
  pendingResult,
  runMetrics,
  type EvalPoint,
  type ExperimentState,
  type RunResult,
} from '../../experiments/runner';
import { buildPythonProject, builtinModelFiles } from './project';
import { PythonExportError } from './mapping';
import { parseMetricsJsonl, PythonImportError } from './import';

export interface PythonExperimentRun {
  /** Folder under runs/. */
  dir: string;
  key: string;
  group: string;
  lr: number;
  seed: number;
}

export interface PythonExperimentProject {
  files: NamedFile[];
  runs: PythonExperimentRun[];
  notes: string[];
}

const enc = new TextEncoder();
const text = (name: string, s: string): NamedFile => ({ name, bytes: enc.encode(s) });

/** A run key ("LoRA α/r · seed=0") as a folder name: index + ASCII slug, unique by the index. */
export function runDir(index: number, key: string): string {
  const slug = key
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9.=+-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${String(index + 1).padStart(2, '0')}-${slug || 'run'}`;
}

const sameFiles = (a: NamedFile[], b: NamedFile[]) =>
  a.length === b.length &&
  a.every(
    (f, i) =>
      f.name === b[i].name && f.bytes.length === b[i].bytes.length && f.bytes.every((x, j) => x === b[i].bytes[j]),
  );

export async function buildPythonExperiment(
  input: Experiment,
  sources: InputSources = {},
): Promise<PythonExperimentProject> {
  const exp = parseExperiment(input);
  if (exp.kind !== 'train')
    throw new PythonExportError(`experiment ${exp.id} fits matrices (no model is trained): nothing to export`);
  const expanded = expandExperiment(exp);
  const files: NamedFile[] = [];
  const runs: PythonExperimentRun[] = [];
  const projects: NamedFile[][] = [];
  const notes = new Set<string>();
  let cacheKey = '',
    cached: RunInputs | null = null;
  const builtinFiles = new Map<string, NamedFile[]>();
  for (const r of expanded) {
    if (r.kind !== 'train') continue;
    const cfg = r.config;
    const key = JSON.stringify([cfg.model, cfg.dataset, cfg.data, cfg.train.contextLength, cfg.seed]);
    if (key !== cacheKey) {
      cached = await resolveInputs(cfg, sources);
      cacheKey = key;
    }
    let modelFiles: NamedFile[] | undefined;
    if (cfg.model.source === 'builtin') {
      if (!builtinFiles.has(cfg.model.id)) builtinFiles.set(cfg.model.id, await builtinModelFiles(cfg.model.id));
      modelFiles = builtinFiles.get(cfg.model.id);
    }
    let project;
    try {
      project = await buildPythonProject({
        config: cfg,
        modelConfig: cached!.modelConfig,
        data: cached!.data,
        modelFiles,
      });
    } catch (e) {
      if (e instanceof PythonExportError) throw new PythonExportError(`run "${r.key}": ${e.message}`);
      throw e;
    }
    projects.push(project.files);
    for (const n of project.notes) notes.add(n);
    runs.push({ dir: runDir(runs.length, r.key), key: r.key, group: r.group, lr: r.lr, seed: r.seed });
  }
  // model/ and data/ are written once at the top when every run has the same files there
  const under = (fs: NamedFile[], prefix: string) => fs.filter((f) => f.name.startsWith(prefix));
  const hoisted = ['model/', 'data/'].filter((prefix) => {
    const first = under(projects[0], prefix);
    return first.length > 0 && projects.every((p) => sameFiles(first, under(p, prefix)));
  });
  for (const prefix of hoisted) files.push(...under(projects[0], prefix));
  projects.forEach((p, i) => {
    for (const f of p)
      if (!hoisted.some((h) => f.name.startsWith(h)))
        files.push({ name: `runs/${runs[i].dir}/${f.name}`, bytes: f.bytes });
  });
  const modelArg =
    (hoisted.includes('model/') ? ' --model_path ../../model' : '') +
    (hoisted.includes('data/') ? ' --data_dir ../../data' : '');
  files.push(
    text('experiment.json', JSON.stringify(exp, null, 2) + '\n'),
    text('runs.json', JSON.stringify(runs, null, 1) + '\n'),
    text('sweep.sh', sweepSh(runs, modelArg)),
    text('sweep_array.sh', sweepArraySh(runs, modelArg)),
    text('README.md', readme(exp, runs, modelArg)),
  );
  return { files, runs, notes: [...notes] };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function sweepSh(runs: PythonExperimentRun[], modelArg: string): string {
  const lines = runs.map(
    (r) =>
      `# ${r.key.replace(/\n/g, ' ')}\n(cd runs/${q(r.dir)} && accelerate launch --config_file "$CONFIG" train.py${modelArg} "$@")`,
  );
  return `#!/usr/bin/env bash
# Every run of the experiment, one after another. CONFIG picks the accelerate config of each launch
# (default: one GPU); extra arguments go to every train.py (e.g. --grad_accum 2).
#   ./sweep.sh
#   CONFIG=accelerate/multi_gpu.yaml ./sweep.sh --grad_accum 1
set -euo pipefail
cd "$(dirname "$0")"
CONFIG="\${CONFIG:-accelerate/single_gpu.yaml}"
${lines.join('\n')}
`;
}

function sweepArraySh(runs: PythonExperimentRun[], modelArg: string): string {
  return `#!/usr/bin/env bash
# The experiment as a SLURM job array: task i trains runs/<RUNS[i]>. Submit from this folder:
#   sbatch sweep_array.sh
#SBATCH --job-name=rankscope-sweep
#SBATCH --array=0-${runs.length - 1}
#SBATCH --gres=gpu:1
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
cd "\${SLURM_SUBMIT_DIR:-$(dirname "$0")}"
RUNS=(
${runs.map((r) => `  ${q(r.dir)}`).join('\n')}
)
CONFIG="\${CONFIG:-accelerate/single_gpu.yaml}"
cd "runs/\${RUNS[$SLURM_ARRAY_TASK_ID]}"
accelerate launch --config_file "$CONFIG" train.py${modelArg} "$@"
`;
}

function readme(exp: Experiment, runs: PythonExperimentRun[], modelArg: string): string {
  const table = runs.map((r) => `| \`runs/${r.dir}\` | ${r.key.replace(/\|/g, '\\|')} | ${r.lr} | ${r.seed} |`);
  return `# Experiment ${exp.id} (${exp.budget}) — exported from Rankscope

${exp.claim ?? exp.title ?? ''}

${runs.length} runs, each a complete run project under \`runs/\` (train.py, run_config.json, test_mapping.py,
data/, accelerate/; see its README for what maps to what)${modelArg ? '; what every run shares (`model/`, `data/`) is written once at the top' : ''}.
\`experiment.json\` is the experiment, \`runs.json\` maps each folder to its run.

| folder | run | lr | seed |
|---|---|---|---|
${table.join('\n')}

## Check and launch

\`\`\`sh
pip install -r runs/${runs[0].dir}/requirements.txt
for d in runs/*/; do (cd "$d" && python3 test_mapping.py); done   # the mapping; no GPU, no torch
./sweep.sh                                                        # one GPU: the runs one after another
CONFIG=accelerate/multi_gpu.yaml ./sweep.sh                        # each run on all the node's GPUs (DDP)
sbatch sweep_array.sh                                             # many GPUs: one SLURM array task per run
\`\`\`

One run by hand: \`cd runs/<folder> && accelerate launch --config_file accelerate/single_gpu.yaml train.py${modelArg}\`.

## Results

Each run writes \`runs/<folder>/out/metrics.jsonl\` (and its PEFT adapter). Bring the whole experiment back:

\`\`\`sh
npm run cli -- import --python-experiment . --out results   # results/results.json + the verdict
\`\`\`

The verdict is computed from the imported numbers by the same code as \`experiment run\`. Intruder counts,
rank evaluation, extraction and the sequential second task (seqForgetting) are measured by the studio's
runner only: clauses on them come back inconclusive (import a run's adapter into the studio to analyse it).
`;
}

export interface PythonExperimentResults {
  experiment: Experiment;
  rows: RunResult[];
  state: ExperimentState;
  verdict: Verdict;
}

/**
 * The experiment's results from the Python runs' metrics files: `metrics[dir]` is the text of
 * runs/<dir>/out/metrics.jsonl, or undefined for a run not trained yet (pending).
 */
export function pythonExperimentResults(
  experimentJson: string,
  runsJson: string,
  metrics: Record<string, string | undefined>,
): PythonExperimentResults {
  let exp: Experiment, runs: PythonExperimentRun[];
  try {
    exp = parseExperiment(JSON.parse(experimentJson));
  } catch (e) {
    throw new PythonImportError(`experiment.json: ${(e as Error).message}`);
  }
  try {
    runs = JSON.parse(runsJson) as PythonExperimentRun[];
    if (!Array.isArray(runs)) throw new Error('not a list');
  } catch (e) {
    throw new PythonImportError(`runs.json: ${(e as Error).message}`);
  }
  const expanded = expandExperiment(exp);
  const byKey = new Map(runs.map((r) => [r.key, r]));
  const state = emptyState(exp);
  const rows: RunResult[] = expanded.map((r) => {
    const res = pendingResult(r);
    const pr = byKey.get(r.key);
    if (!pr) throw new PythonImportError(`runs.json has no folder for run "${r.key}"`);
    const txt = metrics[pr.dir];
    if (txt === undefined) return res;
    const where = `runs/${pr.dir}/out/metrics.jsonl`;
    const { rows: steps, summary } = parseMetricsJsonl(txt, where);
    for (const s of steps) {
      if (s.step >= 1 && s.loss !== undefined) res.curve.push(s.loss);
      if (s.valLoss !== undefined || s.probeLoss !== undefined) {
        const p: EvalPoint = { step: s.step };
        if (s.valLoss !== undefined) p.valLoss = s.valLoss;
        if (s.probeLoss !== undefined) p.probeLoss = s.probeLoss;
        res.evals.push(p);
      }
    }
    const total = r.kind === 'train' ? r.config.train.steps : 0;
    const last = steps[steps.length - 1].step;
    res.wallSeconds = typeof summary?.seconds === 'number' ? summary.seconds : 0;
    if (summary?.complete !== true || last < total) {
      res.status = 'failed';
      res.error = `${where}: stopped at step ${last} of ${total}`;
      return res;
    }
    res.metrics = runMetrics({
      curve: res.curve,
      step0: res.evals.find((e) => e.step === 0) ?? null,
      final: res.evals.length ? res.evals[res.evals.length - 1] : null,
      trainableParams: typeof summary.trainableParams === 'number' ? summary.trainableParams : null,
      optimizerBytes: null,
    });
    res.metrics.wallSeconds = res.wallSeconds;
    res.status = 'done';
    state.results[r.key] = res;
    return res;
  });
  return { experiment: exp, rows, state, verdict: judge(exp, rows) };
}
