/**
 * "Analyse a PEFT adapter" (issue 11 item 5): a hub id (`owner/name[@revision]`) or the adapter's files
 * (adapter_config.json + adapter_model.safetensors, picked or as a folder), optionally another base. The
 * worker downloads, merges and analyses; the result is an "analysis" entry in the runs list.
 */
import { useState } from 'react';
import { openAdapterAnalysis, useAnalysisUi } from '../analysis';
import { useStudio } from '../store';

export function AdapterAnalysisPanel() {
  const ready = useStudio((s) => s.engine === 'ready');
  const { busy, status, error } = useAnalysisUi();
  const [spec, setSpec] = useState('');
  const [base, setBase] = useState('');
  const pick = (files: FileList | null) => {
    if (files?.length) void openAdapterAnalysis({ files: [...files] }, { base });
  };
  return (
    <section
      className="card"
      data-testid="adapter-analysis"
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) e.preventDefault();
      }}
      onDrop={(e) => {
        // dropped adapter_config.json + adapter_model.safetensors (a dropped folder's files are not listed
        // by FileList: use Folder… for folders)
        if (!e.dataTransfer.files.length) return;
        e.preventDefault();
        if (ready && !busy) pick(e.dataTransfer.files);
      }}
    >
      <details open={busy || !!error || undefined}>
        <summary className="card-title">Analyse a PEFT adapter</summary>
        <p className="muted small">
          Any LoRA adapter — from the hub, or its files picked or dropped here — merged into its base: spectra, ΔW
          ranks, intruder dimensions (new directions vs rotations, k = 10) and α per layer, without training. The hub
          endpoint and token are the model picker&apos;s (Hub settings).
        </p>
        <div className="field">
          <label htmlFor="adapter-spec">Hub id</label>
          <div className="hub-row">
            <input
              id="adapter-spec"
              data-testid="input-adapter-spec"
              placeholder="owner/my-lora@main"
              value={spec}
              spellCheck={false}
              onChange={(e) => setSpec(e.target.value)}
            />
            <button
              className="btn small"
              data-testid="btn-adapter-analyse"
              disabled={!ready || busy || spec.trim() === ''}
              onClick={() => void openAdapterAnalysis({ hub: spec }, { base })}
            >
              Analyse
            </button>
          </div>
        </div>
        <div className="field">
          <label htmlFor="adapter-base">Base model (optional)</label>
          <input
            id="adapter-base"
            data-testid="input-adapter-base"
            placeholder="from adapter_config.json (base_model_name_or_path)"
            value={base}
            spellCheck={false}
            onChange={(e) => setBase(e.target.value)}
          />
        </div>
        <div className="field hub-row">
          <label className="btn small" title="adapter_config.json + adapter_model.safetensors">
            Files…
            <input
              type="file"
              hidden
              multiple
              disabled={!ready || busy}
              accept=".json,.safetensors"
              data-testid="input-adapter-files"
              onChange={(e) => {
                pick(e.target.files);
                e.target.value = '';
              }}
            />
          </label>
          <label className="btn small" title="A folder saved by PEFT's save_pretrained">
            Folder…
            <input
              type="file"
              hidden
              disabled={!ready || busy}
              data-testid="input-adapter-folder"
              {...({ webkitdirectory: '' } as Record<string, string>)}
              onChange={(e) => {
                pick(e.target.files);
                e.target.value = '';
              }}
            />
          </label>
        </div>
        {status && (
          <div className="field-help" data-testid="adapter-status" aria-live="polite">
            {busy ? '⏳ ' : ''}
            {status}
          </div>
        )}
        {error && (
          <div className="field-msg" role="alert" data-testid="adapter-error">
            {error}
          </div>
        )}
      </details>
    </section>
  );
}
