// Procedural tasks: answers are correct, output is a pure function of (n, seed), and exact match scoring.
import { describe, expect, it } from 'vitest';
import {
  MONTHS,
  PROCEDURAL_TASKS,
  REVERSAL_WORDS,
  daysInMonth,
  exactMatch,
  exactMatchRate,
  generateAddition,
  generateDates,
  generateReversal,
} from '../../src/engine/data/procedural';

describe('addition', () => {
  it('every completion is the sum of the prompt operands', () => {
    const ex = generateAddition(2000, 11);
    for (const { prompt, completion } of ex) {
      const m = /^(\d+)\+(\d+)=$/.exec(prompt);
      expect(m, prompt).not.toBeNull();
      expect(Number(completion)).toBe(Number(m![1]) + Number(m![2]));
      expect(m![1].length).toBeLessThanOrEqual(3);
      // no leading zeros: the operand has exactly its digit count
      expect(String(Number(m![1]))).toBe(m![1]);
    }
    // every digit count appears
    const lengths = new Set(ex.map((e) => /^(\d+)/.exec(e.prompt)![1].length));
    expect([...lengths].sort()).toEqual([1, 2, 3]);
    expect(generateAddition(50, 1, 6).some((e) => /^\d{6}\+/.test(e.prompt))).toBe(true);
  });
});

describe('reversal', () => {
  it('completion is the prompt words in reverse order', () => {
    for (const { prompt, completion } of generateReversal(1000, 12)) {
      const m = /^reverse: (.+)=$/.exec(prompt);
      expect(m, prompt).not.toBeNull();
      const words = m![1].split(' ');
      expect(words.length).toBeGreaterThanOrEqual(2);
      expect(words.length).toBeLessThanOrEqual(5);
      expect(words.every((w) => REVERSAL_WORDS.includes(w))).toBe(true);
      expect(completion).toBe(words.reverse().join(' '));
    }
  });
});

describe('dates', () => {
  it('converts valid ISO dates to US long form', () => {
    for (const { prompt, completion } of generateDates(2000, 13)) {
      const m = /^(\d{4})-(\d{2})-(\d{2})=$/.exec(prompt);
      expect(m, prompt).not.toBeNull();
      const [y, mo, d] = [Number(m![1]), Number(m![2]), Number(m![3])];
      expect(y).toBeGreaterThanOrEqual(1900);
      expect(y).toBeLessThanOrEqual(2099);
      expect(d).toBeLessThanOrEqual(daysInMonth(y, mo));
      // cross-check with the platform calendar
      const date = new Date(Date.UTC(y, mo - 1, d));
      expect(date.getUTCDate()).toBe(d);
      expect(completion).toBe(`${MONTHS[mo - 1]} ${d}, ${y}`);
    }
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2023, 4)).toBe(30);
  });
});

describe('determinism', () => {
  it('same (n, seed) gives the same examples, a different seed different ones, longer calls extend shorter', () => {
    for (const task of Object.values(PROCEDURAL_TASKS)) {
      const a = task.generate(300, 5);
      expect(task.generate(300, 5)).toEqual(a);
      expect(task.generate(300, 6)).not.toEqual(a);
      expect(task.generate(500, 5).slice(0, 300)).toEqual(a);
    }
  });
});

describe('exactMatch', () => {
  it('cuts the prediction at the first newline and trims', () => {
    expect(exactMatch('579', '579')).toBe(true);
    expect(exactMatch(' 579\n123+4=', '579')).toBe(true);
    expect(exactMatch('5790', '579')).toBe(false);
    expect(exactMatch('\n579', '579')).toBe(false);
    expect(exactMatch('March 7, 2024', 'March 7, 2024')).toBe(true);
    expect(exactMatchRate(['1', '2', '3\n', 'x'], ['1', '2', '3', '4'])).toBe(0.75);
    expect(exactMatchRate([], [])).toBe(0);
    expect(() => exactMatchRate(['1'], [])).toThrow(RangeError);
  });
});
