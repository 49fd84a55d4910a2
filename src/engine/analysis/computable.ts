/**
 * No invented figures (issue 19 item 1): one NaN in a tuned matrix used to give effective rank 0 and
 * 10 "intruder dimensions", and an all-zero matrix 10 as well. Before any SVD, a matrix pair is checked:
 * a non-finite value or an all-zero matrix makes the analysis "not computable", with the matrix named,
 * the count of non-finite values and where the first one is — never numbers.
 */

export class NotComputableError extends Error {
  readonly matrix: string;
  readonly nonFinite: { base: number; tuned: number };
  constructor(matrix: string, reason: string, nonFinite: { base: number; tuned: number }) {
    super(`${matrix}: not computable — ${reason}`);
    this.name = 'NotComputableError';
    this.matrix = matrix;
    this.nonFinite = nonFinite;
  }
}

export interface FiniteScan {
  /** Count of NaN/±Inf values. */
  nonFinite: number;
  /** Flat index of the first non-finite value, or -1. */
  first: number;
  /** Every value is exactly zero. */
  allZero: boolean;
}

export function scanFinite(x: ArrayLike<number>): FiniteScan {
  let nonFinite = 0,
    first = -1,
    allZero = true;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) {
      if (first < 0) first = i;
      nonFinite++;
    } else if (v !== 0) allZero = false;
  }
  return { nonFinite, first, allZero: allZero && nonFinite === 0 };
}

/** "3 non-finite values (first at [2, 17])" for a (rows, cols) matrix stored row-major. */
export function describeNonFinite(s: FiniteScan, cols: number): string {
  const where = cols > 0 ? `[${Math.floor(s.first / cols)}, ${s.first % cols}]` : `${s.first}`;
  return `${s.nonFinite} non-finite value${s.nonFinite === 1 ? '' : 's'} (first at ${where})`;
}

/** Throw NotComputableError when base or tuned holds a NaN/Inf or is all zeros. Stored shape (rows, cols). */
export function assertComputable(name: string, base: ArrayLike<number>, tuned: ArrayLike<number>, cols: number): void {
  const b = scanFinite(base),
    t = scanFinite(tuned);
  const reasons: string[] = [];
  if (t.nonFinite) reasons.push(`the tuned matrix has ${describeNonFinite(t, cols)}`);
  if (b.nonFinite) reasons.push(`the base matrix has ${describeNonFinite(b, cols)}`);
  if (!t.nonFinite && t.allZero) reasons.push('the tuned matrix is all zeros (no spectrum, no singular directions)');
  if (!b.nonFinite && b.allZero) reasons.push('the base matrix is all zeros (no singular directions to compare with)');
  if (reasons.length) throw new NotComputableError(name, reasons.join('; '), { base: b.nonFinite, tuned: t.nonFinite });
}
