/**
 * EVA — Explained Variance Adaptation (Paischer et al. 2024, arXiv:2410.07170). A data-driven LoRA
 * init: each targeted layer's A starts on the top right-singular vectors of that layer's INPUT
 * activations, B = 0 (so the function is unchanged), and the ranks are redistributed across layers to
 * explain the most variance under a fixed budget.
 *
 * What this file does, after PEFT's `peft.tuners.lora.eva` (EvaConfig):
 *   1. Run `batches` training batches through the frozen base model (ctx.runBatches, forward only) and
 *      accumulate, per targeted layer on the GPU, the Gram matrix XᵀX (in, in), the column sums 1ᵀX
 *      and ‖X‖²_F of its input X (N, in) (c_attn ← ln_1 output, attn.c_proj ← attention output,
 *      c_fc ← ln_2 output, mlp.c_proj ← GELU output).
 *   2. Centre: C = XᵀX − (1ᵀX)ᵀ(1ᵀX)/n — the covariance PEFT's incremental PCA diagonalises (it
 *      centres its inputs) — and take its top round(ρ·r) eigenpairs: the right singular vectors and
 *      squared singular values of the centred X. Exact (float64 Jacobi on the CPU) when in ≤ 128, else
 *      the GPU randomized SVD with 4 power iterations. Explained-variance ratio_i = λ_i / trace(C).
 *   3. Rank budget = Σ_layers r_layer. All layers' ratios are sorted together (descending; ties by layer
 *      order, then component) and the top `budget` components are kept: a layer's rank is how many of
 *      its components made it (`_get_rank_distribution`), capped at round(ρ·r) by construction. ρ = 1
 *      gives every layer exactly r. A layer that gets rank 0 gets no adapter (PEFT leaves it unadapted).
 *   4. A = the layer's top r' eigenvectors as rows (orthonormal), B = 0 (out, r').
 *   5. Scaling s = α / r (the configured r, not r'): PEFT's default adjust_scaling_factors=True rescales
 *      α ∝ r' so that α'/r' stays α/r.
 * Deviations: PEFT feeds batches until the top components stop moving (cosine similarity ≥ tau = 0.99);
 * here the number of batches is fixed (`batches`), which keeps runs reproducible and their cost known.
 * Every position of a batch is used (PEFT's default drops padding/label-masked positions; the studio's
 * batches have no padding). No whitening (PEFT's default whiten=False).
 */
import type { GpuTensor } from '../../../gpu/device';
import { matmul } from '../../../gpu/kernels/matmul';
import { fill } from '../../../gpu/kernels/elementwise';
import { sumSquaresInto } from '../../../gpu/kernels/reduce';
import { exactSvd } from '../../linalg';
import { rsvd } from '../../rsvd';
import type { Linear } from '../../model/linear';
import type { LanguageModel } from '../../model/language-model';
import { LowRankAdapter } from '../lowrank';
import type { AdapterMethod, TrainableTensor } from '../types';
import { ALPHA_PARAM, RANK_PARAM, loraInstance } from '../lora-family';

/** Up to this input width the eigenvectors come from the exact CPU SVD. */
const EXACT_MAX_IN = 128;

/** The activation tensor (N, in) that feeds a linear layer, after a forward. */
export function layerInput(model: LanguageModel, layer: Linear): GpuTensor {
  return model.linearInput(layer.name);
}

export interface EvaLayerStats {
  /** Explained-variance ratios of the top round(ρ·r) components, descending. */
  ratios: number[];
  /** The matching eigenvectors, rows of length in: (components, in). */
  vectors: Float32Array;
}

/**
 * PEFT's rank redistribution: the `budget` largest ratios over all layers win; returns ranks per layer
 * (in the order given). Ties break by layer order, then component index, so the result is deterministic.
 */
export function allocateRanks(ratios: number[][], budget: number): number[] {
  const all: { v: number; l: number; c: number }[] = [];
  ratios.forEach((rs, l) => rs.forEach((v, c) => all.push({ v, l, c })));
  all.sort((a, b) => b.v - a.v || a.l - b.l || a.c - b.c);
  const counts = ratios.map(() => 0);
  for (const e of all.slice(0, Math.max(0, budget))) counts[e.l]++;
  return counts;
}

