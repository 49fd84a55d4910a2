/**
 * The SVD- and data-driven initialisations and the seeded / nested adapters, each on the built-in
 * pretrained micro model (2 layers × 32 wide) through the real Trainer.create path:
 *   PiSSA   residual + s·B·A reconstructs W; s·B·A carries exactly the top-r singular values (exact and rSVD)
 *   MiLoRA  s·B·A carries the minor r singular values; the residual loses them
 *   LoRA-GA initial product subtracted (logits unchanged); A spans G's top right singular vectors
 *   EVA     allocation sums to the budget, respects ρ·r; A's rows orthonormal; function unchanged
 *   VeRA    shared projections reproducible from projectionSeed
 *   NOLA    bases reproducible from basisSeed (GPU regeneration = CPU Philox stream)
 *   DyLoRA  rank sampling deterministic; adapter evaluable at every rank ≤ r
 * plus finite-difference gradients of the whole model's loss w.r.t. the new trainables (VeRA, NOLA,
 * DyLoRA, EVA, PiSSA), since their backward paths are new.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { exactSvd } from '../../src/engine/linalg';
import { parseRunConfig, RUN_PRESETS, type RunConfigInput } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { Batcher } from '../../src/engine/data/batcher';
import { linearForward, type Linear } from '../../src/engine/model/linear';
import { LowRankAdapter } from '../../src/engine/adapters/lowrank';
import { allocateRanks } from '../../src/engine/adapters/methods/eva';
import { veraProjections } from '../../src/engine/adapters/methods/vera';
import { isDyLoraInstance, sampleDyLoraRank, DyLoraAdapter } from '../../src/engine/adapters/methods/dylora';
import { NolaAdapter, nolaBasisStreams } from '../../src/engine/adapters/nola-adapter';
import { VeraAdapter } from '../../src/engine/adapters/vera-adapter';
import { Rng } from '../../src/engine/rng';

const B = 2,
  T = 16;

/** Model + dataset depend only on the seed here: resolve them once per seed (it is the slow part). */
const inputsBySeed = new Map<number, Promise<RunInputs>>();

async function trainer(
  gpu: Gpu,
  id: string,
  params: Record<string, number | string | boolean>,
  extra: Partial<RunConfigInput> = {},
): Promise<Trainer> {
  const config = parseRunConfig({
    ...RUN_PRESETS.micro,
    model: { source: 'builtin', id: 'micro' },
    method: { id, params },
    train: { ...RUN_PRESETS.micro.train, batchSize: B, contextLength: T, lr: 1e-2 },
    ...extra,
  });
  if (!inputsBySeed.has(config.seed)) inputsBySeed.set(config.seed, resolveInputs(config));
  return Trainer.create(gpu, { ...(await inputsBySeed.get(config.seed)!), config });
}

const fixedTokens = Int32Array.from({ length: B * T }, (_, i) => ((i * 37 + 11) % 97) + 32);
const fixedTargets = Int32Array.from({ length: B * T }, (_, i) => ((i * 53 + 5) % 89) + 32);

async function logits(t: Trainer): Promise<Float32Array> {
  const enc = t.gpu.encoder('test logits');
  t.model.setBatch(B, T, fixedTokens, fixedTargets, null);
  t.model.forward(enc, B, T);
  enc.submit();
  return t.model.readLogits(B, T);
}

/** Logits of the base model: every adapter detached for one forward. */
async function baseLogits(t: Trainer): Promise<Float32Array> {
  const saved = [...t.model.linears.values()].map((l) => [l, l.adapter] as const);
  for (const [l] of saved) l.adapter = null;
  try {
    return await logits(t);
  } finally {
    for (const [l, a] of saved) l.adapter = a;
  }
}

/** Mean loss of the fixed batch (float64 sum of the per-token losses). */
async function loss(t: Trainer): Promise<number> {
  const enc = t.gpu.encoder('test loss');
  t.model.setBatch(B, T, fixedTokens, fixedTargets, null);
  t.model.forward(enc, B, T);
  t.model.loss(enc, B, T);
  enc.submit();
  const l = await t.gpu.read(t.model.activations.losses, B * T);
  let s = 0;
  for (const v of l) s += v;
  return s / (B * T);
}

function targetsOf(t: Trainer): Linear[] {
  return [...t.model.linears.values()].filter((l) => l.adapter);
}

function sub(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v - b[i]);
}

