/**
 * The vocabulary-sized parameters of a model — the token embedding and the output head (tied: the same
 * table) — held as `VocabTable` row shards (vocab.ts), so a matrix larger than one storage binding
 * (GPT-2's 50 257 × 768 = 147 MiB on llvmpipe's 128 MiB) still loads, trains and generates. Every family
 * keeps them here and always goes through vocab.ts (embedTokens, headLoss, logitsRows): when the matrix
 * fits one binding it is one shard and the model's `params` hold it under its own name, exactly as before.
 *
 * Part names (the seam's `parts(name)`): a one-shard matrix is the parameter's own name; a sharded one is
 * `name#0`, `name#1`, … (row blocks of `rowsPerShard` rows). `params` and `grads` hold the parts, so
 * AdamW, gradient clipping, zeroing and the non-finite scan see every shard; `readWeights`/`writeWeights`
 * and checkpoints still speak whole (V, C) tensors.
 */
import type { Gpu, GpuTensor } from '../../gpu/device';
import { logitsRows, VocabTable } from './vocab';
import type { ParamPart, ParamSpec } from './language-model';

/** Options a model takes at creation (tests force small shards to compare against the unsharded run). */
export interface ModelOptions {
  /** Cap on the rows of one vocabulary shard (default: as many as one binding holds). */
  maxShardRows?: number;
}

export const partName = (name: string, i: number, count: number) => (count === 1 ? name : `${name}#${i}`);

export class VocabParams {
  private readonly tables = new Map<string, VocabTable>();
  private readonly dtables = new Map<string, VocabTable>();

  /** embed: the embedding's parameter name; head: the untied head's name (null = tied to embed). */
  constructor(
    private readonly gpu: Gpu,
    private readonly params: Map<string, GpuTensor>,
    private readonly grads: Map<string, GpuTensor>,
    readonly embedName: string,
    readonly headName: string | null,
  ) {}

  /** True for the (V, C) parameters this object holds. */
  has(name: string): boolean {
    return name === this.embedName || name === this.headName;
  }

  /** Upload one of them (spec shape (V, C)) into row shards and list its parts in `params`. */
  load(spec: ParamSpec, data: Float32Array, opts: ModelOptions): void {
    const [V, C] = spec.shape;
    const t = new VocabTable(this.gpu, V, C, spec.name, 'weights', opts);
    t.upload(data);
    this.tables.set(spec.name, t);
    t.shards.forEach((s, i) => this.params.set(partName(spec.name, i, t.shards.length), s.tensor));
  }

  get embed(): VocabTable {
    return this.tables.get(this.embedName)!;
  }

  get head(): VocabTable {
    return this.tables.get(this.headName ?? this.embedName)!;
  }

  get dEmbed(): VocabTable | undefined {
    return this.dtables.get(this.embedName);
  }

  get dHead(): VocabTable | undefined {
    return this.dtables.get(this.headName ?? this.embedName);
  }

  /** Zeroed gradients for `name`, sharded like it, listed by part in `grads`. */
  setTrainable(name: string): void {
    const d = this.tables.get(name)!.like(`grad:${name}`, 'gradients');
    this.dtables.set(name, d);
    d.shards.forEach((s, i) => this.grads.set(partName(name, i, d.shards.length), s.tensor));
  }

  /** Forget the gradient tables (the model releases their buffers through `grads`). */
  clearGrads(): void {
    this.dtables.clear();
  }

  parts(name: string): ParamPart[] {
    const t = this.tables.get(name)!;
    const d = this.dtables.get(name);
    return t.shards.map((s, i) => ({
      name: partName(name, i, t.shards.length),
      param: s.tensor,
      grad: d ? d.shards[i].tensor : null,
    }));
  }

  read(name: string): Promise<Float32Array> {
    return this.tables.get(name)!.read();
  }

  write(name: string, data: Float32Array): void {
    this.tables.get(name)!.upload(data);
  }

  /** The error for `param(name)` on a sharded matrix: callers that bind one buffer must use parts(). */
  shardedError(name: string): Error {
    const t = this.tables.get(name)!;
    return new Error(
      `${name} is held in ${t.shards.length} row shards of ${t.rowsPerShard} rows (it exceeds one storage binding): use parts("${name}")`,
    );
  }
}

/**
 * Logits of rows row0 … row0+M−1 of the final hidden states x (N, C) through the head, read back
 * (M, V): the generation hook and tests. Recorded and submitted on its own encoder after the forward.
 */
export async function readLogitRows(
  gpu: Gpu,
  x: GpuTensor,
  head: VocabTable,
  row0: number,
  M: number,
): Promise<Float32Array> {
  const out = gpu.tensor([M, head.V], 'logits (read)', 'activations');
  try {
    const enc = gpu.encoder('read logits');
    logitsRows(enc, { x, W: head, out, M, xOffset: row0 * head.C, label: 'lm_head (read)' });
    enc.submit();
    return await gpu.read(out, M * head.V);
  } finally {
    gpu.release(out);
  }
}
