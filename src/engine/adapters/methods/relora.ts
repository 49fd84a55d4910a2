/**
 * ReLoRA — high-rank training through low-rank updates (Lialin, Shivagunde, Muckatira & Rumshisky
 * 2023, arXiv:2307.05695, "Stack More Layers Differently"; reference code Guitaricet/relora). A plain
 * LoRA (A Kaiming-uniform, B = 0, s = α/r) whose update is merged into W every `period` steps,
 *   W ← W + s·B·A,  A ← fresh Kaiming-uniform (seeded per restart),  B ← 0,
 * so the sum of the merged low-rank updates can reach any rank. At each restart:
 *   - partial optimizer reset (the paper's magnitude pruning, `optimizer_magnitude_pruning` = 0.99):
 *     in Adam's m and v of every A and B, the entries not above the `prune` quantile of |·| are zeroed
 *     (peft_pretraining/training_utils.py `magnitude_pruning_`: keep |x| > threshold), AND m is zeroed
 *     wherever v was. Deviation from the reference, which prunes m and v independently: an entry that
 *     keeps m but loses v moves by lr·m̂/(√0 + ε) = lr·m̂·1e8 on the next step whenever its gradient is 0
 *     — and A's gradient IS exactly 0 on the first step after a restart (dA = s·Bᵀ·dy·x with B = 0), so
 *     nothing refills v. Measured here (micro model, tests/engine/relora-restart.test.ts): max |A| went
 *     0.18 → 425 on the first step with lr > 0 after a restart, and the README's `relora` experiment
 *     lost a full nat (val 3.159 vs LoRA 2.136). Pruning both with one mask keeps Adam's ratio m̂/√v̂
 *     bounded; `prune` = 1 is a full reset (the reference's strict > keeps nothing at the max quantile);
 *   - jagged schedule: the run's schedule (cosine by default) times a linear re-warm-up from 0 over
 *     `restartWarmup` steps after every restart (the reference code warms up to the cosine value at the
 *     END of the re-warm-up; here the factor multiplies the current value — the same shape, within one
 *     warm-up's cosine drift). The first segment uses the run's own warm-up.
 * Not done: the paper's full-rank warm start (train full FT for a while first — run `full`, then
 * ReLoRA from its export).
 * The base weights therefore change during the run (in place, as the reference code merges): they are
 * method state for resume (`extraState`: the adapted layers' W), and a PEFT export is the merged model
 * (every earlier segment) plus the final segment's LoRA — a LoRA alone cannot hold a high-rank sum.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, attachLoraFamily, kaimingA, loraInstance } from '../lora-family';
import { matmul } from '../../../gpu/kernels/matmul';

/**
 * Zero the entries of x whose |x| is not above the `ratio` quantile of |x| (in place), as the reference's
 * `magnitude_pruning_` (mask = |x| > threshold); returns how many were zeroed (already-zero ones included).
 */
export function magnitudePrune(x: Float32Array, ratio: number): number {
  if (ratio <= 0 || x.length === 0) return 0;
  const mags = Float64Array.from(x, Math.abs).sort();
  // torch.quantile's linear interpolation between the two neighbouring order statistics
  const pos = ratio * (mags.length - 1),
    lo = Math.floor(pos);
  const thr = mags[lo] + (pos - lo) * ((mags[Math.min(lo + 1, mags.length - 1)] ?? mags[lo]) - mags[lo]);
  let zeroed = 0;
  for (let i = 0; i < x.length; i++)
    if (!(Math.abs(x[i]) > thr)) {
      x[i] = 0;
      zeroed++;
    }
  return zeroed;
}

/**
 * ReLoRA's partial reset of one tensor's Adam moments (in place): both pruned by magnitude, then m zeroed
 * wherever v is 0, so that no entry is left with m ≠ 0 and v = 0 (an update of lr·m̂/ε). Returns how
 * many of the 2·n entries are zero afterwards.
 */
export function pruneMoments(m: Float32Array, v: Float32Array, ratio: number): number {
  if (m.length !== v.length) throw new Error(`pruneMoments: m has ${m.length} entries, v ${v.length}`);
  magnitudePrune(m, ratio);
  magnitudePrune(v, ratio);
  let zeroed = 0;
  for (let i = 0; i < m.length; i++) {
    if (v[i] === 0) m[i] = 0;
    zeroed += (m[i] === 0 ? 1 : 0) + (v[i] === 0 ? 1 : 0);
  }
  return zeroed;
}