function gramRows(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[i * cols + c] * x[j * cols + c];
      g[i * rows + j] = s;
    }
  return g;
}

function eye(n: number, scale = 1): Float64Array {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = scale;
  return e;
}

/**
 * Analytic gradient of the mean loss (one backward) vs central differences of the GPU loss for a few
 * coordinates of each trainable tensor. Float32 losses: ε = 1e-2 and a few-percent tolerance.
 */
async function checkFd(t: Trainer, coordsPer = 3): Promise<void> {
  const { gpu, model } = t;
  const enc = gpu.encoder('fd backward');
  model.setBatch(B, T, fixedTokens, fixedTargets, null);
  t.method.zeroGrads?.(enc);
  model.forward(enc, B, T);
  model.backward(enc, B, T, 1 / (B * T));
  enc.submit();
  let checked = 0;
  for (const tr of t.method.trainables) {
    const g = await gpu.read(tr.grad);
    const p = await gpu.read(tr.param);
    // the largest-gradient coordinates: those FD resolves well above float32 noise
    const order = Array.from(g.keys())
      .sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))
      .slice(0, coordsPer);
    for (const i of order) {
      const eps = 1e-2;
      const at = async (v: number) => {
        const q = Float32Array.from(p);
        q[i] = v;
        gpu.write(tr.param, q);
        return loss(t);
      };
      const fd = ((await at(p[i] + eps)) - (await at(p[i] - eps))) / (2 * eps);
      gpu.write(tr.param, p);
      expect(Math.abs(fd - g[i]), `${tr.name}[${i}]: backward ${g[i]} vs FD ${fd}`).toBeLessThanOrEqual(
        3e-4 + 0.05 * Math.abs(fd),
      );
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
}

