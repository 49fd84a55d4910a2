/**
 * The presets gallery (the engine's presets, src/engine/experiments/presets): each preset's claim and
 * paper, its budget (runs × steps), whether it can run here (waiting presets are greyed with why), its
 * last result in this browser, and the time it should take on this adapter — from timing one training
 * step of the micro model in the worker (calibrate), multiplied out over every run's steps,
 * evaluations and preparation.
 */
import { useEffect, useMemo, useState } from 'react';
import type { RunConfig } from '../../engine/config';
import { listPresets } from '../../engine/experiments/presets';
import { estimateSeconds, expandForPage, pageLimitation, type Experiment } from '../experiments';
import { calibrate, startExperiment, useExperiments } from '../experimentsQueue';
import { formatDuration } from '../format';
import { engineBusy } from '../runs';
import { useStudio } from '../store';
import { verdictWord } from './experimentsShared';
import { ExperimentsPythonButton } from './ExperimentsPython';

type Budget = 'smoke' | 'full';

export function ExperimentsGallery() {
  const [budget, setBudget] = useState<Budget>('smoke');
  const [seeds, setSeeds] = useState(0); // 0: each preset's own
  const loaded = useStudio((s) => s.catalog.loaded);
  const engine = useStudio((s) => s.engine);
  const busy = useStudio((s) => !!engineBusy(s)); // a run, or the worker measuring an experiment's run
  const experiments = useExperiments((s) => s.experiments);
  const calibration = useExperiments((s) => s.calibration);
  const calibrating = useExperiments((s) => s.calibrating);

  const presets = useMemo(
    () =>
      listPresets().map((p) => {
        const exp: Experiment = { ...p.experiment, budget, ...(seeds ? { seeds } : {}) };
        const why = p.waiting.length
          ? `waiting: ${p.waiting.join(', ')} ${p.waiting.length > 1 ? 'are' : 'is'} not in the engine yet`
          : pageLimitation(exp);
        let configs: (RunConfig | null)[] | null = null;
        if (!why)
          try {
            configs = expandForPage(exp).configs;
          } catch {
            configs = null;
          }
        return { p, exp, why, configs };
      }),
    [budget, seeds],
  );

  // one calibration on this adapter: the smoke budget's micro-model run, when the engine is free
  const calConfig = useMemo(() => presets.flatMap((x) => x.configs ?? []).find((c) => c !== null) ?? null, [presets]);
  useEffect(() => {
    if (engine === 'ready' && loaded && !busy && calConfig) void calibrate({ ...calConfig, name: undefined });
  }, [engine, loaded, busy, calConfig]);
  const cal = calibration;

  const last = (id: string) =>
    Object.values(experiments)
      .filter((e) => e.experiment.id === id && e.status === 'done')
      .sort((a, b) => b.createdAt - a.createdAt)[0];

  return (
    <div className="card" data-testid="exp-gallery">
      <h3 className="card-title">
        Presets: papers’ claims, reproduced here
        <span className="spacer" />
        <label className="small">
          Budget{' '}
          <select value={budget} onChange={(e) => setBudget(e.target.value as Budget)} data-testid="exp-budget">
            <option value="smoke">smoke (CI-sized)</option>
            <option value="full">full (README figures)</option>
          </select>
        </label>{' '}
        <label className="small">
          Seeds{' '}
          <select value={seeds} onChange={(e) => setSeeds(Number(e.target.value))} data-testid="exp-seeds">
            <option value={0}>preset’s</option>
            {[1, 2, 3, 5].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </h3>
      <p className="small muted" data-testid="exp-calibration">
        {cal
          ? `Estimates from a calibration on this adapter (${cal.adapter}): ${cal.stepMs.toFixed(0)} ms per training step of the micro model, ${cal.evalMs.toFixed(0)} ms per evaluation, ${cal.prepareMs.toFixed(0)} ms to prepare a run; other models and batch sizes scale from it roughly.`
          : calibrating
            ? 'Timing one training step on this adapter…'
            : 'Time estimates appear after a one-step calibration (when no run is in progress).'}
      </p>
      <div className="exp-gallery">
        {presets.map(({ p, exp, why, configs }) => {
          const prev = last(p.id);
          return (
            <div
              key={p.id}
              className={`exp-preset${why ? ' waiting' : ''}`}
              data-testid={`exp-preset-${p.id}`}
              data-ready={!why && !!configs}
            >
              <h4>{p.title}</h4>
              <blockquote className="exp-claim small">{p.claim}</blockquote>
              <p className="small muted">
                {p.paper.title} (arXiv:{p.paper.arxiv})
              </p>
              {configs ? (
                <p className="small">
                  {sizeWords(configs)}; lr {lrWords(exp)}.
                  {cal && (
                    <>
                      {' '}
                      Estimated <b data-testid="exp-estimate">
                        {formatDuration(estimateSeconds(configs, cal) * 1000)}
                      </b>{' '}
                      here.
                    </>
                  )}
                </p>
              ) : (
                <p className="small warn-text" data-testid="exp-waiting">
                  {why ?? 'cannot be expanded'}
                </p>
              )}
              {prev?.verdict && (
                <p className="small" data-testid="exp-last-result">
                  Last result here ({prev.experiment.budget}): <b>{verdictWord(prev.verdict.holds)}</b> —{' '}
                  {prev.verdict.reason} ({new Date(prev.createdAt).toLocaleDateString()})
                </p>
              )}
              <button
                type="button"
                className="btn small primary"
                disabled={!configs || busy || engine !== 'ready'}
                title={why ?? (busy ? 'A run is in progress' : undefined)}
                onClick={() => void startExperiment(exp)}
                data-testid={`exp-start-${p.id}`}
              >
                Start
              </button>{' '}
              {configs && <ExperimentsPythonButton exp={exp} testId={`exp-python-${p.id}`} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

function lrWords(exp: Experiment): string {
  const lr = exp.lr;
  return lr.policy === 'grid'
    ? `grid ${lr.values.join(', ')} (each method judged at its best by val loss)`
    : lr.policy === 'per-method-defaults'
      ? 'each method’s documented default'
      : 'as configured (one shared lr)';
}

function sizeWords(configs: (RunConfig | null)[]): string {
  const c = configs.find((x) => x !== null);
  if (!c) return `${configs.length} matrix fits (no model, seconds each)`;
  return `${configs.length} runs × ${c.train.steps} steps on ${c.model.id} / ${c.dataset.id}`;
}
