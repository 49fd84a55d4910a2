/** `info`: the adapter this machine's WebGPU gives us, and its limits. */
import { emit, has, parseArgs } from '../args';
import { cliGpu } from '../gpu';
import { adapterName } from '../../gpu/adapter-info';

export const help = 'describe the WebGPU adapter and its limits (--json)';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'info', booleans: ['json'] });
  const gpu = await cliGpu();
  const d = gpu.description;
  if (has(args, 'json')) {
    emit({ adapter: adapterName(d), ...d, deviceLimits: pickLimits(gpu.device.limits, Object.keys(d.limits)) });
  } else {
    console.log(`adapter: ${adapterName(d)}`);
    console.log(`vendor: ${d.vendor || '-'}  architecture: ${d.architecture || '-'}  fallback: ${d.isFallbackAdapter}`);
    console.log(`features: ${d.features.join(', ')}`);
    for (const [k, v] of Object.entries(d.limits)) console.log(`  ${k.padEnd(36)} ${v}`);
  }
  return 0;
}

function pickLimits(limits: GPUSupportedLimits, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (limits as unknown as Record<string, number>)[k];
  return out;
}
