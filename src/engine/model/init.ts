/** Seeded parameter initialisation shared by every family (one Philox stream per parameter name). */
import { Rng } from '../rng';
import type { ParamSpec } from './language-model';

/** Deterministic initial value of one parameter: its own Philox stream keyed by (seed, name). */
export function initParam(spec: ParamSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.init === 'ones') out.fill(1);
  else if (spec.init === 'normal') new Rng(seed, `init:${spec.name}`).fillNormal(out, spec.std);
  return out;
}
