/**
 * The numbers behind the Compare tab, pure (tested in tests/ui/compare.test.ts): which config fields
 * differ between the compared runs, each run's baseline (its step-0 evaluation of the untouched model)
 * and the changes against it, the CSV of the whole comparison, and the comparison as a link.
 *
 * Learning vs forgetting follows the intruder-dimension paper's framing (Shuttleworth et al. 2024,
 * "LoRA vs Full Fine-tuning: An Illusion of Equivalence", arXiv:2410.21228): Δ target loss (here the
 * validation loss on the fine-tuning data) against Δ loss on held-out pretraining-like text (the
 * forgetting probe), both measured from the same model's step 0.
 */
import { deflateSync } from 'fflate';
import { RunConfigSchema, type RunConfig } from '../engine/config';
import {
  decodeConfig,
  encodeConfig,
  fromBase64Url,
  inflateCapped,
  LinkError,
  safeJsonParse,
  toBase64Url,
} from './share';
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

// ---- the comparison as a link ----------------------------------------------------------------------

/**
 * `#compare=<base64url(deflate(JSON {v:1, runs:[{id, name, run}]}))>`, where `run` is each run's own
 * link payload (share.ts encodeConfig). Opening it selects the runs this browser has (by id, else by an
 * identical config) and offers to train the others from their configs: same config and seed on the same
 * adapter give the same losses, so a fresh profile can rebuild the whole comparison.
 */
export interface CompareLinkRun {
  id: string;
  name: string;
  config: RunConfig;
}

/** At most this many runs in one comparison (the Compare tab's own limit). */
export const MAX_COMPARE_RUNS = 8;
const MAX_COMPARE_CHARS = 24_000;
const MAX_COMPARE_JSON = 96 * 1024;

export function isCompareFragment(hash: string): boolean {
  return /^#?compare=/.test(hash);
}

export function encodeCompareFragment(runs: CompareLinkRun[]): string {
  const json = JSON.stringify({
    v: 1,
    runs: runs.slice(0, MAX_COMPARE_RUNS).map((r) => ({ id: r.id, name: r.name, run: encodeConfig(r.config) })),
  });
  return `compare=${toBase64Url(deflateSync(new TextEncoder().encode(json), { level: 9 }))}`;
}

/** Decode a `#compare=` fragment. Never throws: a bad link is one message and changes nothing. */
export function decodeCompareFragment(
  hash: string,
): { ok: true; runs: CompareLinkRun[] } | { ok: false; error: string } {
  try {
    const h = hash.replace(/^#/, '');
    if (!h.startsWith('compare=')) throw new LinkError('not a comparison link');
    const payload = h.slice('compare='.length);
    if (!payload) throw new LinkError('the comparison link has no data after "compare="');
    if (payload.length > MAX_COMPARE_CHARS)
      throw new LinkError(
        `the comparison link is too long (${payload.length} characters; at most ${MAX_COMPARE_CHARS})`,
      );
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(inflateCapped(fromBase64Url(payload), MAX_COMPARE_JSON));
    } catch (e) {
      if (e instanceof LinkError) throw e;
      throw new LinkError('the comparison link data is not text');
    }
    const v = safeJsonParse(text) as { v?: unknown; runs?: unknown };
    if (!v || typeof v !== 'object' || v.v !== 1 || !Array.isArray(v.runs))
      throw new LinkError('the link is not a Rankscope comparison (expected version 1 with a list of runs)');
    if (v.runs.length === 0) throw new LinkError('the comparison link names no runs');
    if (v.runs.length > MAX_COMPARE_RUNS)
      throw new LinkError(
        `the comparison link names ${v.runs.length} runs; a comparison holds at most ${MAX_COMPARE_RUNS}`,
      );
    const runs = v.runs.map((r: unknown, i: number) => {
      const x = r as { id?: unknown; name?: unknown; run?: unknown };
      if (!x || typeof x.run !== 'string' || typeof x.name !== 'string' || typeof x.id !== 'string')
        throw new LinkError(`run ${i + 1} of the comparison link is incomplete (needs id, name and run)`);
      if (!/^[\w.-]{1,80}$/.test(x.id)) throw new LinkError(`run ${i + 1} of the comparison link has a malformed id`);
      try {
        return { id: x.id, name: x.name.slice(0, 200), config: decodeConfig(x.run) };
      } catch (e) {
        throw new LinkError(`run ${i + 1} (“${x.name.slice(0, 60)}”): ${(e as Error).message}`);
      }
    });
    return { ok: true, runs };
  } catch (e) {
    return {
      ok: false,
      error:
        e instanceof LinkError ? e.message : `the comparison link could not be read (${(e as Error)?.message ?? e})`,
    };
  }
}

/** One canonical text per config (every default explicit), so equal configs compare equal. */
export function canonicalConfig(c: RunConfig): string {
  return JSON.stringify(RunConfigSchema.parse(c));
}

/**
 * Which of the link's runs this browser has: by id with the same config, else any run with an identical
 * config (a reproduction made earlier). `missing` are the ones to train, in the link's order.
 */
export function matchCompareLink(
  linkRuns: CompareLinkRun[],
  local: RunRecord[],
): { ids: (string | null)[]; missing: CompareLinkRun[] } {
  const canon = new Map<string, string>();
  const key = (r: RunRecord) => {
    let k = canon.get(r.id);
    if (k === undefined) {
      try {
        k = canonicalConfig(r.config);
      } catch {
        k = '';
      }
      canon.set(r.id, k);
    }
    return k;
  };
  const used = new Set<string>();
  const ids = linkRuns.map((lr) => {
    const want = canonicalConfig(lr.config);
    const byId = local.find((r) => r.id === lr.id && key(r) === want);
    const hit = byId ?? local.find((r) => !used.has(r.id) && key(r) === want && r.status !== 'error');
    if (hit) used.add(hit.id);
    return hit?.id ?? null;
  });
  return { ids, missing: linkRuns.filter((_, i) => ids[i] === null) };
}
