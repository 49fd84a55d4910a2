/**
 * Fuzzing run links (issue 17 item 4): `decodeFragment` (src/ui/share.ts) over mutated links — edits
 * of the base64url text, and links re-encoded from mutated RunConfig JSON (so the inflate, key and
 * schema stages are reached, not only the base64 check). It never throws; a bad link must come back
 * as one line, a good one as a config the schema accepts.
 */
import { describe, it } from 'vitest';
import { deflateSync, strToU8 } from 'fflate';
import { buildFragment, decodeFragment, toBase64Url } from '../../src/ui/share';
import { parseRunConfig, RUN_PRESETS, RunConfigSchema, type RunConfig } from '../../src/engine/config';
import { expectClean, fuzz, mutateBytes, mutateJson } from './harness';

const CASES = 10_000;

class LinkRejected extends Error {}

describe('fuzz: run links', () => {
  it(`${CASES} mutated run links: a valid config or a one-line message`, async () => {
    const seeds = Object.values(RUN_PRESETS).map((p) => parseRunConfig(structuredClone(p)));
    const fragments = new Map(seeds.map((c) => [c, buildFragment(c)]));
    const rep = await fuzz({
      name: 'run links',
      cases: CASES,
      gen: (rng) => {
        const cfg = rng.pick(seeds);
        switch (rng.int(3)) {
          case 0: {
            const frag = fragments.get(cfg)!;
            return new TextDecoder().decode(mutateBytes(rng, new TextEncoder().encode(frag), 16_384));
          }
          case 1: {
            const json = JSON.stringify(mutateJson(rng, cfg)) ?? 'null';
            return `#run=${toBase64Url(deflateSync(strToU8(json)))}`;
          }
          default:
            return fragments.get(cfg)!;
        }
      },
      run: (hash) => {
        const r = decodeFragment(hash);
        if (!r.ok) throw new LinkRejected(r.error);
        return r.config;
      },
      typed: (e) => e instanceof LinkRejected,
      valid: (c: RunConfig) => (RunConfigSchema.safeParse(c).success ? null : 'accepted a config the schema rejects'),
    });
    expectClean(rep);
  });
});