describe('SVD-initialised methods: PiSSA, MiLoRA, LoRA-GA', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  for (const niter of [0, 4]) {
    it(`PiSSA (niter=${niter}): residual + s·B·A = W, s·B·A holds the top-r spectrum, function unchanged`, async () => {
      const r = 4;
      const t = await trainer(
        gpu,
        'pissa',
        { rank: r, alpha: 8, niter },
        { targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} } },
      );
      try {
        const layers = targetsOf(t);
        expect(layers.length).toBe(4);
        for (const l of layers) {
          const ad = l.adapter as LowRankAdapter;
          expect(ad.baseWeight).not.toBe(l.weight);
          const W = await gpu.read(l.weight),
            Wres = await gpu.read(ad.baseWeight),
            d = await ad.delta();
          expectClose(
            Float32Array.from(Wres, (v, i) => v + d[i]),
            W,
            { atol: 2e-6, rtol: 1e-4, label: `${l.name} W_res + sBA` },
          );
          const sW = exactSvd(W, l.inDim, l.outDim, { vectors: 'none' }).S;
          const sD = exactSvd(d, l.inDim, l.outDim, { vectors: 'none' }).S;
          const sR = exactSvd(Wres, l.inDim, l.outDim, { vectors: 'none' }).S;
          expectClose(sD.slice(0, r), sW.slice(0, r), {
            atol: 1e-5,
            rtol: niter ? 2e-3 : 1e-4,
            label: `${l.name} top-r spectrum`,
          });
          // The residual keeps the rest: its largest singular value is W's (r+1)-th.
          expect(sR[0]).toBeCloseTo(sW[r], niter ? 2 : 4);
          // deltaOf is relative to the pretrained W: zero at init.
          const d0 = (await t.method.deltaOf!(l.name))!;
          expect(Math.max(...d0.map(Math.abs))).toBeLessThan(1e-6);
        }
        expectClose(await logits(t), await baseLogits(t), { atol: 1e-4, rtol: 1e-4, label: 'logits' });
        const st = await t.method.state();
        expect(st.meta.residualBase).toBe(true);
        expect(st.tensors.has('h.0.attn.c_attn.lora_A0')).toBe(true);
        if (niter === 0) await checkFd(t, 2);
      } finally {
        t.dispose();
      }
    });
  }

  it('MiLoRA: s·B·A holds the r smallest singular values; the residual loses them', async () => {
    const r = 3;
    const t = await trainer(
      gpu,
      'milora',
      { rank: r, alpha: 8 },
      { targets: { modules: ['attn.c_proj'], layers: null, rankOverrides: {} } },
    );
    try {
      for (const l of targetsOf(t)) {
        const ad = l.adapter as LowRankAdapter;
        const W = await gpu.read(l.weight),
          Wres = await gpu.read(ad.baseWeight),
          d = await ad.delta();
        expectClose(
          Float32Array.from(Wres, (v, i) => v + d[i]),
          W,
          { atol: 2e-6, rtol: 1e-4, label: 'W_res + sBA' },
        );
        const p = Math.min(l.inDim, l.outDim);
        const sW = exactSvd(W, l.inDim, l.outDim, { vectors: 'none' }).S;
        const sD = exactSvd(d, l.inDim, l.outDim, { vectors: 'none' }).S;
        const sR = exactSvd(Wres, l.inDim, l.outDim, { vectors: 'none' }).S;
        expectClose(sD.slice(0, r), sW.slice(p - r), { atol: 1e-6, rtol: 1e-3, label: 'minor spectrum' });
        expect(sD[0]).toBeLessThan(sW[p - r - 1]); // not the principal ones
        expectClose(sR.slice(0, p - r), sW.slice(0, p - r), {
          atol: 1e-5,
          rtol: 1e-4,
          label: 'residual keeps the principal part',
        });
        for (const v of sR.slice(p - r)) expect(v).toBeLessThan(1e-5);
      }
      expectClose(await logits(t), await baseLogits(t), { atol: 1e-4, rtol: 1e-4, label: 'logits' });
    } finally {
      t.dispose();
    }
  });

  it('LoRA-GA: initial product subtracted (logits unchanged), A spans the top-r right singular vectors of the mean gradient', async () => {
    const r = 2,
      batches = 2,
      gamma = 16;
    const t = await trainer(gpu, 'lora-ga', { rank: r, alpha: 4, batches, gamma });
    try {
      expect(t.model.grads.size).toBe(0); // the base is frozen again
      const layers = targetsOf(t);
      // The same mean gradient, independently: base model, same init batches.
      const cfg = t.inputs.config;
      const saved = layers.map((l) => l.adapter);
      for (const l of layers) l.adapter = null;
      t.model.setTrainable(layers.map((l) => `${l.name}.weight`));
      const batcher = new Batcher(t.inputs.data.train, { B, T, seed: cfg.seed, purpose: 'data/init' });
      for (let i = 0; i < batches; i++) {
        const b = batcher.batchAt(i);
        t.model.setBatch(B, T, b.inputs, b.targets, b.mask);
        const enc = gpu.encoder('grad');
        t.model.forward(enc, B, T);
        t.model.backward(enc, B, T, 1 / b.mask.reduce((a, v) => a + v, 0));
        enc.submit();
      }
      const grads = new Map<string, Float32Array>();
      for (const l of layers) grads.set(l.name, await gpu.read(l.dWeight!));
      t.model.setTrainable([]);
      layers.forEach((l, i) => (l.adapter = saved[i]));

      for (const l of layers) {
        const ad = l.adapter as LowRankAdapter;
        const f = Math.pow(l.outDim, 0.25) / Math.sqrt(gamma);
        const A = await gpu.read(ad.A),
          Bm = await gpu.read(ad.B);
        // Stable scale: A's rows and B's columns are orthonormal times d_out^¼/√γ.
        expectClose(gramRows(A, r, l.inDim), eye(r, f * f), { atol: 1e-4, label: 'A·Aᵀ' });
        const Bt = new Float32Array(r * l.outDim);
        for (let o = 0; o < l.outDim; o++) for (let j = 0; j < r; j++) Bt[j * l.outDim + o] = Bm[o * r + j];
        expectClose(gramRows(Bt, r, l.outDim), eye(r, f * f), { atol: 1e-4, label: 'Bᵀ·B' });
        // A's rows lie in the span of G's top-r right singular vectors (our stored dW's left ones).
        const G = grads.get(l.name)!;
        const svd = exactSvd(G, l.inDim, l.outDim);
        const p = Math.min(l.inDim, l.outDim);
        for (let j = 0; j < r; j++) {
          let norm2 = 0;
          for (let c = 0; c < r; c++) {
            let dotp = 0;
            for (let i = 0; i < l.inDim; i++) dotp += (A[j * l.inDim + i] / f) * svd.U[i * p + c];
            norm2 += dotp * dotp;
          }
          expect(norm2).toBeGreaterThan(0.98);
          // and B's columns in the span of its next r left singular vectors (disjoint slice: "ArB2r")
          let nb = 0;
          for (let c = r; c < 2 * r; c++) {
            let dotp = 0;
            for (let o = 0; o < l.outDim; o++) dotp += (Bm[o * r + j] / f) * svd.Vt[c * l.outDim + o];
            nb += dotp * dotp;
          }
          expect(nb).toBeGreaterThan(0.98);
        }
        // Residual: W_res = W − s·(BA)ᵀ, and the product is not zero.
        const W = await gpu.read(l.weight),
          Wres = await gpu.read(ad.baseWeight),
          d = await ad.delta();
        expect(Math.max(...d.map(Math.abs))).toBeGreaterThan(1e-3);
        expectClose(Wres, sub(W, d), { atol: 1e-6, rtol: 1e-5, label: 'W_res' });
      }
      expectClose(await logits(t), await baseLogits(t), { atol: 1e-4, rtol: 1e-4, label: 'logits unchanged' });
    } finally {
      t.dispose();
    }
  });
});

