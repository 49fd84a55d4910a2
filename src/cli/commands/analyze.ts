/**
 * `analyze --base <model.safetensors> --tuned <model.safetensors> [--json] [--k 10] [--eps 0.5]`:
 * per 2-D weight matrix, the spectra of the tuned matrix W and of ΔW = W − W0, effective and stable
 * ranks, the WeightWatcher power-law α, intruder dimensions (Shuttleworth et al. 2024, k = 10, ε = 0.5)
 * and principal angles; then a totals line. The numbers come from src/engine/analysis (the same code
 * the studio's worker runs).
 *
 * What is analysed:
 *   - every tensor that is 2-D and float in both files, under the same name and shape;
 *   - matrices are taken as (out, in): GPT-2 Conv1D weights (c_attn, c_proj, c_fc), stored (in, out),
 *     are transposed first (--layout out-in|in-out overrides the name-based rule);
 *   - embeddings (wte, wpe, names containing "embed"; stored (rows = tokens/positions, C), analysed as
 *     stored, i.e. as the tied LM head's (V, C) map) are included when their shapes agree; a vocabulary
 *     or context that changed size is listed under totals.skipped, not as an error;
 *   - 1-D tensors (biases, LayerNorm) and non-float tensors are skipped and counted;
 *   - a matrix missing from one file or with different shapes gives a JSON line with "error";
 *   - matrices longer than --max-dim on a side are skipped (exact SVDs cost ~8·m·n² flops per sweep).
 * One JSON line per matrix under --json (--full adds the complete analysis: σ arrays, ESD, heatmap).
 */
import { readFile } from 'node:fs/promises';
import nodePath from 'node:path';
import { CliError, emit, flag, has, numberFlag, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import type { Gpu } from '../../gpu/device';
import { isFloatDtype, parseSafetensors, toFloat32, type SafetensorsFile } from '../../engine/io/safetensors';
import {
  analyzeMatrix,
  layoutForName,
  NotComputableError,
  type MatrixAnalysis,
  type WeightLayout,
} from '../../engine/analysis';
import { escapeControl } from '../../engine/strings';
import { adapterPair } from '../adapter-source';

/** Tensor names come from the file: printed inert (issue 19 item 10). */
const shown = (name: string): string => escapeControl(name);

export const help =
  'spectra, effective ranks, power-law α and intruder dimensions: --base <f.safetensors> --tuned <f.safetensors>, or --adapter <peft dir|hf:id> [--base <model dir|hf:id>] (merged, no training); [--json] [--k 10] [--eps 0.5]';

const EMBEDDING = /(^|\.)(wte|wpe)\.weight$|embed/i;

async function load(path: string, which: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new CliError(`--${which} ${path}: ${(e as Error).message}`);
  }
  try {
    return parseSafetensors(bytes);
  } catch (e) {
    throw new CliError(`--${which} ${path}: ${(e as Error).message}`);
  }
}

/**
 * The layout of a checkpoint's linears from the config.json beside it: GPT-2's Conv1D names are (in, out)
 * (the name rule), every other family stores nn.Linear (out, in) — GPT-Neo's c_fc/c_proj included. null =
 * no config.json or GPT-2: use the name rule.
 */
async function layoutFromConfig(file: string | undefined): Promise<WeightLayout | null> {
  if (!file) return null;
  try {
    const cfg = JSON.parse(await readFile(nodePath.join(nodePath.dirname(file), 'config.json'), 'utf8')) as {
      model_type?: unknown;
    };
    return typeof cfg.model_type === 'string' && cfg.model_type !== 'gpt2' ? 'out-in' : null;
  } catch {
    return null;
  }
}

const r4 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toPrecision(5));

