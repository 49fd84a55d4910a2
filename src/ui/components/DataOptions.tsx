/**
 * How pairs and chats become training rows (RunConfig.data), said plainly, and a preview of the first
 * examples as the model's tokens with the masked part shaded. The preview is computed in the worker
 * with the run's own tokenizer and chat template (src/engine/data/preview.ts), not re-derived here.
 */
import { useState } from 'react';
import { DataOptionsSchema } from '../../engine/config';
import type { DataPreview } from '../../engine/data/preview';
import { engineApi } from '../engine';
import { sourcesFor } from '../runs';
import { useStudio } from '../store';
import { Field } from './Field';

const DEFAULTS = DataOptionsSchema.parse({});

export function DataOptions({ kind }: { kind: 'text' | 'pairs' | 'chat' }) {
  const data = useStudio((s) => s.draft.data) ?? DEFAULTS;
  const T = useStudio((s) => s.draft.train.contextLength);
  const setField = useStudio((s) => s.setField);
  if (kind === 'text') return <DataPreviewPanel />;
  const answer = kind === 'chat' ? "the assistant's turns" : 'the completions';
  return (
    <>
      <Field
        label="Loss on"
        htmlFor="data-loss"
        testid="field-data-loss"
        help={
          data.completionOnly
            ? `Only ${answer} (and the end-of-turn marker) are trained; the prompt is context.`
            : 'Every token, prompts included: the model also learns to write the questions.'
        }
      >
        <select
          id="data-loss"
          data-testid="input-data-loss"
          value={data.completionOnly ? 'answers' : 'all'}
          onChange={(e) => setField('data.completionOnly', e.target.value === 'answers')}
        >
          <option value="answers">answers only</option>
          <option value="all">all tokens</option>
        </select>
      </Field>
      <Field
        label="Rows"
        htmlFor="data-layout"
        testid="field-data-layout"
        help={
          data.layout === 'packed'
            ? `Packed: each row of ${T} tokens starts at an example and runs on into the next ones; no padding, but an example sees the previous one's tail.`
            : `Padded: one example per row of ${T} tokens, cut if longer, the rest padding that the loss ignores; nothing crosses examples, short examples waste the row.`
        }
      >
        <select
          id="data-layout"
          data-testid="input-data-layout"
          value={data.layout}
          onChange={(e) => setField('data.layout', e.target.value)}
        >
          <option value="packed">packed</option>
          <option value="padded">padded, one example per row</option>
        </select>
      </Field>
      {kind === 'chat' && (
        <Field
          label="Chat template"
          htmlFor="data-template"
          testid="field-data-template"
          help={
            data.chatTemplate === 'model'
              ? "The model's chat_template from tokenizer_config.json; a model without one uses the plain template."
              : 'Plain: "User: …" and "Assistant: …" lines, the answer ended by the model\'s end-of-text token.'
          }
        >
          <select
            id="data-template"
            data-testid="input-data-template"
            value={data.chatTemplate}
            onChange={(e) => setField('data.chatTemplate', e.target.value)}
          >
            <option value="model">the model's</option>
            <option value="plain">plain</option>
          </select>
        </Field>
      )}
      <DataPreviewPanel />
    </>
  );
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
}

function DataPreviewPanel() {
  const [preview, setPreview] = useState<DataPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ready = useStudio((s) => s.engine === 'ready');
  const show = async () => {
    const api = engineApi();
    if (!api) return;
    setBusy(true);
    setError(null);
    try {
      const config = useStudio.getState().draft;
      const { cmd, missing } = await sourcesFor(config);
      if (missing) throw new Error(missing);
      setPreview(await api.previewData({ config, modelFiles: cmd.modelFiles, datasetFile: cmd.datasetFile, n: 3 }));
    } catch (e) {
      setPreview(null);
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="field data-preview" data-testid="data-preview">
      <span className="label">Preview</span>
      <div>
        <button className="btn small" disabled={!ready || busy} onClick={() => void show()} data-testid="btn-preview">
          {busy ? 'Tokenizing…' : preview ? 'Refresh preview' : 'Show the first examples as tokens'}
        </button>
        {error && <div className="field-msg">{error}</div>}
        {preview && <PreviewBody p={preview} />}
      </div>
    </div>
  );
}

function PreviewBody({ p }: { p: DataPreview }) {
  const s = p.stats;
  return (
    <div className="preview-body">
      <div className="field-help" data-testid="preview-stats">
        {p.template && (
          <>Rendered with {p.template === 'model' ? "the model's chat template" : 'the plain template'}. </>
        )}
        {p.kind === 'text' ? (
          <>{s.tokens.toLocaleString()} tokens (first part of the training text); every token is trained.</>
        ) : (
          <>
            {p.totalExamples.toLocaleString()} training examples
            {p.totalExamples > s.examples ? `; over the first ${s.examples.toLocaleString()}` : ''}: mean{' '}
            {s.meanLength.toFixed(0)} tokens, longest {s.longest}; {pct(s.trainedFraction)} of tokens trained.{' '}
            {s.overContext > 0
              ? `${s.overContext} longer than the context: cut in padded rows.`
              : 'All fit the context.'}{' '}
            Padded rows would be {pct(s.paddingWaste)} padding.
          </>
        )}
      </div>
      {s.answerCut > 0 && (
        <div className="field-msg warn" data-testid="preview-answer-cut">
          {s.answerCut.toLocaleString()} example{s.answerCut === 1 ? ' has its' : 's have their'} trained tokens past
          the context of {useStudio.getState().draft.train.contextLength}: a row starts at an example, so{' '}
          {s.answerCut === 1 ? 'it trains' : 'they train'} nothing. Raise the context to at least {s.longest - 1}, or
          use shorter examples.
        </div>
      )}
      {p.examples.map((ex, k) => (
        <div className="token-row" key={k} data-testid="preview-example">
          {ex.tokens.map((t, i) => (
            <span
              key={i}
              className={t.train ? 'tok train' : 'tok masked'}
              title={`id ${t.id}${t.train ? ' · trained' : ' · masked (context only)'}`}
            >
              {t.text.replace(/\n/g, '↵\n')}
            </span>
          ))}
          {ex.tokens.length < ex.length && <span className="tok-more"> … {ex.length - ex.tokens.length} more</span>}
        </div>
      ))}
      <div className="field-help">
        <span className="tok masked">shaded</span> = context, no loss; <span className="tok train">clear</span> =
        trained.
      </div>
    </div>
  );
}