describe('EVA', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('allocateRanks keeps the budget largest ratios, ties in layer order', () => {
    expect(
      allocateRanks(
        [
          [0.5, 0.2, 0.1],
          [0.4, 0.3, 0.05],
        ],
        4,
      ),
    ).toEqual([2, 2]);
    expect(
      allocateRanks(
        [
          [0.9, 0.05],
          [0.02, 0.01],
          [0.5, 0.3],
        ],
        3,
      ),
    ).toEqual([1, 0, 2]);
    expect(allocateRanks([[0.3], [0.3]], 1)).toEqual([1, 0]);
  });

  it('allocation sums to the budget, caps at ρ·r, A has orthonormal rows, B = 0 keeps the function', async () => {
    const r = 4,
      rho = 2;
    const modules = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
    const t = await trainer(
      gpu,
      'eva',
      { rank: r, alpha: 8, batches: 2, rho },
      { targets: { modules: [...modules], layers: null, rankOverrides: {} } },
    );
    try {
      const alloc = t.method.rankAllocation!();
      const names = [...t.model.linears.keys()];
      expect(Object.keys(alloc).sort()).toEqual(names.sort());
      const total = Object.values(alloc).reduce((a, b) => a + b, 0);
      expect(total).toBe(r * names.length);
      for (const v of Object.values(alloc)) expect(v).toBeLessThanOrEqual(Math.round(rho * r));
      expect(new Set(Object.values(alloc)).size).toBeGreaterThan(1); // ranks actually moved
      for (const l of targetsOf(t)) {
        const ad = l.adapter as LowRankAdapter;
        expect(ad.rank).toBe(alloc[l.name]);
        expectClose(gramRows(await gpu.read(ad.A), ad.rank, l.inDim), eye(ad.rank), {
          atol: 1e-4,
          label: `${l.name} A·Aᵀ`,
        });
        expect(Math.max(...(await gpu.read(ad.B)).map(Math.abs))).toBe(0);
        expect(ad.scaling).toBe(8 / r); // α/r of the configured r
      }
      for (const [name, v] of Object.entries(alloc)) if (v === 0) expect(t.model.linears.get(name)!.adapter).toBeNull();
      const meta = (await t.method.state()).meta as { explainedVarianceRatio: Record<string, number[]> };
      for (const ratios of Object.values(meta.explainedVarianceRatio)) {
        for (let i = 1; i < ratios.length; i++) expect(ratios[i]).toBeLessThanOrEqual(ratios[i - 1] + 1e-7);
        expect(ratios.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-4);
      }
      expectClose(await logits(t), await baseLogits(t), { atol: 1e-6, label: 'logits' });
      await checkFd(t, 2);
    } finally {
      t.dispose();
    }
  });

  it('ρ = 1 keeps every layer at r', async () => {
    const t = await trainer(
      gpu,
      'eva',
      { rank: 3, alpha: 8, batches: 1, rho: 1 },
      { targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} } },
    );
    try {
      expect(Object.values(t.method.rankAllocation!())).toEqual([3, 3, 3, 3]);
    } finally {
      t.dispose();
    }
  });
});

