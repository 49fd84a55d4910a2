/**
 * A PEFT adapter from anywhere, merged into its base so the usual analysis (spectra, ΔW ranks, intruder
 * dimensions, α) runs on it without training (issue 11 item 5). DOM-free: the page's worker
 * (src/worker/adapter-analysis.ts) uses it; the CLI's `analyze --adapter` does the same merge
 * (src/cli/adapter-source.ts).
 *
 * What cannot be represented is refused in one line (AdapterAnalysisError): other PEFT types and
 * malformed files (importPeft), modules or shapes the base does not have (checkPeftAgainstModel), DoRA
 * (its merge needs the column norms of the merged weight, not analysed yet).
 *
 * Every pair is in the engine's weight layout (in, out): W0 from the base, W0 + s·(B·A)ᵀ (peft.ts
 * adapters/merge.ts loraDelta, the same merge the exporter inverts), so the analysis reads them with layout 'in-out'.
 * PEFT's HRA type (peft-hra.ts) is read through the same dispatch (importPeftAdapter) and merged by the HRA
 * method's own merge, ref/hra.ts hraMerge: W' = H_{r−1}⋯H_0·W0 in (in, out), i.e. PEFT's W_hf·H_0⋯H_{r−1} —
 * its ΔW = W' − W0 depends on W0, so it is not a low-rank product.
 */
import type { NamedFile } from '../io/checkpoint';
import { importPeftAdapter, PeftError, type PeftAdapterImport, type PeftImport } from '../io/peft';
import type { PeftHraImport } from '../io/peft-hra';
import { loraDelta } from '../adapters/merge';
import { hraMerge } from '../ref/hra';
import { checkPeftAgainstModel } from '../io/peft-check';
import type { ModelConfig } from '../model/config';
import { peftNamingOf } from '../model/families';
import { escapeControl } from '../strings';

export class AdapterAnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterAnalysisError';
  }
}

export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'] as const;

export interface AdapterPairMatrix {
  /** Module name in the engine's vocabulary, e.g. "h.0.attn.c_attn". */
  module: string;
  rows: number; // inDim (stored (in, out))
  cols: number; // outDim
  base: Float32Array; // (in, out)
  tuned: Float32Array; // (in, out)
  r: number;
  scaling: number; // LoRA's s; 1 for HRA (no scale)
}

export interface MergedAdapter {
  /** adapter_config.json's peft_type: "LORA", "ADALORA" (read as LoRA factors) or "HRA". */
  peftType: 'LORA' | 'ADALORA' | 'HRA';
  /** The LoRA factors (LORA, ADALORA), else null. */
  peft: PeftImport | null;
  /** HRA's reflections (hra_u per module), else null. */
  hra: PeftHraImport | null;
  /** What the page shows: r (one per config), α (HRA: none, 0), rsLoRA. */
  summary: { r: number; alpha: number; useRslora: boolean };
  matrices: AdapterPairMatrix[];
}

/** adapter_config.json's base_model_name_or_path, or null (absent, not JSON). */
export function adapterBaseName(files: NamedFile[]): string | null {
  const cfg = files.find((f) => f.name.split('/').pop() === 'adapter_config.json');
  if (!cfg) return null;
  try {
    const v = (JSON.parse(new TextDecoder().decode(cfg.bytes)) as Record<string, unknown>).base_model_name_or_path;
    return typeof v === 'string' && v.length > 0 ? v : null;
  } catch {
    return null; // importPeft reports the bad JSON
  }
}

/** Merge `files` (adapter_config.json + adapter_model.safetensors) into a base model's weights. */
export function mergeAdapter(
  files: NamedFile[],
  base: { config: ModelConfig; weights: Map<string, Float32Array> },
  baseName: string,
): MergedAdapter {
  const names = new Set(files.map((f) => f.name.split('/').pop()));
  const missing = ADAPTER_FILES.filter((f) => !names.has(f));
  if (missing.length)
    throw new AdapterAnalysisError(
      `a PEFT adapter needs adapter_config.json and adapter_model.safetensors; missing ${missing.join(' and ')}`,
    );
  let im: PeftAdapterImport;
  try {
    im = importPeftAdapter(files, peftNamingOf(base.config));
  } catch (e) {
    if (e instanceof PeftError) throw new AdapterAnalysisError(e.message);
    throw e;
  }
  const problems = checkPeftAgainstModel(im.kind === 'hra' ? im.hra : im.lora, base.config);
  if (problems.length)
    throw new AdapterAnalysisError(
      `the adapter does not fit the base ${escapeControl(baseName)}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    );
  const weightOf = (module: string, inDim: number, outDim: number | null) => {
    const w0 = base.weights.get(`${module}.weight`);
    if (!w0 || (outDim !== null ? w0.length !== inDim * outDim : w0.length % inDim !== 0))
      throw new AdapterAnalysisError(
        `the base ${escapeControl(baseName)} has no ${inDim}×${outDim ?? 'n'} matrix ${escapeControl(module)}.weight`,
      );
    return w0;
  };
  if (im.kind === 'hra') {
    const matrices = im.hra.modules.map((m) => {
      const w0 = weightOf(m.module, m.inDim, null);
      const outDim = w0.length / m.inDim;
      const tuned = hraMerge(w0, m.U, m.inDim, outDim, m.r); // the HRA method's merge (methods/hra.ts)
      return { module: m.module, rows: m.inDim, cols: outDim, base: w0, tuned, r: m.r, scaling: 1 };
    });
    const r = im.hra.modules[0].r;
    return { peftType: 'HRA', peft: null, hra: im.hra, summary: { r, alpha: 0, useRslora: false }, matrices };
  }
  const peft = im.lora;
  const dora = peft.modules.filter((m) => m.magnitude !== null);
  if (dora.length)
    throw new AdapterAnalysisError(
      `DoRA (use_dora) adapters are not analysed yet (${dora.length} modules): its merge needs the merged weight's column norms; a plain LoRA adapter is`,
    );
  const matrices: AdapterPairMatrix[] = [];
  for (const m of peft.modules) {
    const w0 = weightOf(m.module, m.inDim, m.outDim);
    const delta = loraDelta(m.A, m.B, m.r, m.inDim, m.outDim, m.scaling); // (in, out)
    const tuned = new Float32Array(w0.length);
    for (let i = 0; i < tuned.length; i++) tuned[i] = w0[i] + delta[i];
    matrices.push({ module: m.module, rows: m.inDim, cols: m.outDim, base: w0, tuned, r: m.r, scaling: m.scaling });
  }
  if (!matrices.length) throw new AdapterAnalysisError('the adapter holds no LoRA module');
  const c = peft.config;
  return {
    peftType: (c.peft_type as string) === 'ADALORA' ? 'ADALORA' : 'LORA',
    peft,
    hra: null,
    summary: { r: c.r, alpha: c.lora_alpha, useRslora: Boolean(c.use_rslora) },
    matrices,
  };
}
