/**
 * The parity rule of ARCHITECTURE.md: |gpu − ref| ≤ atol + rtol·|ref| elementwise. On failure the
 * report names the first mismatches and the worst difference, so a broken kernel says where.
 */

export interface ParityReport {
  ok: boolean;
  count: number;
  mismatches: number;
  maxAbsDiff: number;
  maxRelDiff: number;
  first: { index: number; gpu: number; ref: number }[];
  message: string;
}

export function compareArrays(
  gpu: ArrayLike<number>,
  ref: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; label?: string; show?: number } = {},
): ParityReport {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const show = opts.show ?? 8;
  const label = opts.label ?? 'parity';
  if (gpu.length !== ref.length) {
    return {
      ok: false,
      count: ref.length,
      mismatches: ref.length,
      maxAbsDiff: Infinity,
      maxRelDiff: Infinity,
      first: [],
      message: `${label}: length ${gpu.length} ≠ reference length ${ref.length}`,
    };
  }
  let mismatches = 0,
    maxAbs = 0,
    maxRel = 0;
  const first: ParityReport['first'] = [];
  for (let i = 0; i < ref.length; i++) {
    const g = gpu[i],
      r = ref[i];
    const d = Math.abs(g - r);
    const bad = !(d <= atol + rtol * Math.abs(r)) || Number.isNaN(g) !== Number.isNaN(r);
    if (Number.isFinite(d)) {
      maxAbs = Math.max(maxAbs, d);
      if (r !== 0) maxRel = Math.max(maxRel, d / Math.abs(r));
    } else if (bad) {
      maxAbs = Infinity;
    }
    if (bad) {
      mismatches++;
      if (first.length < show) first.push({ index: i, gpu: g, ref: r });
    }
  }
  const ok = mismatches === 0;
  const head = `${label}: ${ok ? 'ok' : `${mismatches}/${ref.length} mismatches`} (max |Δ| ${maxAbs.toExponential(3)}, max rel ${maxRel.toExponential(3)}, atol ${atol}, rtol ${rtol})`;
  const detail = first
    .map((f) => `  [${f.index}] gpu=${f.gpu} ref=${f.ref} Δ=${Math.abs(f.gpu - f.ref).toExponential(3)}`)
    .join('\n');
  return {
    ok,
    count: ref.length,
    mismatches,
    maxAbsDiff: maxAbs,
    maxRelDiff: maxRel,
    first,
    message: ok ? head : `${head}\n${detail}`,
  };
}