describe('seeded bases: VeRA and NOLA', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('VeRA: shared projections reproducible from projectionSeed; λ init; FD gradients', async () => {
    const t1 = await trainer(gpu, 'vera', { rank: 8, projectionSeed: 7 });
    const t2 = await trainer(gpu, 'vera', { rank: 8, projectionSeed: 7 }, { seed: 3 });
    const t3 = await trainer(gpu, 'vera', { rank: 8, projectionSeed: 8 });
    try {
      const [s1, s2, s3] = await Promise.all([t1.method.state(), t2.method.state(), t3.method.state()]);
      const ref = veraProjections(7, 8, 32, 96);
      expect(Array.from(s1.tensors.get('vera_A')!)).toEqual(Array.from(ref.A));
      expect(Array.from(s2.tensors.get('vera_B')!)).toEqual(Array.from(ref.B));
      expect(Array.from(s3.tensors.get('vera_A')!)).not.toEqual(Array.from(ref.A));
      const ad = t1.model.linears.get('h.0.attn.c_attn')!.adapter as VeraAdapter;
      expect(Array.from(await gpu.read(ad.shared.A))).toEqual(Array.from(ref.A));
      expect(Array.from(await gpu.read(ad.lambdaD))).toEqual(Array(8).fill(Math.fround(0.1)));
      expect(Math.max(...(await gpu.read(ad.lambdaB)).map(Math.abs))).toBe(0);
      expectClose(await logits(t1), await baseLogits(t1), { atol: 1e-6, label: 'logits' });
      // Make λ_b non-zero so both vectors have gradients, then finite differences.
      for (const l of targetsOf(t1)) gpu.write((l.adapter as VeraAdapter).lambdaB, randn(l.outDim, 21, 0.5));
      await checkFd(t1, 3);
    } finally {
      for (const t of [t1, t2, t3]) t.dispose();
    }
  });

  it('NOLA: GPU-regenerated bases equal the CPU Philox stream of basisSeed; FD gradients', async () => {
    const r = 2,
      kA = 5,
      kB = 3;
    const t1 = await trainer(gpu, 'nola', { rank: r, alpha: 4, numBasisA: kA, numBasisB: kB, basisSeed: 9 });
    const t2 = await trainer(gpu, 'nola', { rank: r, alpha: 4, numBasisA: kA, numBasisB: kB, basisSeed: 10 });
    try {
      for (const l of targetsOf(t1)) {
        const ad = l.adapter as NolaAdapter;
        const beta = randn(kB, 31, 1);
        gpu.write(ad.coefB, beta);
        const alpha = await gpu.read(ad.coefA);
        const { A, B: Bm } = await ad.factors();
        const s = nolaBasisStreams(l.name, r, l.inDim);
        const basisA = new Rng(9, s.A.purpose).fillUniform(new Float32Array(kA * r * l.inDim), -s.A.bound, s.A.bound);
        const basisB = new Rng(9, s.B.purpose).fillUniform(new Float32Array(kB * l.outDim * r), -s.B.bound, s.B.bound);
        const refA = new Float32Array(r * l.inDim),
          refB = new Float32Array(l.outDim * r);
        for (let i = 0; i < kA; i++)
          for (let e = 0; e < refA.length; e++) refA[e] += alpha[i] * basisA[i * refA.length + e];
        for (let j = 0; j < kB; j++)
          for (let e = 0; e < refB.length; e++) refB[e] += beta[j] * basisB[j * refB.length + e];
        expectClose(A, refA, { atol: 1e-5, label: `${l.name} A = Σα_i·A_i` });
        expectClose(Bm, refB, { atol: 1e-5, label: `${l.name} B = Σβ_j·B_j` });
        // Another basis seed gives another A (the coefficients come from the run seed: the same).
        const other = t2.model.linears.get(l.name)!.adapter as NolaAdapter;
        expect(Array.from(await gpu.read(other.coefA))).toEqual(Array.from(alpha));
        const A2 = (await other.factors()).A;
        expect(Math.max(...sub(A2, A).map(Math.abs))).toBeGreaterThan(1e-3);
      }
      await checkFd(t1, 3);
    } finally {
      t1.dispose();
      t2.dispose();
    }
  });
});

