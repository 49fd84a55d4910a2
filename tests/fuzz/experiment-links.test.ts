/**
 * Fuzzing experiments from outside (issue 13): experiment links (`#experiment=…`, src/engine/experiments/
 * link.ts) edited at the base64url level, links re-encoded from mutated experiment JSON (so the inflate,
 * key and schema stages are all reached), and mutated experiment JSON parsed and expanded as the CLI does
 * with a file. A hostile experiment must come back as one line (ExperimentError/ConfigError) or as an
 * experiment the schema accepts whose expansion is valid — never a crash, never over 1 s.
 */
import { describe, it } from 'vitest';
import { deflateSync, strToU8 } from 'fflate';
import { decodeExperiment, encodeExperiment, experimentFragment } from '../../src/engine/experiments/link';
import {
  ExperimentSchema,
  expandExperiment,
  parseExperiment,
  waitingFor,
  type Experiment,
} from '../../src/engine/experiments/schema';
import { getPreset, presetIds } from '../../src/engine/experiments/presets';
import { ConfigError, RunConfigSchema } from '../../src/engine/config';
import { expectClean, fuzz, mutateBytes, mutateJson } from './harness';

const CASES = 10_000;

function toB64Url(bytes: Uint8Array): string {
  // the payload of a re-encoded JSON: standard base64 → url alphabet, no padding
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** What a consumer does with an experiment: parse, then expand when its methods exist. */
function consume(exp: Experiment): Experiment {
  if (!waitingFor(exp).length) {
    const runs = expandExperiment(exp);
    for (const r of runs)
      if (r.kind === 'train' && !RunConfigSchema.safeParse(r.config).success)
        throw new Error(`invalid config ${r.key}`);
  }
  return exp;
}

describe('fuzz: experiment links and files', () => {
  const seeds = presetIds().map((id) => getPreset(id)!);
  const payloads = new Map(seeds.map((e) => [e, encodeExperiment(e)]));

  it(`${CASES} mutated experiment links and JSON files: a valid experiment or a one-line message`, async () => {
    const rep = await fuzz({
      name: 'experiment links',
      cases: CASES,
      gen: (rng) => {
        const exp = rng.pick(seeds);
        switch (rng.int(4)) {
          case 0:
            return {
              link: `#experiment=${new TextDecoder().decode(mutateBytes(rng, new TextEncoder().encode(payloads.get(exp)!), 65_536))}`,
            };
          case 1: {
            const json = JSON.stringify(mutateJson(rng, exp)) ?? 'null';
            return { link: `#experiment=${toB64Url(deflateSync(strToU8(json)))}` };
          }
          case 2:
            return { json: mutateJson(rng, exp) };
          default:
            return { link: experimentFragment(exp) };
        }
      },
      run: (input: { link?: string; json?: unknown }) =>
        consume(input.link !== undefined ? decodeExperiment(input.link) : parseExperiment(input.json)),
      typed: (e) => e instanceof ConfigError,
      valid: (e: Experiment) =>
        ExperimentSchema.safeParse(e).success ? null : 'accepted an experiment the schema rejects',
    });
    expectClean(rep);
  }, 600_000);
});
