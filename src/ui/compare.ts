/**
 * The numbers behind the Compare tab, pure (tested in tests/ui/compare.test.ts): which config fields
 * differ between the compared runs, each run's baseline (its step-0 evaluation of the untouched model)
 * and the changes against it, and the CSV of the whole comparison.
 *
 * Learning vs forgetting follows the intruder-dimension paper's framing (Shuttleworth et al. 2024,
 * "LoRA vs Full Fine-tuning: An Illusion of Equivalence", arXiv:2410.21228): Δ target loss (here the
 * validation loss on the fine-tuning data) against Δ loss on held-out pretraining-like text (the
 * forgetting probe), both measured from the same model's step 0.
 */
import type { RunConfig } from '../engine/config';
import type { RunMetrics } from './store/runData';
import { seriesView } from './series';
import type { RunRecord } from './types';

/** Dotted path → printable value for every leaf of a config (arrays as JSON). */
export function flattenConfig(c: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    for (const [k, v] of Object.entries(c as Record<string, unknown>))
      flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = typeof c === 'string' ? c : JSON.stringify(c ?? null);
  return out;
}

/** The config fields whose values are not the same in every run (a field absent in a run shows "—"). */
export function configDiff(configs: RunConfig[]): { path: string; values: string[] }[] {
  const flat = configs.map((c) => flattenConfig(c));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return paths
    .map((path) => ({ path, values: flat.map((f) => f[path] ?? '—') }))
    .filter((d) => new Set(d.values).size > 1);
}

export interface CompareRow {
  id: string;
  name: string;
  method: string;
  lr: number;
  steps: number;
  /** Step-0 evaluation (the untouched model); null when the run has none (older runs, eval off). */
  baseVal: number | null;
  baseProbe: number | null;
  finalVal: number | null;
  bestVal: number | null;
  finalProbe: number | null;
  /** final − base: negative = learned (val) / improved, positive probe change = forgetting. */
  dVal: number | null;
  dProbe: number | null;
  finalLoss: number | null;
  trainableParams: number | null;
  optimizerBytes: number | null;
  wallSeconds: number | null;
}

const finite = (x: number | undefined | null): number | null =>
  x !== undefined && x !== null && Number.isFinite(x) ? x : null;

export function compareRow(run: RunRecord, m: RunMetrics | undefined): CompareRow {
  const evals = m ? seriesView(m.evals) : [];
  const base = evals.find((p) => p.step === 0);
  const after = evals.filter((p) => p.step > 0);
  const lastVal = [...after].reverse().find((p) => Number.isFinite(p.valLoss));
  const lastProbe = [...after].reverse().find((p) => Number.isFinite(p.probeLoss));
  const vals = after.map((p) => p.valLoss).filter(Number.isFinite);
  const baseVal = finite(base?.valLoss),
    baseProbe = finite(base?.probeLoss),
    finalVal = finite(lastVal?.valLoss),
    finalProbe = finite(lastProbe?.probeLoss);
  const summarySeconds = run.summary?.seconds;
  return {
    id: run.id,
    name: run.name,
    method: run.config.method.id,
    lr: run.config.train.lr,
    steps: run.step,
    baseVal,
    baseProbe,
    finalVal,
    bestVal: vals.length ? Math.min(...vals) : null,
    finalProbe,
    dVal: baseVal !== null && finalVal !== null ? finalVal - baseVal : null,
    dProbe: baseProbe !== null && finalProbe !== null ? finalProbe - baseProbe : null,
    finalLoss: finite(m?.train.last?.loss),
    trainableParams: finite(run.memory?.trainableParams),
    optimizerBytes: finite(run.memory?.optimizerState?.total ?? run.memory?.optimizer),
    wallSeconds: typeof summarySeconds === 'number' ? summarySeconds : m && m.elapsedMs > 0 ? m.elapsedMs / 1000 : null,
  };
}

const CSV_COLUMNS: (keyof CompareRow)[] = [
  'name',
  'method',
  'lr',
  'steps',
  'baseVal',
  'finalVal',
  'bestVal',
  'dVal',
  'baseProbe',
  'finalProbe',
  'dProbe',
  'finalLoss',
  'trainableParams',
  'optimizerBytes',
  'wallSeconds',
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The comparison as CSV: one row per run (the table's figures), then the differing config fields. */
export function compareCsv(
  rows: CompareRow[],
  diff: { path: string; values: string[] }[],
  intruders: (number | null)[] = [],
): string {
  const head = [...CSV_COLUMNS, 'intruders', ...diff.map((d) => d.path)];
  const lines = [head.map(csvCell).join(',')];
  rows.forEach((r, k) =>
    lines.push(
      [...CSV_COLUMNS.map((c) => r[c]), intruders[k] ?? null, ...diff.map((d) => d.values[k])].map(csvCell).join(','),
    ),
  );
  return lines.join('\n') + '\n';
}
