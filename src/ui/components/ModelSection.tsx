/** Base model: a built-in checkpoint, an architecture preset, or the person's own files. */
import { useState } from 'react';
import { formatBytes } from '../format';
import { chooseModelFiles } from '../localFiles';
import { chooseModel, modelKeyOf } from '../setupActions';
import { useStudio } from '../store';
import { Field } from './Field';
import { HubPicker } from './HubPicker';
import { useIssues } from './ConfigField';

export function ModelSection() {
  const models = useStudio((s) => s.catalog.models);
  const draftModel = useStudio((s) => s.draft.model);
  const arch = useStudio((s) => s.arch);
  const local = useStudio((s) => s.localModel);
  const issues = useIssues('model', true);
  const [pickError, setPickError] = useState<string | null>(null);
  const key = modelKeyOf({ model: draftModel } as never);
  const opt = models.find((m) => m.key === key);
  const onFiles = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setPickError(await chooseModelFiles(files));
  };
  return (
    <div className="field-group" data-testid="section-model">
      <div className="group-title">Base model</div>
      <Field label="Model" htmlFor="model-select" issues={issues} testid="field-model">
        <select
          id="model-select"
          value={key}
          onChange={(e) => void chooseModel(e.target.value)}
          data-testid="input-model"
        >
          {models.map((m) => (
            <option key={m.key} value={m.key}>
              {m.label}
            </option>
          ))}
          <option value="hub">Hugging Face hub…</option>
          <option value="local">Your own files…</option>
        </select>
      </Field>
      {key === 'hub' && <HubPicker />}
      {key === 'local' && (
        <div className="field">
          <span className="label">Files</span>
          <div className="file-pick">
            <label className="btn small">
              Folder…
              <input
                type="file"
                hidden
                multiple
                {...{ webkitdirectory: '' }}
                onChange={(e) => void onFiles(e.target.files)}
                data-testid="input-model-folder"
              />
            </label>{' '}
            <label className="btn small">
              Files…
              <input
                type="file"
                hidden
                multiple
                accept=".json,.safetensors"
                onChange={(e) => void onFiles(e.target.files)}
                data-testid="input-model-files"
              />
            </label>
          </div>
          {pickError && <div className="field-msg">{pickError}</div>}
          {local && (
            <ul className="file-list" data-testid="local-model-files">
              {local.files.map((f) => (
                <li key={f.name} title={f.sha256}>
                  {f.name} · {formatBytes(f.size)} · {f.sha256.slice(0, 12)}…
                </li>
              ))}
            </ul>
          )}
          <div className="field-help">
            config.json + model.safetensors (GPT-2 layout), plus tokenizer.json if it uses one. Files stay in this
            browser.
          </div>
        </div>
      )}
      {arch && (
        <div className="field">
          <span className="label muted">Shape</span>
          <div className="small mono" data-testid="model-arch">
            L{arch.nLayer} · C{arch.nEmbd} · H{arch.nHead} · T≤{arch.contextLength} · V{arch.vocabSize}
            {opt?.params ? ` · ${(opt.params / 1e6).toFixed(opt.params < 1e6 ? 3 : 1)}M params` : ''}
          </div>
        </div>
      )}
    </div>
  );
}
