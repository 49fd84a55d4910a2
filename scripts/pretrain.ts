/**
 * `npm run pretrain`: trains the built-in base model with Rankscope's own engine in Node (Dawn), on
 * the english *train* split (never on its val or forgetting-probe slices). Resumable: a checkpoint
 * (weights + AdamW moments + step) is written every --ckpt-every steps to .checkpoints/<name>/, and a
 * rerun continues from it. After each checkpoint the current model is also published to
 * public/models/<name>/ with an honest card (steps, tokens seen, validation loss), so the repository
 * always ships the latest trained state.
 *
 * Options: --name base --steps 4000 --batch 8 --context 128 --lr 3e-3 --warmup 100 --seed 1234
 *          --ckpt-every 100 --val-batches 32 --max-minutes M (stop after M minutes; resume later)
 *          --preset base|micro --publish-only (write public/models/<name> from the last checkpoint)
 *          --extend (continue a checkpoint under a different --steps; the schedule follows the new total)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs, flag, has, numberFlag } from '../src/cli/args';
import { cliGpu } from '../src/cli/gpu';
import { parseRunConfig } from '../src/engine/config';
import { resolveInputs } from '../src/engine/inputs';
import { Trainer } from '../src/engine/train';
import { MODEL_PRESETS, parameterCount } from '../src/engine/model/config';
import { modelFiles, type ModelCard } from '../src/engine/io/checkpoint';
import { writeSafetensors, parseSafetensors, toFloat32 } from '../src/engine/io/safetensors';
import { writeFiles } from '../src/cli/fsio';
import { sampleText } from '../src/engine/generate';

const args = parseArgs(
  process.argv.slice(2).filter((a) => a !== '--'),
  ['publish-only', 'extend'],
);
/** How this checkpoint's schedule came to be (extensions of --steps), recorded in the card. */
const history: string[] = [];
const name = flag(args, 'name') ?? 'base';
const preset = flag(args, 'preset') ?? name;
const steps = numberFlag(args, 'steps', 4000);
const B = numberFlag(args, 'batch', 8);
const T = numberFlag(args, 'context', 128);
const lr = numberFlag(args, 'lr', 3e-3);
const warmup = numberFlag(args, 'warmup', 100);
const seed = numberFlag(args, 'seed', 1234);
const ckptEvery = numberFlag(args, 'ckpt-every', 100);
const valBatches = numberFlag(args, 'val-batches', 32);
const maxMinutes = numberFlag(args, 'max-minutes', Infinity);
const ckptDir = path.join('.checkpoints', name);
const outDir = path.join('public', 'models', name);
const arch = MODEL_PRESETS[preset];
if (!arch) throw new Error(`unknown preset ${preset}`);

const config = parseRunConfig({
  name,
  model: { source: 'preset', id: preset },
  dataset: { source: 'builtin', id: 'english' },
  method: { id: 'full', params: {} },
  train: {
    steps,
    batchSize: B,
    contextLength: T,
    lr,
    warmupSteps: warmup,
    weightDecay: 0.1,
    beta2: 0.99,
    gradClip: 1,
    schedule: 'cosine',
    minLrRatio: 0.1,
  },
  seed,
});
const command = `npm run pretrain -- --name ${name} --preset ${preset} --steps ${steps} --batch ${B} --context ${T} --lr ${lr} --warmup ${warmup} --seed ${seed}`;

const gpu = await cliGpu();
const inputs = await resolveInputs(config);
const trainer = await Trainer.create(gpu, inputs);