export const method: AdapterMethod = {
  id: 'eva',
  order: 90,
  peft: { kind: 'lora', note: 'LoRA with the EVA rank allocation as rank_pattern (EVA only placed the initial A)' },
  label: 'EVA',
  paper: 'https://arxiv.org/abs/2410.07170',
  description:
    "A starts on the top right-singular vectors of each layer's input activations (B = 0); ranks are redistributed across layers by explained variance under the same total budget.",
  params: [
    RANK_PARAM,
    ALPHA_PARAM,
    {
      key: 'batches',
      label: 'Activation batches',
      type: 'int',
      default: 4,
      min: 1,
      max: 256,
      help: 'Training batches whose layer inputs are decomposed',
    },
    {
      key: 'rho',
      label: 'ρ (max rank factor)',
      type: 'float',
      default: 2,
      min: 1,
      max: 16,
      help: 'A layer may get up to round(ρ·r) components; ρ = 1 keeps every layer at r',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  async init(ctx) {
    const { gpu, model, targets } = ctx;
    const alpha = Number(ctx.params.alpha),
      batches = Number(ctx.params.batches),
      rho = Number(ctx.params.rho);
    const N = ctx.config.train.batchSize * ctx.config.train.contextLength;
    const grams = targets.map((l) => gpu.zeros([l.inDim, l.inDim], `eva:gram ${l.name}`, 'analysis'));
    const sums = targets.map((l) => gpu.zeros([l.inDim], `eva:sum ${l.name}`, 'analysis'));
    const sq = gpu.zeros([targets.length * batches], 'eva:sumsq', 'analysis');
    const ones = gpu.tensor([N], 'eva:ones', 'analysis');
    const stats: EvaLayerStats[] = [];
    try {
      const e0 = gpu.encoder('eva ones');
      fill(e0, { x: ones, n: N, value: 1 });
      e0.submit();
      // 1. Accumulate XᵀX, 1ᵀX and ‖X‖² per layer, one encoder per batch after its forward.
      await ctx.runBatches(batches, {
        withGrad: false,
        visit: async (b) => {
          const enc = gpu.encoder(`eva stats ${b}`);
          targets.forEach((l, t) => {
            const x = layerInput(model, l); // (N, in)
            matmul(enc, {
              a: x,
              b: x,
              c: grams[t],
              M: l.inDim,
              K: N,
              N: l.inDim,
              transA: true,
              beta: 1,
              label: `eva XᵀX ${l.name}`,
            });
            matmul(enc, { a: ones, b: x, c: sums[t], M: 1, K: N, N: l.inDim, beta: 1, label: `eva 1ᵀX ${l.name}` });
            sumSquaresInto(enc, { x, n: N * l.inDim, partials: sq, slot: t * batches + b });
          });
          enc.submit();
        },
      });
      // 2. Centre and decompose.
      const n = N * batches;
      const enc = gpu.encoder('eva centre');
      targets.forEach((l, t) => {
        matmul(enc, {
          a: sums[t],
          b: sums[t],
          c: grams[t],
          M: l.inDim,
          K: 1,
          N: l.inDim,
          alpha: -1 / n,
          beta: 1,
          label: `eva centre ${l.name}`,
        });
      });
      enc.submit();
      const sqs = await gpu.read(sq);
      for (let t = 0; t < targets.length; t++) {
        const l = targets[t];
        const sum = await gpu.read(sums[t]);
        let trace = 0,
          mean2 = 0;
        for (let b = 0; b < batches; b++) trace += sqs[t * batches + b];
        for (let i = 0; i < l.inDim; i++) mean2 += sum[i] * sum[i];
        trace -= mean2 / n;
        const k = Math.min(l.inDim, Math.round(rho * ctx.rankFor(l)));
        let lambda: Float32Array, vecs: Float32Array;
        if (l.inDim <= EXACT_MAX_IN) {
          const svd = exactSvd(await gpu.read(grams[t]), l.inDim, l.inDim);
          lambda = svd.S.slice(0, k);
          vecs = svd.Vt.slice(0, k * l.inDim);
        } else {
          const r = await rsvd(gpu, { matrix: grams[t], M: l.inDim, N: l.inDim, k, powerIters: 4, seed: ctx.seed });
          lambda = r.S;
          vecs = r.Vt;
        }
        const ratios = Array.from(lambda, (v) => (trace > 0 ? v / trace : 0));
        stats.push({ ratios, vectors: vecs });
      }
    } finally {
      for (const t of [...grams, ...sums, sq, ones]) gpu.release(t);
    }
    // 3. Redistribute the budget; 4. A = top eigenvectors, B = 0.
    const budget = targets.reduce((a, l) => a + ctx.rankFor(l), 0);
    const ranks = allocateRanks(
      stats.map((s) => s.ratios),
      budget,
    );
    const adapters: LowRankAdapter[] = [];
    const trainables: TrainableTensor[] = [];
    const allocation: Record<string, number> = {};
    targets.forEach((layer, t) => {
      const r = ranks[t];
      allocation[layer.name] = r;
      if (r === 0) return;
      const ad = new LowRankAdapter(gpu, layer, {
        rank: r,
        scaling: alpha / ctx.rankFor(layer),
        A: stats[t].vectors.slice(0, r * layer.inDim),
        B: new Float32Array(layer.outDim * r),
        trainA: true,
        trainB: true,
      });
      layer.adapter = ad;
      adapters.push(ad);
      trainables.push({ name: `${layer.name}.lora_A`, param: ad.A, grad: ad.dA!, decay: true, lrScale: 1 });
      trainables.push({ name: `${layer.name}.lora_B`, param: ad.B, grad: ad.dB!, decay: true, lrScale: 1 });
    });
    const explained = Object.fromEntries(targets.map((l, t) => [l.name, stats[t].ratios]));
    const base = loraInstance(ctx, adapters, trainables);
    return {
      ...base,
      rankAllocation: () => ({ ...allocation }),
      async state() {
        const s = await base.state();
        return {
          tensors: s.tensors,
          meta: {
            ...s.meta,
            init: 'eva',
            allocation: { ...allocation },
            budget,
            rho,
            batches,
            explainedVarianceRatio: explained,
          },
        };
      },
    };
  },
};
