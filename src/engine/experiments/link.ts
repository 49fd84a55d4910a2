/**
 * An experiment as a link: `#experiment=<base64url(deflate(JSON))>`, the same shape as a run link
 * (src/ui/share.ts) but DOM-free, so the worker, the CLI (`experiment run <link>`) and tests decode it
 * the same way. Decoding never throws anything but ExperimentError with one line: the payload is capped
 * before and after inflating, then parsed by the schema (parseExperiment).
 */
import { deflateSync } from 'fflate';
import { LinkError, fromBase64Url, inflateCapped, toBase64Url } from '../link-codec';
import { ExperimentError, parseExperiment, type Experiment } from './schema';

export const EXPERIMENT_LINK_KEY = 'experiment';
/** Longest payload accepted (characters) and largest JSON it may inflate to (bytes). */
export const MAX_LINK_CHARS = 64_000;
export const MAX_JSON_BYTES = 256_000;

/** base64url → inflated bytes, with the link layer's errors as this module's one-line ExperimentError. */
function inflatePayload(payload: string): Uint8Array {
  try {
    return inflateCapped(fromBase64Url(payload), MAX_JSON_BYTES, 4096);
  } catch (e) {
    if (e instanceof LinkError) throw new ExperimentError(`the experiment link: ${e.message}`);
    throw e;
  }
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
  const json = new TextDecoder('utf-8', { fatal: false }).decode(inflatePayload(payload));
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ExperimentError('the experiment link does not hold valid JSON');
  }
  return parseExperiment(value);
}
