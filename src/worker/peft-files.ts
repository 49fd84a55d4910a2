/**
 * Adapter files for a stored run, from its newest checkpoint, through the engine's one PEFT exporter
 * (src/engine/io/peft.ts) so the page and the CLI write identical, PEFT-loadable files. It runs in the
 * worker (the page asks with `peftFiles`): the exporter reads each method's PEFT support from the adapter
 * registry, which the page's main thread does not bundle.
 *   - methods PEFT can load (LoRA, rsLoRA, LoRA+, asymmetric LoRA, DoRA; PiSSA/MiLoRA/LoRA-GA and
 *     NOLA converted losslessly): `adapter_config.json` + `adapter_model.safetensors`;
 *   - full fine-tuning: the tuned model itself, `config.json` + `model.safetensors`;
 *   - methods PEFT would misread (VeRA): a note saying why, instead of files PEFT would misload.
 * The checkpoint carries the method's adapter state (`resume.adapter`) next to the trainables.
 */
import type { RunConfig } from '../engine/config';
import { modelFiles } from '../engine/io/checkpoint';
import { exportPeft, PeftUnsupportedError } from '../engine/io/peft';
import type { ModelConfig } from '../engine/model/config';
import { peftNamingOf } from '../engine/model/families';
import type { ResumeState } from './protocol';

const enc = new TextEncoder();

export function peftFiles(config: RunConfig, arch: ModelConfig, resume: ResumeState): Record<string, Uint8Array> {
  const own = Object.entries(resume.tensors).filter(([n]) => !/^[mv]:/.test(n));
  if (own.length === 0) return {};
  if (config.method.id === 'full') {
    return Object.fromEntries(modelFiles(arch, new Map(own)).map((f) => [f.name, f.bytes]));
  }
  if (!resume.adapter) {
    return {
      'NOT-EXPORTED.txt': enc.encode(
        'This checkpoint carries no adapter state (it was written by an older version); resume the run for a step to refresh it.\n',
      ),
    };
  }
  try {
    const out = exportPeft(
      config,
      { tensors: new Map(Object.entries(resume.adapter.tensors)), meta: resume.adapter.meta },
      // the family's module paths (Llama's model.layers.N…, not GPT-2's transformer.h.N…), as the CLI's export
      { convert: true, nLayer: arch.nLayer, naming: peftNamingOf(arch) },
    );
    const files: Record<string, Uint8Array> = Object.fromEntries(out.files.map((f) => [f.name, f.bytes]));
    if (out.notes.length) files['NOTES.txt'] = enc.encode(out.notes.join('\n') + '\n');
    return files;
  } catch (e) {
    if (e instanceof PeftUnsupportedError)
      return {
        'NOT-EXPORTED.txt': enc.encode(
          `${e.message}\n(In the CLI: npm run cli -- export --run <dir> --merged <out>.)\n`,
        ),
      };
    throw e;
  }
}
