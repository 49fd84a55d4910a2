/**
 * `bench step`: tokens/s of one full fine-tuning training step — forward, backward, global-norm clip
 * and the optimizer update over EVERY parameter — ours (the real `Trainer`, one encoder and one submit
 * per step, one small readback) against the same GPT-2 and step written with TensorFlow.js ops and its
 * autograd on tfjs's WebGPU backend (src/cli/peers/tfjs-gpt2.ts), same process, same adapter.
 *
 * Both sides start from the same weights (our seeded init) and see the same batches (our Batcher over
 * a synthetic token stream: speed does not depend on the text, and tokenizing a corpus with the GPT-2
 * BPE would cost longer than the micro benchmark). The first and last steps' losses are printed side by
 * side as a check that the two compute the same model and the same update. Optimizer: ours AdamW with
 * weightDecay 0, tfjs plain `tf.train.adam` — the same update at weight decay 0 — both clipping the
 * global norm at 1. Both models stay resident and the timed steps alternate (ours, tfjs, ours, …), so
 * load drifting on a shared machine hits both sides alike; the figure is the median per side.
 *
 * Models: `micro` (B=4, T=32, 5 timed steps) and `gpt2-small` shapes (B=1, T=128; V=50257, C=768,
 * L=12, 124M parameters). On a CPU Vulkan driver a gpt2-small step takes a minute or more per side, so
 * the default is 1 warm-up step and the median of 2 timed steps; `--layers N` cuts gpt2-small's depth
 * (the embedding and the vocabulary-wide tied head stay), `--quick` = 3 timed micro steps, 1 timed
 * gpt2-small step at 2 layers (unless --layers says otherwise).
 * Flags: --model micro|gpt2-small (default both), --layers N, --vocab N, --steps N (timed), --warmup N, --no-peer.
 * `--model gpt2|smollm2-135m|pythia-160m` runs `bench family-step` instead (full and LoRA, full vocabulary).
 *
 * Vocabulary: the tfjs peer binds wte (V, C) as ONE storage buffer; ours holds it in row shards. Where
 * the adapter's maxStorageBufferBindingSize is below V·C·4 bytes — lavapipe's 128 MiB vs GPT-2's 154 MB —
 * the side-by-side comparison uses the largest V that fits (43690 at C=768 on lavapipe) and prints
 * `V_reduced_from`; with --no-peer the full vocabulary runs. `--vocab N` picks one explicitly.
 * `--layers` and `--vocab` apply to gpt2-small only.
 * One JSON line per model. Timings are wall-clock per step (each side waits for its step to finish).
 */
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { run as familyStep, SHAPES as FAMILY_SHAPES } from './family-step';
import type { Gpu } from '../../gpu/device';
import { parseRunConfig } from '../../engine/config';
import { MODEL_PRESETS, parameterCount, type ModelConfig } from '../../engine/model/config';
import { gpt2ParamSpecs, initParam } from '../../engine/model/gpt2';
import { Trainer } from '../../engine/train';
import { Batcher, type TokenStream } from '../../engine/data/batcher';
import { createByteTokenizer } from '../../engine/io/tokenizers';
import type { RunInputs } from '../../engine/inputs';
import { Rng } from '../../engine/rng';
import { median } from '../peers/tfjs';
import { loadTfjsWithGradients, TfGpt2 } from '../peers/tfjs-gpt2';

interface BenchModel {
  id: 'micro' | 'gpt2-small';
  B: number;
  T: number;
  lr: number;
  timed: number;
}

const MODELS: BenchModel[] = [
  { id: 'micro', B: 4, T: 32, lr: 3e-3, timed: 5 },
  { id: 'gpt2-small', B: 1, T: 128, lr: 6e-4, timed: 2 },
];

const SEED = 0;

/** A random token stream long enough for every window the bench draws. */
function syntheticStream(V: number, n: number): TokenStream {
  const rng = new Rng(SEED, 'bench-step/tokens');
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = rng.int(V);
  return { tokens, lossMask: null };
}

