// safetensors reader/writer: round trip, F16/BF16/F64 decoding against hand-built bytes, every kind
// of malformed header, and a seeded fuzz run asserting the parser only ever returns or throws
// SafetensorsError.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import {
  SafetensorsError,
  isFloatDtype,
  parseSafetensors,
  toFloat32,
  writeSafetensors,
  type SafetensorsFile,
} from '../../src/engine/io/safetensors';

const enc = new TextEncoder();

/** Assemble a file from header JSON text and a data area; headerLen overrides the length field. */
function build(headerJson: string, data: Uint8Array = new Uint8Array(0), headerLen?: number): Uint8Array {
  const h = enc.encode(headerJson);
  const out = new Uint8Array(8 + h.length + data.length);
  const dv = new DataView(out.buffer);
  const n = headerLen ?? h.length;
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    b[2 * i] = v & 0xff;
    b[2 * i + 1] = v >> 8;
  });
  return b;
}

function expectError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a SafetensorsError').toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(pattern);
}

describe('writeSafetensors / parseSafetensors round trip', () => {
  it('preserves names, shapes, values and metadata; header is 8-byte aligned and sorted', () => {
    const rng = new Rng(7, 'test/safetensors');
    const a = rng.fillNormal(new Float32Array(3 * 5)); // (3, 5)
    const b = rng.fillNormal(new Float32Array(4)); // (4,)
    const scalar = Float32Array.of(3.5); // ()
    const empty = new Float32Array(0); // (0, 7)
    const bytes = writeSafetensors(
      {
        'z.weight': { shape: [3, 5], data: a },
        'a.bias': { shape: [4], data: b },
        '10': { shape: [], data: scalar },
        e: { shape: [0, 7], data: empty },
      },
      { format: 'pt', note: 'héllo' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText.endsWith(' ') || headerText.endsWith('}')).toBe(true);
    // sorted by name with contiguous offsets
    expect(headerText.indexOf('"10"')).toBeLessThan(headerText.indexOf('"a.bias"'));
    expect(headerText.indexOf('"e"')).toBeLessThan(headerText.indexOf('"z.weight"'));

    const f = parseSafetensors(bytes);
    expect(f.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect([...f.tensors.keys()].sort()).toEqual(['10', 'a.bias', 'e', 'z.weight']);
    expect(f.tensors.get('z.weight')!.shape).toEqual([3, 5]);
    expect(f.tensors.get('10')!.shape).toEqual([]);
    expect(Array.from(toFloat32(f.tensors.get('z.weight')!))).toEqual(Array.from(a));
    expect(Array.from(toFloat32(f.tensors.get('a.bias')!))).toEqual(Array.from(b));
    expect(Array.from(toFloat32(f.tensors.get('10')!))).toEqual([3.5]);
    expect(toFloat32(f.tensors.get('e')!).length).toBe(0);
    // the same input gives the same bytes; the array form equals the record form
    const again = writeSafetensors(
      [
        { name: 'e', shape: [0, 7], data: empty },
        { name: 'z.weight', shape: [3, 5], data: a },
        { name: '10', shape: [], data: scalar },
        { name: 'a.bias', shape: [4], data: b },
      ],
      { format: 'pt', note: 'héllo' },
    );
    expect(again).toEqual(bytes);
  });

  it('parses a file that sits at an odd offset inside a larger buffer', () => {
    const inner = writeSafetensors([{ name: 'w', shape: [2], data: Float32Array.of(1.25, -4) }]);
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    const f = parseSafetensors(outer.subarray(3));
    expect(Array.from(toFloat32(f.tensors.get('w')!))).toEqual([1.25, -4]);
  });

  it('rejects bad writer input', () => {
    expect(() => writeSafetensors([{ name: 'w', shape: [3], data: new Float32Array(2) }])).toThrow(SafetensorsError);
    expect(() =>
      writeSafetensors([
        { name: 'w', shape: [1], data: new Float32Array(1) },
        { name: 'w', shape: [1], data: new Float32Array(1) },
      ]),
    ).toThrow(/duplicate/);
    expect(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
  });
});

describe('dtype decoding', () => {
  it('decodes hand-built F16 values, including subnormals, infinities and NaN', () => {
    const halves = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00];
    const f = parseSafetensors(
      build(JSON.stringify({ h: { dtype: 'F16', shape: [2, 5], data_offsets: [0, 20] } }), u16le(halves)),
    );
    const v = toFloat32(f.tensors.get('h')!);
    expect(Array.from(v.subarray(0, 9))).toEqual([
      1,
      -2,
      0.5,
      65504,
      2 ** -24,
      Infinity,
      -Infinity,
      -0,
      Math.fround(0.333251953125),
    ]);
    expect(Number.isNaN(v[9])).toBe(true);
  });

  it('decodes hand-built BF16 values', () => {
    const b = [0x3f80, 0xc000, 0x4049, 0x7f80, 0x0000, 0xbf00, 0x3c23];
    const f = parseSafetensors(
      build(JSON.stringify({ b: { dtype: 'BF16', shape: [7], data_offsets: [0, 14] } }), u16le(b)),
    );
    expect(Array.from(toFloat32(f.tensors.get('b')!))).toEqual([
      1,
      -2,
      3.140625,
      Infinity,
      0,
      -0.5,
      1.2734375 * 2 ** -7,
    ]);
  });

  it('decodes F64 (rounded to float32)', () => {
    const d = new Float64Array([1 / 3, -1e10, 2.5]);
    const f = parseSafetensors(
      build(JSON.stringify({ d: { dtype: 'F64', shape: [3], data_offsets: [0, 24] } }), new Uint8Array(d.buffer)),
    );
    expect(Array.from(toFloat32(f.tensors.get('d')!))).toEqual([Math.fround(1 / 3), Math.fround(-1e10), 2.5]);
  });

  it('recognises BOOL and I64 tensors, which a loader can skip', () => {
    const data = new Uint8Array(3 + 16);
    data.set([1, 0, 1], 0);
    new DataView(data.buffer).setBigInt64(3, -5n, true);
    new DataView(data.buffer).setBigInt64(11, 42n, true);
    const header = JSON.stringify({
      mask: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] },
      ids: { dtype: 'I64', shape: [2], data_offsets: [3, 19] },
    });
    const f = parseSafetensors(build(header, data));
    expect(f.tensors.get('mask')!.dtype).toBe('BOOL');
    expect(Array.from(f.tensors.get('mask')!.bytes)).toEqual([1, 0, 1]);
    const ids = f.tensors.get('ids')!;
    expect(new DataView(ids.bytes.buffer, ids.bytes.byteOffset).getBigInt64(8, true)).toBe(42n);
    expect(isFloatDtype('BOOL')).toBe(false);
    expect(isFloatDtype('I64')).toBe(false);
    expect(isFloatDtype('BF16')).toBe(true);
    const floats = [...f.tensors.values()].filter((t) => isFloatDtype(t.dtype));
    expect(floats).toHaveLength(0);
    expectError(() => toFloat32(ids), /"ids".*I64 is not a float dtype/);
    expectError(() => toFloat32(f.tensors.get('mask')!), /BOOL/);
  });

  it('accepts every dtype the format defines, with the right byte counts', () => {
    const sizes: Record<string, number> = {
      BOOL: 1,
      U8: 1,
      I8: 1,
      I16: 2,
      U16: 2,
      I32: 4,
      U32: 4,
      I64: 8,
      U64: 8,
      F16: 2,
      BF16: 2,
      F32: 4,
      F64: 8,
    };
    let off = 0;
    const entries: Record<string, unknown> = {};
    for (const [dt, size] of Object.entries(sizes)) {
      entries[`t_${dt}`] = { dtype: dt, shape: [2], data_offsets: [off, off + 2 * size] };
      off += 2 * size;
    }
    const f = parseSafetensors(build(JSON.stringify(entries), new Uint8Array(off)));
    expect(f.tensors.size).toBe(13);
    for (const dt of Object.keys(sizes)) expect(f.tensors.get(`t_${dt}`)!.bytes.length).toBe(2 * sizes[dt]);
  });
});

