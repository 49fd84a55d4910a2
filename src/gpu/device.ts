/**
 * The one GPU context of a worker or a Node process: adapter + device acquired with the adapter's
 * maximum buffer limits, the buffer pool, the pipeline cache, tensors, a step encoder and readback.
 * No model knowledge lives here (see ARCHITECTURE.md, "GPU plumbing in one place").
 */
import { GpuDeviceLostError, GpuError, GpuNoAdapterError, GpuUnavailableError, GpuValidationError } from './errors';
import { BufferPool, type MemoryCategory } from './pool';
import { PipelineCache, type KernelKey } from './pipelines';
import { shaderSource } from './shaders';
import { checkUniformLayout, type WordKind } from './uniform-layout';
import { adapterName, type AdapterDescription } from './adapter-info';
import { gridLimit } from './grid';

/** Float32 tensor (or int32 ids) living in one GPU buffer. `shape` is row-major. */
export interface GpuTensor {
  buffer: GPUBuffer;
  shape: number[];
  size: number; // elements
  label: string;
  category: MemoryCategory;
}

export const STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC, numerically (GPUBufferUsage is absent before a device exists in some hosts)
const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST
const MAP_READ_DST = 0x01 | 0x08; // MAP_READ | COPY_DST

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const limits: Record<string, number> = {};
  // GPUSupportedLimits exposes its fields as prototype getters: walk them explicitly.
  for (const key of LIMIT_NAMES) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...adapter.features].sort(),
    limits,
  };
}

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'minStorageBufferOffsetAlignment',
] as const;

/** Limits we raise to the adapter's maximum: big weights and long sequences need them. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

export interface AcquireOptions {
  /** The GPU entry point: `navigator.gpu` in a browser/worker, `nodeGpu()` in Node. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
}

export async function acquireGpu(opts: AcquireOptions = {}): Promise<Gpu> {
  const gpu = opts.gpu ?? (typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined);
  if (!gpu) throw new GpuUnavailableError();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new GpuNoAdapterError(`requestAdapter() failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new GpuNoAdapterError();
  const description = describeAdapter(adapter);
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) {
    const v = description.limits[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'rankscope-device' });
  } catch (e) {
    throw new GpuNoAdapterError(`requestDevice() failed: ${(e as Error).message}`);
  }
  return new Gpu(adapter, device, description, wgslFeaturesOf(gpu));
}

/** WGSL language extensions of this implementation (e.g. 'unrestricted_pointer_parameters'); empty when not reported. */
function wgslFeaturesOf(gpu: GPU): ReadonlySet<string> {
  const f = (gpu as unknown as { wgslLanguageFeatures?: Iterable<string> }).wgslLanguageFeatures;
  return new Set(f ? [...f] : []);
}

export type GpuErrorListener = (e: GpuError) => void;

export class Gpu {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly description: AdapterDescription;
  /** WGSL language extensions the shader compiler accepts (kernels that need one check it here). */
  readonly wgslFeatures: ReadonlySet<string>;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /** First asynchronous failure (device lost, uncaptured validation error); steps check it. */
  failure: GpuError | null = null;
  private listeners = new Set<GpuErrorListener>();
  private uniforms = new Map<string, GPUBuffer>();
  private destroyed = false;

