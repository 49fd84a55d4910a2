/**
 * Tools on a finished run, in the worker (issue 12 items 3 and 5, the page's buttons):
 *
 * - extractRun: PHLoRA from a full fine-tune (engine/analysis/extract.ts, as the CLI's `extract`): per
 *   tuned matrix ΔW = W − W0 in the (out, in) orientation, its energy-vs-rank curve, the rank chosen
 *   (uniform r or the smallest reaching an energy threshold → PEFT rank_pattern), the PEFT files.
 * - mitigateRun: PEFT's reduce_intruder_dimension on a LoRA run (engine/analysis/mitigate.ts, as the CLI's
 *   `mitigate`): intruders before/after per matrix, and the forgetting-probe loss before and after computed
 *   on the GPU (meanLoss) with the base + merged adapter weights, then with the mitigated ones.
 *
 * W0 is the run's base model as the run built it (pretrained files, or the preset's seeded init); the tuned
 * weights and the adapter come from the run's newest checkpoint, which the page holds.
 */
import type { Gpu } from '../gpu/device';
import { parseRunConfig } from '../engine/config';
import { resolveInputs, type RunInputs } from '../engine/inputs';
import { paramSpecsFor, peftNamingOf } from '../engine/model/families';
import { baseWeights, probeLosses } from '../engine/analysis/probe-loss';
import { exportPeft } from '../engine/io/peft';
import { loraDelta } from '../engine/adapters/merge';
import { extractMatrix, extractedState, transposeInOut, type ExtractedMatrix } from '../engine/analysis/extract';
import { mitigateLayer } from '../engine/analysis/mitigate';
import type { ExtractRequest, ExtractResult, MitigateRequest, MitigateResult } from './protocol';

async function baseOf(
  gpu: Gpu,
  req: ExtractRequest | MitigateRequest,
): Promise<{ inputs: RunInputs; weights: Map<string, Float32Array> }> {
  const inputs = await resolveInputs(req.config, { modelFiles: req.modelFiles?.files, datasetFile: req.datasetFile });
  return { inputs, weights: await baseWeights(gpu, inputs) };
}

export async function extractRun(gpu: Gpu, req: ExtractRequest): Promise<ExtractResult> {
  if (req.config.method.id !== 'full')
    throw new Error(`PHLoRA extraction takes a full fine-tuning run; this one trained ${req.config.method.id}`);
  if (!(req.rank !== undefined ? Number.isInteger(req.rank) && req.rank >= 1 : req.energy! > 0 && req.energy! <= 1))
    throw new Error('give a rank ≥ 1 or an energy threshold in (0, 1]');
  const { inputs, weights } = await baseOf(gpu, req);
  const mats: ExtractedMatrix[] = [];
  for (const module of req.matrices) {
    const name = `${module}.weight`;
    const w0 = weights.get(name),
      w = req.tensors[name];
    if (!w0 || !w || w.length !== w0.length)
      throw new Error(`${module}: no tuned weight of the base's shape in the checkpoint`);
    const lin = linearDims(inputs, module);
    const d = new Float32Array(w.length);
    for (let i = 0; i < d.length; i++) d[i] = w[i] - w0[i];
    mats.push(
      extractMatrix(module, transposeInOut(d, lin.inDim, lin.outDim), lin.outDim, lin.inDim, {
        rank: req.rank,
        energy: req.rank === undefined ? req.energy : undefined,
      }),
    );
  }
  const config = parseRunConfig({
    ...req.config,
    method: { id: 'lora', params: {} },
    targets: { modules: [...new Set(mats.map((m) => m.module.replace(/^(?:.*?\.)?\d+\./, '')))], layers: null },
  });
  const ex = exportPeft(config, extractedState(mats), {
    nLayer: inputs.modelConfig.nLayer,
    naming: peftNamingOf(inputs.modelConfig),
  });
  return {
    matrices: mats.map((m) => ({
      module: m.module,
      r: m.r,
      outDim: m.outDim,
      inDim: m.inDim,
      energyCurve: m.energyCurve,
      captured: m.captured,
      relError: m.relError,
    })),
    r: ex.config.r,
    rankPattern: ex.config.rank_pattern,
    files: ex.files,
    notes: ex.notes,
  };
}

