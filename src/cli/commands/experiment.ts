/**
 * `experiment` (issue 13): the claim presets and custom sweeps, headless.
 *
 *   experiment list [--json]
 *       one JSON object per preset: id, title, claim, paper, waiting (methods not in the engine yet),
 *       budgets, runs (expanded runs per budget at one seed; null while waiting)
 *   experiment run <preset | file.json | #experiment=… link> [--model id|dir] [--dataset id|file]
 *       [--seeds n] [--budget smoke|full] [--out DIR [--overwrite | --resume]] [--json]
 *       runs every expanded run through the same Trainer as `train` (src/engine/experiments/runner.ts),
 *       prints one JSON line per run and a final {"verdict": {holds, reason, numbers, rule}}. With --out the
 *       folder holds experiment.json, results.json (rows, curves, verdict, resumable state), metrics.csv
 *       (one row per run, every metric) and steps.csv (every step of every run); it is rewritten as a unit
 *       after each run (outdir.ts), so --resume continues with the first run not finished.
 * A bad preset name, experiment file or flag is refused in one line before any work.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError, emit, flag, has, numberFlag, parseArgs, type ParsedArgs } from '../args';
import { cliGpu } from '../gpu';
import { cliMemoryBudget } from '../budget';
import { checkOutDir, writeRunFolder, type RunStatus } from '../outdir';
import { isDirectory, readFileBytes, readModelDir } from '../fsio';
import { isModelFolder, localModelRef } from '../model';
import { ConfigError } from '../../engine/config';
import { escapeControl } from '../../engine/strings';
import type { InputSources } from '../../engine/inputs';
import { expandExperiment, parseExperiment, waitingFor, type Experiment } from '../../engine/experiments/schema';
import { getPreset, listPresets, presetIds } from '../../engine/experiments/presets';
import { decodeExperiment } from '../../engine/experiments/link';
import {
  runExperiment,
  type ExperimentOutcome,
  type ExperimentState,
  type RunResult,
} from '../../engine/experiments/runner';
import type { Verdict } from '../../engine/experiments/verdict';
import { readPythonExperiment, writePythonExperiment } from './python-experiment';

export const help =
  'claim presets and sweeps: list [--json] | run <preset|file.json|link> [--model id|dir] [--dataset id|file] [--seeds n] [--budget smoke|full] [--out DIR [--overwrite|--resume]] [--json] | export <preset|file.json|link> --python OUT [--model …] [--dataset …] [--seeds n] [--budget smoke|full] [--json]';

const RESULTS = 'results.json';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'run') return runCmd(rest);
  if (sub === 'export') return exportCmd(rest);
  throw new CliError(
    sub === undefined
      ? `experiment needs a subcommand: list, run or export (${help})`
      : `experiment: unknown subcommand "${escapeControl(sub)}" (list, run or export)`,
  );
}

async function list(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'experiment list',
    booleans: ['json'],
    declaredIn: 'src/cli/commands/experiment.ts',
  });
  if (args.positional.length)
    throw new CliError(`experiment list takes no arguments (got "${escapeControl(args.positional[0])}")`);
  for (const p of listPresets()) {
    const row = {
      id: p.id,
      title: p.title,
      claim: p.claim,
      paper: p.paper,
      kind: p.kind,
      waiting: p.waiting,
      budgets: p.budgets,
      runs: p.runs,
    };
    if (has(args, 'json')) emit(row);
    else
      console.log(
        `${p.id.padEnd(18)} ${p.waiting.length ? `waiting for ${p.waiting.join(', ')}` : `${p.runs.smoke} runs (smoke) / ${p.runs.full} (full)`} — ${p.title}`,
      );
  }
  return 0;
}

/** The experiment named on the command line: a preset id, a JSON file, or a link / fragment. */
async function loadExperiment(spec: string, command = 'experiment run'): Promise<Experiment> {
  const preset = getPreset(spec);
  if (preset) return preset;
  if (/(?:^|[#&?])(?:experiment|exp)=/.test(spec)) return decodeExperiment(spec);
  if (!/\.json$/i.test(spec))
    throw new CliError(
      `${command} ${escapeControl(spec)}: not a preset (${presetIds().join(', ')}), a .json file or an experiment link`,
    );
  let text: string;
  try {
    text = new TextDecoder().decode(await readFileBytes(spec));
  } catch {
    throw new CliError(`${command} ${escapeControl(spec)}: cannot read the file`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${escapeControl(spec)}: not valid JSON (${(e as Error).message})`);
  }
  return parseExperiment(value);
}

/** The experiment named by the command line with --budget/--seeds/--model/--dataset applied and every
 * run validated (shared by `run` and `export`), plus the input files it needs. */
export async function prepareExperiment(
  args: ParsedArgs,
  command = 'experiment run',
): Promise<{ exp: Experiment; sources: InputSources; inputs: string[] }> {
  let exp: Experiment;
  const sources: InputSources = {};
  const inputs: string[] = [];
  try {
    exp = await loadExperiment(args.positional[0], command);
    const budget = flag(args, 'budget');
    if (budget !== undefined) {
      if (budget !== 'smoke' && budget !== 'full')
        throw new CliError(`--budget must be smoke or full, got "${escapeControl(budget)}"`);
      exp.budget = budget;
    }
    if (has(args, 'seeds')) {
      const n = numberFlag(args, 'seeds', 1);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new CliError(`--seeds must be an integer 1..16, got ${n}`);
      exp.seeds = n;
    }
    const settings = { ...exp.budgets[exp.budget] };
    const model = flag(args, 'model');
    const dataset = flag(args, 'dataset');
    if ((model || dataset) && exp.kind !== 'train')
      throw new CliError(`experiment ${exp.id} fits matrices and uses no model or dataset; drop --model/--dataset`);
    if (model) {
      const local = await localModelRef(model);
      if (await isModelFolder(local.path)) {
        sources.modelFiles = await readModelDir(local.path);
        settings.model = { source: 'local', id: local.hubId ?? path.basename(path.resolve(model)) };
        if (await isDirectory(model)) inputs.push(model);
      } else settings.model = { source: 'builtin', id: model };
    }
    if (dataset) {
      if (/\.(txt|jsonl)$/i.test(dataset)) {
        sources.datasetFile = { name: path.basename(dataset), bytes: await readFileBytes(dataset) };
        settings.dataset = { source: 'upload', id: `user:${path.basename(dataset)}` };
        inputs.push(dataset);
      } else settings.dataset = { source: 'builtin', id: dataset };
    }
    exp.budgets[exp.budget] = settings;
    exp = parseExperiment(exp);
    const waiting = waitingFor(exp);
    if (waiting.length)
      throw new CliError(`experiment ${exp.id} is waiting for methods not in the engine yet: ${waiting.join(', ')}`);
    expandExperiment(exp); // every config validated before the GPU is touched
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message.replace(/\s*\n\s*/g, '; '));
    throw e;
  }

  return { exp, sources, inputs };
}

/** `experiment run|export` take exactly one experiment: a preset id, a .json file or a link. */
function oneExperiment(args: ParsedArgs, verb: 'run' | 'export'): void {
  if (args.positional.length !== 1)
    throw new CliError(
      args.positional.length
        ? `experiment ${verb} takes one experiment, got ${args.positional.length}`
        : `experiment ${verb} needs a preset (${presetIds().join(', ')}), a .json file or a link`,
    );
}

/** `experiment export … --python OUT`: the experiment as one Python project (python-experiment.ts). */
async function exportCmd(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'experiment export',
    booleans: ['json'],
    values: ['model', 'dataset', 'seeds', 'budget', 'python'],
    declaredIn: 'src/cli/commands/experiment.ts',
  });
  oneExperiment(args, 'export');
  const out = flag(args, 'python');
  if (!out) throw new CliError('experiment export needs --python OUT (the folder to write the project into)');
  const { exp, sources } = await prepareExperiment(args, 'experiment export');
  return writePythonExperiment(exp, sources, out, has(args, 'json'));
}

/**
 * `import --python-experiment DIR --out RESULTS`: the runs' metrics as the folder `experiment run --out`
 * writes (experiment.json, results.json with the verdict, metrics.csv, steps.csv); the verdict is
 * judged from the imported numbers by the same code.
 */
export async function importPythonExperiment(args: ParsedArgs): Promise<number> {
  const dir = flag(args, 'python-experiment')!;
  const res = await readPythonExperiment(dir);
  const outRaw = flag(args, 'out') ?? path.join(dir, 'results');
  const out = await checkOutDir(outRaw, { inputs: [], overwrite: has(args, 'overwrite'), resume: false });
  const pending = res.rows.filter((r) => r.status === 'pending').length;
  const outcome: ExperimentOutcome = {
    experiment: res.experiment,
    runs: expandExperiment(res.experiment),
    state: res.state,
    rows: res.rows,
    verdict: res.verdict,
    stopped: pending > 0,
  };
  const done = Object.keys(res.state.results).length;
  await save(out, res.experiment, res.state, outcome, done, res.rows.length);
  const v = res.verdict;
  const verdict = { holds: v.holds, reason: v.reason, numbers: verdictNumbers(v), rule: v.rule };
  if (has(args, 'json')) emit({ import: { dir: out, runs: res.rows.length, finished: done, pending }, verdict });
  else
    console.log(
      `Python experiment ${res.experiment.id}: ${done} of ${res.rows.length} runs imported → ${out}\nverdict: ${v.holds === true ? 'holds' : v.holds === false ? 'does not hold' : 'inconclusive'} — ${v.reason}`,
    );
  return 0;
}

async function runCmd(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'experiment run',
    booleans: ['json', 'overwrite', 'resume'],
    values: ['model', 'dataset', 'seeds', 'budget', 'out'],
    declaredIn: 'src/cli/commands/experiment.ts',
  });
  oneExperiment(args, 'run');
  const json = has(args, 'json');
  const { exp, sources, inputs } = await prepareExperiment(args);

  const outRaw = flag(args, 'out');
  if ((has(args, 'resume') || has(args, 'overwrite')) && outRaw === undefined)
    throw new CliError(`--${has(args, 'resume') ? 'resume' : 'overwrite'} needs --out DIR`);
  if (has(args, 'resume') && has(args, 'overwrite')) throw new CliError('--resume and --overwrite exclude each other');
  const out =
    outRaw === undefined
      ? null
      : await checkOutDir(outRaw, { inputs, overwrite: has(args, 'overwrite'), resume: has(args, 'resume') });
  let state: ExperimentState | null = null;
  if (out && has(args, 'resume')) {
    try {
      state = (JSON.parse(await fs.readFile(path.join(out, RESULTS), 'utf8')) as { state: ExperimentState }).state;
    } catch {
      throw new CliError(`--resume: ${outRaw} holds no ${RESULTS} of an experiment`);
    }
  }

  const gpu = await cliGpu();
  const total = expandExperiment(exp).length;
  if (!json) console.log(`experiment ${exp.id} (${exp.budget}): ${total} runs on ${gpu.name}`);
  const report = (r: RunResult) => {
    const line = {
      run: r.key,
      group: r.group,
      lr: r.lr,
      seed: r.seed,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      metrics: r.metrics,
      losses: r.curve,
      evals: r.evals,
      ...(r.intruderSweep ? { intruderSweep: r.intruderSweep } : {}),
      ...(r.extract ? { extract: r.extract } : {}),
      ...(r.rankEval ? { rankEval: r.rankEval } : {}),
      ...(r.secondCurve ? { secondLosses: r.secondCurve } : {}),
    };
    if (json) emit(line);
    else
      console.log(
        `${r.status.padEnd(7)} ${r.key}  ${Object.entries(r.metrics)
          .filter(([k]) =>
            [
              'valLoss',
              'finalLoss',
              'probeDelta',
              'intruders',
              'seqForgetting',
              'fitError',
              'trainableParams',
            ].includes(k),
          )
          .map(([k, v]) => `${k} ${v === null ? 'n/a' : Number(v.toPrecision(4))}`)
          .join('  ')}${r.error ? `  (${r.error})` : ''}`,
      );
  };
  // Runs already in a resumed state are reported first, so the output always covers every run.
  if (state) for (const r of Object.values(state.results)) report(r);
  const outcome = await runExperiment(gpu, exp, {
    sources,
    state,
    memoryBudgetBytes: cliMemoryBudget(),
    hooks: {
      onRunEnd: async (r, st) => {
        report(r);
        if (out) await save(out, exp, st, null, Object.keys(st.results).length, total);
      },
    },
  });
  if (out) await save(out, exp, outcome.state, outcome, Object.keys(outcome.state.results).length, total);
  const v = outcome.verdict;
  const verdict = { holds: v.holds, reason: v.reason, numbers: verdictNumbers(v), rule: v.rule };
  if (json) emit({ verdict });
  else
    console.log(
      `verdict: ${v.holds === true ? 'holds' : v.holds === false ? 'does not hold' : 'inconclusive'} — ${v.reason}\nrule: ${v.rule}`,
    );
  return 0;
}

export function verdictNumbers(v: Verdict): Record<string, unknown> {
  return {
    clauses: v.clauses.map((c) => ({
      text: c.text,
      holds: c.holds,
      ...(c.reason ? { reason: c.reason } : {}),
      detail: c.detail,
      ...(c.effect !== undefined ? { effect: c.effect } : {}),
      groups: c.stats.map((s) => ({ group: s.group, lr: s.lr, n: s.n, mean: s.mean, spread: s.spread })),
    })),
    lrByGroup: v.lrByGroup,
    ...(v.byLr ? { byLr: v.byLr } : {}),
    ...(v.inconclusive ? { inconclusive: v.inconclusive } : {}),
    finished: v.finished,
    total: v.total,
  };
}

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** metrics.csv: one row per run, a column per metric (union over runs, sorted). */
export function metricsCsv(rows: RunResult[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const head = ['run', 'group', 'lr', 'seed', 'status', ...keys];
  const lines = rows.map((r) =>
    [r.key, r.group, r.lr, r.seed, r.status, ...keys.map((k) => r.metrics[k])].map(csvCell).join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** steps.csv: every step of every run (training loss; evaluations on their steps; step 0 = before training). */
export function stepsCsv(rows: RunResult[]): string {
  const lines = ['run,step,loss,valLoss,probeLoss'];
  for (const r of rows) {
    const evals = new Map(r.evals.map((e) => [e.step, e]));
    const last = Math.max(r.curve.length, ...r.evals.map((e) => e.step));
    for (let s = 0; s <= last; s++) {
      const e = evals.get(s);
      const loss = s >= 1 ? r.curve[s - 1] : undefined;
      if (loss === undefined && !e) continue;
      lines.push([r.key, s, loss, e?.valLoss, e?.probeLoss].map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

async function save(
  out: string,
  exp: Experiment,
  state: ExperimentState,
  outcome: ExperimentOutcome | null,
  done: number,
  total: number,
): Promise<void> {
  const rows = Object.values(state.results);
  const enc = (s: string) => new TextEncoder().encode(s);
  const results = {
    experiment: exp.id,
    budget: exp.budget,
    rows,
    ...(outcome ? { verdict: { ...outcome.verdict, numbers: verdictNumbers(outcome.verdict) } } : {}),
    state,
  };
  const complete = outcome !== null && !outcome.stopped;
  const status: RunStatus = {
    complete,
    reason: complete ? 'done' : 'running',
    step: done,
    totalSteps: total,
    method: `experiment:${exp.id}`,
    message: complete
      ? `finished ${total} runs`
      : `${done} of ${total} runs finished; continue with experiment run … --out ${out} --resume`,
  };
  await writeRunFolder(
    out,
    [
      { name: 'experiment.json', bytes: enc(JSON.stringify(exp, null, 2) + '\n') },
      { name: RESULTS, bytes: enc(JSON.stringify(results) + '\n') },
      { name: 'metrics.csv', bytes: enc(metricsCsv(rows)) },
      { name: 'steps.csv', bytes: enc(stepsCsv(rows)) },
    ],
    status,
  );
}
