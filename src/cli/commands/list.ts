/** `list`: the built-in models and datasets, with their ids. */
import { emit, has, parseArgs } from '../args';
import { listBuiltinModels } from '../../engine/io/checkpoint';
import { listDatasets } from '../../engine/data/datasets';
import { listMethods } from '../../engine/adapters/registry';

export const help = 'list built-in models, datasets and adapter methods (--json)';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'list', booleans: ['json'] });
  const models = await listBuiltinModels();
  const datasets = listDatasets();
  const methods = listMethods().map((m) => ({
    id: m.id,
    label: m.label,
    paper: m.paper,
    params: m.params.map((p) => p.key),
  }));
  if (has(args, 'json')) {
    emit({ models, datasets, methods });
    return 0;
  }
  console.log('models:');
  for (const m of models) console.log(`  ${m.id.padEnd(14)} ${m.label} — ${m.description}`);
  console.log('datasets:');
  for (const d of datasets) console.log(`  ${d.id.padEnd(14)} ${d.label} (${d.kind})`);
  console.log('methods:');
  for (const m of methods) console.log(`  ${m.id.padEnd(14)} ${m.label}`);
  return 0;
}
