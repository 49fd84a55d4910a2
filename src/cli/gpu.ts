/** The CLI's GPU: Dawn in Node. No adapter ⇒ one clear line and a non-zero exit (via CliError). */
import { nodeGpu, NODE_ADAPTER_HELP } from '../gpu/node';
import { GpuError } from '../gpu/errors';
import type { Gpu } from '../gpu/device';
import { CliError } from './args';

export async function cliGpu(): Promise<Gpu> {
  try {
    const gpu = await nodeGpu();
    gpu.onError((e) => {
      // A lost device surfaces as the command's own error (train names the step and the kept
      // checkpoint); printing it here too would make two lines of one failure.
      if (e.kind !== 'device-lost') console.error(`rankscope: ${e.message}`);
    });
    return gpu;
  } catch (e) {
    if (e instanceof GpuError) throw new CliError(`${e.message} ${NODE_ADAPTER_HELP}`);
    throw e;
  }
}
