/**
 * Run links: `#run=<base64url(deflate(JSON RunConfig))>`, optionally followed by
 * `&fp=<steps>.<lossHash>.<adapterHash>`, a fingerprint of the shared run's losses, so that the
 * person who reproduces it can see "identical losses" (or not) without the original run.
 *
 * A link is data only. Decoding is defensive at every layer, because links come from strangers:
 *   size cap on the text → strict base64url → inflate in small chunks with an output cap (no
 *   decompression bombs) → fatal UTF-8 → JSON with prototype-pollution keys rejected → depth cap
 *   → the zod RunConfigSchema (strict at the top level). A rejected link returns a message and
 *   touches nothing.
 */
import { deflateSync } from 'fflate';
import { issuesOneLine } from '../engine/strings';
import { RunConfigSchema, type RunConfig } from '../engine/config';

/** Longest accepted `run=` payload, in characters (a full micro-run link is ~600). */
export const MAX_LINK_CHARS = 8192;
/** Largest accepted inflated JSON, in bytes. */
export const MAX_JSON_BYTES = 32 * 1024;
const MAX_DEPTH = 8;
const REQUIRED_KEYS = ['version', 'model', 'dataset', 'method', 'targets', 'train', 'seed'] as const;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface LossFingerprint {
  steps: number;
  /** First 16 hex digits of sha256 over the float32 losses of steps 1..n (little-endian). */
  loss: string;
  /** First 8 hex digits of sha256 of the adapter's name: "same adapter" ⇒ same losses. */
  adapter: string;
}

export type DecodedLink =
  { ok: true; config: RunConfig; fingerprint: LossFingerprint | null } | { ok: false; error: string };

export { LinkError, fromBase64Url, inflateCapped, toBase64Url } from '../engine/link-codec';
import { LinkError, fromBase64Url, inflateCapped, toBase64Url } from '../engine/link-codec';

// ---- JSON with hostile-key rejection -------------------------------------------------------------

export function safeJsonParse(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (FORBIDDEN_KEYS.has(key)) throw new LinkError(`the link contains a forbidden key ${JSON.stringify(key)}`);
      return v;
    });
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError('the link data is not valid JSON');
  }
  checkDepth(value, 0);
  return value;
}

function checkDepth(v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new LinkError('the link data is nested too deeply to be a run configuration');
  if (v && typeof v === 'object') for (const x of Object.values(v)) checkDepth(x, depth + 1);
}

// ---- encode / decode -------------------------------------------------------------------------------

/** The canonical payload: the fully parsed config (every default explicit), keys in schema order. */
export function encodeConfig(config: RunConfig): string {
  const parsed = RunConfigSchema.parse(config);
  const json = JSON.stringify(parsed);
  return toBase64Url(deflateSync(new TextEncoder().encode(json), { level: 9 }));
}

export function decodeConfig(payload: string): RunConfig {
  if (payload.length === 0) throw new LinkError('the link has no run data after "run="');
  if (payload.length > MAX_LINK_CHARS)
    throw new LinkError(
      `the link is too long (${payload.length} characters; a run link has at most ${MAX_LINK_CHARS})`,
    );
  const bytes = inflateCapped(fromBase64Url(payload), MAX_JSON_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LinkError('the link data is not text');
  }
  const value = safeJsonParse(text);
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new LinkError('the link data is not a run configuration (expected an object)');
  // Links we write spell every field out; a link that leans on defaults was not made by Rankscope.
  const missing = REQUIRED_KEYS.filter((k) => !Object.prototype.hasOwnProperty.call(value, k));
  if (missing.length) throw new LinkError(`the link's run configuration is incomplete (missing ${missing.join(', ')})`);
  const r = RunConfigSchema.safeParse(value);
  if (!r.success) throw new LinkError(`the link's run configuration is invalid: ${issuesOneLine(r.error.issues)}`);
  return r.data;
}

const FP_RE = /^(\d{1,7})\.([0-9a-f]{16})\.([0-9a-f]{8})$/;

export function encodeFingerprint(fp: LossFingerprint): string {
  return `${fp.steps}.${fp.loss}.${fp.adapter}`;
}

export function decodeFingerprint(s: string): LossFingerprint {
  const m = FP_RE.exec(s);
  if (!m) throw new LinkError('the link\'s loss fingerprint ("fp=") is malformed');
  return { steps: Number(m[1]), loss: m[2], adapter: m[3] };
}

/** The fragment (without '#'): `run=<payload>[&fp=<fingerprint>]`. */
export function buildFragment(config: RunConfig, fp?: LossFingerprint | null): string {
  return `run=${encodeConfig(config)}${fp ? `&fp=${encodeFingerprint(fp)}` : ''}`;
}

export function buildLink(baseUrl: string, config: RunConfig, fp?: LossFingerprint | null): string {
  const base = baseUrl.split('#')[0];
  return `${base}#${buildFragment(config, fp)}`;
}

/** True when the fragment looks like a run link at all (anything else is not ours to judge). */
export function isRunFragment(hash: string): boolean {
  return /^#?run=/.test(hash);
}

/** Decode a location hash. Never throws: every failure is a message for the person. */
export function decodeFragment(hash: string): DecodedLink {
  try {
    const h = hash.startsWith('#') ? hash.slice(1) : hash;
    if (h.length > MAX_LINK_CHARS + 64)
      throw new LinkError(`the link is too long (${h.length} characters; a run link has at most ${MAX_LINK_CHARS})`);
    const parts = h.split('&');
    let payload: string | null = null;
    let fingerprint: LossFingerprint | null = null;
    for (const part of parts) {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      if (key === 'run') {
        if (payload !== null) throw new LinkError('the link has two "run=" parts');
        payload = value;
      } else if (key === 'fp') {
        fingerprint = decodeFingerprint(value);
      } else {
        throw new LinkError(`the link has an unknown part ${JSON.stringify(key.slice(0, 24))}`);
      }
    }
    if (payload === null) throw new LinkError('the link has no "run=" part');
    return { ok: true, config: decodeConfig(payload), fingerprint };
  } catch (e) {
    return {
      ok: false,
      error: e instanceof LinkError ? e.message : `the link could not be read (${(e as Error)?.message ?? String(e)})`,
    };
  }
}

// ---- fingerprints ------------------------------------------------------------------------------------

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Exact: hashes the float32 bit patterns, so "same fingerprint" means bit-identical losses. */
export async function lossFingerprint(losses: ArrayLike<number>, adapterName: string): Promise<LossFingerprint> {
  const f = Float32Array.from(losses as ArrayLike<number>);
  const bytes = new Uint8Array(f.buffer);
  // float32 arrays are little-endian on every platform WebGPU runs on; normalise anyway
  const le = new DataView(new ArrayBuffer(bytes.length));
  for (let i = 0; i < f.length; i++) le.setFloat32(i * 4, f[i], true);
  return {
    steps: f.length,
    loss: (await sha256(new Uint8Array(le.buffer))).slice(0, 16),
    adapter: (await sha256(new TextEncoder().encode(adapterName))).slice(0, 8),
  };
}