describe('DyLoRA', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('rank sampling is a deterministic function of (seed, step), uniform on 1..r', () => {
    const r = 6;
    const a = Array.from({ length: 600 }, (_, s) => sampleDyLoraRank(5, s, r));
    const b = Array.from({ length: 600 }, (_, s) => sampleDyLoraRank(5, s, r));
    const c = Array.from({ length: 600 }, (_, s) => sampleDyLoraRank(6, s, r));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const counts = Array(r + 1).fill(0);
    for (const v of a) counts[v]++;
    expect(counts[0]).toBe(0);
    for (let v = 1; v <= r; v++) expect(counts[v]).toBeGreaterThan(600 / r / 2);
  });

  it('trains at the sampled rank, evaluates at the evaluation rank, and is evaluable at every rank ≤ r', async () => {
    const r = 4,
      alpha = 8;
    const t = await trainer(gpu, 'dylora', { rank: r, alpha });
    try {
      const inst = t.method;
      expect(isDyLoraInstance(inst)).toBe(true);
      if (!isDyLoraInstance(inst)) return;
      const layers = targetsOf(t);
      // beforeStep applies the step's rank; the backward hands the adapter back at the evaluation rank.
      inst.beforeStep!(3);
      for (const l of layers)
        expect((l.adapter as DyLoraAdapter).activeRank).toBe(sampleDyLoraRank(t.inputs.config.seed, 3, r));
      const seen = new Set<number>();
      for (let s = 0; s < 6; s++) {
        seen.add(inst.rankAt(t.step));
        await t.trainStep();
        for (const l of layers) expect((l.adapter as DyLoraAdapter).activeRank).toBe(r);
      }
      expect(seen.size).toBeGreaterThan(1);
      // Every rank b ≤ r: the layer output equals x·W + b + (α/b)·x·A[:b]ᵀ·B[:, :b]ᵀ, and deltaOf matches.
      const l = layers[0],
        ad = l.adapter as DyLoraAdapter;
      const N = 3,
        x = randn(N * l.inDim, 41);
      const W = await gpu.read(l.weight),
        bias = await gpu.read(l.bias!),
        A = await gpu.read(ad.A),
        Bm = await gpu.read(ad.B);
      expect(Math.max(...Bm.map(Math.abs))).toBeGreaterThan(0);
      const tx = gpu.upload(x, [N, l.inDim], 'x'),
        ty = gpu.tensor([N, l.outDim], 'y');
      const outputs: Float32Array[] = [];
      for (let b = 1; b <= r; b++) {
        inst.setEvalRank(b);
        const enc = gpu.encoder('dylora eval');
        linearForward(enc, l, tx, ty, N);
        enc.submit();
        const y = await gpu.read(ty);
        const ref = new Float32Array(N * l.outDim);
        for (let n = 0; n < N; n++)
          for (let o = 0; o < l.outDim; o++) {
            let acc = bias[o];
            for (let i = 0; i < l.inDim; i++) acc += x[n * l.inDim + i] * W[i * l.outDim + o];
            let lr = 0;
            for (let k = 0; k < b; k++) {
              let h = 0;
              for (let i = 0; i < l.inDim; i++) h += x[n * l.inDim + i] * A[k * l.inDim + i];
              lr += h * Bm[o * r + k];
            }
            ref[n * l.outDim + o] = acc + (alpha / b) * lr;
          }
        expectClose(y, ref, { atol: 1e-4, label: `rank ${b}` });
        outputs.push(y);
        const d = (await inst.deltaOf!(l.name))!;
        expect(d[0]).toBeCloseTo(
          (alpha / b) * Array.from({ length: b }, (_, k) => Bm[k] * A[k * l.inDim]).reduce((p, q) => p + q, 0),
          5,
        );
        const st = await inst.state();
        expect(st.tensors.get(`${l.name}.lora_A`)!.length).toBe(b * l.inDim);
        const lg = await logits(t);
        expect(lg.every(Number.isFinite)).toBe(true);
      }
      expect(Math.max(...sub(outputs[0], outputs[r - 1]).map(Math.abs))).toBeGreaterThan(1e-6);
      expect(() => inst.setEvalRank(r + 1)).toThrow();
      inst.setEvalRank(r);
      gpu.release(tx);
      gpu.release(ty);
      await checkFd(t, 2);
    } finally {
      t.dispose();
    }
  });

  it('same config + seed ⇒ bit-identical losses', async () => {
    const run = async () => {
      const t = await trainer(gpu, 'dylora', { rank: 4, alpha: 8 });
      const out: number[] = [];
      for (let s = 0; s < 3; s++) out.push((await t.trainStep()).loss);
      t.dispose();
      return out;
    };
    expect(await run()).toEqual(await run());
  });
});
