/**
 * The files of a run directory (`train --out dir`): the tuned model in HF layout (config.json,
 * model.safetensors, card.json) so eval/sample/analyze read it like any checkpoint, plus run.json (the
 * RunConfig) and adapter.safetensors (the method's own tensors) for `export --peft`. The training
 * checkpoint (checkpoint.safetensors) and status.json are added by `train` (outdir.ts writes the
 * folder as a unit).
 */
import { modelFiles, type ModelCard, type NamedFile } from '../engine/io/checkpoint';
import { writeSafetensors } from '../engine/io/safetensors';
import type { RunConfig } from '../engine/config';
import type { Trainer } from '../engine/train';

export function runJsonFile(config: RunConfig): NamedFile {
  return { name: 'run.json', bytes: new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n') };
}

export async function runFolderFiles(
  trainer: Trainer,
  config: RunConfig,
  summary: Record<string, unknown>,
): Promise<NamedFile[]> {
  const merged = await trainer.method.merged();
  const card: ModelCard = {
    name: config.name ?? `${config.method.id}-${config.dataset.id}`,
    datasetId: config.dataset.id,
    tokensSeen: trainer.step * trainer.B * trainer.T,
    steps: trainer.step,
    seed: config.seed,
    command: `npm run cli -- train ${process.argv
      .slice(2)
      .filter((a) => a !== '--')
      .join(' ')}`,
    valLoss: (summary.valLoss as number | null) ?? NaN,
    method: config.method.id,
  };
  const st = await trainer.method.state();
  const adapterTensors = [...st.tensors.entries()].map(([name, data]) => ({ name, shape: [data.length], data }));
  return [
    ...modelFiles(trainer.model.cfg, merged, card),
    runJsonFile(config),
    {
      name: 'adapter.safetensors',
      bytes: writeSafetensors(adapterTensors, { method: config.method.id, meta: JSON.stringify(st.meta) }),
    },
  ];
}
