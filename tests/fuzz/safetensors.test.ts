/**
 * Fuzzing the safetensors reader (single files and sharded index.json) — issue 17 item 4. Mutations of
 * valid files (byte edits of the header length, header JSON and data; structure-aware edits of the
 * header's entries) must end either accepted — every tensor view inside the file with numel·bits/8
 * bytes, floats convertible — or rejected with SafetensorsError / ModelDirError and one line. And the
 * slow case the issue measured: a legal 90 MB header is refused by the size cap in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import {
  parseSafetensors,
  SafetensorsError,
  toFloat32,
  writeSafetensors,
  dtypeBits,
} from '../../src/engine/io/safetensors';
import { ModelDirError, parseShardIndex, readModelDir } from '../../src/engine/io/hf-model';
import { escapeControl } from '../../src/engine/strings';
import { enc, expectClean, fuzz, jsonBytes, mutateBytes, mutateJson, type Prng } from './harness';

const CASES = 11_000;

function seedFile(rng: Prng): Uint8Array {
  const n = 1 + rng.int(4);
  const tensors = Array.from({ length: n }, (_, i) => {
    const shape = rng.pick([[3], [2, 3], [1, 1, 4], [0], []]);
    const numel = shape.reduce((a, b) => a * b, 1);
    return { name: `h.${i}.w`, shape, data: new Float32Array(numel).map((_, j) => j - 1.5) };
  });
  return writeSafetensors(tensors, rng.chance(0.5) ? { format: 'pt' } : undefined);
}

/** A header rebuilt from a mutated JSON object (dtype, shape and offset edits), data kept. */
function headerEdit(rng: Prng, file: Uint8Array): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const hl = dv.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + hl))) as Record<string, unknown>;
  const h = rng.chance(0.3)
    ? (() => {
        const k = rng.pick(Object.keys(header));
        const e = header[k] as Record<string, unknown>;
        if (e && typeof e === 'object')
          e.dtype = rng.pick(['F16', 'BF16', 'F64', 'I64', 'U8', 'F4', 'F6_E2M3', 'BOOL', 'Q4', 'f32', 'C64']);
        return header;
      })()
    : mutateJson(rng, header);
  const text = jsonBytes(rng, h, 0.1);
  const out = new Uint8Array(8 + text.length + (file.length - 8 - hl));
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(file.subarray(8 + hl), 8 + text.length);
  return out;
}

describe('fuzz: safetensors', () => {
  it(`${CASES} mutated single files: accepted-and-valid or SafetensorsError, none over 1 s`, async () => {
    const rep = await fuzz({
      name: 'safetensors',
      cases: CASES,
      gen: (rng) => {
        const f = seedFile(rng);
        const r = rng.int(10);
        return r < 4 ? headerEdit(rng, f) : r < 9 ? mutateBytes(rng, f) : f;
      },
      run: (bytes) => {
        const st = parseSafetensors(bytes);
        for (const t of st.tensors.values()) if (['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) toFloat32(t);
        return { st, size: bytes.length };
      },
      typed: (e) => e instanceof SafetensorsError,
      valid: ({ st, size }) => {
        for (const t of st.tensors.values()) {
          const bits = dtypeBits(t.dtype);
          if (bits === undefined) return `${t.name}: unknown dtype ${t.dtype} accepted`;
          const numel = t.shape.reduce((a, b) => a * b, 1);
          if ((numel * bits) / 8 !== t.bytes.length) return `${t.name}: ${t.bytes.length} bytes for [${t.shape}]`;
          if (t.bytes.byteOffset + t.bytes.length > size + t.bytes.byteOffset) return `${t.name}: view past the file`;
        }
        return null;
      },
    });
    expectClean(rep);
  });

  it(`${CASES} mutated sharded index.json files (and the shards they name): accepted or ModelDirError`, async () => {
    const shard = writeSafetensors([{ name: 'h.0.w', shape: [2], data: new Float32Array([1, 2]) }]);
    const index = { metadata: { total_size: 8 }, weight_map: { 'h.0.w': 'model-00001-of-00001.safetensors' } };
    const rep = await fuzz({
      name: 'safetensors index',
      cases: CASES,
      gen: (rng) => (rng.chance(0.9) ? jsonBytes(rng, mutateJson(rng, index)) : jsonBytes(rng, index)),
      run: (bytes) => {
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder().decode(bytes));
        } catch (e) {
          throw new ModelDirError(
            `model.safetensors.index.json is not valid JSON: ${escapeControl((e as Error).message)}`,
          );
        }
        const idx = parseShardIndex(json);
        // a directory with the index and the one shard we have: the reader resolves (or names what is missing)
        readModelDir([
          { name: 'config.json', bytes: enc.encode('{"model_type":"gpt2"}') },
          { name: 'model.safetensors.index.json', bytes },
          { name: 'model-00001-of-00001.safetensors', bytes: shard },
        ]);
        return idx;
      },
      typed: (e) => e instanceof ModelDirError || e instanceof SafetensorsError,
      valid: (idx) =>
        idx.shards.every((s) => !s.includes('/') && !s.startsWith('.')) ? null : `unsafe shard name ${idx.shards}`,
    });
    expectClean(rep);
  });

  it('a legal 90 MB header is refused by the size cap in milliseconds, before it is decoded', () => {
    const headerLen = 90 * 1024 * 1024;
    const bytes = new Uint8Array(8 + headerLen);
    new DataView(bytes.buffer).setUint32(0, headerLen, true);
    bytes.set(enc.encode('{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'), 8);
    bytes.fill(0x20, 8 + 52);
    const t0 = performance.now();
    expect(() => parseSafetensors(bytes)).toThrow(/header length 94371840 exceeds the 16777216-byte limit/);
    const ms = performance.now() - t0;
    console.log(`90 MB safetensors header refused in ${ms.toFixed(2)} ms`);
    expect(ms).toBeLessThan(50);
  });
});
