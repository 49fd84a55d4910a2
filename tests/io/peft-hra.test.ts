/**
 * HRA as PEFT's HRA type (src/engine/io/peft-hra.ts), on a tiny Llama (PEFT's HRA layer takes nn.Linear):
 * export → import → identical forward (the imported hra_u in a fresh HRA model gives the trained model's
 * logits bit for bit); the files in PEFT v0.17.1's layout (HRAConfig's fields, `<prefix><module>.hra_u`
 * [in, r] F32, no ".weight"); PEFT's own product W_hf·H_0·H_1⋯H_{r−1} computed here from the exported
 * file and the base weights equals our merged weight (the order of the reflections); GPT-2 (Conv1D)
 * is refused with the merged-export advice; an HRA file given to the LoRA reader says what it is.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig, type RunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import type { ModelConfig } from '../../src/engine/model/config';
import { createModel, peftNamingOf } from '../../src/engine/model/families';
import { exportPeft, importPeft, PeftUnsupportedError } from '../../src/engine/io/peft';
import { hraStateFromPeft, importHraPeft } from '../../src/engine/io/peft-hra';
import { parseSafetensors, toFloat32 } from '../../src/engine/io/safetensors';

const B = 2,
  T = 16,
  R = 4;
const LLAMA: ModelConfig = {
  arch: 'llama',
  vocabSize: 256,
  contextLength: T,
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  layerNormEps: 1e-5,
  tokenizer: 'byte',
  nKvHead: 1,
  intermediateSize: 24,
  ropeTheta: 10000,
  tieWordEmbeddings: true,
};
const tokens = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 7 + 3) % 26));

function configOf(arch: ModelConfig | null): RunConfig {
  return parseRunConfig({
    model: { source: 'preset', id: 'micro', ...(arch ? { arch } : {}) },
    dataset: { source: 'builtin', id: 'english' },
    method: { id: 'hra', params: { rank: R } },
    targets: { modules: ['all-linear'], layers: null, rankOverrides: {} },
    train: { steps: 4, batchSize: B, contextLength: T, lr: 3e-2, warmupSteps: 0, schedule: 'constant' },
    eval: { every: 0, batches: 1 },
    analysis: { every: 0, k: 4, eps: 0.5 }, // k/v projections are 8 wide
    seed: 4,
  });
}

async function logits(tr: Trainer): Promise<Float32Array> {
  tr.model.setBatch(B, T, tokens, tokens, null);
  const enc = tr.gpu.encoder('peft-hra logits');
  tr.model.forward(enc, B, T);
  enc.submit();
  return tr.model.readLogits(B, T);
}

describe('HRA ⇄ PEFT HRA', () => {
  let gpu: Gpu;
  let gpt2: RunInputs;
  let llama: RunInputs;
  beforeAll(async () => {
    gpu = await testGpu();
    gpt2 = await resolveInputs(configOf(null));
    llama = { ...gpt2, config: configOf(LLAMA), modelConfig: LLAMA, weights: null };
  });

  it("export → import → the same forward; PEFT's layout and PEFT's product of the reflections", async () => {
    const naming = peftNamingOf(LLAMA);
    const tr = await Trainer.create(gpu, llama);
    const tr2 = await Trainer.create(gpu, llama);
    try {
      for (let s = 0; s < 4; s++) await tr.trainStep();
      const ex = exportPeft(llama.config, await tr.method.state(), { naming, nLayer: LLAMA.nLayer });
      const files = Object.fromEntries(ex.files.map((f) => [f.name, f.bytes]));
      // adapter_config.json: HRAConfig.to_dict() of PEFT v0.17.1, every field
      const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as Record<string, unknown>;
      const adapted = [...tr.model.linears.values()].filter((l) => l.adapter);
      expect(cfg).toEqual({
        task_type: 'CAUSAL_LM',
        peft_type: 'HRA',
        auto_mapping: null,
        base_model_name_or_path: 'micro', // baseModelName: a preset's id
        revision: null,
        inference_mode: true,
        r: R,
        apply_GS: false,
        target_modules: expect.arrayContaining(adapted.map((l) => l.name)),
        exclude_modules: null,
        init_weights: true,
        layers_to_transform: null,
        layers_pattern: null,
        bias: 'none',
        modules_to_save: null,
      });
      expect((cfg.target_modules as string[]).length).toBe(adapted.length);
      // adapter_model.safetensors: one hra_u [in, r] per module, F32, PEFT's key names
      const st = parseSafetensors(files['adapter_model.safetensors']);
      expect([...st.tensors.keys()].sort()).toEqual(adapted.map((l) => `base_model.model.${l.name}.hra_u`).sort());
      for (const l of adapted) {
        const t = st.tensors.get(`${naming.prefix}${l.name}.hra_u`)!;
        expect(t.dtype).toBe('F32');
        expect(t.shape).toEqual([l.inDim, R]);
      }

      // PEFT's forward, from the file: W_hf' = W_hf·H, H = H_0·H_1⋯H_{r−1} (layer.py get_delta_weight),
      // here in float64 against our merged weight (in, out) = W_hf'ᵀ
      const merged = await tr.method.merged();
      for (const l of adapted) {
        const U = toFloat32(st.tensors.get(`${naming.prefix}${l.name}.hra_u`)!);
        const W = await gpu.read(l.weight); // (in, out) = W_hfᵀ
        const { inDim: n, outDim: o } = l;
        const H = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
        for (let k = 0; k < R; k++) {
          let nn = 0;
          for (let i = 0; i < n; i++) nn += U[i * R + k] ** 2;
          const u = Float64Array.from({ length: n }, (_, i) => U[i * R + k] / Math.sqrt(nn));
          // H ← H − 2 (H·u)·uᵀ
          for (let i = 0; i < n; i++) {
            let hu = 0;
            for (let j = 0; j < n; j++) hu += H[i * n + j] * u[j];
            for (let j = 0; j < n; j++) H[i * n + j] -= 2 * hu * u[j];
          }
        }
        // W_hf'[p, j] = Σ_i W_hf[p, i]·H[i, j] = Σ_i W[i, p]·H[i, j];  ours[j, p] = W_hf'[p, j]
        const ours = merged.get(`${l.name}.weight`)!;
        let maxDiff = 0;
        for (let p = 0; p < o; p++)
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let i = 0; i < n; i++) acc += W[i * o + p] * H[i * n + j];
            maxDiff = Math.max(maxDiff, Math.abs(acc - ours[j * o + p]));
          }
        expect(maxDiff, `${l.name}: PEFT's W·H vs our merge`).toBeLessThan(1e-5);
      }

      // import → a fresh HRA model with the imported hra_u → the trained model's logits, bit for bit
      const im = importHraPeft(cfg, files['adapter_model.safetensors'], naming);
      expect(im.modules.map((m) => m.module).sort()).toEqual(adapted.map((l) => l.name).sort());
      const state = hraStateFromPeft(im);
      for (const t of tr2.method.trainables) gpu.write(t.param, state.tensors.get(t.name)!);
      expect(Array.from(await logits(tr2))).toEqual(Array.from(await logits(tr)));
      // and the same merged model in a plain Llama (what transformers gets after PEFT's merge_and_unload)
      const plain = createModel(gpu, LLAMA, merged, llama.config.seed);
      plain.setBatch(B, T, tokens, tokens, null);
      const enc = gpu.encoder('plain');
      plain.forward(enc, B, T);
      enc.submit();
      const pl = await plain.readLogits(B, T);
      plain.destroy();
      const ref = await logits(tr);
      expect(pl.reduce((d, x, i) => Math.max(d, Math.abs(x - ref[i])), 0)).toBeLessThan(1e-4);

      // the LoRA reader names the type instead of misreading it
      expect(() => importPeft(ex.files, naming)).toThrow(/peft_type HRA .*importHraPeft/);
    } finally {
      tr.dispose();
      tr2.dispose();
    }
  }, 120_000);

  it("GPT-2's Conv1D is refused (PEFT's HRA layer takes nn.Linear), bad files are refused clearly", async () => {
    const tr = await Trainer.create(gpu, gpt2);
    try {
      const state = await tr.method.state();
      expect(() => exportPeft(gpt2.config, state)).toThrow(PeftUnsupportedError);
      expect(() => exportPeft(gpt2.config, state)).toThrow(/nn\.Linear only.*merged/);
    } finally {
      tr.dispose();
    }
    const naming = peftNamingOf(LLAMA);
    const trL = await Trainer.create(gpu, llama);
    try {
      const ex = exportPeft(llama.config, await trL.method.state(), { naming });
      const st = ex.files.find((f) => f.name === 'adapter_model.safetensors')!.bytes;
      expect(() => importHraPeft({ r: R, apply_GS: true }, st, naming)).toThrow(/apply_GS/);
      expect(() => importHraPeft({ r: R + 2 }, st, naming)).toThrow(/should be \[in, 6\]/);
      expect(() => importHraPeft({ r: R }, st, peftNamingOf(gpt2.modelConfig))).toThrow(/Conv1D/);
    } finally {
      trL.dispose();
    }
  }, 120_000);
});
