/**
 * `train`: one run headless. Prints one JSON object per step and a final {"summary":…} line (with
 * --json), or a readable log. Exits non-zero with a clear message on any failure (invalid config,
 * NaN/Inf, GPU loss). With --out, saves the tuned model (HF layout), the run config and the
 * method's adapter state so `eval`, `analyze`, `sample` and `export` can read it.
 *
 * Nothing lost (issue 17): `--checkpoint-every N` writes a training checkpoint every N steps,
 * `--stop-after S` stops cleanly after step S, `--resume DIR` continues bit for bit. A run that stops
 * early (NaN, Ctrl-C/SIGTERM, --stop-after) saves its last good state to --out marked incomplete in
 * status.json; a lost device keeps the last checkpoint. --out is checked before any work and written
 * as a unit (outdir.ts).
 */
import path from 'node:path';
import { CliError, emit, flag, has, numberFlag, parseArgs, type ParsedArgs } from '../args';
import { cliGpu } from '../gpu';
import { runConfigFromArgs } from '../runconfig';
import { cliMemoryBudget } from '../budget';
import { describePlan } from '../../engine/memory-plan';
import { resolveInputs, type InputSources } from '../../engine/inputs';
import { tokenizeInThread } from '../tokenize-thread';
import { NonFiniteError, Trainer } from '../../engine/train';
import type { RunConfig } from '../../engine/config';
import type { Gpu } from '../../gpu/device';
import { GpuDeviceLostError } from '../../gpu/errors';
import {
  captureCheckpoint,
  decodeTrainingCheckpoint,
  encodeTrainingCheckpoint,
  type TrainingCheckpoint,
} from '../../engine/io/checkpoint';
import { runFolderFiles, runJsonFile } from '../rundir';
import { isDirectory, readFileBytes, readModelDir } from '../fsio';
import { localModelRef } from '../model';
import {
  CHECKPOINT_FILE,
  checkOutDir,
  readStatus,
  updateStatus,
  writeRunFolder,
  type RunStatus,
  type StopReason,
} from '../outdir';
import { cooperate, interrupted, signalExitCode } from '../signals';

