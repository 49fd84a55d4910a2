/**
 * `export --run <dir> [--peft <outdir> [--convert]] [--merged <outdir>]`: a trained run directory
 * (`train --out <dir>`: run.json + adapter.safetensors + the merged model) as
 *   --peft    Hugging Face PEFT files (adapter_config.json + adapter_model.safetensors) that
 *             `PeftModel.from_pretrained` loads onto the base model (src/engine/io/peft.ts says which
 *             methods map onto PEFT's LORA type; --convert allows the lossless conversions of PiSSA,
 *             MiLoRA, LoRA-GA and NOLA);
 *   --merged  the full merged checkpoint (config.json + model.safetensors, the run's method.merged()),
 *             which works for every method, full fine-tuning included.
 * A method PEFT would misread is refused with the reason and the alternative; nothing is written for it.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError, emit, flag, has, parseArgs } from '../args';
import { exportPython } from './python-project';
import { isDirectory, readFileBytes, writeFiles } from '../fsio';
import { parseRunConfig, type RunConfig } from '../../engine/config';
import { parseSafetensors, toFloat32 } from '../../engine/io/safetensors';
import { fromHfConfig } from '../../engine/model/config';
import { exportPeft, PeftError, type AdapterState, type PeftNaming } from '../../engine/io/peft';
import { peftNamingOf } from '../../engine/model/families';
import type { NamedFile } from '../../engine/io/checkpoint';

export const help =
  'export a run dir: --run <dir> [--peft <outdir> [--convert]] [--merged <outdir>] [--base-model name] [--python <outdir> [--model dir|hf:…] [--dataset file]] [--json]';

const MERGED_FILES = ['config.json', 'model.safetensors', 'card.json', 'tokenizer.json'];

export interface RunDir {
  config: RunConfig;
  state: AdapterState;
  nLayer: number;
  /** The base model family's PEFT module names (from the run's config.json). */
  naming: PeftNaming;
}

/** run.json + adapter.safetensors (flat tensors, metadata {method, meta}) + config.json of a run directory. */
export async function readRunDir(dir: string): Promise<RunDir> {
  if (!(await isDirectory(dir)))
    throw new CliError(`--run ${dir}: not a directory (expected the --out directory of \`train\`)`);
  const json = (name: string) =>
    readFileBytes(path.join(dir, name)).then((b) => {
      try {
        return JSON.parse(new TextDecoder().decode(b)) as unknown;
      } catch (e) {
        throw new CliError(`${path.join(dir, name)} is not valid JSON: ${(e as Error).message}`);
      }
    });
  let config: RunConfig;
  try {
    config = parseRunConfig(await json('run.json'));
  } catch (e) {
    throw new CliError(`${path.join(dir, 'run.json')}: ${(e as Error).message}`);
  }
  const st = parseSafetensors(await readFileBytes(path.join(dir, 'adapter.safetensors')));
  const tensors = new Map<string, Float32Array>();
  for (const t of st.tensors.values()) tensors.set(t.name, toFloat32(t));
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(st.metadata.meta ?? '{}') as Record<string, unknown>;
  } catch {
    throw new CliError(`${path.join(dir, 'adapter.safetensors')}: its "meta" metadata is not JSON`);
  }
  if (st.metadata.method && st.metadata.method !== config.method.id) {
    throw new CliError(
      `${dir}: adapter.safetensors was written by method "${st.metadata.method}" but run.json says "${config.method.id}"`,
    );
  }
  const arch = fromHfConfig(await json('config.json'));
  return { config, state: { tensors, meta }, nLayer: arch.nLayer, naming: peftNamingOf(arch) };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'export',
    booleans: ['json', 'convert'],
    values: ['run', 'peft', 'merged', 'base-model', 'python', 'model', 'dataset'],
  });
  // issue 14: the run as a transformers + PEFT + accelerate project (python-project.ts)
  if (flag(args, 'python') !== undefined && flag(args, 'run')) return exportPython(args);
  const dir = flag(args, 'run');
  const peftOut = flag(args, 'peft');
  const mergedOut = flag(args, 'merged');
  const json = has(args, 'json');
  if (!dir) throw new CliError('export needs --run <dir> (a directory written by `train --out <dir>`)');
  if (!peftOut && !mergedOut)
    throw new CliError(
      'export needs --peft <outdir> (PEFT adapter files) and/or --merged <outdir> (full merged checkpoint)',
    );
  const rd = await readRunDir(dir);
  const report: Record<string, unknown> = { method: rd.config.method.id, run: dir };
  if (mergedOut) {
    const files: NamedFile[] = [];
    for (const name of MERGED_FILES) {
      try {
        const buf = await fs.readFile(path.join(dir, name));
        files.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || name === 'config.json' || name === 'model.safetensors') {
          throw new CliError(`cannot read ${path.join(dir, name)}: ${(e as Error).message}`);
        }
      }
    }
    await writeFiles(mergedOut, files);
    report.merged = { dir: mergedOut, files: files.map((f) => f.name) };
    if (!json)
      console.log(
        `merged checkpoint (${rd.config.method.id} folded into the base weights) → ${mergedOut}: ${files.map((f) => f.name).join(', ')}`,
      );
  }
  if (peftOut) {
    let ex;
    try {
      ex = exportPeft(rd.config, rd.state, {
        convert: has(args, 'convert'),
        baseModel: flag(args, 'base-model'),
        nLayer: rd.nLayer,
        naming: rd.naming,
      });
    } catch (e) {
      if (e instanceof PeftError)
        throw new CliError(
          `export --peft: ${e.message}${mergedOut ? ` (the merged checkpoint was written to ${mergedOut})` : ''}`,
        );
      throw e;
    }
    await writeFiles(peftOut, ex.files);
    report.peft = { dir: peftOut, files: ex.files.map((f) => f.name), notes: ex.notes, config: ex.config };
    if (!json) {
      for (const n of ex.notes) console.log(n);
      console.log(`PEFT adapter → ${peftOut}: ${ex.files.map((f) => f.name).join(', ')}`);
      console.log(
        `load it with: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(<base>), "${peftOut}")`,
      );
    }
  }
  if (json) emit({ export: report });
  return 0;
}
