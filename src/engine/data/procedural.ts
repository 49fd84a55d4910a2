/**
 * Procedural supervised tasks: seeded generators of {prompt, completion} pairs and exact-match scoring.
 * Each task is small enough for a tiny model to learn in minutes, with an unambiguous answer, so
 * fine-tuning progress is visible as accuracy, not only as loss.
 *
 * Formats (all ASCII, so byte and BPE tokenizers see the same characters):
 *   addition  "123+45="                → "168"            operands of 1..maxDigits digits
 *   reversal  "reverse: cat dog sun="  → "sun dog cat"    WORD order reversed (not characters:
 *             reversing characters mostly tests the tokenizer's segmentation, not the model)
 *   dates     "2024-03-07="            → "March 7, 2024"  ISO date → US long form, 1900–2099
 *
 * `generate(n, seed)` is a pure function of (n, seed): example i uses Rng(seed, 'proc/<task>') draws
 * in order. Duplicates may occur within one call (as in any i.i.d. sample).
 */
import { Rng } from '../rng';
import type { Example } from './types';

export interface ProceduralTask {
  id: 'addition' | 'reversal' | 'dates';
  label: string;
  description: string;
  generate(n: number, seed: number): Example[];
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`example count must be a non-negative integer, got ${n}`);
}

/** Uniform integer with exactly d digits (d = 1 includes 0). */
function withDigits(rng: Rng, d: number): number {
  if (d === 1) return rng.int(10);
  const lo = 10 ** (d - 1);
  return lo + rng.int(9 * lo);
}

export function generateAddition(n: number, seed: number, maxDigits = 3): Example[] {
  checkN(n);
  if (!Number.isInteger(maxDigits) || maxDigits < 1 || maxDigits > 7) throw new RangeError('maxDigits must be 1..7');
  const rng = new Rng(seed, 'proc/addition');
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    // digit counts drawn first so short and long operands are equally common
    const a = withDigits(rng, 1 + rng.int(maxDigits));
    const b = withDigits(rng, 1 + rng.int(maxDigits));
    out.push({ prompt: `${a}+${b}=`, completion: String(a + b) });
  }
  return out;
}

/** 128 short common English nouns: single BPE tokens for GPT-2, a few bytes each for the byte model. */
export const REVERSAL_WORDS: readonly string[] = (
  'apple baby ball bank bed bird boat book box boy bread bus cake car cat chair child city clock cloud ' +
  'coat cow cup day desk dog door duck egg eye face farm fish flag floor flower foot fork frog game ' +
  'garden girl glass goat gold hand hat head hill horse house ice jar key king lake lamp leaf leg lion ' +
  'map milk moon mouse nail nest night nose oil orange owl page pan park pen pig plane plate queen rain ' +
  'ring river road rock roof room rose salt sand school sea sheep ship shoe shop sky snow sock song ' +
  'spoon star stone street sun table tail tea tent tiger toy town train tree truck van wall water wind ' +
  'window wolf wood year zoo bell drum coin fan gift'
).split(' ');

export function generateReversal(n: number, seed: number, minWords = 2, maxWords = 5): Example[] {
  checkN(n);
  if (!(Number.isInteger(minWords) && Number.isInteger(maxWords) && minWords >= 1 && maxWords >= minWords)) {
    throw new RangeError('need 1 <= minWords <= maxWords');
  }
  const rng = new Rng(seed, 'proc/reversal');
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const k = minWords + rng.int(maxWords - minWords + 1);
    const words: string[] = [];
    for (let j = 0; j < k; j++) words.push(REVERSAL_WORDS[rng.int(REVERSAL_WORDS.length)]);
    out.push({ prompt: `reverse: ${words.join(' ')}=`, completion: words.slice().reverse().join(' ') });
  }
  return out;
}

export const MONTHS: readonly string[] = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function daysInMonth(year: number, month1: number): number {
  if (month1 === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month1) ? 30 : 31;
}

export function generateDates(n: number, seed: number): Example[] {
  checkN(n);
  const rng = new Rng(seed, 'proc/dates');
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const year = 1900 + rng.int(200);
    const month = 1 + rng.int(12);
    const day = 1 + rng.int(daysInMonth(year, month));
    const iso = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    out.push({ prompt: `${iso}=`, completion: `${MONTHS[month - 1]} ${day}, ${year}` });
  }
  return out;
}

export const PROCEDURAL_TASKS: Readonly<Record<ProceduralTask['id'], ProceduralTask>> = {
  addition: {
    id: 'addition',
    label: 'Addition (up to 3 digits)',
    description: 'a+b= → the sum; operands of 1 to 3 digits.',
    generate: (n, seed) => generateAddition(n, seed),
  },
  reversal: {
    id: 'reversal',
    label: 'Word reversal',
    description: '"reverse: w1 w2 … wk=" → the same words in reverse order (2 to 5 words).',
    generate: (n, seed) => generateReversal(n, seed),
  },
  dates: {
    id: 'dates',
    label: 'Date conversion',
    description: 'ISO date "YYYY-MM-DD=" → US long form "Month D, YYYY" (1900–2099).',
    generate: (n, seed) => generateDates(n, seed),
  },
};

/**
 * Exact match of a model's continuation against the target. The prediction is cut at its first
 * newline (generation usually runs past the answer; '\n' ends an example in training text) and both
 * sides are trimmed, so " 579\n123+" scores as "579".
 */
export function exactMatch(pred: string, target: string): boolean {
  const nl = pred.indexOf('\n');
  const p = (nl >= 0 ? pred.slice(0, nl) : pred).trim();
  return p === target.trim();
}

/** Fraction of exact matches, 0 for empty input. */
export function exactMatchRate(preds: readonly string[], targets: readonly string[]): number {
  if (preds.length !== targets.length)
    throw new RangeError(`${preds.length} predictions for ${targets.length} targets`);
  if (preds.length === 0) return 0;
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (exactMatch(preds[i], targets[i])) hit++;
  return hit / preds.length;
}
