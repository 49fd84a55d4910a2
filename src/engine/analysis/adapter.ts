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
 */
import type { NamedFile } from '../io/checkpoint';
import { importPeft, PeftError, type PeftImport } from '../io/peft';
import { loraDelta } from '../adapters/merge';
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
  scaling: number;
}

export interface MergedAdapter {
  peft: PeftImport;
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
  let peft: PeftImport;
  try {
    peft = importPeft(files, peftNamingOf(base.config));
  } catch (e) {
    if (e instanceof PeftError) throw new AdapterAnalysisError(e.message);
    throw e;
  }
  const problems = checkPeftAgainstModel(peft, base.config);
  if (problems.length)
    throw new AdapterAnalysisError(
      `the adapter does not fit the base ${escapeControl(baseName)}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    );
  const dora = peft.modules.filter((m) => m.magnitude !== null);
  if (dora.length)
    throw new AdapterAnalysisError(
      `DoRA (use_dora) adapters are not analysed yet (${dora.length} modules): its merge needs the merged weight's column norms; a plain LoRA adapter is`,
    );
  const matrices: AdapterPairMatrix[] = [];
  for (const m of peft.modules) {
    const w0 = base.weights.get(`${m.module}.weight`);
    if (!w0 || w0.length !== m.inDim * m.outDim)
      throw new AdapterAnalysisError(
        `the base ${escapeControl(baseName)} has no ${m.inDim}×${m.outDim} matrix ${escapeControl(m.module)}.weight`,
      );
    const delta = loraDelta(m.A, m.B, m.r, m.inDim, m.outDim, m.scaling); // (in, out)
    const tuned = new Float32Array(w0.length);
    for (let i = 0; i < tuned.length; i++) tuned[i] = w0[i] + delta[i];
    matrices.push({ module: m.module, rows: m.inDim, cols: m.outDim, base: w0, tuned, r: m.r, scaling: m.scaling });
  }
  if (!matrices.length) throw new AdapterAnalysisError('the adapter holds no LoRA module');
  return { peft, matrices };
}