describe('malformed files are rejected with SafetensorsError', () => {
  const good = JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
  const data8 = new Uint8Array(8);

  it('truncated', () => {
    expectError(() => parseSafetensors(new Uint8Array(0)), /0 bytes/);
    expectError(() => parseSafetensors(new Uint8Array(5)), /5 bytes/);
    const full = build(good, data8);
    expectError(() => parseSafetensors(full.subarray(0, 20)), /exceeds/);
    expectError(() => parseSafetensors(full.subarray(0, full.length - 1)), /"w".*run past/);
  });

  it('oversized or impossible header length', () => {
    expectError(() => parseSafetensors(build(good, data8, 2 ** 40)), /exceeds the 16777216-byte limit/);
    expectError(() => parseSafetensors(build(good, data8, 150_000_000)), /limit/);
    expectError(() => parseSafetensors(build(good, data8, 1000)), /exceeds/);
    expectError(() => parseSafetensors(build(good, data8), { maxHeaderBytes: 16 }), /16-byte limit/);
  });

  it('not JSON, not UTF-8, not an object', () => {
    expectError(() => parseSafetensors(build('{"w": {', data8)), /not valid JSON/);
    expectError(() => parseSafetensors(build('', data8)), /not valid JSON/);
    const bad = build(good, data8);
    bad[10] = 0xff;
    expectError(() => parseSafetensors(bad), /UTF-8/);
    expectError(() => parseSafetensors(build('[1,2]')), /must be a JSON object/);
    expectError(() => parseSafetensors(build('null')), /must be a JSON object/);
    expectError(() => parseSafetensors(build('"x"')), /must be a JSON object/);
  });

  it('bad entries', () => {
    const f =
      (e: unknown, data = data8) =>
      () =>
        parseSafetensors(build(JSON.stringify({ w: e }), data));
    expectError(f({ dtype: 'F33', shape: [2], data_offsets: [0, 8] }), /"w": unknown dtype "F33"/);
    expectError(f({ dtype: 7, shape: [2], data_offsets: [0, 8] }), /"w": dtype must be a string/);
    expectError(f({ shape: [2], data_offsets: [0, 8] }), /dtype must be a string/);
    expectError(f({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), /non-negative integer/);
    expectError(f({ dtype: 'F32', shape: [2.5], data_offsets: [0, 8] }), /non-negative integer/);
    expectError(f({ dtype: 'F32', shape: 'x', data_offsets: [0, 8] }), /shape must be an array/);
    expectError(f({ dtype: 'F32', shape: [2], data_offsets: [0] }), /data_offsets/);
    expectError(f({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }), /end before begin/);
    expectError(f({ dtype: 'F32', shape: [2], data_offsets: [0, 4] }), /span 4 bytes but F32\[2\] needs 8/);
    expectError(f({ dtype: 'F32', shape: [3], data_offsets: [0, 12] }), /run past the 8-byte data area/);
    expectError(f({ dtype: 'F32', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 8] }), /too many elements/);
    expectError(f([1, 2]), /"w": entry must be an object/);
    expectError(
      () => parseSafetensors(build(JSON.stringify({ __metadata__: { a: 1 } }))),
      /__metadata__\["a"\] must be a string/,
    );
    expectError(() => parseSafetensors(build(JSON.stringify({ __metadata__: [] }))), /__metadata__ must be an object/);
  });

  it('overlapping and out-of-range offsets', () => {
    const header = JSON.stringify({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    });
    expectError(() => parseSafetensors(build(header, new Uint8Array(12))), /"b" \[4, 12\] overlaps tensor "a"/);
    const outOfRange = JSON.stringify({ a: { dtype: 'U8', shape: [4], data_offsets: [100, 104] } });
    expectError(() => parseSafetensors(build(outOfRange, new Uint8Array(8))), /"a".*run past/);
  });

  it('duplicate keys, which JSON.parse would silently merge', () => {
    const raw =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectError(() => parseSafetensors(build(raw, data8)), /duplicate key "w"/);
    const escaped =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\\u0077":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expectError(() => parseSafetensors(build(escaped, data8)), /duplicate key "w"/);
    const inner = '{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}';
    expectError(() => parseSafetensors(build(inner, data8)), /duplicate key "dtype" in entry "w"/);
    // same key names in different objects are fine
    const ok =
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    expect(parseSafetensors(build(ok, new Uint8Array(2))).tensors.size).toBe(2);
  });
});