export const help =
  'train a model: --config <micro|gpt2-small|file.json> [--method id] [--param k=v]… [--steps N] [--model dir|id] [--dataset id|file] [--out dir [--overwrite]] [--checkpoint-every N] [--stop-after S] [--resume dir] [--json]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'train',
    booleans: ['json', 'quiet', 'overwrite'],
    values: [
      'config',
      'method',
      'param',
      'steps',
      'seed',
      'lr',
      'batch',
      'context',
      'model',
      'dataset',
      'out',
      'log-every',
      'checkpoint-every',
      'stop-after',
      'resume',
    ],
  });
  const json = has(args, 'json');
  const resumeDir = flag(args, 'resume');
  let config: RunConfig,
    sources: InputSources,
    resumeFrom: TrainingCheckpoint | null = null;
  if (resumeDir !== undefined) {
    ({ config, sources, checkpoint: resumeFrom } = await resumeFromArgs(resumeDir, args));
  } else ({ config, sources } = await runConfigFromArgs(args));
  const outFlag = flag(args, 'out');
  if (resumeDir !== undefined && outFlag !== undefined && path.resolve(outFlag) !== path.resolve(resumeDir))
    throw new CliError(`--resume ${resumeDir} continues in its own folder; drop --out ${outFlag}`);
  const outRaw = resumeDir ?? outFlag;
  // The destination is checked before any work: a bad --out must not cost a whole run.
  const out =
    outRaw === undefined
      ? null
      : await checkOutDir(outRaw, {
          inputs: await inputPaths(args),
          overwrite: has(args, 'overwrite'),
          resume: resumeDir !== undefined,
        });
  const checkpointEvery = intFlag(args, 'checkpoint-every', 0, 0);
  if (checkpointEvery > 0 && !out) throw new CliError('--checkpoint-every needs --out <dir> to write checkpoints to');
  const stopAfter = intFlag(args, 'stop-after', Infinity, 1);
  const logEvery = numberFlag(args, 'log-every', 1);
  const gpu = await cliGpu();
  // tokenization in a worker thread: a slow tokenizer cannot hold off Ctrl-C / SIGTERM (tokenize-thread.ts)
  const inputs = await resolveInputs(config, sources, { tokenize: tokenizeInThread });
  // validate.ts: refuse before allocating; print the memory plan and any notes (stderr under --json)
  const memoryBudgetBytes = cliMemoryBudget();
  const checked = Trainer.check(gpu, inputs, { memoryBudgetBytes });
  for (const note of checked.notes) console.error(`note: ${note}`);
  if (!json && checked.plan) console.log(describePlan(checked.plan));
  const trainer = await Trainer.create(gpu, inputs, { memoryBudgetBytes });
  if (resumeFrom) {
    if (resumeFrom.step > config.train.steps)
      throw new CliError(
        `--resume: the checkpoint is at step ${resumeFrom.step}, past the run's ${config.train.steps}`,
      );
    trainer.restore(resumeFrom);
  }
  // What run.json and the checkpoint record: the config with the content hashes of its inputs.
  const savedConfig: RunConfig = {
    ...config,
    model: { ...config.model, ...(inputs.modelHash ? { hash: inputs.modelHash } : {}) },
    dataset: { ...config.dataset, hash: inputs.datasetHash },
  };
  const evalEvery = config.eval.every;
  const evalBatches = config.eval.batches;
  const started = performance.now();
  const last = { loss: NaN, valLoss: NaN, probeLoss: NaN };
  if (!json)
    console.log(
      `${resumeFrom ? `resuming at step ${resumeFrom.step}: ` : ''}training ${config.method.id} on ${config.dataset.id} · model ${config.model.id} · ${trainer.memory().trainableParams} trainable params · ${gpu.name}`,
    );
  const total = config.train.steps;
  const statusOf = (reason: StopReason, message: string): RunStatus => ({
    complete: reason === 'done',
    reason,
    step: trainer.step,
    totalSteps: total,
    method: config.method.id,
    message,
  });
  /** Save the run folder as a unit: the checkpoint always, the merged model and adapter when `result`. */
  const save = async (status: RunStatus, result: boolean, summary: Record<string, unknown> = {}) => {
    if (!out) return;
    const ckpt = { ...(await captureCheckpoint(trainer)), config: savedConfig };
    const files = result ? await runFolderFiles(trainer, savedConfig, summary) : [runJsonFile(savedConfig)];
    files.push({ name: CHECKPOINT_FILE, bytes: encodeTrainingCheckpoint(ckpt) });
    await writeRunFolder(out, files, status);
  };

  let stop: { reason: StopReason; message: string; code: number } | null = null;
  let lastSaved = resumeFrom?.step ?? -1;
  if (evalEvery > 0 && trainer.step === 0) {
    // Step 0: the untouched model's val and probe loss, the baseline every later point is read against.
    const row: Record<string, number> = { step: 0 };
    row.valLoss = last.valLoss = await trainer.evaluate(inputs.data.val, evalBatches);
    if (inputs.data.probe) row.probeLoss = last.probeLoss = await trainer.evaluate(inputs.data.probe, evalBatches);
    if (json) emit(row);
    else
      console.log(
        `step 0/${total}  val ${row.valLoss.toFixed(4)}` +
          (row.probeLoss !== undefined ? `  probe ${row.probeLoss.toFixed(4)}` : '') +
          '  (before training)',
      );
  }
  const leave = cooperate(); // Ctrl-C / SIGTERM: finish the step, save, exit (signals.ts)
  try {
    while (trainer.step < total) {
      try {
        const m = await trainer.trainStep();
        const row: Record<string, number> = {
          step: m.step,
          loss: m.loss,
          lr: m.lr,
          gradNorm: m.gradNorm,
          tokensPerSec: m.tokensPerSec,
          ...m.extra, // method figures from its step hooks (LoRA-Pro's ‖g̃ − G‖, AdaLoRA's budget …)
        };
        last.loss = m.loss;
        if (evalEvery > 0 && (m.step % evalEvery === 0 || m.step === total)) {
          row.valLoss = last.valLoss = await trainer.evaluate(inputs.data.val, evalBatches);
          if (inputs.data.probe)
            row.probeLoss = last.probeLoss = await trainer.evaluate(inputs.data.probe, evalBatches);
        }
        if (json) emit(row);
        else if (m.step % logEvery === 0 || m.step === total) {
          console.log(
            `step ${m.step}/${total}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  |g| ${m.gradNorm.toFixed(3)}  ${m.tokensPerSec.toFixed(0)} tok/s` +
              (row.valLoss !== undefined ? `  val ${row.valLoss.toFixed(4)}` : '') +
              (row.probeLoss !== undefined ? `  probe ${row.probeLoss.toFixed(4)}` : ''),
          );
        }
        if (checkpointEvery > 0 && m.step % checkpointEvery === 0 && m.step < total) {
          await save(statusOf('running', `checkpoint at step ${m.step} of ${total}; the run was still going`), false);
          lastSaved = m.step;
        }
        loseDeviceForTests(gpu, m.step);
      } catch (e) {
        if (e instanceof NonFiniteError) {
          stop = { reason: 'non-finite', message: e.message, code: 1 };
          break;
        }
        if (isDeviceLost(e, gpu)) {
          stop = { reason: 'device-lost', message: `the GPU device was lost at step ${trainer.step + 1}`, code: 1 };
          break;
        }
        throw e;
      }
      const sig = interrupted();
      if (sig) {
        stop = {
          reason: 'interrupted',
          message: `interrupted by ${sig} after step ${trainer.step}`,
          code: signalExitCode(sig),
        };
        break;
      }
      if (trainer.step >= stopAfter && trainer.step < total) {
        stop = { reason: 'stopped', message: `stopped after step ${trainer.step} (--stop-after)`, code: 0 };
        break;
      }
    }

    if (stop?.reason === 'device-lost') {
      // Nothing can be read from a lost device: keep the last checkpoint as it is and say where it is.
      let where = ' (no --out: nothing was saved)';
      if (out) {
        const kept = await readStatus(out);
        if (kept && lastSaved >= 0) {
          await updateStatus(out, { ...kept, complete: false, reason: 'device-lost', message: stop.message });
          where = `; the last checkpoint (step ${kept.step}) is kept in ${outRaw}: continue with train --resume ${outRaw}`;
        } else where = `; no checkpoint had been written to ${outRaw} (use --checkpoint-every N)`;
      }
      throw new CliError(`${stop.message}${where}`);
    }

    const memory = trainer.memory();
    const summary = {
      finalLoss: last.loss,
      valLoss: Number.isFinite(last.valLoss) ? last.valLoss : null,
      probeLoss: Number.isFinite(last.probeLoss) ? last.probeLoss : null,
      steps: trainer.step,
      seed: config.seed,
      method: config.method.id,
      model: config.model.id,
      dataset: config.dataset.id,
      modelHash: inputs.modelHash,
      datasetHash: inputs.datasetHash,
      tokens: trainer.step * trainer.B * trainer.T,
      seconds: (performance.now() - started) / 1000,
      adapter: gpu.name,
      memory,
      methodMemory: methodMemory(memory),
      complete: stop === null,
      ...(stop ? { stopReason: stop.reason } : {}),
      ...(resumeFrom ? { resumedFrom: resumeFrom.step } : {}),
    };
    // The folder is rewritten as a unit: a finished run, or the last good state marked incomplete. An
    // interrupt has under a second (signals.ts): the checkpoint only, no merged model.
    await save(
      statusOf(stop ? stop.reason : 'done', stop ? stop.message : `finished ${total} steps`),
      stop?.reason !== 'interrupted',
      summary,
    );
    if (stop) {
      const kept = out
        ? `; the state of step ${trainer.step} is saved in ${outRaw} (incomplete; continue with train --resume ${outRaw})`
        : '';
      console.error(`rankscope: ${stop.message}${kept}`);
      if (stop.reason === 'stopped' && json) emit({ summary });
      return stop.code;
    }
    if (json) emit({ summary });
    else console.log(`done: ${JSON.stringify(summary)}`);
    return 0;
  } finally {
    leave();
  }
}

