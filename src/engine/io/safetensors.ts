/**
 * safetensors reader and writer (huggingface/safetensors; format summary in
 * shared/reference/peft-spectra-formats.md §5.1).
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the packed little-endian,
 * row-major tensor bytes. Offsets in the header are relative to the start of that data area.
 *
 * What this file is: a defensive parser for untrusted files a person drops on the page (every failure
 * is a `SafetensorsError` that names the tensor and the problem, never a hang or a stray TypeError),
 * a float converter (F32/F16/BF16/F64 -> Float32Array), and an F32 writer for adapter export.
 * What it is not: a model loader (src/engine/model maps tensor names to parameters) and not a
 * streaming reader — the whole file is one Uint8Array, and tensors are zero-copy views into it.
 *
 * Deliberate deviation from the Rust reference `validate()`: gaps between tensors and trailing bytes
 * after the last tensor are tolerated (they cannot corrupt a read); overlaps are not.
 */
import { escapeControl } from '../strings';

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Raw little-endian bytes, a view into the file buffer (no copy). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensor>;
}

/**
 * Bits per element for every dtype the format defines. Sub-byte types (F4, F6) exist upstream; a
 * tensor of them is valid only when numel·bits is a whole number of bytes, as in the Rust crate.
 */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  I16: 16,
  U16: 16,
  I32: 32,
  U32: 32,
  I64: 64,
  U64: 64,
  F16: 16,
  BF16: 16,
  F32: 32,
  F64: 64,
  C64: 64,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

/** Float dtypes `toFloat32` converts. FP8/FP4/C64 are recognised by the parser but not converted. */
const CONVERTIBLE = new Set(['F16', 'BF16', 'F32', 'F64']);

export const SAFETENSORS_DTYPES: readonly string[] = Object.keys(DTYPE_BITS);

/**
 * Headers past this are refused before they are decoded. Upstream allows 100 MB, but decoding and
 * validating a legal 90 MB header took 2.2 s (issue 17); real headers are tens of KB (~100 bytes per
 * tensor), so 16 MiB still admits ~150 000 tensors and keeps a hostile file's cost in milliseconds.
 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** True for the dtypes `toFloat32` can convert (F16, BF16, F32, F64). */
export function isFloatDtype(dtype: string): boolean {
  return CONVERTIBLE.has(dtype);
}

/** Bits per element, or undefined for a dtype the format does not define. */
export function dtypeBits(dtype: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * JSON.parse silently keeps the last of duplicate keys, but a safetensors header with two entries of
 * one name is ambiguous (which bytes are the tensor?) and the Rust reader rejects it. This scans the
 * already-validated JSON text once, keeping a key set per open object; linear time, no recursion.
 */
function findDuplicateKey(json: string): { key: string; path: string[] } | null {
  // stack of open containers: a key set for objects, null for arrays
  const stack: Array<Set<string> | null> = [];
  const path: string[] = [];
  let lastKey: string | null = null;
  let i = 0;
  const n = json.length;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = json.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      const raw = json.slice(start, i + 1);
      i++;
      const top = stack[stack.length - 1];
      if (top) {
        // a string inside an object is a key iff the next non-space char is ':'
        let j = i;
        while (j < n && (json[j] === ' ' || json[j] === '\n' || json[j] === '\r' || json[j] === '\t')) j++;
        if (json[j] === ':') {
          const key = JSON.parse(raw) as string;
          if (top.has(key)) return { key, path: path.slice(0, stack.length - 1) };
          top.add(key);
          lastKey = key;
        }
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length > 0) path[stack.length - 1] = lastKey ?? '';
      stack.push(c === 0x7b ? new Set() : null);
      lastKey = null;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
    i++;
  }
  return null;
}

export interface ParseOptions {
  /** Refuse headers longer than this many bytes (default 100 MB, the upstream limit). */
  maxHeaderBytes?: number;
}

