/**
 * `train`: one run headless. Prints one JSON object per step and a final {"summary":…} line (with
 * --json), or a readable log. Exits non-zero with a clear message on any failure (invalid config,
 * NaN/Inf, GPU loss). With --out, saves the tuned model (HF layout), the run config and the
 * method's adapter state so `eval`, `analyze`, `sample` and `export` can read it.
 */
import { emit, has, numberFlag, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { runConfigFromArgs } from '../runconfig';
import { resolveInputs } from '../../engine/inputs';
import { Trainer } from '../../engine/train';
import { saveRunDir } from '../rundir';

export const help =
  'train a model: --config <micro|gpt2-small|file.json> [--method id] [--param k=v]… [--steps N] [--model dir|id] [--dataset id|file] [--out dir] [--json]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'quiet']);
  const json = has(args, 'json');
  const { config, sources } = await runConfigFromArgs(args);
  const gpu = await cliGpu();
  const inputs = await resolveInputs(config, sources);
  const trainer = await Trainer.create(gpu, inputs);
  const evalEvery = config.eval.every;
  const evalBatches = config.eval.batches;
  const out = args.flags.get('out')?.at(-1);
  const logEvery = numberFlag(args, 'log-every', 1);
  const started = performance.now();
  const last = { loss: NaN, valLoss: NaN, probeLoss: NaN };
  if (!json)
    console.log(
      `training ${config.method.id} on ${config.dataset.id} · model ${config.model.id} · ${trainer.memory().trainableParams} trainable params · ${gpu.name}`,
    );
  if (evalEvery > 0 && trainer.step === 0) {
    // Step 0: the untouched model's val and probe loss, the baseline every later point is read against.
    const row: Record<string, number> = { step: 0 };
    row.valLoss = last.valLoss = await trainer.evaluate(inputs.data.val, evalBatches);
    if (inputs.data.probe) row.probeLoss = last.probeLoss = await trainer.evaluate(inputs.data.probe, evalBatches);
    if (json) emit(row);
    else
      console.log(
        `step 0/${config.train.steps}  val ${row.valLoss.toFixed(4)}` +
          (row.probeLoss !== undefined ? `  probe ${row.probeLoss.toFixed(4)}` : '') +
          '  (before training)',
      );
  }
  for (let s = 0; s < config.train.steps; s++) {
    const m = await trainer.trainStep();
    const row: Record<string, number> = {
      step: m.step,
      loss: m.loss,
      lr: m.lr,
      gradNorm: m.gradNorm,
      tokensPerSec: m.tokensPerSec,
    };
    last.loss = m.loss;
    if (evalEvery > 0 && (m.step % evalEvery === 0 || m.step === config.train.steps)) {
      row.valLoss = last.valLoss = await trainer.evaluate(inputs.data.val, evalBatches);
      if (inputs.data.probe) row.probeLoss = last.probeLoss = await trainer.evaluate(inputs.data.probe, evalBatches);
    }
    if (json) emit(row);
    else if (m.step % logEvery === 0 || m.step === config.train.steps) {
      console.log(
        `step ${m.step}/${config.train.steps}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  |g| ${m.gradNorm.toFixed(3)}  ${m.tokensPerSec.toFixed(0)} tok/s` +
          (row.valLoss !== undefined ? `  val ${row.valLoss.toFixed(4)}` : '') +
          (row.probeLoss !== undefined ? `  probe ${row.probeLoss.toFixed(4)}` : ''),
      );
    }
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
  };
  if (out) {
    await saveRunDir(
      out,
      trainer,
      {
        ...config,
        model: { ...config.model, ...(inputs.modelHash ? { hash: inputs.modelHash } : {}) },
        dataset: { ...config.dataset, hash: inputs.datasetHash },
      },
      summary,
    );
  }
  if (json) emit({ summary });
  else console.log(`done: ${JSON.stringify(summary)}`);
  return 0;
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
