/**
 * Typed GPU failures. Every way WebGPU can fail on a person — no `navigator.gpu`, no adapter, a lost
 * device, a validation error inside a step — becomes one of these, so the page can show what happened
 * and how to fix it, and the CLI can print one clear line and exit non-zero.
 */

export type GpuErrorKind = 'unavailable' | 'no-adapter' | 'device-lost' | 'validation' | 'out-of-memory' | 'internal';

export class GpuError extends Error {
  readonly kind: GpuErrorKind;
  constructor(kind: GpuErrorKind, message: string) {
    super(message);
    this.name = 'GpuError';
    this.kind = kind;
  }
}

/** `navigator.gpu` is missing: the browser has no WebGPU, or it is behind a flag. */
export class GpuUnavailableError extends GpuError {
  constructor(message = 'WebGPU is not available in this environment (navigator.gpu is undefined).') {
    super('unavailable', message);
    this.name = 'GpuUnavailableError';
  }
}

/** WebGPU exists but `requestAdapter()` returned null (blocklisted GPU, no driver, software adapter off). */
export class GpuNoAdapterError extends GpuError {
  constructor(message = 'WebGPU is present but no GPU adapter was found (requestAdapter() returned null).') {
    super('no-adapter', message);
    this.name = 'GpuNoAdapterError';
  }
}

export class GpuDeviceLostError extends GpuError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('device-lost', `GPU device lost (${reason}): ${message || 'no message'}`);
    this.name = 'GpuDeviceLostError';
    this.reason = reason;
  }
}

export class GpuValidationError extends GpuError {
  constructor(message: string, kind: 'validation' | 'out-of-memory' | 'internal' = 'validation') {
    super(kind, `GPU ${kind} error: ${message}`);
    this.name = 'GpuValidationError';
  }
}

/** A plain-object form that survives postMessage (Error subclasses lose their fields in structured clone). */
export interface SerializedGpuError {
  name: string;
  kind: GpuErrorKind;
  message: string;
}

export function serializeGpuError(e: unknown): SerializedGpuError {
  if (e instanceof GpuError) return { name: e.name, kind: e.kind, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { name: 'Error', kind: 'internal', message };
}
