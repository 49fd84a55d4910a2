/** Which matrices the adapter attaches to: modules, layers, and per-module rank overrides. */
import { useEffect, useState } from 'react';
import { TARGET_MODULES } from '../../engine/config';
import { expandSelectors, moduleTypes } from '../../engine/model/family-meta';
import { TARGET_PRESETS, moduleMatches } from '../../engine/model/language-model';
import type { ModelConfig } from '../../engine/model/config';
import { useStudio } from '../store';
import { useIssues } from './ConfigField';
import { Field } from './Field';

export function TargetsSection() {
  const targets = useStudio((s) => s.draft.targets);
  const arch = useStudio((s) => s.arch);
  const trainsBase = useStudio((s) => s.catalog.methods.find((m) => m.id === s.draft.method.id)?.trainsBase ?? false);
  const setField = useStudio((s) => s.setField);
  const modIssues = useIssues('targets.modules', true);
  const layerIssues = useIssues('targets.layers', true);
  const rankIssues = useIssues('targets.rankOverrides', true);
  const nLayer = arch?.nLayer ?? 0;
  const modules = targets.modules ?? [];
  // The model's own module types (q_proj … down_proj for Llama, query_key_value … for Pythia); GPT-2's
  // four before the model's config is known. Presets are shown expanded into the boxes they select.
  const types = arch ? familyTypes(arch) : [...TARGET_MODULES];
  const selected = arch ? selectedTypes(arch, modules, types) : modules;
  useEffect(() => {
    // a model of another family: selectors it does not have become its own default (PEFT's per-family targets)
    if (arch && modules.length > 0 && selectedTypes(arch, modules, types).length === 0)
      setField('targets.modules', ['default']);
  }, [arch]); // eslint-disable-line react-hooks/exhaustive-deps
  const toggleModule = (m: string) =>
    setField(
      'targets.modules',
      selected.includes(m) ? selected.filter((x) => x !== m) : types.filter((x) => x === m || selected.includes(x)),
    );
  const layers = targets.layers;
  const toggleLayer = (l: number) => {
    const cur = layers ?? Array.from({ length: nLayer }, (_, i) => i);
    const next = cur.includes(l) ? cur.filter((x) => x !== l) : [...cur, l].sort((a, b) => a - b);
    setField('targets.layers', next.length === nLayer && nLayer > 0 ? null : next);
  };
  return (
    <div className="field-group" data-testid="section-targets">
      <div className="group-title">Targets</div>
      {trainsBase && (
        <p className="small muted">
          Full fine-tuning trains every weight; the targets below choose which matrices the spectra views follow.
        </p>
      )}
      <Field label="Modules" issues={modIssues} testid="field-targets-modules">
        {arch && (
          <div className="checks" data-testid="target-presets">
            {TARGET_PRESETS.map((p) => (
              <button
                key={p}
                type="button"
                className="btn small"
                title={expandSelectors(arch, [p]).join(', ')}
                onClick={() => setField('targets.modules', [p])}
                data-testid={`target-preset-${p}`}
              >
                {p}
              </button>
            ))}
          </div>
        )}
        <div className="checks">
          {types.map((m) => (
            <label key={m}>
              <input
                type="checkbox"
                checked={selected.includes(m)}
                onChange={() => toggleModule(m)}
                data-testid={`target-${m}`}
              />
              {m}
            </label>
          ))}
        </div>
      </Field>
      <Field label="Layers" issues={layerIssues} testid="field-targets-layers">
        <div className="checks">
          <label>
            <input
              type="checkbox"
              checked={layers === null}
              onChange={(e) => setField('targets.layers', e.target.checked ? null : [])}
              data-testid="target-layers-all"
            />
            all
          </label>
          {Array.from({ length: Math.min(nLayer, 48) }, (_, l) => (
            <label key={l}>
              <input
                type="checkbox"
                checked={layers === null || layers.includes(l)}
                onChange={() => toggleLayer(l)}
                data-testid={`target-layer-${l}`}
              />
              {l}
            </label>
          ))}
          {layers
            ?.filter((l) => l >= nLayer)
            .map((l) => (
              <label key={`x${l}`} className="bad">
                <input
                  type="checkbox"
                  checked
                  onChange={() =>
                    setField(
                      'targets.layers',
                      layers.filter((x) => x !== l),
                    )
                  }
                />
                {l}
              </label>
            ))}
        </div>
      </Field>
      {!trainsBase && (
        <RankOverrides
          value={targets.rankOverrides ?? {}}
          onChange={(v) => setField('targets.rankOverrides', v)}
          issues={rankIssues}
        />
      )}
    </div>
  );
}

function RankOverrides({
  value,
  onChange,
  issues,
}: {
  value: Record<string, number>;
  onChange: (v: Record<string, number>) => void;
  issues: ReturnType<typeof useIssues>;
}) {
  const show = (v: Record<string, number>) =>
    Object.entries(v)
      .map(([k, r]) => `${k}=${r}`)
      .join(', ');
  const [text, setText] = useState(() => show(value));
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => setText((t) => (parse(t).ok && show(parse(t).value!) === show(value) ? t : show(value))), [value]);
  return (
    <Field
      label="Rank overrides"
      htmlFor="rank-overrides"
      issues={err ? [{ path: 'targets.rankOverrides', message: err, level: 'error' }, ...issues] : issues}
      help="e.g. h.0.attn.c_attn=8, mlp.c_fc=2"
      testid="field-rank-overrides"
    >
      <input
        id="rank-overrides"
        type="text"
        value={text}
        placeholder="none"
        aria-invalid={err ? 'true' : 'false'}
        onChange={(e) => {
          setText(e.target.value);
          const p = parse(e.target.value);
          setErr(p.ok ? null : p.error!);
          if (p.ok) onChange(p.value!);
        }}
      />
    </Field>
  );
}

function parse(t: string): { ok: boolean; value?: Record<string, number>; error?: string } {
  const out: Record<string, number> = {};
  for (const part of t
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w.]{1,64})\s*=\s*(\d{1,4})$/.exec(part);
    if (!m) return { ok: false, error: `“${part}” is not name=rank (e.g. mlp.c_fc=2).` };
    if (m[1] === '__proto__' || m[1] === 'constructor') return { ok: false, error: `“${m[1]}” is not a module name.` };
    out[m[1]] = Number(m[2]);
  }
  return { ok: true, value: out };
}

export function familyTypes(arch: ModelConfig): string[] {
  try {
    return moduleTypes(arch);
  } catch {
    return [...TARGET_MODULES]; // an arch the engine cannot build: the form's validation says why
  }
}

/** The module types a selector list (types, PEFT-style suffixes or presets) selects in this model. */
export function selectedTypes(arch: ModelConfig, selectors: readonly string[], types: string[]): string[] {
  let sel: string[];
  try {
    sel = expandSelectors(arch, selectors);
  } catch {
    sel = [...selectors];
  }
  return types.filter((t) => sel.some((s) => moduleMatches(t, s)));
}
