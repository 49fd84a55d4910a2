/**
 * Bringing a Python run back (issue 14): the out/ folder of an exported project's train.py
 * (metrics.jsonl in `train --json`'s format, run_config.json with the studio run, adapter/ in PEFT
 * format) as the page's run export (ui/exporting.ts, format "rankscope-run"), so the page's Import
 * adds it to the history and Compare plots it beside browser runs. Pure: no file system, no DOM.
 */
import { parseRunConfig, type RunConfig } from '../../config';

export class PythonImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonImportError';
  }
}

const SERIES = ['loss', 'lr', 'gradNorm', 'tokensPerSec', 'valLoss', 'probeLoss'] as const;
type Series = (typeof SERIES)[number];

export interface ParsedMetrics {
  rows: ({ step: number } & Partial<Record<Series, number>>)[];
  summary: Record<string, unknown> | null;
}

/** metrics.jsonl → per-step rows (step 0 = the eval before training) and the final summary. */
export function parseMetricsJsonl(text: string, where = 'metrics.jsonl'): ParsedMetrics {
  const rows: ParsedMetrics['rows'] = [];
  let summary: Record<string, unknown> | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new PythonImportError(`${where} line ${i + 1}: not JSON`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v))
      throw new PythonImportError(`${where} line ${i + 1}: not an object`);
    const o = v as Record<string, unknown>;
    if ('summary' in o) {
      summary = (o.summary ?? null) as Record<string, unknown> | null;
      continue;
    }
    if (!Number.isInteger(o.step) || (o.step as number) < 0)
      throw new PythonImportError(`${where} line ${i + 1}: "step" must be an integer ≥ 0`);
    const row: ParsedMetrics['rows'][number] = { step: o.step as number };
    for (const k of SERIES) {
      if (o[k] === undefined || o[k] === null) continue;
      if (typeof o[k] !== 'number') throw new PythonImportError(`${where} line ${i + 1}: "${k}" must be a number`);
      row[k] = o[k];
    }
    if (rows.length && row.step <= rows[rows.length - 1].step)
      throw new PythonImportError(`${where} line ${i + 1}: step ${row.step} after step ${rows[rows.length - 1].step}`);
    rows.push(row);
  }
  if (!rows.length) throw new PythonImportError(`${where}: no step rows`);
  return { rows, summary };
}

export interface PythonRunFiles {
  metricsJsonl: string;
  /** out/run_config.json (or the project's run_config.json): its studio_run is the RunConfig. */
  runConfigJson: string;
  /** Adapter file names found in out/adapter/ (for the record). */
  adapterFiles?: string[];
  /** When the run was imported (ms since epoch); default now. */
  now?: number;
}

/** The page's run export object ({format: "rankscope-run", version: 1, run, metrics, spectra}). */
export function pythonRunToExport(
  f: PythonRunFiles,
): { run: { config: RunConfig } & Record<string, unknown> } & Record<string, unknown> {
  let rc: { studio_run?: unknown; name?: string | null };
  try {
    rc = JSON.parse(f.runConfigJson) as typeof rc;
  } catch {
    throw new PythonImportError('run_config.json is not JSON');
  }
  if (!rc || typeof rc !== 'object' || !rc.studio_run)
    throw new PythonImportError(
      'run_config.json has no "studio_run" (is it the run_config.json of an exported project?)',
    );
  let config: RunConfig;
  try {
    config = parseRunConfig(rc.studio_run);
  } catch (e) {
    throw new PythonImportError(`run_config.json studio_run: ${(e as Error).message}`);
  }
  const { rows, summary } = parseMetricsJsonl(f.metricsJsonl);
  const now = f.now ?? Date.now();
  const last = rows[rows.length - 1].step;
  const complete = summary?.complete === true && last >= config.train.steps;
  const col = (k: Series) => rows.map((r) => r[k] ?? null);
  const name = `${config.name ?? `${config.method.id} on ${config.dataset.id}`} (Python${summary?.devices ? `, ${String(summary.devices)} device(s)` : ''})`;
  const seconds = typeof summary?.seconds === 'number' ? summary.seconds : 0;
  return {
    format: 'rankscope-run',
    version: 1,
    exportedAt: new Date(now).toISOString(),
    link: null,
    run: {
      id: `py-${config.method.id}-${now.toString(36)}`.slice(0, 80),
      name: name.slice(0, 200),
      config,
      createdAt: now,
      updatedAt: now,
      status: complete ? 'done' : 'stopped',
      step: last,
      totalSteps: config.train.steps,
      adapterName: f.adapterFiles?.length ? `PEFT (${f.adapterFiles.join(', ')})` : '(no adapter)',
      matrices: [],
      message: `trained by the exported Python project (transformers + PEFT)${summary?.adapter ? ` on ${String(summary.adapter)}` : ''}`,
      summary: { ...(summary ?? {}), source: 'python' },
    },
    metrics: [
      {
        elapsedMs: seconds * 1000,
        batch: {
          step: rows.map((r) => r.step),
          loss: col('loss'),
          lr: col('lr'),
          gradNorm: col('gradNorm'),
          tokensPerSec: col('tokensPerSec'),
          valLoss: col('valLoss'),
          probeLoss: col('probeLoss'),
        },
      },
    ],
    spectra: [],
  };
}
