/**
 * Issue 14: a run exported as a Python project. For LoRA, DoRA and GaLore runs the project is
 * generated and checked with the system python3: every .py compiles, and the project's own
 * test_mapping.py (stdlib only) parses the values train.py would pass to PEFT/the optimizer back and
 * compares them with the run and with numbers the studio computed (lr schedule, batches, digests).
 * The data files are compared token for token with the streams the studio trains on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunConfig, type RunConfigInput } from '../../src/engine/config';
import { resolveInputs } from '../../src/engine/inputs';
import { buildPythonProject, builtinModelFiles, type PythonProject } from '../../src/engine/export/python/project';
import { PythonExportError } from '../../src/engine/export/python/mapping';
import type { TokenStream } from '../../src/engine/data/batcher';
import type { RunInputs } from '../../src/engine/inputs';

const hasPython = spawnSync('python3', ['--version']).status === 0;

function runCfg(method: string, params: Record<string, number>, extra: Partial<RunConfigInput> = {}) {
  return parseRunConfig({
    model: { source: 'preset', id: 'micro' },
    dataset: { source: 'builtin', id: 'addition' },
    method: { id: method, params },
    targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: { 'h.1.mlp.c_fc': 2 } },
    train: {
      steps: 12,
      batchSize: 4,
      contextLength: 32,
      lr: 2e-3,
      warmupSteps: 3,
      schedule: 'cosine',
      minLrRatio: 0.1,
    },
    eval: { every: 4, batches: 1 },
    seed: 7,
    ...extra,
  });
}

function writeProject(p: PythonProject): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rs-py-'));
  for (const f of p.files) {
    mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
    writeFileSync(path.join(dir, f.name), f.bytes);
  }
  return dir;
}

function readJsonl(file: string): { tokens: number[]; mask: number[]; starts: number[] } {
  const out = { tokens: [] as number[], mask: [] as number[], starts: [] as number[] };
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const row = JSON.parse(line) as { example?: boolean; input_ids: number[]; loss_mask?: number[] };
    if (row.example) out.starts.push(out.tokens.length);
    out.tokens.push(...row.input_ids);
    out.mask.push(...(row.loss_mask ?? []));
  }
  return out;
}

/** Index of the first difference, or -1 (deep equality on 400k-element arrays is slow in expect). */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function sameStream(file: string, s: TokenStream): void {
  const got = readJsonl(file);
  expect(firstDiff(got.tokens, s.tokens)).toBe(-1);
  expect(got.tokens.length).toBeGreaterThan(0);
  if (s.lossMask) expect(firstDiff(got.mask, s.lossMask)).toBe(-1);
  else expect(got.mask).toEqual([]);
  if (s.starts) expect(firstDiff(got.starts, s.starts)).toBe(-1);
}

const cases: [string, string, Record<string, number>][] = [
  ['LoRA', 'lora', { rank: 4, alpha: 8 }],
  ['DoRA', 'dora', { rank: 4, alpha: 8 }],
  ['A-only LoRA', 'lora-a-only', { rank: 4, alpha: 8 }],
  ['GaLore', 'galore', { rank: 2, period: 5, scale: 0.25 }],
  ['AdaLoRA', 'adalora', { rank: 6, targetR: 3, tinit: 1, tfinal: 1, deltaT: 2, orthReg: 0.3 }],
];

