/**
 * Issue 14: a recorded metrics file in the exported format (the lines `train --json` printed for a
 * micro LoRA run on llvmpipe, the same format train.py writes) with its run_config.json comes back as
 * a page run export that the page's own parser (ui/exporting.ts parseExport, what Import uses before
 * Compare sees the run) accepts, with every series intact.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMetricsJsonl, PythonImportError, pythonRunToExport } from '../../src/engine/export/python/import';
import { parseExport } from '../../src/ui/exporting';

const dir = path.join(__dirname, '../fixtures/python-run');
const metricsJsonl = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
const runConfigJson = readFileSync(path.join(dir, 'run_config.json'), 'utf8');

describe('import --python-run', () => {
  it('a recorded metrics file becomes a run the page imports, every series intact', () => {
    const ex = pythonRunToExport({
      metricsJsonl,
      runConfigJson,
      adapterFiles: ['adapter_config.json'],
      now: 1_700_000_000_000,
    });
    const parsed = parseExport(new TextEncoder().encode(JSON.stringify(ex)));
    const lines = metricsJsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = lines.filter((l) => !('summary' in l));
    const b = parsed.metrics[0].batch;
    expect(b.step).toEqual(steps.map((l) => l.step));
    for (const k of ['loss', 'lr', 'gradNorm', 'tokensPerSec', 'valLoss', 'probeLoss'] as const)
      expect(b[k]).toEqual(steps.map((l) => (l[k] as number | undefined) ?? null));
    expect(parsed.run.config.method.id).toBe('lora');
    expect(parsed.run.status).toBe('done');
    expect(parsed.run.step).toBe(8);
    expect(parsed.run.totalSteps).toBe(8);
    expect(parsed.run.summary?.valLoss).toBe((lines.at(-1)!.summary as { valLoss: number }).valLoss);
  });

  it('an unfinished run is marked stopped; bad lines are refused with the line number', () => {
    const cut = metricsJsonl.split('\n').slice(0, 4).join('\n');
    const ex = pythonRunToExport({ metricsJsonl: cut, runConfigJson });
    expect(ex.run.status).toBe('stopped');
    expect(() => parseMetricsJsonl('{"step":1,"loss":"x"}')).toThrow(/line 1: "loss" must be a number/);
    expect(() => parseMetricsJsonl('{"step":2}\n{"step":1}')).toThrow(/line 2: step 1 after step 2/);
    expect(() => parseMetricsJsonl('')).toThrow(PythonImportError);
    expect(() => pythonRunToExport({ metricsJsonl, runConfigJson: '{}' })).toThrow(/studio_run/);
  });
});