/** Multiplier on the run's schedule at a 0-based step: 0 → 1 linearly over `warmup` steps after each restart. */
export function jaggedFactor(step: number, period: number, warmup: number): number {
  if (step < period || warmup <= 0) return 1;
  const since = step % period;
  return since >= warmup ? 1 : since / warmup;
}

export const method: AdapterMethod = {
  id: 'relora',
  order: 210,
  peft: {
    kind: 'none',
    note: "ReLoRA merged every earlier segment into W, so its update is a sum of low-rank segments (rank above r); the final segment's LoRA alone, on the pretrained model, would drop them",
  },
  label: 'ReLoRA',
  paper: 'https://arxiv.org/abs/2307.05695',
  description:
    'LoRA merged into W every T steps and restarted (fresh A, B = 0), with 99 % of Adam’s moments pruned by magnitude and a short re-warm-up after each restart: a sequence of low-rank updates whose sum is high-rank.',
  params: [
    RANK_PARAM,
    ALPHA_PARAM,
    {
      key: 'period',
      label: 'Restart every T steps',
      type: 'int',
      default: 20,
      min: 1,
      max: 1_000_000,
      help: 'Merge s·B·A into W and restart the LoRA every T steps (paper: 5000 in pre-training)',
    },
    {
      key: 'restartWarmup',
      label: 'Re-warm-up steps',
      type: 'int',
      default: 4,
      min: 0,
      max: 100_000,
      help: 'Linear learning-rate warm-up from 0 after each restart (the jagged schedule)',
    },
    {
      key: 'prune',
      label: 'Optimizer pruning',
      type: 'float',
      default: 0.99,
      min: 0,
      max: 1,
      help: 'Fraction of Adam’s moments (smallest |·|) zeroed at each restart, m wherever v is; 1 = full reset',
    },
  ],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-3,
    source:
      'LoRA’s measured default (scripts/lr-sweep.sh, same run shape): ReLoRA is LoRA between restarts; the paper trains ReLoRA at twice its full-rank lr',
  },
  async init(ctx) {
    const period = Number(ctx.params.period),
      warmup = Number(ctx.params.restartWarmup),
      prune = Number(ctx.params.prune);
    const { adapters, trainables } = attachLoraFamily(ctx, { scaling: (a, r) => a / r, trainA: true, lrScaleB: 1 });
    const { gpu } = ctx;
    return loraInstance(ctx, adapters, trainables, {
      lrFactor: (step) => jaggedFactor(step, period, warmup),
      async afterStep({ step, moments }) {
        if ((step + 1) % period !== 0) return;
        const restart = (step + 1) / period;
        const enc = gpu.encoder(`relora merge ${restart}`);
        for (const a of adapters) {
          const l = a.layer;
          // W (in, out) += s·Aᵀ·Bᵀ
          matmul(enc, {
            a: a.A,
            b: a.B,
            c: l.weight,
            M: l.inDim,
            K: a.rank,
            N: l.outDim,
            transA: true,
            transB: true,
            alpha: a.scaling,
            beta: 1,
            label: `${l.name} relora merge`,
          });
          enc.clear(a.B);
        }
        enc.submit();
        for (const a of adapters)
          gpu.write(a.A, kaimingA(ctx.seed, `${a.layer.name}:restart${restart}`, a.rank, a.layer.inDim));
        let zeroed = 0,
          total = 0;
        for (const t of trainables) {
          const mv = moments(t.name);
          const m = await gpu.read(mv.m),
            v = await gpu.read(mv.v);
          zeroed += pruneMoments(m, v, prune);
          total += m.length + v.length;
          gpu.write(mv.m, m);
          gpu.write(mv.v, v);
        }
        return { reloraRestart: restart, reloraPrunedFraction: total ? zeroed / total : 0 };
      },
      async extraState() {
        const out: Record<string, Float32Array> = {};
        for (const a of adapters) out[`${a.layer.name}.weight`] = await gpu.read(a.layer.weight);
        return out;
      },
      loadExtraState(tensors) {
        for (const a of adapters) {
          const w = tensors[`${a.layer.name}.weight`];
          if (!w || w.length !== a.layer.weight.size)
            throw new Error(
              `resume: ReLoRA checkpoint lacks the merged weight of ${a.layer.name} (method:${a.layer.name}.weight)`,
            );
          gpu.write(a.layer.weight, w);
        }
      },
    });
  },
};