/** Parse a whole safetensors file. Throws `SafetensorsError` on any malformed input. */
export function parseSafetensors(bytes: Uint8Array, opts: ParseOptions = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError('input is not a Uint8Array');
  if (bytes.length < 8) {
    throw new SafetensorsError(`file is ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  // exact as a double up to 2^53; anything with hi >= 2^21 is far beyond every limit anyway
  const headerLen = hi * 4294967296 + lo;
  if (headerLen > maxHeader) {
    throw new SafetensorsError(`header length ${headerLen} exceeds the ${maxHeader}-byte limit`);
  }
  if (headerLen > bytes.length - 8) {
    throw new SafetensorsError(
      `header length ${headerLen} exceeds the ${bytes.length - 8} bytes after the length field (file truncated?)`,
    );
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  let text: string;
  try {
    text = utf8Fatal.decode(bytes.subarray(8, dataStart));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    // V8 quotes the input around the error, newlines and escapes included: keep the message one inert line
    throw new SafetensorsError(`header is not valid JSON: ${escapeControl((e as Error).message)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(`header must be a JSON object, got ${describe(header)}`);
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    const where = dup.path.length > 0 ? ` in entry ${JSON.stringify(dup.path.join('.'))}` : '';
    throw new SafetensorsError(`duplicate key ${JSON.stringify(dup.key)}${where} in header`);
  }

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  const spans: Array<{ name: string; begin: number; end: number }> = [];
  const entries = header as Record<string, unknown>;

  for (const name of Object.keys(entries)) {
    const entry = entries[name];
    if (name === '__metadata__') {
      if (entry === null) continue; // Option<HashMap> upstream: null is "no metadata"
      if (typeof entry !== 'object' || Array.isArray(entry)) {
        throw new SafetensorsError(`__metadata__ must be an object of strings, got ${describe(entry)}`);
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          throw new SafetensorsError(`__metadata__[${JSON.stringify(k)}] must be a string, got ${describe(v)}`);
        }
        metadata[k] = v;
      }
      continue;
    }
    const label = `tensor ${JSON.stringify(name)}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new SafetensorsError(`${label}: entry must be an object, got ${describe(entry)}`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string')
      throw new SafetensorsError(`${label}: dtype must be a string, got ${describe(dtype)}`);
    const bits = dtypeBits(dtype);
    if (bits === undefined) throw new SafetensorsError(`${label}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape)) throw new SafetensorsError(`${label}: shape must be an array, got ${describe(shape)}`);
    let numel = 1;
    for (const d of shape) {
      if (!isNonNegInt(d))
        throw new SafetensorsError(
          `${label}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`,
        );
      numel *= d;
    }
    if (!Number.isSafeInteger(numel * bits)) {
      throw new SafetensorsError(`${label}: shape ${JSON.stringify(shape)} has too many elements`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegInt(offsets[0]) || !isNonNegInt(offsets[1])) {
      throw new SafetensorsError(
        `${label}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets) ?? 'nothing'}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new SafetensorsError(`${label}: data_offsets [${begin}, ${end}] end before begin`);
    if ((numel * bits) % 8 !== 0) {
      throw new SafetensorsError(`${label}: ${numel} elements of ${dtype} is not a whole number of bytes`);
    }
    const nbytes = (numel * bits) / 8;
    if (end - begin !== nbytes) {
      throw new SafetensorsError(
        `${label}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${nbytes}`,
      );
    }
    if (end > dataLen) {
      throw new SafetensorsError(`${label}: data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data area`);
    }
    spans.push({ name, begin, end });
    tensors.set(name, {
      name,
      dtype,
      shape: shape.slice() as number[],
      bytes: bytes.subarray(dataStart + begin, dataStart + end),
    });
  }

  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let k = 1; k < spans.length; k++) {
    const prev = spans[k - 1],
      cur = spans[k];
    if (cur.begin < prev.end) {
      throw new SafetensorsError(
        `tensor ${JSON.stringify(cur.name)} [${cur.begin}, ${cur.end}] overlaps tensor ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}]`,
      );
    }
  }
  return { metadata, tensors };
}

let f16Table: Float32Array | null = null;

/** All 65536 half-precision values as float32 (256 KB, built once): conversion is one lookup. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0)
      t[h] = sign * mant * 2 ** -24; // subnormal: mant·2^-10·2^-14
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function numelOf(t: SafetensorsTensor): number {
  let n = 1;
  for (const d of t.shape) n *= d;
  return n;
}

/**
 * Convert a float tensor to a fresh Float32Array (numel,) in row-major order. F64 is rounded to
 * nearest float32. BOOL, integer, FP8/FP4 and complex tensors throw: a model loader should skip them
 * (check `isFloatDtype` first) rather than guess a meaning.
 */
export function toFloat32(t: SafetensorsTensor): Float32Array {
  if (!isFloatDtype(t.dtype)) {
    throw new SafetensorsError(
      `tensor ${JSON.stringify(t.name)}: dtype ${t.dtype} is not a float dtype this loader converts (F32, F16, BF16, F64)`,
    );
  }
  const bytesPer = DTYPE_BITS[t.dtype] / 8;
  const n = numelOf(t);
  if (t.bytes.length !== n * bytesPer) {
    throw new SafetensorsError(
      `tensor ${JSON.stringify(t.name)}: has ${t.bytes.length} bytes, ${t.dtype}${JSON.stringify(t.shape)} needs ${n * bytesPer}`,
    );
  }
  const out = new Float32Array(n); // (numel,)
  const src = t.bytes;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (t.dtype) {
    case 'F32':
      // copying bytes sidesteps the 4-byte alignment a typed-array view into the file would need
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < n; i++) out[i] = table[src[2 * i] | (src[2 * i + 1] << 8)];
      break;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits left 16
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = ((src[2 * i] | (src[2 * i + 1] << 8)) << 16) >>> 0;
      break;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
  }
  return out;
}

export type WritableTensors =
  | Array<{ name: string; shape: number[]; data: Float32Array }>
  | Record<string, { shape: number[]; data: Float32Array }>;

/**
 * Write F32 tensors as a safetensors file: tensors sorted by name (code-unit order, so output bytes
 * are a pure function of the input), contiguous offsets from 0, header padded with spaces so the data
 * area starts 8-byte aligned (as the upstream writer does).
 */
export function writeSafetensors(tensors: WritableTensors, metadata?: Record<string, string>): Uint8Array {
  const list = Array.isArray(tensors)
    ? tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data }))
    : Object.keys(tensors).map((name) => ({ name, shape: tensors[name].shape, data: tensors[name].data }));
  list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata ${JSON.stringify(k)} must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (let k = 0; k < list.length; k++) {
    const { name, shape, data } = list[k];
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot name a tensor');
    if (k > 0 && list[k - 1].name === name) throw new SafetensorsError(`duplicate tensor name ${JSON.stringify(name)}`);
    if (!(data instanceof Float32Array))
      throw new SafetensorsError(`tensor ${JSON.stringify(name)}: data must be a Float32Array`);
    let numel = 1;
    for (const d of shape) {
      if (!isNonNegInt(d))
        throw new SafetensorsError(`tensor ${JSON.stringify(name)}: bad shape ${JSON.stringify(shape)}`);
      numel *= d;
    }
    if (numel !== data.length) {
      throw new SafetensorsError(
        `tensor ${JSON.stringify(name)}: shape ${JSON.stringify(shape)} has ${numel} elements but data has ${data.length}`,
      );
    }
    const end = offset + 4 * numel;
    // built by hand, not via an object, so integer-like names keep sorted order (JS objects hoist them)
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const headerBytes = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded % 4294967296, true);
  dv.setUint32(4, Math.floor(padded / 4294967296), true);
  out.set(headerBytes, 8);
  out.fill(0x20, 8 + headerBytes.length, 8 + padded);
  let pos = 8 + padded;
  for (const { data } of list) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) dv.setFloat32(pos + 4 * i, data[i], true);
    pos += data.byteLength;
  }
  return out;
}
