/**
 * Pipeline cache keyed mechanically by (shader file, entry point, override constants). Kernels never
 * hold pipelines themselves; they ask by key, so the same specialisation is compiled once per device.
 */
import { shaderSource } from './shaders';

export interface KernelKey {
  shader: string;
  entry: string;
  constants?: Record<string, number>;
}

export function kernelKeyString(k: KernelKey): string {
  const c = k.constants
    ? Object.keys(k.constants)
        .sort()
        .map((n) => `${n}=${k.constants![n]}`)
        .join(',')
    : '';
  return `${k.shader}:${k.entry}:${c}`;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private device: GPUDevice;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  module(shader: string): GPUShaderModule {
    let m = this.modules.get(shader);
    if (!m) {
      m = this.device.createShaderModule({ code: shaderSource(shader), label: `shader:${shader}` });
      this.modules.set(shader, m);
    }
    return m;
  }

  get(key: KernelKey): GPUComputePipeline {
    const id = kernelKeyString(key);
    let p = this.pipelines.get(id);
    if (!p) {
      p = this.device.createComputePipeline({
        label: `pipeline:${id}`,
        layout: 'auto',
        compute: { module: this.module(key.shader), entryPoint: key.entry, constants: key.constants },
      });
      this.pipelines.set(id, p);
    }
    return p;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
