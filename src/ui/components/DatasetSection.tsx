/** Dataset: a built-in set or an uploaded .txt / .jsonl file. */
import { useState } from 'react';
import { datasetSizeText } from '../catalog';
import { formatBytes } from '../format';
import { chooseDatasetFile } from '../localFiles';
import { useStudio } from '../store';
import { useIssues } from './ConfigField';
import { DataOptions } from './DataOptions';
import { Field } from './Field';

export function DatasetSection() {
  const datasets = useStudio((s) => s.catalog.datasets);
  const ds = useStudio((s) => s.draft.dataset);
  const upload = useStudio((s) => s.upload);
  const setField = useStudio((s) => s.setField);
  const issues = useIssues('dataset', true);
  const [err, setErr] = useState<string | null>(null);
  const value = ds.source === 'upload' ? 'upload' : ds.id;
  const opt = datasets.find((d) => d.id === ds.id);
  const kind = ds.source === 'upload' ? (upload?.kind ?? 'text') : (opt?.kind ?? 'text');
  return (
    <div className="field-group" data-testid="section-dataset">
      <div className="group-title">Dataset</div>
      <Field
        label="Dataset"
        htmlFor="dataset-select"
        issues={issues}
        help={
          ds.source === 'builtin' && opt
            ? `${opt.description}${datasetSizeText(opt) ? ` Size: ${datasetSizeText(opt)}.` : ''}`
            : undefined
        }
        testid="field-dataset"
      >
        <select
          id="dataset-select"
          value={value}
          data-testid="input-dataset"
          onChange={(e) => {
            const v = e.target.value;
            if (v === 'upload')
              setField(
                'dataset',
                upload
                  ? { source: 'upload', id: upload.name, hash: upload.sha256 }
                  : { source: 'upload', id: 'upload' },
              );
            else setField('dataset', { source: 'builtin', id: v });
          }}
        >
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
              {!d.bytes && d.kind !== 'text' ? ' (generated)' : ''}
            </option>
          ))}
          <option value="upload">Upload a file…</option>
        </select>
      </Field>
      {ds.source === 'upload' && (
        <div className="field">
          <span className="label">File</span>
          <label className="btn small file-pick">
            Choose .txt / .jsonl (pairs or chats)…
            <input
              type="file"
              hidden
              accept=".txt,.jsonl,text/plain"
              data-testid="input-dataset-file"
              onChange={async (e) => {
                const f = e.target.files?.[0];
                if (f) setErr(await chooseDatasetFile(f));
              }}
            />
          </label>
          {err && <div className="field-msg">{err}</div>}
          {upload && (
            <ul className="file-list">
              <li title={upload.sha256}>
                {upload.name} · {formatBytes(upload.size)} ·{' '}
                {upload.kind === 'pairs'
                  ? 'prompt/completion pairs'
                  : upload.kind === 'chat'
                    ? 'chats ({"messages"})'
                    : 'plain text'}{' '}
                · {upload.sha256.slice(0, 12)}…
              </li>
            </ul>
          )}
        </div>
      )}
      <DataOptions kind={kind} />
    </div>
  );
}
