/**
 * The byte layer of every link the studio makes (run, comparison, experiment, analysis): strict
 * base64url and a DEFLATE inflate with an output cap, DOM-free so the page, the worker and the CLI decode
 * links the same way. Links come from strangers: nothing here allocates more than its caps.
 */
import { Inflate } from 'fflate';

export class LinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

// ---- base64url ---------------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63];
  }
  return out;
}

/** Strict: only the base64url alphabet, no padding, no whitespace; a length ≡ 1 (mod 4) is invalid. */
export function fromBase64Url(s: string): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 1);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0)
      throw new LinkError(
        `the link contains a character that does not belong in it (${JSON.stringify(s[i])} at position ${i})`,
      );
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // checked after the alphabet, so a foreign character is named rather than reported as a bad length
  if (s.length % 4 === 1) throw new LinkError('the link is cut off or damaged (its data has an impossible length)');
  return out.subarray(0, o);
}

// ---- deflate with an output cap ----------------------------------------------------------------

/**
 * Inflate raw DEFLATE data, refusing output beyond `maxBytes` (checked every `step` input bytes: small
 * steps stop a decompression bomb early, larger ones decode long legal payloads faster).
 */
export function inflateCapped(data: Uint8Array, maxBytes: number, step = 64): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes)
      throw new LinkError(`the link expands to more than ${maxBytes} bytes; a run link is never that large`);
    chunks.push(chunk);
    if (final) ended = true;
  });
  try {
    for (let i = 0; i < data.length; i += step)
      inf.push(data.subarray(i, Math.min(data.length, i + step)), i + step >= data.length);
    if (data.length === 0) inf.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError('the link data is not valid compressed data (it may be cut off or edited)');
  }
  if (!ended) throw new LinkError('the link data ends early (it may be cut off)');
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