  constructor(
    adapter: GPUAdapter,
    device: GPUDevice,
    description: AdapterDescription,
    wgslFeatures: ReadonlySet<string> = new Set(),
  ) {
    this.adapter = adapter;
    this.device = device;
    this.description = description;
    this.wgslFeatures = wgslFeatures;
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    device.lost.then((info) => {
      if (this.destroyed && info.reason === 'destroyed') return;
      this.fail(new GpuDeviceLostError(info.reason ?? 'unknown', info.message));
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      const err = ev.error;
      const kind =
        err instanceof GPUOutOfMemoryError
          ? 'out-of-memory'
          : err instanceof GPUInternalError
            ? 'internal'
            : 'validation';
      this.fail(new GpuValidationError(err.message, kind));
    };
  }

  get name(): string {
    return adapterName(this.description);
  }

  onError(listener: GpuErrorListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private fail(e: GpuError): void {
    if (!this.failure) this.failure = e;
    for (const l of this.listeners) l(e);
  }

  /** Throw the first recorded asynchronous GPU failure, if any. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  // ---- tensors -------------------------------------------------------------------------------

  tensor(shape: number[], label: string, category: MemoryCategory = 'scratch'): GpuTensor {
    const size = numel(shape);
    const buffer = this.pool.acquire(size * 4, STORAGE, label, category);
    return { buffer, shape: [...shape], size, label, category };
  }

  /** Zero-filled tensor. Pooled buffers may hold old data, so zero explicitly. */
  zeros(shape: number[], label: string, category: MemoryCategory = 'scratch'): GpuTensor {
    const t = this.tensor(shape, label, category);
    const enc = this.device.createCommandEncoder({ label: `zero:${label}` });
    enc.clearBuffer(t.buffer);
    this.device.queue.submit([enc.finish()]);
    return t;
  }

  upload(
    data: Float32Array | Int32Array | Uint32Array,
    shape: number[],
    label: string,
    category: MemoryCategory = 'scratch',
  ): GpuTensor {
    if (data.length !== numel(shape)) throw new Error(`upload ${label}: ${data.length} values for shape [${shape}]`);
    const t = this.tensor(shape, label, category);
    this.write(t, data);
    return t;
  }

  write(t: GpuTensor, data: Float32Array | Int32Array | Uint32Array, offsetElements = 0): void {
    this.device.queue.writeBuffer(t.buffer, offsetElements * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  release(t: GpuTensor): void {
    this.pool.release(t.buffer);
  }

  /** Read a tensor (or a prefix of it) back to the CPU. Use sparingly: every k steps, not every step. */
  async read(t: GpuTensor, count = t.size, offsetElements = 0): Promise<Float32Array> {
    const bytes = await this.readBytes(t.buffer, offsetElements * 4, count * 4);
    return new Float32Array(bytes);
  }

  async readInt(t: GpuTensor, count = t.size): Promise<Int32Array> {
    return new Int32Array(await this.readBytes(t.buffer, 0, count * 4));
  }

  async readBytes(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    const padded = Math.ceil(size / 4) * 4;
    const staging = this.pool.acquire(padded, MAP_READ_DST, `readback:${buffer.label}`, 'scratch');
    const enc = this.device.createCommandEncoder({ label: `readback:${buffer.label}` });
    enc.copyBufferToBuffer(buffer, offset, staging, 0, padded);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      this.throwIfFailed();
      throw new GpuValidationError(`readback of ${buffer.label} failed: ${(e as Error).message}`);
    }
    const copy = staging.getMappedRange(0, padded).slice(0, size);
    staging.unmap();
    this.pool.release(staging);
    this.throwIfFailed();
    return copy;
  }

  // ---- uniforms ------------------------------------------------------------------------------

  /**
   * A uniform buffer holding these 32-bit words. Shapes repeat every step, so buffers are cached by
   * content: after the first step no uniform is written at all. Bounded to stay small when scalars
   * such as the learning rate change each step.
   */
  uniform(words: ArrayBuffer): GPUBuffer {
    const u32 = new Uint32Array(words);
    const key = u32.join(',');
    let buf = this.uniforms.get(key);
    if (buf) {
      // refresh LRU position
      this.uniforms.delete(key);
      this.uniforms.set(key, buf);
      return buf;
    }
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    buf = this.device.createBuffer({ size, usage: UNIFORM, label: `uniform[${u32.length}]` });
    this.device.queue.writeBuffer(buf, 0, words);
    this.uniforms.set(key, buf);
    if (this.uniforms.size > 16384) {
      const oldest = this.uniforms.keys().next().value as string;
      // Not destroyed: an encoder not yet submitted may still reference it; GC reclaims it.
      this.uniforms.delete(oldest);
    }
    return buf;
  }

  // ---- encoding ------------------------------------------------------------------------------

  encoder(label: string): StepEncoder {
    return new StepEncoder(this, label);
  }

  pipeline(key: KernelKey): GPUComputePipeline {
    return this.pipelines.get(key);
  }

  /** Wait until the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  destroy(): void {
    this.destroyed = true;
    this.pool.trim();
    this.device.destroy();
  }
}

/** Uniform parameter block builder: u32, i32 and f32 words in declaration order. */
/** Word kinds of each uniform block `Params` built, for the layout check (uniform-layout.ts). */
const builtKinds = new WeakMap<ArrayBuffer, WordKind[]>();
let uniformLayoutCheck = false;
const checkedLayouts = new Set<string>();

/** Tests turn this on (tests/setup.ts): every dispatch's uniform words are checked against its WGSL struct. */
export function setUniformLayoutCheck(on: boolean): void {
  uniformLayoutCheck = on;
}

function checkDispatchUniforms(d: Dispatch): void {
  const kinds = d.params && builtKinds.get(d.params);
  if (!kinds) return;
  const key = `${d.kernel.shader}:${d.kernel.entry}:${kinds.join('')}`;
  if (checkedLayouts.has(key)) return;
  const problem = checkUniformLayout(shaderSource(d.kernel.shader), d.kernel.shader, d.kernel.entry, kinds);
  if (problem) throw new Error(`uniform layout mismatch: ${problem}`);
  checkedLayouts.add(key);
}

export class Params {
  private words: number[] = [];
  private kinds: WordKind[] = [];
  u32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x >>> 0);
      this.kinds.push('u');
    }
    return this;
  }
  i32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x | 0);
      this.kinds.push('i');
    }
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x);
      this.kinds.push('f');
    }
    return this;
  }
  build(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf),
      i = new Int32Array(buf),
      f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      if (this.kinds[k] === 'u') u[k] = w;
      else if (this.kinds[k] === 'i') i[k] = w;
      else f[k] = w;
    });
    builtKinds.set(buf, [...this.kinds]);
    return buf;
  }
}

