/**
 * A run as a ready Python project (issue 14): train.py (transformers + PEFT + accelerate, none of our
 * code at run time), rs_config.py (the mapping, stdlib only), test_mapping.py, run_config.json,
 * requirements.txt, accelerate configs, data/*.jsonl (the exact token streams the studio trained on)
 * and a README with the launch commands and the mapping table.
 *
 * The data is exported tokenised, not as text: the studio's tokenizer, chat template rendering and
 * loss mask (batcher.ts encodeSegments) are then carried over exactly, whatever tokenizer transformers
 * would pick. Each example is one JSONL line {"example": true, "input_ids", "loss_mask"}; text streams
 * are cut into lines of TEXT_CHUNK tokens (their concatenation is the stream).
 */
import type { RunConfig } from '../../config';
import type { ModelConfig } from '../../model/config';
import { toHfConfig } from '../../model/config';
import type { NamedFile } from '../../io/checkpoint';
import type { TokenStream, TokenizedDataset } from '../../data/batcher';
import { Batcher, evalBatches } from '../../data/batcher';
import { learningRateSeries } from '../../optim/schedule';
import { loadAsset, sha256Hex } from '../../io/assets';
import { listBuiltinModels } from '../../io/checkpoint';
import { initLoraWeights, pythonRunConfig, pythonSupport, PYTHON_SUPPORT } from './mapping';
import trainPy from './templates/train.py?raw';
import rsConfigPy from './templates/rs_config.py?raw';
import testMappingPy from './templates/test_mapping.py?raw';

export const TEXT_CHUNK = 4096;

/** Major versions the generated code is written against (requirements.txt). */
export const REQUIREMENTS = [
  'torch>=2.2,<3',
  'transformers>=4.45,<5',
  'peft>=0.17,<0.18',
  'accelerate>=1.0,<2',
  'datasets>=3,<5',
  'safetensors>=0.4,<1',
];

export interface PythonExportInput {
  config: RunConfig;
  modelConfig: ModelConfig;
  /** The run's token streams (inputs.ts resolveInputs → data). */
  data: TokenizedDataset;
  /** A built-in model's files, copied into model/ (hub models are downloaded by id + revision instead). */
  modelFiles?: NamedFile[];
}

export interface PythonProject {
  files: NamedFile[];
  runConfig: Record<string, unknown>;
  notes: string[];
}

const enc = new TextEncoder();
const text = (name: string, s: string): NamedFile => ({ name, bytes: enc.encode(s) });

/** A token stream as JSONL lines (one per example, or TEXT_CHUNK-token pieces of a text stream). */
export function streamJsonl(s: TokenStream): string {
  const lines: string[] = [];
  const piece = (a: number, b: number, example: boolean) => {
    const row: Record<string, unknown> = example ? { example: true } : {};
    row.input_ids = Array.from(s.tokens.subarray(a, b));
    if (s.lossMask) row.loss_mask = Array.from(s.lossMask.subarray(a, b));
    lines.push(JSON.stringify(row));
  };
  if (s.starts && s.starts.length > 0) {
    if (s.starts[0] > 0) piece(0, s.starts[0], false);
    for (let k = 0; k < s.starts.length; k++)
      piece(s.starts[k], k + 1 < s.starts.length ? s.starts[k + 1] : s.tokens.length, true);
  } else
    for (let a = 0; a < s.tokens.length; a += TEXT_CHUNK) piece(a, Math.min(s.tokens.length, a + TEXT_CHUNK), false);
  return lines.join('\n') + '\n';
}

/** A built-in model's files (public/models/<id>/), for model/ in the project. */
export async function builtinModelFiles(id: string): Promise<NamedFile[]> {
  const info = (await listBuiltinModels()).find((m) => m.id === id);
  if (!info) throw new Error(`no built-in model "${id}"`);
  return Promise.all(info.files.map(async (name) => ({ name, bytes: await loadAsset(`models/${id}/${name}`) })));
}

