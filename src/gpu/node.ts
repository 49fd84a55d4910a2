/**
 * WebGPU for Node through Dawn (the `webgpu` npm package). Used by the CLI and the tests only; the
 * page never imports this file.
 *
 * The object returned by `create()` must stay referenced for the life of the process: if only the
 * adapter and device are kept, the instance can be garbage-collected and Dawn segfaults mid-run
 * (ENVIRONMENT.md, "Pitfalls seen"). We pin it in a module-level variable.
 */
import { acquireGpu, type Gpu } from './device';

let pinnedInstance: GPU | null = null;

export async function nodeGpuEntry(): Promise<GPU> {
  if (pinnedInstance) return pinnedInstance;
  const mod = (await import('webgpu')) as unknown as {
    create: (opts: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  // WebGPU enums (GPUBufferUsage, GPUMapMode, ...) and error classes are globals in a browser.
  Object.assign(globalThis, mod.globals);
  pinnedInstance = mod.create([]);
  return pinnedInstance;
}

let shared: Promise<Gpu> | null = null;

/** One shared device per Node process (tests and CLI). */
export function nodeGpu(): Promise<Gpu> {
  if (!shared) shared = nodeGpuEntry().then((gpu) => acquireGpu({ gpu }));
  return shared;
}

/**
 * How to get a working adapter on this machine, for the one-line failure message the CLI and the
 * tests print when none is found.
 */
export const NODE_ADAPTER_HELP =
  'No WebGPU adapter in Node. On Debian 12 install Mesa lavapipe >= 23 from bookworm-backports: ' +
  "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && " +
  "apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers (Debian 12's own 22.3 is rejected by Dawn). " +
  'With a real GPU, install its Vulkan driver and loader (libvulkan1).';
