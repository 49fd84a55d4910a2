/**
 * Buffer pool keyed by (size, usage). Training allocates the same shapes every step; reusing buffers
 * keeps allocation out of the hot path and makes memory accounting exact (we know every live byte).
 */

export type MemoryCategory = 'weights' | 'gradients' | 'optimizer' | 'activations' | 'adapter' | 'analysis' | 'scratch';

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private live = new Map<GPUBuffer, { category: MemoryCategory; bytes: number }>();
  private device: GPUDevice;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Sizes are rounded up to 16 bytes: storage bindings need 4-byte multiples, vec4 loads need 16. */
  static roundSize(bytes: number): number {
    return Math.max(16, Math.ceil(bytes / 16) * 16);
  }

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string, category: MemoryCategory = 'scratch'): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    const key = `${size}:${usage}`;
    const list = this.free.get(key);
    let buffer = list?.pop();
    if (buffer) {
      buffer.label = label;
    } else {
      buffer = this.device.createBuffer({ size, usage, label });
    }
    this.live.set(buffer, { category, bytes: size });
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const info = this.live.get(buffer);
    if (!info) return;
    this.live.delete(buffer);
    const key = `${buffer.size}:${buffer.usage}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
  }

  /** Destroy every pooled (free) buffer, e.g. between runs. Live buffers stay. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }

  /** Live bytes by category: the numbers behind the memory panel and the CLI summary. */
  usage(): Record<MemoryCategory, number> & { total: number } {
    const out = {
      weights: 0,
      gradients: 0,
      optimizer: 0,
      activations: 0,
      adapter: 0,
      analysis: 0,
      scratch: 0,
      total: 0,
    };
    for (const { category, bytes } of this.live.values()) {
      out[category] += bytes;
      out.total += bytes;
    }
    return out;
  }
}