/** sha256 of int32 little-endian values (rs_config.token_digest computes the same). */
export async function int32Digest(values: ArrayLike<number>): Promise<string> {
  const a = Int32Array.from(values);
  return sha256Hex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

export async function buildPythonProject(input: PythonExportInput): Promise<PythonProject> {
  const { config, modelConfig, data } = input;
  const rc = pythonRunConfig(config, modelConfig);
  const streams = Object.entries({ train: data.train, val: data.val, probe: data.probe }).filter(
    (e): e is [string, TokenStream] => e[1] !== undefined,
  );
  const digests: Record<string, string> = {},
    maskDigests: Record<string, string> = {},
    lengths: Record<string, number> = {};
  for (const [k, s] of streams) {
    digests[k] = await int32Digest(s.tokens);
    lengths[k] = s.tokens.length;
    if (s.lossMask) maskDigests[k] = await int32Digest(s.lossMask);
  }
  const t = config.train;
  const B = t.batchSize,
    T = t.contextLength;
  // numbers the studio computes itself, which test_mapping.py compares the Python side with
  const batcher = new Batcher(data.train, {
    B,
    T,
    seed: config.seed,
    purpose: 'data/train',
    layout: config.data.layout,
  });
  const batches: Record<string, { inputs: number[]; mask: number[] }[]> = {};
  for (const step of [0, 1, Math.max(2, t.steps - 1)]) {
    const b = batcher.batchAt(step);
    batches[step] = Array.from({ length: Math.min(B, 3) }, (_, r) => ({
      inputs: Array.from(b.inputs.subarray(r * T, (r + 1) * T)),
      mask: Array.from(b.mask.subarray(r * T, (r + 1) * T)),
    }));
  }
  const ev = evalBatches(data.val, { B, T, maxBatches: 1, layout: config.data.layout })[0];
  const targets = rc.targets as { target_modules: string[]; fan_in_fan_out: boolean };
  const runConfig = {
    ...rc,
    data: { layout: config.data.layout, digests, kind: data.train.starts ? 'examples' : 'text' },
    check: {
      lr: Array.from(
        learningRateSeries({
          lr: t.lr,
          warmupSteps: Math.min(t.warmupSteps, t.steps),
          totalSteps: t.steps,
          schedule: t.schedule,
          minLrRatio: t.minLrRatio,
        }),
      ),
      digests,
      mask_digests: maskDigests,
      lengths,
      batches,
      eval_row0_targets: Array.from(ev.targets.subarray(0, T)),
      target_modules: targets.target_modules,
      fan_in_fan_out: targets.fan_in_fan_out,
      init_lora_weights: initLoraWeights(config.method.id, (rc.method as { params: Record<string, unknown> }).params),
    },
  };
  const files: NamedFile[] = [
    text('train.py', trainPy),
    text('rs_config.py', rsConfigPy),
    text('test_mapping.py', testMappingPy),
    text('run_config.json', JSON.stringify(runConfig, null, 1) + '\n'),
    text(
      'requirements.txt',
      REQUIREMENTS.join('\n') + (config.method.id === 'galore' ? '\ngalore-torch>=1.0,<2' : '') + '\n',
    ),
    ...accelerateConfigs(),
    ...streams.map(([k, s]) => text(`data/${k}.jsonl`, streamJsonl(s))),
    text('README.md', readme(config, runConfig)),
  ];
  const notes: string[] = [];
  const mref = rc.model as { from_config: boolean; path: string | null };
  if (config.model.source === 'builtin') {
    if (!input.modelFiles?.length) throw new Error(`the built-in model "${config.model.id}" needs its files to export`);
    for (const f of input.modelFiles) files.push({ name: `model/${f.name}`, bytes: f.bytes });
  } else if (mref.from_config) {
    files.push(text('model/config.json', JSON.stringify(toHfConfig(modelConfig), null, 2) + '\n'));
    notes.push(
      `the model is the preset "${config.model.id}": train.py initialises it with transformers' own random init, not the studio's seeded one`,
    );
  }
  return { files, runConfig, notes };
}

function accelerateConfigs(): NamedFile[] {
  const base = (extra: string) =>
    `compute_environment: LOCAL_MACHINE\ndebug: false\n${extra}machine_rank: 0\nmain_training_function: main\nmixed_precision: 'no'\nnum_machines: 1\nrdzv_backend: static\nsame_network: true\nuse_cpu: false\n`;
  return [
    text('accelerate/single_gpu.yaml', base('distributed_type: NO\ngpu_ids: all\nnum_processes: 1\n')),
    text(
      'accelerate/multi_gpu.yaml',
      base(
        'distributed_type: MULTI_GPU\ngpu_ids: all\n# one process per GPU; set this to your GPU count\nnum_processes: 8\n',
      ),
    ),
    text(
      'accelerate/fsdp.yaml',
      base(
        'distributed_type: FSDP\nfsdp_config:\n  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n  fsdp_backward_prefetch: BACKWARD_PRE\n  fsdp_cpu_ram_efficient_loading: true\n  fsdp_offload_params: false\n  fsdp_sharding_strategy: FULL_SHARD\n  fsdp_state_dict_type: SHARDED_STATE_DICT\n  fsdp_sync_module_states: true\n  fsdp_use_orig_params: true\nnum_processes: 8\n',
      ),
    ),
  ];
}

function readme(config: RunConfig, rc: Record<string, unknown>): string {
  const t = config.train;
  const m = rc.model as { id: string; revision: string | null; path: string | null };
  const method = rc.method as { id: string; params: Record<string, unknown> };
  const tg = rc.targets as { target_modules: string[]; layers_to_transform: number[] | null; rank_pattern: object };
  const support = pythonSupport(config.method.id) as { peft: string; note: string };
  const rows: [string, string, string][] = [
    [
      'model',
      `${config.model.source} "${config.model.id}"`,
      `from_pretrained("${m.path ?? m.id}"${m.revision ? `, revision="${m.revision}"` : ''})`,
    ],
    ['method', `${method.id} ${JSON.stringify(method.params)}`, `${support.peft}: ${support.note}`],
    ['targets', JSON.stringify(config.targets.modules), `target_modules=${JSON.stringify(tg.target_modules)}`],
    ['layers', JSON.stringify(config.targets.layers), `layers_to_transform=${JSON.stringify(tg.layers_to_transform)}`],
    ['rank overrides', JSON.stringify(config.targets.rankOverrides), `rank_pattern=${JSON.stringify(tg.rank_pattern)}`],
    [
      'optimizer',
      `AdamW β=(${t.beta1}, ${t.beta2}) ε=${t.eps} wd=${t.weightDecay}`,
      'torch.optim.AdamW, same values; no decay on vectors (ndim < 2)',
    ],
    [
      'lr schedule',
      `${t.schedule}, lr ${t.lr}, warm-up ${t.warmupSteps}, floor ×${t.minLrRatio}`,
      'LambdaLR(rs_config.lr_factor): the studio formula, step for step',
    ],
    ['clipping', `global norm ${t.gradClip}`, 'accelerator.clip_grad_norm_'],
    [
      'batch',
      `${t.batchSize} rows × ${t.contextLength} tokens`,
      'global = per-device × devices × --grad_accum; the same rows in the same order',
    ],
    [
      'steps / eval',
      `${t.steps} steps, eval every ${config.eval.every} on ${config.eval.batches} batch(es)`,
      "the same; val and probe on the studio's eval windows",
    ],
    [
      'data',
      `${config.dataset.source} "${config.dataset.id}", ${config.data.layout}`,
      "data/*.jsonl: the studio's token ids and loss mask (chat template and masking already applied)",
    ],
    ['seed', String(config.seed), "torch.manual_seed; data order = the studio's Philox draws"],
  ];
  const table = rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');
  const refused = Object.entries(PYTHON_SUPPORT)
    .filter((e): e is [string, { refused: string }] => 'refused' in e[1])
    .map(([id, r]) => `- **${id}**: ${r.refused}`)
    .join('\n');
  return `# ${config.name ?? `${config.method.id} on ${config.dataset.id}`} — exported from Rankscope

This folder trains the same run with Hugging Face transformers + PEFT, launched by accelerate, on one
GPU or many. No Rankscope code is needed to run it.

## Launch

\`\`\`sh
pip install -r requirements.txt
python3 test_mapping.py                                   # checks the mapping; no GPU, no torch
accelerate launch --config_file accelerate/single_gpu.yaml train.py
accelerate launch --config_file accelerate/multi_gpu.yaml --num_processes 8 train.py --grad_accum 1
accelerate launch --config_file accelerate/fsdp.yaml --num_processes 8 train.py
torchrun --nproc_per_node 8 train.py
\`\`\`

The run's batch is ${t.batchSize} rows: devices × \`--grad_accum\` must divide it (per-device = ${t.batchSize} / (devices × accumulation)).

## Results

\`out/metrics.jsonl\` holds one JSON object per step, as \`rankscope train --json\` prints (step, loss, lr,
gradNorm, tokensPerSec, valLoss, probeLoss) and a final {"summary": …}; \`out/adapter/\` the PEFT
adapter (\`PeftModel.from_pretrained\`). Bring both back into the studio:

\`\`\`sh
npm run cli -- import --python-run out --out run.rankscope.zip   # then Import it on the page (Compare)
\`\`\`

## What maps to what

| | studio | here |
|---|---|---|
${table}

Not carried over: bit-identical numbers (cuBLAS/cuDNN kernels, float summation order and bf16 if you pass
\`--bf16\` differ from WebGPU float32), the studio's seeded adapter initialisation (PEFT draws its own
Kaiming-uniform A from torch's generator), spectra/intruder analysis during training (import the adapter
and run it in the studio), and for GaLore the projector's randomized SVD (galore_torch uses an exact SVD).

Methods that do not carry over, and why:

${refused}
`;
}
