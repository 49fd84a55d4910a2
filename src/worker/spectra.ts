/**
 * Spectra snapshots of a run, for the studio's spectra explorer and intruder view: for every
 * targeted weight matrix, W0 (from the untouched base model, its exact SVD cached once) against the
 * tuned W (base + adapter, merged), via the shared analysis in src/engine/analysis/.
 */
import type { Gpu } from '../gpu/device';
import type { Trainer } from '../engine/train';
import type { LanguageModel } from '../engine/model/language-model';
import { analyzeMatrix, computeBaseSvd, asOutIn, type BaseSvd, type MatrixAnalysis } from '../engine/analysis';
import { selectTargets } from '../engine/train';
import type { SpectrumSnapshot } from './protocol';

export class SpectraTracker {
  readonly matrices: string[];
  private baseSvd = new Map<string, BaseSvd>();
  private baseWeights = new Map<string, Float32Array>();

  constructor(
    readonly gpu: Gpu,
    readonly trainer: Trainer,
    readonly baseModel: LanguageModel,
    readonly k: number,
    readonly eps: number,
  ) {
    const cfg = trainer.inputs.config;
    // Module names ("h.0.attn.c_attn"), the same vocabulary as the snapshots' `name`.
    this.matrices = selectTargets(trainer.model, cfg.targets.modules, cfg.targets.layers).map((l) => l.name);
  }

  async snapshot(): Promise<SpectrumSnapshot[]> {
    const merged = await this.trainer.method.merged();
    const out: SpectrumSnapshot[] = [];
    for (const module of this.matrices) {
      const name = `${module}.weight`;
      const p = this.baseModel.param(name);
      const [rows, cols] = p.shape;
      let base = this.baseWeights.get(name);
      if (!base) {
        base = await this.gpu.read(p);
        this.baseWeights.set(name, base);
        const w = asOutIn(base, rows, cols, 'in-out');
        this.baseSvd.set(name, computeBaseSvd(w.data, w.M, w.N));
      }
      const tuned = merged.get(name)!;
      const a = await analyzeMatrix(this.gpu, {
        name,
        base,
        tuned,
        rows,
        cols,
        layout: 'in-out',
        baseSvd: this.baseSvd.get(name),
        k: this.k,
        eps: this.eps,
        heatmapCols: 32,
      });
      out.push(snapshotOf(a, this.trainer.step, module));
    }
    return out;
  }
}

/** One matrix's analysis as the protocol's snapshot (module = the linear's name, e.g. "h.0.attn.c_attn"). */
export function snapshotOf(a: MatrixAnalysis, step: number, module: string): SpectrumSnapshot {
  return {
    step,
    name: module,
    shape: a.shape,
    sigmaBase: Float32Array.from(a.base.sigma),
    sigmaTuned: Float32Array.from(a.tuned.sigma),
    sigmaDelta: Float32Array.from(a.delta.sigma),
    erank: a.tuned.erank,
    stableRank: a.tuned.stableRank,
    deltaErank: a.delta.erank,
    deltaStableRank: a.delta.stableRank,
    alpha: a.tuned.powerLaw?.alpha ?? NaN,
    alphaXmin: a.tuned.powerLaw?.xmin ?? NaN,
    intruders: {
      k: a.intruders.k,
      eps: a.intruders.eps,
      count: a.intruders.count,
      maxCos: Float32Array.from(a.intruders.maxCos),
      sweep: a.intruders.sweep,
      indices: a.intruders.indices,
      clusterNorm: a.intruders.clusterNorm ? Float32Array.from(a.intruders.clusterNorm) : undefined,
      relFrobenius: a.delta.relFrobenius,
    },
    overlap: Float32Array.from(a.intruders.heatmap.values),
    overlapCols: a.intruders.heatmap.cols,
    esd: a.tuned.esd,
    anglesDeg: a.angles.degrees,
  };
}
