/** Synthetic protocol payloads for the UI unit tests (shapes as the engine sends them). */
import type { MetricsBatch, SpectrumSnapshot } from '../../src/worker/protocol';

export function batch(from: number, to: number, lossOf = (s: number) => 5 - s * 0.01, evalEvery = 0): MetricsBatch {
  const n = to - from + 1;
  const steps = Array.from({ length: n }, (_, i) => from + i);
  const f = (g: (s: number) => number) => Float32Array.from(steps, g);
  return {
    step: Int32Array.from(steps),
    loss: f(lossOf),
    lr: f(() => 1e-3),
    gradNorm: f(() => 0.5),
    tokensPerSec: f(() => 1000),
    valLoss: f((s) => (evalEvery && s % evalEvery === 0 ? 4 : NaN)),
    probeLoss: f((s) => (evalEvery && s % evalEvery === 0 ? 6 : NaN)),
  };
}

export function snapshot(name: string, step: number, maxCos: number[]): SpectrumSnapshot {
  const k = maxCos.length;
  return {
    step,
    name,
    shape: [96, 32],
    sigmaBase: Float32Array.from({ length: 32 }, (_, i) => 10 / (i + 1)),
    sigmaTuned: Float32Array.from({ length: 32 }, (_, i) => 11 / (i + 1)),
    sigmaDelta: Float32Array.from({ length: 32 }, (_, i) => (i < 4 ? 1 / (i + 1) : 1e-7)),
    erank: 20,
    stableRank: 3,
    deltaErank: 4,
    deltaStableRank: 1.5,
    alpha: 2.5,
    alphaXmin: 1,
    intruders: {
      k,
      eps: 0.5,
      count: maxCos.filter((c) => c < 0.5).length,
      maxCos: Float32Array.from(maxCos),
      sweep: [{ eps: 0.5, count: maxCos.filter((c) => c < 0.5).length }],
    },
    overlap: new Float32Array(k * 8).fill(0.1),
    overlapCols: 8,
  };
}

/** A minimal valid run export (run.json) around `config`, as the page writes it. */
export function runExport<C extends object>(config: C) {
  return {
    format: 'rankscope-run',
    version: 1,
    link: null,
    run: {
      id: 'run-abc',
      name: 'r',
      config,
      createdAt: 1,
      status: 'done',
      step: 2,
      totalSteps: 2,
      adapterName: 'x',
      matrices: ['h.0.attn.c_attn'],
    },
    metrics: [
      {
        elapsedMs: 5,
        batch: {
          step: [1, 2],
          loss: [5, 4.5],
          lr: [1e-3, 1e-3],
          gradNorm: [1, 1],
          tokensPerSec: [10, 10],
          valLoss: [null, 4],
          probeLoss: [null, 6],
        },
      },
    ],
    spectra: [],
  };
}
