/**
 * Text from the base model and the tuned model side by side, same prompt, same sampling seed. Tokens
 * stream in as the engine draws them (KV-cached decoding), with progress and a Cancel that keeps what
 * was generated so far.
 */
import { useState } from 'react';
import { cancelGeneration, generate, isActive } from '../runs';
import { useStudio } from '../store';

export function GenerateTab() {
  const engineRun = useStudio((s) => (s.engineRunId ? s.runs[s.engineRunId] : null));
  const ready = useStudio((s) => s.engine === 'ready' && !s.deviceLost);
  const gens = useStudio((s) => s.generations);
  const live = useStudio((s) => s.liveGeneration);
  const [prompt, setPrompt] = useState('The ');
  const [maxTokens, setMaxTokens] = useState(64);
  const [temperature, setTemperature] = useState(0.8);
  const [topK, setTopK] = useState(40);
  const [topP, setTopP] = useState(1);
  const [seed, setSeed] = useState(0);
  const [busy, setBusy] = useState(false);
  const can = ready && !!engineRun && !busy && prompt.length > 0;
  const latest = live ?? gens[0];
  const progress = live
    ? `${live.side === 'base' ? 'base' : 'tuned'} model: ${live.tokens} / ${live.maxTokens} tokens`
    : null;
  return (
    <>
      <div className="card" data-testid="generate-controls">
        <p className="small muted" style={{ marginTop: 0 }}>
          {engineRun ? (
            <>
              Samples from the model the engine holds: <strong>{engineRun.name}</strong> ({engineRun.status}
              {isActive(engineRun) ? `, step ${engineRun.step}` : ''}). Base = before fine-tuning, tuned = now.
            </>
          ) : (
            'Train a run in this session first: generation uses the model the engine holds.'
          )}
        </p>
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
              setBusy(true);
              await generate(prompt, { maxTokens, temperature, topK, topP, seed });
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
          {!live && gens[0]?.cancelled && (
            <span className="small muted" data-testid="generate-cancelled">
              cancelled — kept what was generated
            </span>
          )}
        </div>
      </div>
      {latest ? (
        <div className="gen-cols" data-testid="generate-output">
          <div>
            <div className="group-title">Base model</div>
            <div className="gen-out" data-testid="generate-base">
              <span className="muted">{latest.prompt}</span>
              {latest.base}
            </div>
          </div>
          <div>
            <div className="group-title">Tuned model</div>
            <div className="gen-out" data-testid="generate-tuned">
              <span className="muted">{latest.prompt}</span>
              {latest.tuned}
            </div>
          </div>
        </div>
      ) : (
        <div className="empty-state">Generated text appears here, base and tuned side by side.</div>
      )}
    </>
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