/** Settings, inputs and state of `train --resume DIR`: everything comes from DIR's checkpoint. */
async function resumeFromArgs(
  dir: string,
  args: ParsedArgs,
): Promise<{ config: RunConfig; sources: InputSources; checkpoint: TrainingCheckpoint }> {
  for (const f of ['config', 'method', 'param', 'steps', 'seed', 'lr', 'batch', 'context', 'overwrite'])
    if (has(args, f))
      throw new CliError(
        `--resume continues the run in ${dir} with its own settings; drop --${f} (a resumed run must match the original to continue bit for bit)`,
      );
  if (dir.trim() === '' || dir === 'true') throw new CliError('--resume needs the folder of a run (train --out DIR)');
  const file = path.join(dir, CHECKPOINT_FILE);
  if (!(await isDirectory(dir))) throw new CliError(`--resume ${dir}: no such folder`);
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file);
  } catch {
    throw new CliError(
      `--resume ${dir}: no ${CHECKPOINT_FILE} there (write one with train --out ${dir} --checkpoint-every N)`,
    );
  }
  let checkpoint: TrainingCheckpoint;
  try {
    checkpoint = decodeTrainingCheckpoint(bytes, file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const config = checkpoint.config;
  const sources: InputSources = {};
  const model = flag(args, 'model');
  if (config.model.source === 'local') {
    // a hub model (id hf:owner/name@commit) comes back from the HF cache by itself; --model may name it too
    const hubId = model ?? (config.model.id.startsWith('hf:') ? config.model.id : undefined);
    const local = hubId?.startsWith('hf:') ? (await localModelRef(hubId)).path : model;
    if (!local || !(await isDirectory(local)))
      throw new CliError(
        `--resume ${dir}: the run used the local model "${config.model.id}"; pass its folder with --model <dir>`,
      );
    sources.modelFiles = await readModelDir(local);
  } else if (model)
    throw new CliError(
      `--resume ${dir}: the run uses the ${config.model.source} model "${config.model.id}"; drop --model`,
    );
  const dataset = flag(args, 'dataset');
  if (config.dataset.source === 'upload') {
    if (!dataset)
      throw new CliError(
        `--resume ${dir}: the run used the dataset file "${config.dataset.id}"; pass it with --dataset <file>`,
      );
    sources.datasetFile = { name: path.basename(dataset), bytes: await readFileBytes(dataset) };
  } else if (dataset)
    throw new CliError(`--resume ${dir}: the run uses the built-in dataset "${config.dataset.id}"; drop --dataset`);
  return { config, sources, checkpoint };
}

/** Paths the run reads, which --out may not overwrite: a model folder and a dataset file. */
async function inputPaths(args: ParsedArgs): Promise<string[]> {
  const paths: string[] = [];
  const model = flag(args, 'model');
  if (model && (await isDirectory(model))) paths.push(model);
  const dataset = flag(args, 'dataset');
  if (dataset && /\.(txt|jsonl)$/i.test(dataset)) paths.push(dataset);
  return paths;
}

function intFlag(args: ParsedArgs, key: string, fallback: number, min: number): number {
  const v = numberFlag(args, key, fallback);
  if (v === fallback) return v;
  if (!Number.isInteger(v) || v < min) throw new CliError(`--${key} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function isDeviceLost(e: unknown, gpu: Gpu): boolean {
  return e instanceof GpuDeviceLostError || gpu.failure instanceof GpuDeviceLostError;
}

/**
 * Test hook: RANKSCOPE_TEST_LOSE_DEVICE_AFTER=N destroys the real device after step N (and its
 * checkpoint), as a driver reset would. Not a simulated event: the next step fails on a dead device.
 */
function loseDeviceForTests(gpu: Gpu, step: number): void {
  const at = Number(process.env.RANKSCOPE_TEST_LOSE_DEVICE_AFTER);
  if (at > 0 && step === at) gpu.device.destroy();
}

/**
 * What the method costs in memory, from the trainer's live-buffer categories: its trainable parameters,
 * their AdamW state (two float32 moments each) and gradients, the adapter-owned tensors (factors,
 * magnitudes, replaced bases) and the activation bytes of the run (model + method scratch such as h, z).
 */
export function methodMemory(m: ReturnType<Trainer['memory']>): {
  trainableParams: number;
  optimizerBytes: number;
  gradientBytes: number;
  adapterBytes: number;
  activationBytes: number;
} {
  return {
    trainableParams: m.trainableParams,
    optimizerBytes: 2 * 4 * m.trainableParams,
    gradientBytes: 4 * m.trainableParams,
    adapterBytes: m.adapter,
    activationBytes: m.activations,
  };
}
