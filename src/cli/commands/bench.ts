/**
 * `bench <name>`: benchmarks print one JSON object per line: our figure, the peer's figure measured
 * in this same process on the same adapter, and their ratio. Each benchmark is one file in
 * src/cli/bench/ exporting `run(gpu, argv)`.
 */
import { CliError } from '../args';
import { cliGpu } from '../gpu';
import type { Gpu } from '../../gpu/device';

const benches = import.meta.glob('../bench/*.ts') as Record<
  string,
  () => Promise<{ run(gpu: Gpu, argv: string[]): Promise<void> }>
>;
const names = () =>
  Object.keys(benches)
    .map((p) => p.split('/').pop()!.replace(/\.ts$/, ''))
    .sort();

export const help = `benchmarks vs peers, JSON lines: bench <${names().join('|')}> [--json] [--quick]`;

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = Object.entries(benches).find(([p]) => p.endsWith(`/${name}.ts`));
  if (!name || !entry) throw new CliError(`bench: choose one of ${names().join(', ')}`);
  const gpu = await cliGpu();
  const mod = await entry[1]();
  await mod.run(gpu, rest);
  return 0;
}
