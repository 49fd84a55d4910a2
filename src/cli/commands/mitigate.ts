/**
 * `mitigate --run <lora run dir> [--lambda 0.75] [--k 10] [--eps 0.5] [--base <model>] --peft <outdir> [--json]`:
 * PEFT's intruder-dimension reduction (`reduce_intruder_dimension`, src/engine/analysis/mitigate.ts)
 * on a trained LoRA-family run: per adapted matrix, the intruders among the top-k left singular
 * vectors of W + ΔW (max|cos| with every base vector < ε), W_mit = W + ΔW + (λ−1)·U_int Σ_int V_intᵀ,
 * and ΔW re-factorised at the adapter's rank. Writes the mitigated adapter as PEFT files and prints
 * the intruder counts before and after. The base weights come from the run's model (or --base).
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { writeFiles } from '../fsio';
import { readRunDir } from './export';
import { loadWeights } from './extract';
import { exportPeft, peftSupport, type AdapterState } from '../../engine/io/peft';
import { mitigateLayer } from '../../engine/analysis/mitigate';
import { transposeInOut } from '../../engine/analysis/extract';
import { baseWeights, probeLosses } from '../../engine/analysis/probe-loss';
import { loraDelta } from '../../engine/adapters/merge';
import { resolveInputs, type InputSources } from '../../engine/inputs';
import { cliGpu } from '../gpu';
import { readFileBytes, readModelDir } from '../fsio';
import { localModelRef } from '../model';
import type { RunConfig } from '../../engine/config';
import nodePath from 'node:path';

export const help =
  "PEFT's intruder mitigation on a LoRA run: --run <dir> [--lambda 0.75] [--k 10] [--eps 0.5] --peft <outdir> [--json] [--no-probe] [--model DIR] [--dataset FILE]";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'mitigate',
    booleans: ['json', 'no-probe'],
    values: ['run', 'lambda', 'k', 'eps', 'peft', 'base', 'model', 'dataset'],
  });
  const dir = flag(args, 'run'),
    out = flag(args, 'peft');
  if (!dir || !out)
    throw new CliError('mitigate needs --run <dir> (a LoRA run from `train --out`) and --peft <outdir>');
  const json = has(args, 'json');
  const lambda = numberFlag(args, 'lambda', 0.75),
    k = numberFlag(args, 'k', 10),
    eps = numberFlag(args, 'eps', 0.5);
  if (!(lambda >= 0 && lambda <= 1)) throw new CliError(`--lambda must be in [0, 1], got ${lambda}`);
  if (!(Number.isInteger(k) && k >= 1)) throw new CliError(`--k must be a positive integer, got ${k}`);
  if (!(eps > 0)) throw new CliError(`--eps must be > 0, got ${eps}`);
  const rd = await readRunDir(dir);
  const id = rd.config.method.id;
  if (peftSupport(id).kind !== 'lora')
    throw new CliError(
      `mitigate: ${id} is not a plain LoRA adapter on the pretrained weight (PEFT's reduce_intruder_dimension supports LoRA only); export it with --convert or --merged instead`,
    );
  const base = await loadWeights(flag(args, 'base') ?? rd.config.model.id, 'base');
  const ranks = rd.state.meta.ranks as Record<string, number>,
    scaling = rd.state.meta.scaling as Record<string, number>;
  const tensors = new Map(rd.state.tensors);
  let before = 0,
    after = 0;
  // ΔW (engine layout (in, out), by name) of the adapter and of the mitigated adapter; W0 is added for the probe
  const mergedBefore = new Map<string, Float32Array>(),
    mergedAfter = new Map<string, Float32Array>();
  for (const module of Object.keys(ranks)) {
    const r = ranks[module],
      s = scaling[module];
    const A = rd.state.tensors.get(`${module}.lora_A`)!,
      B = rd.state.tensors.get(`${module}.lora_B`)!;
    const inDim = A.length / r,
      outDim = B.length / r;
    const Wstored = base.get(`${module}.weight`) ?? base.get(`transformer.${module}.weight`);
    if (!Wstored || Wstored.length !== inDim * outDim)
      throw new CliError(`${module}: the base model has no weight of shape (${inDim}, ${outDim}); pass --base <model>`);
    const W = transposeInOut(Wstored, inDim, outDim); // Conv1D (in, out) → (out, in)
    const m = mitigateLayer(W, A, B, r, s, outDim, inDim, { k, eps, lambda });
    const recount = m.changed
      ? mitigateLayer(W, m.A, m.B, r, s, outDim, inDim, { k, eps, lambda }).intruders.length
      : m.intruders.length;
    before += m.intruders.length;
    after += recount;
    tensors.set(`${module}.lora_A`, m.A);
    tensors.set(`${module}.lora_B`, m.B);
    mergedBefore.set(`${module}.weight`, loraDelta(A, B, r, inDim, outDim, s)); // ΔW (in, out); + W0 below
    mergedAfter.set(`${module}.weight`, loraDelta(m.A, m.B, r, inDim, outDim, s));
    const line = {
      module,
      intruders: m.intruders,
      before: m.intruders.length,
      after: recount,
      minMaxCos: Number(Math.min(...m.maxCos).toFixed(4)),
    };
    if (json) emit(line);
    else
      console.log(
        `${module.padEnd(20)} intruders ${line.before} → ${line.after}  (indices ${JSON.stringify(m.intruders)})`,
      );
  }
  const state: AdapterState = { tensors, meta: { ...rd.state.meta, mitigated: { lambda, k, eps } } };
  const ex = exportPeft(rd.config, state, { nLayer: rd.nLayer });
  await writeFiles(out, ex.files);
  // issue 12 item 5: the forgetting-probe loss before and after, on the GPU with the merged weights
  let probe: { split: 'probe' | 'val'; losses: number[] } | null = null;
  if (!has(args, 'no-probe')) {
    const inputs = await resolveInputs(rd.config, await probeSources(rd.config, args));
    const gpu = await cliGpu();
    const w0 = await baseWeights(gpu, inputs);
    for (const map of [mergedBefore, mergedAfter])
      for (const [name, d] of map) {
        const w = w0.get(name);
        if (!w || w.length !== d.length) throw new CliError(`${name}: not a matrix of the run's model`);
        for (let i = 0; i < d.length; i++) d[i] += w[i];
      }
    probe = await probeLosses(gpu, inputs, [mergedBefore, mergedAfter]);
  }
  const summary = {
    mitigated: {
      run: dir,
      peft: out,
      lambda,
      k,
      eps,
      intrudersBefore: before,
      intrudersAfter: after,
      ...(probe ? { probeSplit: probe.split, probeBefore: probe.losses[0], probeAfter: probe.losses[1] } : {}),
    },
  };
  if (json) emit(summary);
  else
    console.log(
      `wrote ${out}: intruders ${before} → ${after} (λ = ${lambda}, k = ${k}, ε = ${eps})` +
        (probe
          ? `; ${probe.split === 'probe' ? 'forgetting-probe' : 'validation'} loss ${probe.losses[0].toFixed(4)} → ${probe.losses[1].toFixed(4)}`
          : ''),
    );
  return 0;
}

/** The run's model and data files for the probe evaluation (as export --python finds them). */
async function probeSources(config: RunConfig, args: Parameters<typeof flag>[0]): Promise<InputSources> {
  const sources: InputSources = {};
  if (config.model.source === 'local') {
    const model =
      flag(args, 'model') ?? flag(args, 'base') ?? (config.model.id.startsWith('hf:') ? config.model.id : undefined);
    if (!model)
      throw new CliError(
        `the run used the local model "${config.model.id}": pass its folder with --model <dir> (or --no-probe)`,
      );
    sources.modelFiles = await readModelDir((await localModelRef(model)).path);
  }
  if (config.dataset.source === 'upload') {
    const ds = flag(args, 'dataset');
    if (!ds)
      throw new CliError(
        `the run used the dataset file "${config.dataset.id}": pass it with --dataset <file> (or --no-probe)`,
      );
    sources.datasetFile = { name: nodePath.basename(ds), bytes: await readFileBytes(ds) };
  }
  return sources;
}
