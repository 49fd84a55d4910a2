/**
 * What a GPU adapter is, as plain data (no WebGPU objects, no imports): the worker sends it to the page
 * through the protocol (src/worker/gpu-info.ts re-exports it for src/ui, which never imports src/gpu).
 */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** A name a person can recognise, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)" or "nvidia ampere". */
export function adapterName(d: AdapterDescription): string {
  return d.description || [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || 'unknown adapter';
}
