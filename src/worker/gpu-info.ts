/**
 * The plain GPU facts the worker protocol carries to the page: the adapter description and its display
 * name, and GPU errors in their postMessage-safe form. src/ui imports these from here, never from src/gpu
 * (the layering rule, eslint-rules/layers.js); both sources are leaf modules of plain data, so the main
 * thread bundles no WebGPU code through them.
 */
export { adapterName, type AdapterDescription } from '../gpu/adapter-info';
export type { GpuErrorKind, SerializedGpuError } from '../gpu/errors';