describe('fuzz', () => {
  /** Base files covering floats, ints, metadata, scalars and empty tensors. */
  function bases(): Uint8Array[] {
    const rng = new Rng(1, 'test/fuzz-base');
    const w = writeSafetensors(
      {
        'layer.0.w': { shape: [4, 3], data: rng.fillNormal(new Float32Array(12)) },
        'layer.0.b': { shape: [3], data: rng.fillNormal(new Float32Array(3)) },
        s: { shape: [], data: Float32Array.of(2) },
      },
      { format: 'pt' },
    );
    const mixed = build(
      JSON.stringify({
        __metadata__: { k: 'v' },
        h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
        m: { dtype: 'BOOL', shape: [4], data_offsets: [12, 16] },
        i: { dtype: 'I64', shape: [1], data_offsets: [16, 24] },
        e: { dtype: 'F32', shape: [0], data_offsets: [24, 24] },
        d: { dtype: 'F64', shape: [1], data_offsets: [24, 32] },
      }),
      Uint8Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff),
    );
    return [w, mixed];
  }

  const JSON_CHARS = '{}[]",:0123456789-.eE trufalsn\\';
  const DTYPE_SWAPS = ['F32', 'F16', 'BF16', 'F64', 'BOOL', 'I64', 'U8', 'F8_E4M3', 'F4', 'C64', 'F12', '', 'f32'];

  function withHeader(file: Uint8Array, newHeader: string): Uint8Array {
    const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
    return build(newHeader, file.subarray(8 + n));
  }

  function mutate(base: Uint8Array, rng: Rng): Uint8Array {
    const kind = rng.int(4);
    const f = base.slice();
    const dv = new DataView(f.buffer);
    const n = Number(dv.getBigUint64(0, true));
    if (kind === 0) {
      // byte flips, mostly inside the length field and header where the parser makes decisions
      const k = 1 + rng.int(8);
      for (let j = 0; j < k; j++) {
        const pos = rng.uniform() < 0.7 ? rng.int(Math.min(f.length, 8 + n)) : rng.int(f.length);
        f[pos] = rng.int(256);
      }
      return f;
    }
    if (kind === 1) return f.slice(0, rng.int(f.length + 1)); // truncation
    if (kind === 2) {
      // header length edits: small deltas, random u32, huge high word, zero
      const choice = rng.int(4);
      if (choice === 0) dv.setUint32(0, Math.max(0, n + rng.int(33) - 16), true);
      else if (choice === 1) dv.setUint32(0, rng.nextU32(), true);
      else if (choice === 2) dv.setUint32(4, rng.nextU32(), true);
      else dv.setUint32(0, 0, true);
      return f;
    }
    // JSON edits, then a consistent length field so the parser gets past the framing checks
    let h = new TextDecoder().decode(f.subarray(8, 8 + n));
    const edits = 1 + rng.int(3);
    for (let j = 0; j < edits; j++) {
      const op = rng.int(6);
      const p = rng.int(h.length + 1);
      if (op === 0) h = h.slice(0, p) + h.slice(p + 1 + rng.int(4));
      else if (op === 1) h = h.slice(0, p) + JSON_CHARS[rng.int(JSON_CHARS.length)] + h.slice(p);
      else if (op === 2) {
        const nums = [...h.matchAll(/\d+/g)];
        if (nums.length) {
          const m = nums[rng.int(nums.length)];
          const repl = [String(rng.int(64)), String(rng.nextU32()), '-1', '1e400', '0.5', '9007199254740993'][
            rng.int(6)
          ];
          h = h.slice(0, m.index) + repl + h.slice(m.index! + m[0].length);
        }
      } else if (op === 3) {
        const dts = [...h.matchAll(/"dtype":"([A-Z0-9_]*)"/g)];
        if (dts.length) {
          const m = dts[rng.int(dts.length)];
          h =
            h.slice(0, m.index) +
            `"dtype":"${DTYPE_SWAPS[rng.int(DTYPE_SWAPS.length)]}"` +
            h.slice(m.index! + m[0].length);
        }
      } else if (op === 4) {
        // duplicate an entry verbatim (duplicate key) or under a new name (overlap)
        const m = /"([^"]+)":\{"dtype[^}]*\}/.exec(h);
        if (m) h = h.replace('{', `{${rng.uniform() < 0.5 ? m[0] : m[0].replace(`"${m[1]}"`, '"dup"')},`);
      } else {
        const m = [...h.matchAll(/"shape":\[[^\]]*\]/g)];
        if (m.length) {
          const x = m[rng.int(m.length)];
          const shapes = ['[]', '[0]', '[1,1,1]', '[2,-1]', '[null]', '["2"]', '[4294967296,4294967296]'];
          h = h.slice(0, x.index) + `"shape":${shapes[rng.int(shapes.length)]}` + h.slice(x.index! + x[0].length);
        }
      }
    }
    return withHeader(f, h);
  }

  it('3000+ mutated files each parse or throw SafetensorsError, quickly', () => {
    const t0 = performance.now();
    const rng = new Rng(20240607, 'test/fuzz');
    const files = bases();
    let ok = 0,
      rejected = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      const input = mutate(files[i % files.length], rng);
      let parsed: SafetensorsFile;
      try {
        parsed = parseSafetensors(input);
      } catch (e) {
        if (!(e instanceof SafetensorsError))
          throw new Error(`mutation ${i} threw a non-SafetensorsError: ${String(e)}`, { cause: e });
        rejected++;
        continue;
      }
      ok++;
      for (const t of parsed.tensors.values()) {
        // every view lies inside the input buffer
        expect(t.bytes.buffer).toBe(input.buffer);
        expect(t.bytes.byteOffset + t.bytes.length).toBeLessThanOrEqual(input.byteOffset + input.length);
        try {
          const v = toFloat32(t);
          expect(v.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        } catch (e) {
          if (!(e instanceof SafetensorsError))
            throw new Error(`toFloat32 after mutation ${i} threw ${String(e)}`, { cause: e });
        }
      }
    }
    const ms = performance.now() - t0;
    expect(ok + rejected).toBe(N);
    expect(ok).toBeGreaterThan(20); // the fuzzer reaches the success path too
    expect(rejected).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(5000);
  });
});
