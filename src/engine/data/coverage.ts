/**
 * Tokenizer coverage (issue 19 item 4): a tokenizer without an unknown-token entry silently dropped
 * ~93 % of a dataset's text and training went on as if nothing happened. Before a run, a sample of
 * the training text is encoded and decoded back; the share of its non-space characters that survive
 * is the coverage. Below MIN_COVERAGE the run is refused with the figure. (Normalising tokenizers —
 * lowercasing, NFKC — keep the character count; an `[UNK]` piece counts as kept, so this measures
 * dropped text, not unknown pieces.)
 */
import { ConfigError } from '../config';
import type { Tokenizer } from '../io/tokenizers/types';
import type { PreparedText } from './types';

export const MIN_COVERAGE = 0.9;
const SAMPLE_CHARS = 20_000;

/** Up to `max` characters of the training split, whatever its kind. */
export function trainSample(ds: PreparedText, max = SAMPLE_CHARS): string {
  if (ds.kind === 'text') return ds.train.slice(0, max);
  const parts: string[] = [];
  let n = 0;
  const add = (s: string) => {
    if (n < max) {
      parts.push(s);
      n += s.length;
    }
  };
  if (ds.kind === 'pairs') for (const e of ds.train) add(`${e.prompt}\n${e.completion}\n`);
  else for (const c of ds.train) for (const m of c.messages) add(`${m.content}\n`);
  return parts.join('').slice(0, max);
}

const visible = (s: string): number => {
  let n = 0;
  for (const ch of s) if (!/\s/.test(ch)) n++;
  return n;
};

export interface Coverage {
  /** Non-space characters in the sample. */
  chars: number;
  /** … of which survive encode → decode. */
  kept: number;
  fraction: number;
}

export function tokenizerCoverage(tokenizer: Tokenizer, text: string): Coverage {
  const chars = visible(text);
  if (chars === 0) return { chars: 0, kept: 0, fraction: 1 };
  const kept = Math.min(chars, visible(tokenizer.decode(tokenizer.encode(text))));
  return { chars, kept, fraction: kept / chars };
}

/** Refuse a dataset the tokenizer cannot represent, with the figure. */
export function assertCoverage(tokenizer: Tokenizer, ds: PreparedText, min = MIN_COVERAGE): Coverage {
  const c = tokenizerCoverage(tokenizer, trainSample(ds));
  if (c.fraction < min)
    throw new ConfigError(
      `tokenizer ${tokenizer.id} keeps only ${(100 * c.fraction).toFixed(1)} % of the dataset's text ` +
        `(${c.kept} of ${c.chars} non-space characters in a sample survive encode → decode; at least ${100 * min} % is needed): ` +
        `it has no token for the rest and no unknown-token entry`,
    );
  return c;
}