/** The per-matrix JSON line: the tuned matrix's figures at top level, ΔW's under "delta". */
export function matrixLine(a: MatrixAnalysis, full: boolean): Record<string, unknown> {
  const line: Record<string, unknown> = {
    name: a.name,
    shape: a.storedShape,
    outIn: a.shape,
    transposed: a.transposed,
    erank: r4(a.tuned.erank),
    stableRank: r4(a.tuned.stableRank),
    alpha: r4(a.tuned.powerLaw?.alpha),
    spectralNorm: r4(a.tuned.spectralNorm),
    frobenius: r4(a.tuned.frobenius),
    nuclear: r4(a.tuned.nuclear),
    powerLaw: a.tuned.powerLaw
      ? {
          alpha: r4(a.tuned.powerLaw.alpha),
          xmin: r4(a.tuned.powerLaw.xmin),
          D: r4(a.tuned.powerLaw.D),
          nTail: a.tuned.powerLaw.nTail,
          n: a.tuned.powerLaw.n,
        }
      : null,
    intruders: {
      k: a.intruders.k,
      eps: a.intruders.eps,
      count: a.intruders.count,
      indices: a.intruders.indices,
      maxCos: a.intruders.maxCos.map(r4),
      // issue 12 item 4: never a bare count — the split, the nearest miss and the update's size beside it
      newDirections: a.intruders.newDirections ?? null,
      rotations: a.intruders.rotations ?? null,
      kinds: a.intruders.kinds ?? null,
      minMaxCos: r4(a.intruders.minMaxCos),
      relFrobenius: r4(a.delta.relFrobenius),
      sweep: a.intruders.sweep,
      method: a.intruders.method,
    },
    delta: {
      erank: r4(a.delta.erank),
      stableRank: r4(a.delta.stableRank),
      spectralNorm: r4(a.delta.spectralNorm),
      frobenius: r4(a.delta.frobenius),
      nuclear: r4(a.delta.nuclear),
      relFrobenius: r4(a.delta.relFrobenius),
      numericalRank: a.delta.numericalRank,
      alpha: r4(a.delta.powerLaw?.alpha),
    },
    base: {
      erank: r4(a.base.erank),
      stableRank: r4(a.base.stableRank),
      alpha: r4(a.base.powerLaw?.alpha),
      spectralNorm: r4(a.base.spectralNorm),
    },
    angles: { r: a.angles.r, degrees: a.angles.degrees.map((d) => Number(d.toFixed(2))) },
    ms: Math.round(a.ms),
  };
  if (full) line.detail = a;
  return line;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'analyze',
    booleans: ['json', 'full', 'cpu'],
    values: ['base', 'tuned', 'adapter', 'k', 'eps', 'max-dim', 'method', 'layout', 'only'],
  });
  const basePath = flag(args, 'base');
  const tunedPath = flag(args, 'tuned');
  const adapterSpec = flag(args, 'adapter');
  if (adapterSpec && tunedPath) throw new CliError('analyze takes --tuned or --adapter, not both');
  if (!adapterSpec && (!basePath || !tunedPath))
    throw new CliError(
      'analyze needs --base <model.safetensors> and --tuned <model.safetensors>, or --adapter <DIR|hf:owner/name> [--base <model>]',
    );
  const json = has(args, 'json');
  const full = has(args, 'full');
  const k = numberFlag(args, 'k', 10);
  const eps = numberFlag(args, 'eps', 0.5);
  const maxDim = numberFlag(args, 'max-dim', 4096);
  const method = flag(args, 'method') ?? 'auto';
  if (!['auto', 'exact', 'rsvd'].includes(method))
    throw new CliError(`--method must be auto, exact or rsvd, got "${method}"`);
  // a merged adapter's matrices are in the engine's layout (in, out): src/cli/adapter-source.ts
  const layoutFlag = flag(args, 'layout') ?? (adapterSpec ? 'in-out' : 'auto');
  if (!['auto', 'out-in', 'in-out'].includes(layoutFlag))
    throw new CliError(`--layout must be auto, out-in or in-out, got "${layoutFlag}"`);
  if (!(k >= 1) || !Number.isInteger(k)) throw new CliError(`--k must be a positive integer, got ${k}`);
  if (!(eps > 0 && eps <= 1)) throw new CliError(`--eps must be in (0, 1], got ${eps}`);
  const only = flag(args, 'only');
  const familyLayout = adapterSpec || layoutFlag !== 'auto' ? null : await layoutFromConfig(basePath);
  const onlyRe = only ? new RegExp(only) : null;

  const [base, tuned] = adapterSpec
    ? await adapterPair(adapterSpec, basePath).then((p) => {
        if (!json) console.log(`adapter ${shown(adapterSpec)}: ${p.modules} modules merged into ${shown(p.baseSpec)}`);
        return [p.base, p.tuned];
      })
    : await Promise.all([load(basePath!, 'base'), load(tunedPath!, 'tuned')]);
  let gpu: Gpu | null = null;
  if (!has(args, 'cpu')) {
    try {
      gpu = await cliGpu();
    } catch (e) {
      console.error(`rankscope: analyze continues on the CPU (${(e as Error).message.split('.')[0]})`);
    }
  }

  const t0 = performance.now();
  const totals = {
    matrices: 0,
    intruders: 0,
    errors: 0,
    notComputable: [] as string[],
    k,
    eps,
    intrudersByEps: new Map<number, number>(),
    skipped: { oneD: 0, nonFloat: 0, otherRank: 0, tooLarge: [] as string[], embeddingShape: [] as string[] },
    erankSum: 0,
    deltaErankSum: 0,
    alphaSum: 0,
    alphaCount: 0,
    // Totals over the adapted matrices only (ΔW ≠ 0): untouched matrices would only dilute them.
    adapted: 0,
    newDirections: 0,
    rotations: 0,
    minMaxCos: 1,
    deltaSq: 0,
    baseSq: 0,
  };
  const names = [...base.tensors.keys(), ...[...tuned.tensors.keys()].filter((n) => !base.tensors.has(n))];
  const out = (o: Record<string, unknown>) => {
    if (json) emit(o);
  };
  if (!json)
    console.log(
      `${'matrix'.padEnd(34)} ${'out×in'.padEnd(10)} ${'erank'.padStart(8)} ${'stable'.padStart(8)} ${'alpha'.padStart(6)} ${'intr(n/r)'.padStart(9)} ${'minCos'.padStart(6)} ${'ΔF/W0F'.padStart(8)}  ${'Δerank'.padStart(8)} ${'Δstable'.padStart(8)} ${'‖ΔW‖₂'.padStart(9)} ${'‖ΔW‖F'.padStart(9)}`,
    );
  for (const name of names) {
    if (onlyRe && !onlyRe.test(name)) continue;
    const bt = base.tensors.get(name);
    const tt = tuned.tensors.get(name);
    const ref = bt ?? tt!;
    if (ref.shape.length !== 2) {
      if (ref.shape.length === 1) totals.skipped.oneD++;
      else totals.skipped.otherRank++;
      continue;
    }
    if (!isFloatDtype(ref.dtype)) {
      totals.skipped.nonFloat++;
      continue;
    }
    if (!bt || !tt) {
      totals.errors++;
      out({ name, shape: ref.shape, error: `missing in the ${bt ? 'tuned' : 'base'} file` });
      if (!json) console.log(`${shown(name).padEnd(34)} error: missing in the ${bt ? 'tuned' : 'base'} file`);
      continue;
    }
    if (bt.shape.length !== tt.shape.length || bt.shape.some((d, i) => d !== tt.shape[i])) {
      if (EMBEDDING.test(name)) {
        totals.skipped.embeddingShape.push(name);
        continue;
      }
      totals.errors++;
      out({ name, error: 'shape mismatch', baseShape: bt.shape, tunedShape: tt.shape });
      if (!json)
        console.log(`${shown(name).padEnd(34)} error: shape mismatch base [${bt.shape}] vs tuned [${tt.shape}]`);
      continue;
    }
    const [rows, cols] = bt.shape;
    if (Math.max(rows, cols) > maxDim) {
      totals.skipped.tooLarge.push(name);
      continue;
    }
    const layout: WeightLayout =
      layoutFlag === 'auto' ? (familyLayout ?? layoutForName(name)) : (layoutFlag as WeightLayout);
    let a: MatrixAnalysis;
    try {
      a = await analyzeMatrix(gpu, {
        name,
        base: toFloat32(bt),
        tuned: toFloat32(tt),
        rows,
        cols,
        layout,
        k,
        eps,
        tunedMethod: method as 'auto' | 'exact' | 'rsvd',
      });
    } catch (e) {
      if (e instanceof NotComputableError) {
        // issue 19 item 1: named and counted, never figures
        totals.notComputable.push(name);
        out({ name, shape: bt.shape, notComputable: e.message, nonFinite: e.nonFinite });
        if (!json) console.log(`${shown(name).padEnd(34)} ${escapeControl(e.message)}`);
        continue;
      }
      totals.errors++;
      out({ name, shape: bt.shape, error: (e as Error).message });
      if (!json) console.log(`${shown(name).padEnd(34)} error: ${escapeControl((e as Error).message)}`);
      continue;
    }
    totals.matrices++;
    if (a.delta.frobenius > 0) {
      totals.adapted++;
      totals.newDirections += a.intruders.newDirections ?? 0;
      totals.rotations += a.intruders.rotations ?? 0;
      totals.minMaxCos = Math.min(totals.minMaxCos, a.intruders.minMaxCos);
      totals.deltaSq += a.delta.frobenius ** 2;
      totals.baseSq += a.base.frobenius ** 2;
    }
    totals.intruders += a.intruders.count;
    for (const s of a.intruders.sweep)
      totals.intrudersByEps.set(s.eps, (totals.intrudersByEps.get(s.eps) ?? 0) + s.count);
    totals.erankSum += a.tuned.erank;
    totals.deltaErankSum += a.delta.erank;
    if (a.tuned.powerLaw) {
      totals.alphaSum += a.tuned.powerLaw.alpha;
      totals.alphaCount++;
    }
    if (json) emit(matrixLine(a, full));
    else {
      const f = (x: number | undefined | null, w: number, d = 3) =>
        (x === undefined || x === null ? '-' : x.toFixed(d)).padStart(w);
      console.log(
        `${shown(name).padEnd(34)} ${`${a.shape[0]}×${a.shape[1]}`.padEnd(10)} ${f(a.tuned.erank, 8, 2)} ${f(a.tuned.stableRank, 8, 2)} ${f(a.tuned.powerLaw?.alpha, 6, 2)} ${`${a.intruders.count}(${a.intruders.newDirections ?? '-'}n/${a.intruders.rotations ?? '-'}r)`.padStart(9)} ${f(a.intruders.minMaxCos, 6, 2)} ${f(a.delta.relFrobenius, 8, 4)}  ` +
          `${f(a.delta.erank, 8, 2)} ${f(a.delta.stableRank, 8, 2)} ${a.delta.spectralNorm.toExponential(2).padStart(9)} ${a.delta.frobenius.toExponential(2).padStart(9)}`,
      );
    }
  }
  const n = Math.max(1, totals.matrices);
  const summary = {
    totals: {
      matrices: totals.matrices,
      intruders: totals.intruders,
      adaptedMatrices: totals.adapted,
      newDirections: totals.newDirections,
      rotations: totals.rotations,
      minMaxCos: r4(totals.minMaxCos),
      relFrobenius: r4(totals.baseSq > 0 ? Math.sqrt(totals.deltaSq / totals.baseSq) : 0),
      k,
      eps,
      intrudersByEps: [...totals.intrudersByEps.entries()].map(([e, c]) => ({ eps: e, count: c })),
      meanErank: r4(totals.erankSum / n),
      meanDeltaErank: r4(totals.deltaErankSum / n),
      meanAlpha: totals.alphaCount ? r4(totals.alphaSum / totals.alphaCount) : null,
      errors: totals.errors,
      notComputable: totals.notComputable,
      skipped: totals.skipped,
      device: gpu ? gpu.name : 'cpu',
      ms: Math.round(performance.now() - t0),
    },
  };
  if (json) emit(summary);
  else {
    console.log(
      `\n${totals.matrices} matrices (${totals.adapted} adapted), ${totals.intruders} intruder dimensions (k=${k}, ε=${eps}): ` +
        `${totals.newDirections} new directions, ${totals.rotations} rotations within near-degenerate σ clusters; min max|cos| ${summary.totals.minMaxCos}, ‖ΔW‖F/‖W0‖F ${summary.totals.relFrobenius}; mean erank ${summary.totals.meanErank}, mean α ${summary.totals.meanAlpha ?? '-'}, ` +
        `${totals.errors} errors; skipped ${totals.skipped.oneD} 1-D, ${totals.skipped.nonFloat} non-float, ${totals.skipped.embeddingShape.length} resized embeddings, ${totals.skipped.tooLarge.length} over --max-dim`,
    );
  }
  if (totals.notComputable.length)
    console.error(
      `rankscope: ${totals.notComputable.length} matrix(es) not computable (non-finite or all-zero values): ${totals.notComputable.map(shown).join(', ')}`,
    );
  return (totals.matrices === 0 && totals.errors > 0) || totals.notComputable.length ? 1 : 0;
}
