/**
 * `analyze --adapter <DIR|hf:owner/name[@rev]> [--base <model dir|hf:…|built-in id>]`: a PEFT LoRA,
 * AdaLoRA or HRA adapter (HRA merged by its own W·H, engine/analysis/adapter.ts) from anywhere, merged into its base model so the usual analysis (spectra, ΔW ranks, intruders, α)
 * runs on it without training. The base defaults to the adapter's `base_model_name_or_path` fetched from
 * the hub. Adapters from the hub are downloaded into the Hugging Face cache like models (the two files
 * only). What cannot be represented is refused in one line: other PEFT types (importPeft), modules or
 * shapes the base does not have (checkPeftAgainstModel), DoRA (its merge needs the column norms of the
 * merged weight, not analysed here yet) — all in engine/analysis/adapter.ts mergeAdapter, shared with the
 * page's adapter analysis.
 *
 * The pair handed to the analysis holds only the adapted matrices, in the engine's weight layout
 * (in, out), W0 from the base and W0 + s·(B·A)ᵀ (adapters/merge.ts loraDelta, the same merge the exporter
 * inverts), so `analyze` reads them with the in-out layout.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError } from './args';
import { isDirectory } from './fsio';
import { loadCliModel } from './model';
import { hubCacheDir, hubToken, HfCacheStore } from './hf-cache';
import { DEFAULT_ENDPOINT, downloadBlob, fetchFileMeta, formatHubRef, HubError, parseHubRef } from '../engine/io/hub';
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from '../engine/io/safetensors';
import type { NamedFile } from '../engine/io/checkpoint';
import { AdapterAnalysisError, mergeAdapter } from '../engine/analysis/adapter';
import { escapeControl } from '../engine/strings';

const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

/** The adapter's files from a folder or from the hub (via the HF cache). */
export async function readAdapter(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<NamedFile[]> {
  if (spec.startsWith('hf:')) {
    const ref = parseHubRef(spec);
    const store = new HfCacheStore(hubCacheDir(env));
    const opts = { endpoint: env.HF_ENDPOINT || DEFAULT_ENDPOINT, token: await hubToken(env) };
    const files: NamedFile[] = [];
    try {
      for (const file of ADAPTER_FILES) {
        const meta = await fetchFileMeta(ref, file, opts);
        await downloadBlob({ repo: ref.repo, revision: meta.commit }, meta, store, opts);
        await store.link(ref.repo, meta.commit, file, meta.etag);
        if (ref.revision !== meta.commit) await store.setRevision(ref.repo, ref.revision, meta.commit);
        files.push({ name: file, bytes: await store.readSnapshotFile(ref.repo, meta.commit, file) });
      }
    } catch (e) {
      if (e instanceof HubError) throw new CliError(`--adapter ${formatHubRef(ref)}: ${e.message}`);
      throw e;
    }
    return files;
  }
  if (!(await isDirectory(spec)))
    throw new CliError(
      `--adapter ${escapeControl(spec)}: not a folder (expected adapter_config.json + adapter_model.safetensors, or hf:owner/name)`,
    );
  const files: NamedFile[] = [];
  for (const name of [...ADAPTER_FILES, 'adapter_model.bin']) {
    try {
      const buf = await fs.readFile(path.join(spec, name));
      files.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CliError(`cannot read ${path.join(spec, name)}: ${(e as Error).message}`);
    }
  }
  return files;
}

/** The base model named by an adapter's config, as a CLI model spec. */
function baseFromConfig(files: NamedFile[], spec: string): string {
  const cfg = files.find((f) => f.name === 'adapter_config.json');
  let name: unknown;
  try {
    name = cfg
      ? (JSON.parse(new TextDecoder().decode(cfg.bytes)) as Record<string, unknown>).base_model_name_or_path
      : null;
  } catch {
    name = null; // importPeft reports the bad JSON
  }
  if (typeof name !== 'string' || name.length === 0)
    throw new CliError(
      `--adapter ${escapeControl(spec)}: adapter_config.json names no base_model_name_or_path; give --base`,
    );
  // a local path (as PEFT records it when saving from a folder) is used as one; else a hub id
  return name.startsWith('/') || name.startsWith('.') ? name : `hf:${name}`;
}

export interface AdapterPair {
  base: SafetensorsFile;
  tuned: SafetensorsFile;
  baseSpec: string;
  modules: number;
}

/** Merge an adapter into its base: the adapted matrices before and after, as two safetensors views. */
export async function adapterPair(adapterSpec: string, baseSpec: string | undefined): Promise<AdapterPair> {
  const files = await readAdapter(adapterSpec);
  const spec = baseSpec ?? baseFromConfig(files, adapterSpec);
  const model = await loadCliModel(spec);
  // the same merge and one-line refusals as the page's adapter analysis (engine/analysis/adapter.ts)
  let merged;
  try {
    merged = mergeAdapter(files, model, spec);
  } catch (e) {
    if (e instanceof AdapterAnalysisError) throw new CliError(`--adapter ${escapeControl(adapterSpec)}: ${e.message}`);
    throw e;
  }
  const base: Record<string, { shape: number[]; data: Float32Array }> = {};
  const tuned: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const m of merged.matrices) {
    base[`${m.module}.weight`] = { shape: [m.rows, m.cols], data: m.base };
    tuned[`${m.module}.weight`] = { shape: [m.rows, m.cols], data: m.tuned };
  }
  return {
    base: parseSafetensors(writeSafetensors(base)),
    tuned: parseSafetensors(writeSafetensors(tuned)),
    baseSpec: spec,
    modules: merged.matrices.length,
  };
}
