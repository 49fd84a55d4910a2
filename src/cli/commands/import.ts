/**
 * `import --peft <dir> [--json]`: read a Hugging Face PEFT adapter (adapter_config.json +
 * adapter_model.safetensors) — LoRA, AdaLoRA (as LoRA factors) or HRA (io/peft-hra.ts, Householder
 * reflections hra_u; with --model, since PEFT's HRA takes nn.Linear families only) — validate it
 * (src/engine/io/peft.ts importPeftAdapter: names, shapes against r and rank_pattern, DoRA magnitudes;
 * with --model, every module against that model) and print what it holds: the modules, their ranks, α,
 * scaling and parameter counts.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { CliError, emit, flag, has, parseArgs } from '../args';
import { importPythonRun } from './python-project';
import { importPythonExperiment } from './experiment';
import { isDirectory } from '../fsio';
import { importPeftAdapter, PeftError, type PeftAdapterImport } from '../../engine/io/peft';
import type { PeftHraImport } from '../../engine/io/peft-hra';
import { checkPeftAgainstModel } from '../../engine/io/peft-check';
import { loadCliModel } from '../model';
import { escapeControl } from '../../engine/strings';
import { peftNamingOf } from '../../engine/model/families';
import type { NamedFile } from '../../engine/io/checkpoint';

export const help =
  'read and validate a PEFT adapter directory (LoRA, AdaLoRA, HRA): --peft <dir> [--model <dir|id> to check it fits] [--json]; or a Python run: --python-run <out dir> [--out file.rankscope.zip]; or a Python experiment: --python-experiment <dir> [--out results dir] [--overwrite]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'import',
    booleans: ['json', 'overwrite'],
    values: ['peft', 'model', 'python-run', 'python-experiment', 'out'],
  });
  // issue 14 item 4: an exported experiment's runs → the results folder of `experiment run --out`
  if (flag(args, 'python-experiment') !== undefined) return importPythonExperiment(args);
  // issue 14: a Python run's out/ folder → a run export the page imports (python-project.ts)
  if (flag(args, 'python-run') !== undefined) return importPythonRun(args);
  const dir = flag(args, 'peft');
  if (!dir) throw new CliError('import needs --peft <dir> (holding adapter_config.json and adapter_model.safetensors)');
  if (!(await isDirectory(dir))) throw new CliError(`--peft ${dir}: not a directory`);
  const files: NamedFile[] = [];
  for (const name of ['adapter_config.json', 'adapter_model.safetensors', 'adapter_model.bin']) {
    try {
      const buf = await fs.readFile(path.join(dir, name));
      files.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CliError(`cannot read ${path.join(dir, name)}: ${(e as Error).message}`);
    }
  }
  // the base model's family names the modules (GPT-2's when no --model is given)
  const modelRef = flag(args, 'model');
  const base = modelRef ? await loadCliModel(modelRef) : null;
  let any: PeftAdapterImport;
  try {
    if (!base && peftTypeOf(files) === 'HRA')
      throw new PeftError(
        "an HRA adapter is for nn.Linear families (PEFT's HRA refuses GPT-2's Conv1D): give --model <dir|id>, the base it applies to",
      );
    any = importPeftAdapter(files, base ? peftNamingOf(base.config) : undefined);
  } catch (e) {
    if (e instanceof PeftError) throw new CliError(`import --peft ${dir}: ${e.message}`);
    throw e;
  }
  // issue 18: every module and shape against the model it will be applied to, one line per problem
  if (base) {
    const model = base;
    const problems = checkPeftAgainstModel(any.kind === 'hra' ? any.hra : any.lora, model.config);
    if (problems.length)
      throw new CliError(`import --peft ${dir}: does not fit model "${model.id}":\n  ${problems.join('\n  ')}`);
  }
  if (any.kind === 'hra') return printHra(any.hra, modelRef!, has(args, 'json'));
  const im = any.lora;
  const c = im.config;
  const modules = im.modules.map((m) => ({
    module: m.module,
    r: m.r,
    alpha: m.alpha,
    scaling: m.scaling,
    inDim: m.inDim,
    outDim: m.outDim,
    dora: m.magnitude !== null,
    params: m.A.length + m.B.length + (m.magnitude?.length ?? 0),
  }));
  const summary = {
    peft_type: c.peft_type,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    r: c.r,
    lora_alpha: c.lora_alpha,
    use_rslora: c.use_rslora,
    use_dora: c.use_dora,
    fan_in_fan_out: c.fan_in_fan_out ?? null,
    target_modules: c.target_modules ?? null,
    rank_pattern: c.rank_pattern ?? {},
    alpha_pattern: c.alpha_pattern ?? {},
    peft_version: c.peft_version ?? null,
    modules,
    checkedAgainst: modelRef ?? null,
    totalParams: modules.reduce((a, m) => a + m.params, 0),
    ignored: im.ignored,
  };
  if (has(args, 'json')) emit({ import: summary });
  else {
    console.log(
      `PEFT ${c.peft_type} adapter for ${summary.base_model_name_or_path ?? '(unnamed base)'}: r = ${c.r}, lora_alpha = ${c.lora_alpha}` +
        `${c.use_rslora ? ', rsLoRA' : ''}${c.use_dora ? ', DoRA' : ''}; ${modules.length} module(s), ${summary.totalParams} parameters`,
    );
    for (const m of modules)
      console.log(
        `  ${m.module.padEnd(20)} r=${m.r} α=${m.alpha} s=${+m.scaling.toFixed(6)}  A [${m.r}, ${m.inDim}]  B [${m.outDim}, ${m.r}]${m.dora ? `  m [${m.outDim}]` : ''}`,
      );
    if (im.ignored.length)
      console.log(`  ignored (not LoRA tensors of GPT-2 linears): ${im.ignored.map(escapeControl).join(', ')}`);
  }
  return 0;
}

/** adapter_config.json's peft_type, or undefined (missing, not JSON: importPeftAdapter says which). */
function peftTypeOf(files: NamedFile[]): unknown {
  const cfg = files.find((f) => f.name === 'adapter_config.json');
  try {
    return cfg ? (JSON.parse(new TextDecoder().decode(cfg.bytes)) as Record<string, unknown>)?.peft_type : undefined;
  } catch {
    return undefined;
  }
}

/** An HRA adapter's summary: r reflections of width in per module (hra_u [in, r]). */
function printHra(im: PeftHraImport, modelRef: string, json: boolean): number {
  const c = im.config;
  const modules = im.modules.map((m) => ({ module: m.module, r: m.r, inDim: m.inDim, params: m.U.length }));
  const summary = {
    peft_type: 'HRA',
    base_model_name_or_path: (c.base_model_name_or_path as string | undefined) ?? null,
    r: modules[0].r,
    apply_GS: c.apply_GS === true,
    target_modules: c.target_modules ?? null,
    modules,
    checkedAgainst: modelRef,
    totalParams: modules.reduce((a, m) => a + m.params, 0),
    ignored: im.ignored,
  };
  if (json) emit({ import: summary });
  else {
    console.log(
      `PEFT HRA adapter for ${summary.base_model_name_or_path ?? '(unnamed base)'}: r = ${summary.r} Householder reflections; ${modules.length} module(s), ${summary.totalParams} parameters`,
    );
    for (const m of modules) console.log(`  ${m.module.padEnd(20)} r=${m.r}  hra_u [${m.inDim}, ${m.r}]`);
    if (im.ignored.length)
      console.log(`  ignored (not hra_u of the model's linears): ${im.ignored.map(escapeControl).join(', ')}`);
  }
  return 0;
}
