/**
 * The presets gallery: each preset's claim and paper, its budget (runs × steps), whether the engine
 * can run it (waiting presets are greyed with why), its last result in this browser, and the time it
 * should take on this adapter — measured by timing one training step of the preset's first run in the
 * worker (calibrate) and multiplying by every run's steps, evaluations and preparation.
 */
import { useEffect, useMemo, useState } from 'react';
import { estimateSeconds } from '../experiments';
import { calibrate, startExperiment, useExperiments } from '../experimentsQueue';
import { PRESETS, presetBase, presetExperiment, presetStatus, type Budget } from '../experimentsPresets';
import { formatDuration } from '../format';
import { defaultParams } from '../methods';
import { isActive } from '../runs';
import { useStudio } from '../store';
import { verdictWord } from './ExperimentsTab';

export function ExperimentsGallery() {
  const [budget, setBudget] = useState<Budget>('smoke');
  const methods = useStudio((s) => s.catalog.methods);
  const loaded = useStudio((s) => s.catalog.loaded);
  const engine = useStudio((s) => s.engine);
  const busy = useStudio((s) => (s.engineRunId ? isActive(s.runs[s.engineRunId]) : false));
  const experiments = useExperiments((s) => s.experiments);
  const calibration = useExperiments((s) => s.calibration);
  const calibrating = useExperiments((s) => s.calibrating);
  const ids = methods.map((m) => m.id);

  const specs = useMemo(() => {
    const paramsFor = (id: string) => {
      const m = methods.find((x) => x.id === id);
      return m ? defaultParams(m) : null;
    };
    return PRESETS.map((p) => {
      const status = presetStatus(p, ids);
      let spec = null;
      let error: string | null = null;
      if (status.ready)
        try {
          spec = presetExperiment(p, budget, paramsFor);
        } catch (e) {
          error = (e as Error).message;
        }
      return { p, status, spec, error };
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [methods, budget]);

  // one calibration on this adapter (the budget's base run), when the engine is free
  const calConfig = useMemo(() => presetBase(budget), [budget]);
  useEffect(() => {
    if (engine === 'ready' && loaded && !busy) void calibrate(calConfig);
  }, [engine, loaded, busy, calConfig]);
  const cal = calibration && calibration.config === JSON.stringify(calConfig) ? calibration : null;

  const last = (presetId: string) =>
    Object.values(experiments)
      .filter((e) => e.spec.preset === presetId && e.status === 'done')
      .sort((a, b) => b.createdAt - a.createdAt)[0];

  return (
    <div className="card" data-testid="exp-gallery">
      <h3 className="card-title">
        Presets: papers’ claims, reproduced here
        <span className="spacer" />
        <label className="small">
          Budget{' '}
          <select
            value={budget}
            onChange={(e) => setBudget(e.target.value as Budget)}
            data-testid="exp-budget"
            aria-label="Budget"
          >
            <option value="smoke">smoke (CI-sized)</option>
            <option value="full">full (README figures)</option>
          </select>
        </label>
      </h3>
      <p className="small muted" data-testid="exp-calibration">
        {cal
          ? `Estimates from a calibration on this adapter (${cal.adapter}): ${cal.stepMs.toFixed(0)} ms per training step of the micro model, ${cal.evalMs.toFixed(0)} ms per evaluation, ${cal.prepareMs.toFixed(0)} ms to prepare a run.`
          : calibrating
            ? 'Timing one training step on this adapter…'
            : 'Time estimates appear after a one-step calibration (when no run is in progress).'}
      </p>
      <div className="exp-gallery">
        {specs.map(({ p, status, spec, error }) => {
          const prev = last(p.id);
          const steps = spec ? spec.runs.reduce((a, c) => a + c.train.steps, 0) : 0;
          return (
            <div
              key={p.id}
              className={`exp-preset${status.ready ? '' : ' waiting'}`}
              data-testid={`exp-preset-${p.id}`}
              data-ready={status.ready}
            >
              <h4>{p.title}</h4>
              <blockquote className="exp-claim small">{p.claim}</blockquote>
              <p className="small muted">{p.paper}</p>
              {spec ? (
                <p className="small">
                  {spec.runs.length} runs × {spec.runs[0].train.steps} steps ({steps} steps) on {spec.runs[0].model.id}{' '}
                  / {spec.runs[0].dataset.id}; {p.lrNote}.
                  {cal && (
                    <>
                      {' '}
                      Estimated{' '}
                      <b data-testid="exp-estimate">{formatDuration(estimateSeconds(spec.runs, cal) * 1000)}</b> here.
                    </>
                  )}
                </p>
              ) : (
                <p className="small warn-text">{status.why ?? error}</p>
              )}
              {prev && (
                <p className="small" data-testid="exp-last-result">
                  Last result here: <b>{prev.verdict ? verdictWord(prev.verdict.holds) : 'no rule'}</b>
                  {prev.verdict ? ` — ${prev.verdict.reason}` : ''} ({new Date(prev.createdAt).toLocaleDateString()})
                </p>
              )}
              <button
                type="button"
                className="btn small primary"
                disabled={!spec || busy || engine !== 'ready'}
                title={status.why ?? (busy ? 'A run is in progress' : undefined)}
                onClick={() => spec && void startExperiment(spec)}
                data-testid={`exp-start-${p.id}`}
              >
                Start
              </button>
            </div>
          );
        })}
      </div>
    </div>
  );
}
