/**
 * `extract (--base <m> --tuned <m> | --run <full-FT run dir>) (--rank r | --energy 0.9) --peft <outdir> [--json]`:
 * PHLoRA-style extraction of a LoRA adapter from a full fine-tune (src/engine/analysis/extract.ts):
 * per GPT-2 linear weight, ΔW = W_tuned − W_0 (as (out, in)) ≈ U_r Σ_r V_rᵀ, B = U_r Σ_r^½, A = Σ_r^½ V_rᵀ,
 * written as a PEFT LoRA (lora_alpha = r, so s = 1; a per-matrix --energy rank goes into rank_pattern).
 * Prints per matrix the chosen r, the energy it captures, the relative error, and energy vs rank.
 * A model is a model.safetensors file, a model folder, or a built-in id; --run takes the run's merged
 * model.safetensors as tuned and its run.json's model as base.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { writeFiles } from '../fsio';
import { loadCliModel } from '../model';
import { parseSafetensors, toFloat32 } from '../../engine/io/safetensors';
import { parseRunConfig } from '../../engine/config';
import { exportPeft } from '../../engine/io/peft';
import {
  extractMatrix,
  extractedState,
  transposeInOut,
  type ExtractedMatrix,
  type RankChoice,
} from '../../engine/analysis/extract';

export const help =
  'a LoRA from a full fine-tune (PHLoRA): --base <m> --tuned <m> | --run <dir>, --rank r | --energy 0.9, --peft <outdir> [--json]';

const LINEAR = /^(?:transformer\.)?(h\.(\d+)\.(?:attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj))\.weight$/;

/** Weights by name from a .safetensors file, a model folder or a built-in id. */
export async function loadWeights(ref: string, which: string): Promise<Map<string, Float32Array>> {
  if (ref.endsWith('.safetensors')) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(ref));
    } catch (e) {
      throw new CliError(`--${which} ${ref}: ${(e as Error).message}`);
    }
    const st = parseSafetensors(bytes);
    return new Map([...st.tensors.values()].map((t) => [t.name, toFloat32(t)]));
  }
  return (await loadCliModel(ref)).weights;
}

/** Shapes of a GPT-2 linear weight (in, out) from its module kind and the model width. */
function linearShapes(weights: Map<string, Float32Array>): Map<string, { inDim: number; outDim: number }> {
  const ln = [...weights.entries()].find(([n]) => /(^|\.)h\.0\.ln_1\.weight$/.test(n));
  if (!ln) throw new CliError('the model has no h.0.ln_1.weight: extract supports GPT-2-family checkpoints');
  const C = ln[1].length;
  const out = new Map<string, { inDim: number; outDim: number }>();
  for (const [name, w] of weights) {
    const m = LINEAR.exec(name);
    if (!m) continue;
    const inDim = name.endsWith('mlp.c_proj.weight') ? w.length / C : C;
    out.set(name, { inDim, outDim: w.length / inDim });
  }
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'extract',
    booleans: ['json'],
    values: ['base', 'tuned', 'run', 'rank', 'energy', 'peft', 'base-model'],
  });
  const json = has(args, 'json');
  const out = flag(args, 'peft');
  if (!out) throw new CliError('extract needs --peft <outdir> (where the PEFT adapter is written)');
  const hasRank = has(args, 'rank'),
    hasEnergy = has(args, 'energy');
  if (hasRank === hasEnergy) throw new CliError('extract needs exactly one of --rank r or --energy e (e.g. 0.9)');
  const choice: RankChoice = hasRank
    ? { rank: numberFlag(args, 'rank', 8) }
    : { energy: numberFlag(args, 'energy', 0.9) };
  if (choice.rank !== undefined && !(Number.isInteger(choice.rank) && choice.rank >= 1))
    throw new CliError(`--rank must be a positive integer, got ${choice.rank}`);
  if (choice.energy !== undefined && !(choice.energy > 0 && choice.energy <= 1))
    throw new CliError(`--energy must be in (0, 1], got ${choice.energy}`);

  let baseRef = flag(args, 'base'),
    tunedRef = flag(args, 'tuned');
  const runDir = flag(args, 'run');
  if (runDir) {
    if (baseRef === undefined) {
      const cfg = parseRunConfig(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')));
      baseRef = cfg.model.id;
    }
    tunedRef ??= path.join(runDir, 'model.safetensors');
  }
  if (!baseRef || !tunedRef) throw new CliError('extract needs --base <model> and --tuned <model>, or --run <dir>');
  const [base, tuned] = await Promise.all([loadWeights(baseRef, 'base'), loadWeights(tunedRef, 'tuned')]);
  const shapes = linearShapes(base);
  const mats: ExtractedMatrix[] = [];
  let nLayer = 0;
  for (const [name, { inDim, outDim }] of shapes) {
    const w0 = base.get(name)!,
      w1 = tuned.get(name) ?? tuned.get(name.replace(/^transformer\./, ''));
    if (!w1 || w1.length !== w0.length) throw new CliError(`${name}: missing in the tuned model or its shape differs`);
    const d = new Float32Array(w0.length);
    for (let i = 0; i < d.length; i++) d[i] = w1[i] - w0[i];
    if (d.every((x) => x === 0)) continue; // not fine-tuned: nothing to extract
    const module = LINEAR.exec(name)![1];
    nLayer = Math.max(nLayer, Number(LINEAR.exec(name)![2]) + 1);
    const m = extractMatrix(module, transposeInOut(d, inDim, outDim), outDim, inDim, choice);
    mats.push(m);
    const at = [1, 2, 4, 8, 16, 32, 64, 128].filter((r) => r <= m.energyCurve.length);
    const line = {
      module,
      r: m.r,
      captured: Number(m.captured.toFixed(5)),
      relError: Number(m.relError.toFixed(5)),
      energyVsRank: at.map((r) => ({ r, energy: Number(m.energyCurve[r - 1].toFixed(5)) })),
    };
    if (json) emit(line);
    else
      console.log(
        `${module.padEnd(20)} r ${String(m.r).padStart(4)}  energy ${m.captured.toFixed(4)}  rel.err ${m.relError.toFixed(4)}  ` +
          line.energyVsRank.map((e) => `r${e.r}:${e.energy.toFixed(3)}`).join(' '),
      );
  }
  if (!mats.length) throw new CliError('no GPT-2 linear weight differs between --base and --tuned: nothing to extract');
  const config = parseRunConfig({
    method: { id: 'lora', params: {} },
    targets: { modules: [...new Set(mats.map((m) => m.module.replace(/^h\.\d+\./, '')))], layers: null },
  });
  const ex = exportPeft(config, extractedState(mats), { nLayer, baseModel: flag(args, 'base-model') ?? baseRef });
  await writeFiles(out, ex.files);
  const summary = {
    extracted: { matrices: mats.length, peft: out, r: ex.config.r, rankPattern: ex.config.rank_pattern, ...choice },
  };
  if (json) emit(summary);
  else
    console.log(
      `wrote ${out}: ${mats.length} matrices, r = ${ex.config.r}, rank_pattern ${JSON.stringify(ex.config.rank_pattern)}`,
    );
  return 0;
}