export async function mitigateRun(gpu: Gpu, req: MitigateRequest): Promise<MitigateResult> {
  const ranks = req.adapter.meta.ranks as Record<string, number> | undefined,
    scaling = req.adapter.meta.scaling as Record<string, number> | undefined;
  if (!ranks || !scaling) throw new Error('the checkpoint has no LoRA factors (ranks/scaling) to mitigate');
  const { inputs, weights } = await baseOf(gpu, req);
  const layers: MitigateResult['layers'] = [];
  const before = new Map<string, Float32Array>(),
    after = new Map<string, Float32Array>();
  const tensors: Record<string, Float32Array> = { ...req.adapter.tensors };
  for (const module of Object.keys(ranks)) {
    const r = ranks[module],
      s = scaling[module];
    const A = req.adapter.tensors[`${module}.lora_A`],
      B = req.adapter.tensors[`${module}.lora_B`];
    const W = weights.get(`${module}.weight`);
    if (!A || !B || !W) throw new Error(`${module}: missing LoRA factors or base weight`);
    const inDim = A.length / r,
      outDim = B.length / r;
    if (W.length !== inDim * outDim) throw new Error(`${module}: the base weight is not ${inDim}×${outDim}`);
    const opts = { k: req.k, eps: req.eps, lambda: req.lambda };
    const m = mitigateLayer(transposeInOut(W, inDim, outDim), A, B, r, s, outDim, inDim, opts);
    const recount = m.changed
      ? mitigateLayer(transposeInOut(W, inDim, outDim), m.A, m.B, r, s, outDim, inDim, opts).intruders.length
      : m.intruders.length;
    layers.push({ module, before: m.intruders.length, after: recount, minMaxCos: Math.min(...m.maxCos) });
    tensors[`${module}.lora_A`] = m.A;
    tensors[`${module}.lora_B`] = m.B;
    const merge = (a: Float32Array, b: Float32Array) => {
      const d = loraDelta(a, b, r, inDim, outDim, s);
      for (let i = 0; i < d.length; i++) d[i] += W[i];
      return d;
    };
    before.set(`${module}.weight`, merge(A, B));
    after.set(`${module}.weight`, merge(m.A, m.B));
  }
  // the forgetting probe (else the validation split), as the run evaluated it, on the GPU
  const probe = await probeLosses(gpu, inputs, [before, after]);
  const cfg = req.config;
  const state = {
    tensors: new Map(Object.entries(tensors)),
    meta: { ...req.adapter.meta, mitigated: { lambda: req.lambda, k: req.k, eps: req.eps } },
  };
  const ex = exportPeft(cfg, state, { nLayer: inputs.modelConfig.nLayer, naming: peftNamingOf(inputs.modelConfig) });
  return {
    layers,
    before: layers.reduce((n, l) => n + l.before, 0),
    after: layers.reduce((n, l) => n + l.after, 0),
    probeBefore: probe.losses[0],
    probeAfter: probe.losses[1],
    probeSplit: probe.split,
    files: ex.files,
    notes: ex.notes,
  };
}

/** A linear's (inDim, outDim) from the model's parameter specs (held (in, out) in the engine). */
function linearDims(inputs: RunInputs, module: string): { inDim: number; outDim: number } {
  const spec = paramSpecsFor(inputs.modelConfig).find((p) => p.name === `${module}.weight`);
  if (!spec || spec.shape.length !== 2) throw new Error(`${module}: not a linear of this model`);
  return { inDim: spec.shape[0], outDim: spec.shape[1] };
}