export interface Dispatch {
  kernel: KernelKey;
  /** Storage buffers by binding index (binding 0 is the uniform block when `params` is given). */
  bindings: Record<number, GPUBuffer | GpuTensor>;
  params?: ArrayBuffer;
  workgroups: [number, number?, number?];
  label?: string;
}

/**
 * Many dispatches, one submit. A training step records every kernel into one compute pass and
 * submits once (llm.c's "one step, one launch sequence"); readbacks happen outside.
 */
export class StepEncoder {
  readonly gpu: Gpu;
  readonly label: string;
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  dispatchCount = 0;

  constructor(gpu: Gpu, label: string) {
    this.gpu = gpu;
    this.label = label;
    this.encoder = gpu.device.createCommandEncoder({ label });
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.encoder.beginComputePass({ label: `${this.label}:pass` });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = gridLimit(this.gpu);
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new Error(
        `${d.kernel.shader}:${d.kernel.entry}: workgroup grid [${x},${y},${z}] exceeds ${maxDim} per dimension`,
      );
    }
    if (uniformLayoutCheck) checkDispatchUniforms(d);
    const pipeline = this.gpu.pipeline(d.kernel);
    const entries: GPUBindGroupEntry[] = [];
    if (d.params) entries.push({ binding: 0, resource: { buffer: this.gpu.uniform(d.params) } });
    for (const [k, v] of Object.entries(d.bindings)) {
      const buffer = 'shape' in v ? v.buffer : v;
      entries.push({ binding: Number(k), resource: { buffer } });
    }
    const label = d.label ?? `${d.kernel.shader}:${d.kernel.entry}`;
    const bindGroup = this.gpu.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  copy(src: GpuTensor, dst: GpuTensor, elements = src.size, srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, elements * 4);
  }

  clear(t: GpuTensor): void {
    this.endPass();
    this.encoder.clearBuffer(t.buffer);
  }

  submit(): void {
    this.endPass();
    this.gpu.device.queue.submit([this.encoder.finish()]);
  }
}
