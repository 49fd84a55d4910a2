/**
 * An experiment as a link: `#experiment=<base64url(deflate(JSON))>`, the same shape as a run link
 * (src/ui/share.ts) but DOM-free, so the worker, the CLI (`experiment run <link>`) and tests decode it
 * the same way. Decoding never throws anything but ExperimentError with one line: the payload is capped
 * before and after inflating, then parsed by the schema (parseExperiment).
 */
import { deflateSync, Inflate } from 'fflate';
import { ExperimentError, parseExperiment, type Experiment } from './schema';

export const EXPERIMENT_LINK_KEY = 'experiment';
/** Longest payload accepted (characters) and largest JSON it may inflate to (bytes). */
export const MAX_LINK_CHARS = 64_000;
export const MAX_JSON_BYTES = 256_000;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function fromBase64Url(s: string): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 1);
  let o = 0,
    acc = 0,
    bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new ExperimentError(`the experiment link has a character that is not base64url at position ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out.subarray(0, o);
}

function inflateCapped(data: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0,
    ended = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > MAX_JSON_BYTES)
      throw new ExperimentError(`the experiment link expands to more than ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk);
    if (final) ended = true;
  });
  try {
    for (let i = 0; i < data.length; i += 4096) inf.push(data.subarray(i, i + 4096), i + 4096 >= data.length);
    if (data.length === 0) inf.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ExperimentError) throw e;
    throw new ExperimentError('the experiment link is not valid compressed data (cut off or edited?)');
  }
  if (!ended) throw new ExperimentError('the experiment link ends early (cut off?)');
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** The payload after `#experiment=`. */
export function encodeExperiment(exp: Experiment): string {
  return toBase64Url(deflateSync(new TextEncoder().encode(JSON.stringify(exp)), { level: 9 }));
}

export function experimentFragment(exp: Experiment): string {
  return `#${EXPERIMENT_LINK_KEY}=${encodeExperiment(exp)}`;
}

/** Decode a payload, a `#experiment=…` fragment or a whole URL holding one. */
export function decodeExperiment(link: string): Experiment {
  if (typeof link !== 'string') throw new ExperimentError('an experiment link must be text');
  // `#experiment=` (this module) or the page's short `#exp=`; otherwise the text is the payload itself
  const m = /(?:^|[#&?])(?:experiment|exp)=/.exec(link);
  const payload = (m ? link.slice(m.index + m[0].length) : link).split('&')[0].trim();
  if (!payload) throw new ExperimentError('the experiment link holds no data after "experiment="');
  if (payload.length > MAX_LINK_CHARS)
    throw new ExperimentError(
      `the experiment link is too long (${payload.length} characters; at most ${MAX_LINK_CHARS})`,
    );
  const json = new TextDecoder('utf-8', { fatal: false }).decode(inflateCapped(fromBase64Url(payload)));
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ExperimentError('the experiment link does not hold valid JSON');
  }
  return parseExperiment(value);
}