async function loadCheckpoint(): Promise<boolean> {
  try {
    const bytes = new Uint8Array(await fs.readFile(path.join(ckptDir, 'state.safetensors')));
    const st = parseSafetensors(bytes);
    const tensors: Record<string, Float32Array> = {};
    for (const t of st.tensors.values()) tensors[t.name] = toFloat32(t);
    const meta = JSON.parse(st.metadata.rankscope ?? '{}') as { step?: number; command?: string; history?: string[] };
    // The same run continues only under the same command. `--extend` allows a longer (or shorter)
    // --steps: the cosine schedule is then recomputed for the new total from the current step on.
    const withoutSteps = (c: string) => c.replace(/--steps \d+ /, '');
    const sameRun =
      meta.command === command || (has(args, 'extend') && withoutSteps(meta.command ?? '') === withoutSteps(command));
    if (!sameRun) {
      console.error(
        `pretrain: checkpoint in ${ckptDir} was made by a different command; refusing to mix runs.\n  it: ${meta.command}\n  now: ${command}${withoutSteps(meta.command ?? '') === withoutSteps(command) ? '\n  (only --steps differs: add --extend to continue with the new total)' : ''}`,
      );
      process.exit(1);
    }
    history.push(...(meta.history ?? []));
    if (meta.command !== command) history.push(`extended at step ${meta.step}: ${meta.command} → ${command}`);
    trainer.restore({ step: meta.step ?? 0, tensors });
    console.log(`resumed from ${ckptDir} at step ${trainer.step}`);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function saveCheckpoint(): Promise<void> {
  const snap = await trainer.snapshot();
  const tensors = Object.entries(snap.tensors).map(([n, data]) => ({ name: n, shape: [data.length], data }));
  await writeFiles(ckptDir, [
    {
      name: 'state.safetensors',
      bytes: writeSafetensors(tensors, { rankscope: JSON.stringify({ step: snap.step, command, history }) }),
    },
  ]);
}

async function publish(): Promise<void> {
  const valLoss = await trainer.evaluate(inputs.data.val, valBatches);
  const weights = await trainer.model.readWeights();
  const card: ModelCard = {
    name,
    datasetId: 'english',
    tokensSeen: trainer.step * B * T,
    steps: trainer.step,
    plannedSteps: steps,
    seed,
    command,
    valLoss,
    valBatches,
    contextLength: T,
    batchSize: B,
    params: parameterCount(arch),
    tokenizer: 'byte',
    adapter: gpu.name,
    ...(history.length ? { history } : {}),
  };
  const sample = await sampleText(gpu, trainer.model, inputs.tokenizer, {
    prompt: 'The ',
    maxTokens: 120,
    temperature: 0.8,
    topK: 40,
    seed: 1,
  });
  const readme = `# ${name}\n\nA GPT-2-family byte-level language model (${arch.nLayer} layers, width ${arch.nEmbd}, ${arch.nHead} heads, context ${arch.contextLength}; ${parameterCount(arch).toLocaleString('en')} parameters), pretrained by Rankscope's own WebGPU engine (\`${command}\`) on the english train split of the \`nlp-corpus\` package (MIT).\n\n- steps: ${trainer.step} of ${steps} planned (batch ${B} × ${T} bytes)\n- tokens seen: ${card.tokensSeen.toLocaleString('en')}\n- validation loss: ${valLoss.toFixed(4)} nats per byte on ${valBatches} batches of the english val split\n- seed: ${seed}\n- adapter it was trained on: ${gpu.name}\n\nSample (prompt "The ", temperature 0.8, top-k 40, seed 1):\n\n> ${printable(sample)}\n\nThe forgetting probe (a held-out english slice) was never trained on. Resume or extend with the command above; training continues from .checkpoints/${name}/.\n`;
  await writeFiles(outDir, modelFiles(arch, weights, card, readme));
  await updateIndex();
  console.log(
    `published ${outDir}: step ${trainer.step}, val ${valLoss.toFixed(4)} nats/byte, sample: ${sample.slice(0, 80).replace(/\n/g, ' ')}`,
  );
}

/** Control bytes (a byte-level sample can contain any) become spaces in the model card. */
function printable(s: string): string {
  return [...s].map((ch) => (ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127 ? ' ' : ch)).join('');
}

async function updateIndex(): Promise<void> {
  const indexPath = path.join('public', 'models', 'index.json');
  let list: { id: string }[];
  try {
    list = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch {
    list = [];
  }
  const entry = {
    id: name,
    label: name === 'base' ? 'Rankscope base (byte-level GPT-2, pretrained)' : `${name} (byte-level GPT-2)`,
    description: `${arch.nLayer} layers × ${arch.nEmbd} wide, context ${arch.contextLength}, byte tokenizer`,
    params: parameterCount(arch),
    files: ['config.json', 'model.safetensors', 'card.json', 'README.md'],
  };
  list = [...list.filter((m) => m.id !== name), entry].sort((a, b) => a.id.localeCompare(b.id));
  await fs.writeFile(indexPath, JSON.stringify(list, null, 2) + '\n');
}

await loadCheckpoint();
if (has(args, 'publish-only')) {
  await publish();
  process.exit(0);
}
const t0 = Date.now();
while (trainer.step < steps) {
  const m = await trainer.trainStep();
  if (m.step % 10 === 0)
    console.log(
      `step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} |g| ${m.gradNorm.toFixed(3)} ${m.tokensPerSec.toFixed(0)} tok/s`,
    );
  if (m.step % ckptEvery === 0 || m.step === steps) {
    await saveCheckpoint();
    await publish();
  }
  if ((Date.now() - t0) / 60000 > maxMinutes) {
    await saveCheckpoint();
    await publish();
    console.log(`stopping after ${maxMinutes} minutes at step ${trainer.step}; rerun the same command to resume`);
    break;
  }
}
process.exit(0);
