/**
 * Text from the base model and the tuned model side by side, same prompt, same sampling seed, from any
 * stored run: the run the engine holds, or one whose newest checkpoint the engine loads on demand.
 * Tokens stream in as the engine draws them (KV-cached decoding), with progress and a Cancel that keeps
 * what was generated so far. Every sample is kept with its run (IndexedDB) and shown again after a reload.
 */
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { cancelGeneration, generate } from '../runs';
import { useStudio } from '../store';
import type { Generation, RunRecord } from '../types';

/** Runs there is a tuned model for: the one the engine holds, or one with a saved checkpoint. */
export function generatableRuns(runs: RunRecord[], engineRunId: string | null): RunRecord[] {
  return runs
    .filter((r) => r.id === engineRunId || r.checkpointStep !== undefined)
    .sort((a, b) => b.createdAt - a.createdAt);
}

export function GenerateTab() {
  const engineRunId = useStudio((s) => s.engineRunId);
  const selectedRunId = useStudio((s) => s.selectedRunId);
  const runs = useStudio(useShallow((s) => generatableRuns(Object.values(s.runs), s.engineRunId)));
  const ready = useStudio((s) => s.engine === 'ready' && !s.deviceLost);
  const live = useStudio((s) => s.liveGeneration);
  const [picked, setPicked] = useState<string | null>(null);
  const [prompt, setPrompt] = useState('The ');
  const [maxTokens, setMaxTokens] = useState(64);
  const [temperature, setTemperature] = useState(0.8);
  const [topK, setTopK] = useState(40);
  const [topP, setTopP] = useState(1);
  const [seed, setSeed] = useState(0);
  const [busy, setBusy] = useState(false);
  const has = (id: string | null) => !!id && runs.some((r) => r.id === id);
  const runId = has(picked)
    ? picked
    : has(selectedRunId)
      ? selectedRunId
      : has(engineRunId)
        ? engineRunId
        : (runs[0]?.id ?? null);
  const run = runs.find((r) => r.id === runId) ?? null;
  const samples = run?.samples ?? [];
  const liveHere = live && live.runId === runId ? live : null;
  const can = ready && !!run && !busy && !live && prompt.length > 0;
  const latest: Pick<Generation, 'prompt' | 'base' | 'tuned'> | undefined = liveHere ?? samples[0];
  const progress = liveHere
    ? liveHere.tokens === 0
      ? runId === engineRunId
        ? 'starting…'
        : `loading the run's checkpoint (step ${run?.checkpointStep ?? '?'})…`
      : `${liveHere.side === 'base' ? 'base' : 'tuned'} model: ${liveHere.tokens} / ${liveHere.maxTokens} tokens`
    : null;
  return (
    <>
      <div className="card" data-testid="generate-controls">
        {runs.length === 0 ? (
          <p className="small muted" style={{ marginTop: 0 }}>
            Train a run first: generation compares a run's base model and its tuned model.
          </p>
        ) : (
          <p className="small muted" style={{ marginTop: 0 }}>
            <label>
              Run{' '}
              <select
                value={runId ?? ''}
                onChange={(e) => setPicked(e.target.value)}
                disabled={busy}
                aria-label="Run to sample from"
                data-testid="generate-run-select"
                style={{ maxWidth: 360 }}
              >
                {runs.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                    {r.id === engineRunId ? ' (in the engine)' : ` (checkpoint step ${r.checkpointStep})`}
                  </option>
                ))}
              </select>
            </label>{' '}
            Base = before fine-tuning, tuned ={' '}
            {run && run.id === engineRunId ? 'the model the engine holds now' : "the run's last checkpoint"}.
          </p>
        )}
        <textarea
          className="prompt"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value.slice(0, 2000))}
          aria-label="Prompt"
          data-testid="generate-prompt"
        />
        <div className="btn-row" style={{ marginTop: 6 }}>
          <Num label="tokens" value={maxTokens} set={setMaxTokens} min={1} max={512} />
          <Num label="temperature" value={temperature} set={setTemperature} min={0} max={2} step={0.1} />
          <Num label="top-k" value={topK} set={setTopK} min={0} max={1000} />
          <Num label="top-p" value={topP} set={setTopP} min={0.01} max={1} step={0.05} />
          <Num label="seed" value={seed} set={setSeed} min={0} max={2 ** 31} />
          <button
            type="button"
            className="btn primary"
            disabled={!can}
            data-testid="generate-run"
            onClick={async () => {
              if (!runId) return;
              setBusy(true);
              await generate(runId, prompt, { maxTokens, temperature, topK, topP, seed });
              setBusy(false);
            }}
          >
            {busy ? 'Generating…' : 'Generate'}
          </button>
          {busy && (
            <button type="button" className="btn" data-testid="generate-cancel" onClick={() => void cancelGeneration()}>
              Cancel
            </button>
          )}
          {progress && (
            <span className="small muted" data-testid="generate-progress" aria-live="polite">
              {progress}
            </span>
          )}
          {!liveHere && samples[0]?.cancelled && (
            <span className="small muted" data-testid="generate-cancelled">
              cancelled — kept what was generated
            </span>
          )}
        </div>
      </div>
      {latest ? (
        <Sample g={latest} testid="generate-output" />
      ) : (
        <div className="empty-state">Generated text appears here, base and tuned side by side.</div>
      )}
      {samples.length > (liveHere ? 0 : 1) && (
        <details className="card" data-testid="generate-history">
          <summary className="small">
            Earlier samples of this run ({samples.length - (liveHere ? 0 : 1)}), kept in this browser
          </summary>
          {samples.slice(liveHere ? 0 : 1).map((g) => (
            <div key={g.id} style={{ marginTop: 8 }}>
              <div className="small muted">
                {new Date(g.at).toLocaleString()}
                {g.settings &&
                  ` · ${g.settings.maxTokens} tokens, temperature ${g.settings.temperature}, top-k ${g.settings.topK}, top-p ${g.settings.topP}, seed ${g.settings.seed}`}
                {g.cancelled && ' · cancelled'}
              </div>
              <Sample g={g} />
            </div>
          ))}
        </details>
      )}
    </>
  );
}

function Sample({ g, testid }: { g: Pick<Generation, 'prompt' | 'base' | 'tuned'>; testid?: string }) {
  return (
    <div className="gen-cols" data-testid={testid}>
      <div>
        <div className="group-title">Base model</div>
        <div className="gen-out" data-testid={testid && 'generate-base'}>
          <span className="muted">{g.prompt}</span>
          {g.base}
        </div>
      </div>
      <div>
        <div className="group-title">Tuned model</div>
        <div className="gen-out" data-testid={testid && 'generate-tuned'}>
          <span className="muted">{g.prompt}</span>
          {g.tuned}
        </div>
      </div>
    </div>
  );
}

function Num({
  label,
  value,
  set,
  min,
  max,
  step = 1,
}: {
  label: string;
  value: number;
  set: (v: number) => void;
  min: number;
  max: number;
  step?: number;
}) {
  return (
    <label className="small">
      {label}{' '}
      <input
        type="number"
        value={value}
        min={min}
        max={max}
        step={step}
        style={{ width: 70 }}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (Number.isFinite(v)) set(Math.min(max, Math.max(min, v)));
        }}
      />
    </label>
  );
}