describe.skipIf(!hasPython)('export --python: generated projects', () => {
  // the inputs do not depend on the method: resolved once (the addition set + the english probe)
  let shared: RunInputs;
  beforeAll(async () => {
    shared = await resolveInputs(runCfg('lora', {}));
  }, 60_000);
  for (const [label, id, params] of cases) {
    it(`${label}: py_compile, the project's test_mapping.py, data identical to the studio's streams`, async () => {
      const config = runCfg(id, params);
      const inputs = shared;
      const project = await buildPythonProject({ config, modelConfig: inputs.modelConfig, data: inputs.data });
      const dir = writeProject(project);
      const py = project.files.filter((f) => f.name.endsWith('.py')).map((f) => path.join(dir, f.name));
      expect(py.length).toBeGreaterThanOrEqual(3);
      execFileSync('python3', ['-m', 'py_compile', ...py]);
      const r = spawnSync('python3', ['test_mapping.py'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toMatch(/Ran 8 tests[\s\S]*OK/);
      expect(r.status).toBe(0);
      sameStream(path.join(dir, 'data/train.jsonl'), inputs.data.train);
      sameStream(path.join(dir, 'data/val.jsonl'), inputs.data.val);
      if (inputs.data.probe) sameStream(path.join(dir, 'data/probe.jsonl'), inputs.data.probe);
      const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
      expect(readme).toContain('accelerate launch --config_file accelerate/single_gpu.yaml train.py');
      expect(readme).toContain('torchrun --nproc_per_node 8 train.py');
      for (const f of [
        'requirements.txt',
        'accelerate/single_gpu.yaml',
        'accelerate/multi_gpu.yaml',
        'accelerate/fsdp.yaml',
      ])
        expect(project.files.some((x) => x.name === f)).toBe(true);
      const req = readFileSync(path.join(dir, 'requirements.txt'), 'utf8');
      for (const pkg of ['torch', 'transformers', 'peft', 'accelerate', 'datasets', 'safetensors'])
        expect(req).toMatch(new RegExp(`^${pkg}>=\\S+,<\\S+$`, 'm'));
    }, 60_000);
  }

  it("HRA on a Llama (nn.Linear): HRAConfig(r, apply_GS=False, init_weights=True), the project's test_mapping.py passes", async () => {
    const llama = {
      arch: 'llama',
      vocabSize: 256,
      contextLength: 32,
      nLayer: 2,
      nHead: 2,
      nEmbd: 16,
      layerNormEps: 1e-5,
      tokenizer: 'byte',
      nKvHead: 1,
      intermediateSize: 24,
      ropeTheta: 10000,
      tieWordEmbeddings: true,
    } as const;
    const config = runCfg(
      'hra',
      { rank: 4 },
      {
        model: { source: 'preset', id: 'micro', arch: llama },
        targets: { modules: ['self_attn.q_proj', 'mlp.up_proj'], layers: null, rankOverrides: {} },
      },
    );
    const project = await buildPythonProject({ config, modelConfig: llama, data: shared.data });
    const dir = writeProject(project);
    const rc = JSON.parse(readFileSync(path.join(dir, 'run_config.json'), 'utf8')) as {
      targets: { target_modules: string[]; fan_in_fan_out: boolean };
    };
    expect(rc.targets.fan_in_fan_out).toBe(false);
    expect(rc.targets.target_modules).toEqual(['self_attn.q_proj', 'mlp.up_proj']);
    const r = spawnSync('python3', ['test_mapping.py'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toMatch(/Ran 8 tests[\s\S]*OK/);
    // and the Conv1D model is refused with the reason, as are rank overrides
    await expect(
      buildPythonProject({ config: runCfg('hra', { rank: 4 }), modelConfig: shared.modelConfig, data: shared.data }),
    ).rejects.toThrow(/nn\.Linear only/);
  }, 60_000);

  it("the project's test fails when a mapped value differs from the run (it can fail)", async () => {
    const config = runCfg('lora', { rank: 4, alpha: 8 });
    const inputs = shared;
    const project = await buildPythonProject({ config, modelConfig: inputs.modelConfig, data: inputs.data });
    const dir = writeProject(project);
    const rcPath = path.join(dir, 'run_config.json');
    const rc = JSON.parse(readFileSync(rcPath, 'utf8')) as {
      method: { params: { alpha: number } };
      train: { minLrRatio: number };
    };
    rc.method.params.alpha = 16;
    rc.train.minLrRatio = 0.2;
    writeFileSync(rcPath, JSON.stringify(rc));
    const r = spawnSync('python3', ['test_mapping.py'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/FAIL: test_method/);
    expect(r.stderr).toMatch(/FAIL: test_schedule/);
  }, 60_000);

  it('chat data keeps the studio template and assistant-only mask; padded layout batches match', async () => {
    const config = runCfg(
      'rslora',
      { rank: 4, alpha: 8 },
      {
        model: { source: 'builtin', id: 'base' },
        dataset: { source: 'builtin', id: 'chat-addition' },
        data: { completionOnly: true, layout: 'padded', chatTemplate: 'plain' },
        train: {
          steps: 6,
          batchSize: 4,
          contextLength: 96,
          lr: 1e-3,
          warmupSteps: 0,
          schedule: 'linear',
          minLrRatio: 0,
        },
      },
    );
    const inputs = await resolveInputs(config);
    expect(inputs.data.train.lossMask?.some((v) => v === 0)).toBe(true);
    const modelFiles = await builtinModelFiles('base');
    const project = await buildPythonProject({
      config,
      modelConfig: inputs.modelConfig,
      data: inputs.data,
      modelFiles,
    });
    // the built-in model travels in model/, byte for byte
    for (const f of modelFiles)
      expect(Buffer.compare(project.files.find((x) => x.name === `model/${f.name}`)!.bytes, f.bytes)).toBe(0);
    const dir = writeProject(project);
    const r = spawnSync('python3', ['test_mapping.py'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toMatch(/OK/);
    sameStream(path.join(dir, 'data/train.jsonl'), inputs.data.train);
  }, 60_000);
});

describe('export --python: refusals', () => {
  it.each(['milora', 'dylora', 'nola', 'fira', 'lift', 'relora', 'hra', 'lora-pro'])(
    '%s is refused with the reason',
    async (id) => {
      const config = runCfg(id, {});
      await expect(
        buildPythonProject({
          config,
          modelConfig: { arch: 'gpt2' } as never,
          data: {
            train: { tokens: new Int32Array(4), lossMask: null },
            val: { tokens: new Int32Array(4), lossMask: null },
          },
        }),
      ).rejects.toThrow(PythonExportError);
    },
  );
});
