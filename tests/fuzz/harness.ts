/**
 * A small seeded fuzzing harness for the parsers of outside input (issue 17 item 4). Each case is
 * generated from a seed (mutations of valid files plus structure-aware JSON edits), run once, and
 * classified:
 * - accepted: the parser returned, and the test's `valid` check holds for the result;
 * - rejected: it threw one of the parser's typed errors with a non-empty one-line message;
 * - crash: anything else (a TypeError/RangeError from inside, an untyped error, a multi-line message,
 *   an accepted result that is not valid);
 * - slow: a case over `maxMs` (1 s), reported with its seed.
 * The counts are printed so CI logs show how much was exercised. Inputs are capped in size before
 * they are built, so no case can blow up memory by itself.
 */
import { expect } from 'vitest';

/** mulberry32: a tiny seeded PRNG, enough to pick mutations reproducibly. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface FuzzReport {
  name: string;
  cases: number;
  accepted: number;
  rejected: number;
  crashes: string[];
  slow: string[];
  maxMs: number;
  totalMs: number;
}

export interface FuzzSpec<I, O> {
  name: string;
  cases: number;
  seed?: number;
  gen: (rng: Prng, i: number) => I;
  run: (input: I) => O | Promise<O>;
  /** The parser's own error classes: anything else thrown is a crash. */
  typed: (e: unknown) => boolean;
  /** Check an accepted result (return a problem, or null). */
  valid?: (out: O, input: I) => string | null;
  maxMs?: number;
  /** Uncounted cases run first (default 30). */
  warmup?: number;
}

const MAX_REPORTED = 5;

export async function fuzz<I, O>(spec: FuzzSpec<I, O>): Promise<FuzzReport> {
  const seed = spec.seed ?? 1;
  const maxMs = spec.maxMs ?? 1000;
  const rep: FuzzReport = {
    name: spec.name,
    cases: 0,
    accepted: 0,
    rejected: 0,
    crashes: [],
    slow: [],
    maxMs: 0,
    totalMs: 0,
  };
  // Warm-up, not counted: the first calls pay for JIT compilation and lazily built schemas, which is
  // start-up cost, not the input's (the run-link fuzz saw 1.3–1.8 s on cases 13 and 19 without it).
  for (let i = 0; i < (spec.warmup ?? 30); i++) {
    try {
      await spec.run(spec.gen(new Prng(0x5eed0000 + i), i));
    } catch {
      // outcomes of warm-up cases are not judged
    }
  }
  const t0 = performance.now();
  for (let i = 0; i < spec.cases; i++) {
    const rng = new Prng(seed * 1_000_003 + i);
    const input = spec.gen(rng, i);
    const start = performance.now();
    try {
      const out = await spec.run(input);
      const problem = spec.valid?.(out, input) ?? null;
      if (problem) rep.crashes.push(`case ${i}: accepted but invalid: ${problem}`);
      else rep.accepted++;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!spec.typed(e))
        rep.crashes.push(`case ${i}: untyped ${e instanceof Error ? e.name : typeof e}: ${msg.slice(0, 200)}`);
      else if (!msg.trim() || msg.includes('\n'))
        rep.crashes.push(`case ${i}: message is not one line: ${JSON.stringify(msg.slice(0, 200))}`);
      else rep.rejected++;
    }
    const ms = performance.now() - start;
    rep.maxMs = Math.max(rep.maxMs, ms);
    if (ms > maxMs) rep.slow.push(`case ${i}: ${ms.toFixed(0)} ms`);
    rep.cases++;
  }
  rep.totalMs = performance.now() - t0;
  console.log(
    `fuzz ${rep.name}: ${rep.cases} cases, ${rep.accepted} accepted, ${rep.rejected} rejected with a typed one-line error, ` +
      `${rep.crashes.length} crashes, ${rep.slow.length} over ${maxMs} ms (slowest ${rep.maxMs.toFixed(1)} ms, total ${(rep.totalMs / 1000).toFixed(1)} s)`,
  );
  return rep;
}

/** The assertions every fuzz test makes on its report. */
export function expectClean(rep: FuzzReport, minCases = 10_000): void {
  expect(rep.cases).toBeGreaterThanOrEqual(minCases);
  expect(rep.crashes.slice(0, MAX_REPORTED), `${rep.crashes.length} crashes`).toEqual([]);
  expect(rep.slow.slice(0, MAX_REPORTED), `${rep.slow.length} slow cases`).toEqual([]);
  // Both outcomes must occur, or the generator is not exercising the parser.
  expect(rep.accepted, 'no case was accepted: the generator only makes garbage').toBeGreaterThan(0);
  expect(rep.rejected, 'no case was rejected: the generator never breaks the input').toBeGreaterThan(0);
}

// ---- byte mutations ---------------------------------------------------------------------------------

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x5c, 0x0a, 0x30, 0x39];