function inputsFor(m: BenchModel, arch: ModelConfig, steps: number): RunInputs {
  const config = parseRunConfig({
    model: { source: 'preset', id: m.id, arch },
    dataset: { source: 'builtin', id: 'synthetic' },
    method: { id: 'full', params: {} },
    train: {
      steps,
      batchSize: m.B,
      contextLength: m.T,
      lr: m.lr,
      weightDecay: 0,
      warmupSteps: 0,
      schedule: 'constant',
      gradClip: 1,
    },
    eval: { every: 0, batches: 1 },
    seed: SEED,
  });
  const stream = syntheticStream(arch.vocabSize, Math.max(4096, 32 * m.B * (m.T + 1)));
  return {
    config,
    modelConfig: arch,
    weights: null,
    modelHash: null,
    model: null,
    tokenizer: createByteTokenizer(), // never used by the trainer: the stream is already tokens
    data: { train: stream, val: stream },
    datasetHash: 'synthetic',
    datasetKind: 'text',
  };
}

export async function run(gpu: Gpu, argv: string[]): Promise<void> {
  // `bench step --model gpt2|smollm2-135m|pythia-160m` (issue 10's names): the family-step bench, full vocabulary
  const i = argv.indexOf('--model');
  const model = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--model='))?.slice('--model='.length);
  if (model && model in FAMILY_SHAPES) return familyStep(gpu, argv);
  const args = parseArgs(argv, {
    command: 'bench step',
    declaredIn: 'src/cli/bench/step.ts',
    booleans: ['json', 'quick', 'no-peer'],
    values: ['model', 'layers', 'warmup', 'steps', 'vocab'],
  });
  const quick = has(args, 'quick');
  const only = flag(args, 'model');
  if (only && !MODELS.some((m) => m.id === only))
    throw new CliError(
      `bench step: --model must be one of ${[...MODELS.map((m) => m.id), ...Object.keys(FAMILY_SHAPES)].join(', ')}`,
    );
  const layersFlag = flag(args, 'layers');
  const layers = layersFlag !== undefined ? numberFlag(args, 'layers', 12) : quick ? 2 : 12;
  if (!Number.isInteger(layers) || layers < 1 || layers > 12)
    throw new CliError(`bench step: --layers must be an integer in 1..12, got ${layers}`);
  const warmup = numberFlag(args, 'warmup', 1);
  if (!Number.isInteger(warmup) || warmup < 1) throw new CliError('bench step: --warmup must be an integer ≥ 1');
  const stepsFlag = flag(args, 'steps') !== undefined ? numberFlag(args, 'steps', 1) : null;
  if (stepsFlag !== null && (!Number.isInteger(stepsFlag) || stepsFlag < 1))
    throw new CliError('bench step: --steps must be an integer ≥ 1');
  const vocabFlag = flag(args, 'vocab') !== undefined ? numberFlag(args, 'vocab', 0) : null;
  if (vocabFlag !== null && (!Number.isInteger(vocabFlag) || vocabFlag < 2))
    throw new CliError('bench step: --vocab must be an integer ≥ 2');
  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  const tf = has(args, 'no-peer') ? null : await loadTfjsWithGradients();

  for (const m of MODELS) {
    if (only && only !== m.id) continue;
    let arch: ModelConfig = m.id === 'gpt2-small' ? { ...MODEL_PRESETS[m.id], nLayer: layers } : MODEL_PRESETS[m.id];
    // wte (V, C) is bound whole by the embedding, the tied head and AdamW (ours and tfjs alike). An adapter
    // whose maxStorageBufferBindingSize is below V·C·4 bytes (lavapipe: 128 MiB < GPT-2's 154 MB) cannot
    // run the real vocabulary: use the largest vocabulary that fits (or --vocab N) and say so.
    const fullVocab = arch.vocabSize;
    const maxVocab = tf ? Math.floor(maxBinding / (4 * arch.nEmbd)) : Infinity;
    const vocab = (m.id === 'gpt2-small' ? vocabFlag : null) ?? Math.min(fullVocab, maxVocab);
    if (vocab > maxVocab)
      throw new CliError(
        `bench step: --vocab ${vocab} needs ${vocab * arch.nEmbd * 4} bytes for wte, which the tfjs peer binds whole; this adapter binds at most ${maxBinding} (maxStorageBufferBindingSize); --no-peer runs it`,
      );
    if (vocab !== fullVocab) arch = { ...arch, vocabSize: vocab };
    const timed = stepsFlag ?? (quick ? (m.id === 'micro' ? 3 : 1) : m.timed);
    const inputs = inputsFor(m, arch, warmup + timed);
    const tokens = m.B * m.T;

    // Ours: the product's own training step. tfjs: same weights, same batches. Steps ALTERNATE
    // (ours, tfjs, ours, …) so load drifting on a shared machine hits both sides alike.
    const trainer = await Trainer.create(gpu, inputs);
    let peerModel: TfGpt2 | null = null;
    const oursMs: number[] = [],
      tfjsMs: number[] = [];
    const oursLoss: number[] = [],
      tfjsLoss: number[] = [];
    try {
      if (tf) {
        const specs = new Map(gpt2ParamSpecs(arch).map((s) => [s.name, s]));
        peerModel = new TfGpt2(tf, arch, (name) => initParam(specs.get(name)!, SEED), { lr: m.lr, gradClip: 1 });
      }
      const batcher = new Batcher(inputs.data.train, { B: m.B, T: m.T, seed: SEED, purpose: 'data/train' });
      for (let s = 0; s < warmup + timed; s++) {
        let t0 = performance.now();
        oursLoss.push((await trainer.trainStep()).loss);
        if (s >= warmup) oursMs.push(performance.now() - t0);
        if (peerModel) {
          const b = batcher.batchAt(s); // what the trainer's own Batcher gave it at step s
          t0 = performance.now();
          tfjsLoss.push((await peerModel.step(b.inputs, b.targets, b.mask, m.B, m.T)).loss);
          if (s >= warmup) tfjsMs.push(performance.now() - t0);
        }
      }
    } finally {
      trainer.dispose();
      peerModel?.dispose();
    }
    const tfMs = tfjsMs.length ? median(tfjsMs) : NaN;
    const oursLoss1 = oursLoss[0],
      oursLossLast = oursLoss.at(-1)!;
    const tfLoss1 = tfjsLoss[0] ?? NaN,
      tfLossLast = tfjsLoss.at(-1) ?? NaN;

    const ourMs = median(oursMs);
    const ours = (tokens / ourMs) * 1000,
      peer = (tokens / tfMs) * 1000;
    emit({
      bench: 'step',
      model: m.id,
      layers: arch.nLayer,
      V: arch.vocabSize,
      ...(arch.vocabSize !== fullVocab
        ? {
            V_reduced_from: fullVocab,
            V_reason: `maxStorageBufferBindingSize ${maxBinding} < wte ${fullVocab * arch.nEmbd * 4} bytes`,
          }
        : {}),
      params: parameterCount(arch),
      B: m.B,
      T: m.T,
      ours_tokens_per_s: round(ours),
      tfjs_tokens_per_s: round(peer),
      ratio: round(ours / peer),
      ours_ms: round(ourMs),
      tfjs_ms: round(tfMs),
      loss_step1: { ours: round(oursLoss1, 6), tfjs: round(tfLoss1, 6) },
      loss_last: { ours: round(oursLossLast, 6), tfjs: round(tfLossLast, 6) },
      warmup,
      timed,
      optimizer: { ours: 'AdamW (weightDecay 0)', tfjs: 'tf.train.adam' },
      gradClip: 1,
      adapter: gpu.name,
    });
  }
}

function round(x: number, digits = 3): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
