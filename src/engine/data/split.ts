/**
 * Deterministic train / validation / probe splits.
 *
 * Splits are keyed ONLY by a fixed split seed (SPLIT_SEED) and the dataset id, never by the run
 * seed: two runs with different seeds are evaluated on the same validation text and the same
 * forgetting probe, so their curves are comparable. The run seed drives batch order instead
 * (src/engine/data/batcher.ts) and the training sample of procedural sets.
 *
 * Each unit (a line of text, or an example) draws one uniform u from Rng(splitSeed, 'split/<id>'):
 *   u < probeFraction                          → probe
 *   u < probeFraction + valFraction            → val
 *   otherwise                                  → train
 * Because the probe band comes first, changing valFraction never moves a unit into or out of the probe.
 */
import { Rng } from '../rng';
import { DatasetError, type Example } from './types';

export const SPLIT_SEED = 0x5eed_0001;

/** Below this many units the split falls back to a contiguous tail, so val is never empty. */
const MIN_UNITS_FOR_RANDOM_SPLIT = 20;

export interface SplitOptions {
  key: string;
  valFraction: number;
  probeFraction?: number;
  splitSeed?: number;
}

export interface Split<T> {
  train: T[];
  val: T[];
  probe: T[];
}

export function checkFraction(name: string, f: number, max = 0.5): void {
  if (!(typeof f === 'number' && Number.isFinite(f) && f > 0 && f <= max)) {
    throw new DatasetError(`${name} must be a number in (0, ${max}], got ${f}`);
  }
}

/** Split units in order (train keeps source order). Tiny inputs: the last units become val. */
export function splitUnits<T>(units: readonly T[], opts: SplitOptions): Split<T> {
  const probeFraction = opts.probeFraction ?? 0;
  checkFraction('valFraction', opts.valFraction);
  if (probeFraction !== 0) checkFraction('probeFraction', probeFraction);
  const out: Split<T> = { train: [], val: [], probe: [] };
  if (units.length < MIN_UNITS_FOR_RANDOM_SPLIT) {
    if (units.length < 2)
      throw new DatasetError(`need at least 2 lines or examples to make a validation split, got ${units.length}`);
    const nVal = Math.max(1, Math.round(units.length * opts.valFraction));
    out.train = units.slice(0, units.length - nVal);
    out.val = units.slice(units.length - nVal);
    return out;
  }
  const rng = new Rng(opts.splitSeed ?? SPLIT_SEED, `split/${opts.key}`);
  for (const u of units) {
    const r = rng.uniform();
    if (r < probeFraction) out.probe.push(u);
    else if (r < probeFraction + opts.valFraction) out.val.push(u);
    else out.train.push(u);
  }
  // a pathological draw could leave val empty; the last train unit then moves over
  if (out.val.length === 0) out.val.push(out.train.pop()!);
  return out;
}

/** Non-empty lines of a text (CRLF tolerated). */
export function textUnits(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}

/** Join units into the text the tokenizer sees: one unit per line, trailing newline. */
export function joinUnits(units: readonly string[]): string {
  return units.length === 0 ? '' : units.join('\n') + '\n';
}

/**
 * Split a text. With few lines (e.g. one huge paragraph) the split is by characters instead:
 * the last valFraction of the text, cut at whitespace, becomes val.
 */
export function splitText(text: string, opts: SplitOptions): { train: string; val: string; probe: string } {
  const units = textUnits(text);
  if (units.length >= MIN_UNITS_FOR_RANDOM_SPLIT) {
    const s = splitUnits(units, opts);
    return { train: joinUnits(s.train), val: joinUnits(s.val), probe: joinUnits(s.probe) };
  }
  checkFraction('valFraction', opts.valFraction);
  const body = units.join('\n');
  if (body.length < 2) throw new DatasetError('text is too short to split into train and validation');
  let cut = Math.min(body.length - 1, Math.max(1, Math.floor(body.length * (1 - opts.valFraction))));
  const ws = body.lastIndexOf(' ', cut);
  const nl = body.lastIndexOf('\n', cut);
  const snap = Math.max(ws, nl);
  if (snap > body.length * 0.5) cut = snap + 1;
  return { train: body.slice(0, cut).trimEnd() + '\n', val: body.slice(cut).trimStart() + '\n', probe: '' };
}

export function splitExamples(examples: readonly Example[], opts: SplitOptions): Split<Example> {
  return splitUnits(examples, opts);
}