/** One to a few random byte-level edits of `src` (copy), the result capped at `cap` bytes. */
export function mutateBytes(rng: Prng, src: Uint8Array, cap = 1 << 20): Uint8Array {
  let b: Uint8Array = src.slice();
  const edits = 1 + rng.int(4);
  for (let k = 0; k < edits; k++) {
    const pos = b.length ? rng.int(b.length) : 0;
    switch (rng.int(7)) {
      case 0: // bit flip
        if (b.length) b[pos] ^= 1 << rng.int(8);
        break;
      case 1: // interesting byte
        if (b.length) b[pos] = rng.pick(INTERESTING_BYTES);
        break;
      case 2: {
        // delete a range
        const len = 1 + rng.int(Math.min(64, b.length || 1));
        b = concat(b.subarray(0, pos), b.subarray(pos + len));
        break;
      }
      case 3: {
        // duplicate a range
        const len = 1 + rng.int(Math.min(64, b.length || 1));
        b = concat(b.subarray(0, pos + len), b.subarray(pos, pos + len), b.subarray(pos + len));
        break;
      }
      case 4: {
        // insert random bytes
        const ins = new Uint8Array(1 + rng.int(16));
        for (let i = 0; i < ins.length; i++) ins[i] = rng.int(256);
        b = concat(b.subarray(0, pos), ins, b.subarray(pos));
        break;
      }
      case 5: // truncate
        b = b.slice(0, pos);
        break;
      case 6: // overwrite a little-endian u32/u64 field with an extreme value
        if (b.length >= pos + 8) {
          const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
          const v = rng.pick([0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 8, 1 << 24]);
          dv.setUint32(pos, v, true);
          if (rng.chance(0.5)) dv.setUint32(pos + 4, rng.pick([0, 1, 0xffffffff]), true);
        }
        break;
    }
    if (b.length > cap) b = b.slice(0, cap);
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- JSON mutations ---------------------------------------------------------------------------------

/** Values that break naive parsers: extremes, wrong types, prototype keys, deep nesting, long strings. */
export function interestingValue(rng: Prng): unknown {
  switch (rng.int(16)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([-1, 0, 1, 2, 3, 7, 0.5, -0.0, 1e-300]);
    case 3:
      return rng.pick([1e308, -1e308, 2 ** 53 + 1, 2 ** 31, 2 ** 32, 1e9, 4.8e9]);
    case 4:
      return rng.pick(['', 'NaN', 'Infinity', '-1', '1e999', 'true', 'null']);
    case 5:
      return 'x'.repeat(rng.pick([1, 100, 5000]));
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return { __proto__: { polluted: 1 } } as unknown;
    case 9: {
      let v: unknown = 1;
      for (let i = 0; i < rng.pick([10, 100, 500]); i++) v = [v];
      return v;
    }
    case 10:
      return Array.from({ length: rng.pick([3, 100, 2000]) }, (_, i) => i);
    case 11:
      return rng.pick(['(a+)+$', '(x|x)*y', '.*.*.*=.*', '[', '\\', '(?<=a)b', 'a{99999}']);
    case 12:
      return '\u0000\u001b[31m\u202e\ud800';
    case 13:
      return rng.pick(['__proto__', 'constructor', 'prototype']);
    case 14:
      return -rng.int(1000);
    default:
      return rng.int(100000);
  }
}

/** Clone `value` and apply 1–3 structure-aware edits (replace, delete or add a key, wrap, duplicate). */
export function mutateJson(rng: Prng, value: unknown): unknown {
  let root = structuredClone(value);
  const edits = 1 + rng.int(3);
  for (let k = 0; k < edits; k++) {
    const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (v: unknown, depth: number) => {
      if (depth > 8 || v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) {
        const n = Math.min(v.length, 32);
        for (let i = 0; i < n; i++) {
          nodes.push({ parent: v, key: i });
          walk(v[i], depth + 1);
        }
      } else
        for (const key of Object.keys(v).slice(0, 64)) {
          nodes.push({ parent: v as Record<string, unknown>, key });
          walk((v as Record<string, unknown>)[key], depth + 1);
        }
    };
    walk(root, 0);
    if (!nodes.length || rng.chance(0.02)) {
      root = interestingValue(rng);
      continue;
    }
    const { parent, key } = rng.pick(nodes);
    const p = parent as Record<string | number, unknown>;
    switch (rng.int(5)) {
      case 0:
      case 1:
        p[key] = interestingValue(rng);
        break;
      case 2:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete p[key];
        break;
      case 3:
        if (!Array.isArray(parent)) {
          const name = rng.chance(0.3) ? String(interestingValue(rng)).slice(0, 40) : `extra_${rng.int(100)}`;
          Object.defineProperty(parent, name, {
            value: interestingValue(rng),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else parent.push(interestingValue(rng));
        break;
      case 4:
        p[key] = rng.chance(0.5) ? [p[key]] : { value: p[key] };
        break;
    }
  }
  return root;
}

export const enc = new TextEncoder();

/** JSON text of a value, with an occasional textual mutation (so invalid JSON is covered too). */
export function jsonBytes(rng: Prng, value: unknown, textMutation = 0.2): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'null';
  } catch {
    text = '{';
  }
  const bytes = enc.encode(text);
  return rng.chance(textMutation) ? mutateBytes(rng, bytes) : bytes;
}

/** Classes that mean "the parser did not guard this input". */
export function isJsError(e: unknown): boolean {
  return (
    e instanceof TypeError ||
    e instanceof RangeError ||
    e instanceof SyntaxError ||
    e instanceof ReferenceError ||
    e instanceof EvalError ||
    e instanceof URIError
  );
}
