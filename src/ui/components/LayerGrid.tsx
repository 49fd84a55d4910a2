/**
 * A layer × matrix grid that stays readable at 24–32 layers × 7 matrices: one row per layer, one
 * column per module type, each cell the intruder count (or the effective rank of ΔW, or of W),
 * shaded by value. Rows sort by layer or by the row's total; a filter keeps the module types whose
 * name contains the text. A click selects the matrix for the other views.
 */
import { useMemo, useState } from 'react';
import type { SpectrumSnapshot } from '../../worker/protocol';
import { intruderIndices } from '../store/runData';
import { useStudio } from '../store';

type Metric = 'intruders' | 'deltaErank' | 'erank';

const LABEL: Record<Metric, string> = {
  intruders: 'intruders',
  deltaErank: 'effective rank of ΔW',
  erank: 'effective rank of W',
};

/** "h.3.attn.c_attn" / "model.layers.3.self_attn.q_proj" → layer 3, type after the index. */
function split(name: string): { layer: number; type: string } | null {
  const m = /^(?:.*?\.)?(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), type: m[2] } : null;
}

export function LayerGrid({ latest, eps }: { latest: Record<string, SpectrumSnapshot>; eps: number }) {
  const [metric, setMetric] = useState<Metric>('intruders');
  const [sort, setSort] = useState<'layer' | 'total'>('layer');
  const [filter, setFilter] = useState('');
  const selected = useStudio((s) => s.matrix);
  const setMatrix = useStudio((s) => s.setMatrix);
  const { layers, types, cells, max } = useMemo(() => {
    const cells = new Map<string, { value: number; name: string }>();
    const layerSet = new Set<number>();
    const typeSet = new Set<string>();
    let max = 0;
    for (const s of Object.values(latest)) {
      const p = split(s.name);
      if (!p) continue;
      if (filter && !p.type.toLowerCase().includes(filter.toLowerCase())) continue;
      const value =
        metric === 'intruders' ? intruderIndices(s, eps).length : metric === 'deltaErank' ? s.deltaErank : s.erank;
      cells.set(`${p.layer}/${p.type}`, { value, name: s.name });
      layerSet.add(p.layer);
      typeSet.add(p.type);
      if (Number.isFinite(value)) max = Math.max(max, value);
    }
    return { layers: [...layerSet], types: [...typeSet].sort(), cells, max };
  }, [latest, eps, metric, filter]);
  const total = (l: number) => types.reduce((a, t) => a + (cells.get(`${l}/${t}`)?.value ?? 0), 0);
  const rows = [...layers].sort((a, b) => (sort === 'layer' ? a - b : total(b) - total(a) || a - b));
  return (
    <div className="layer-grid" data-testid="layer-grid" data-rows={rows.length} data-cols={types.length}>
      <div className="layer-grid-controls small">
        <select value={metric} onChange={(e) => setMetric(e.target.value as Metric)} data-testid="layer-grid-metric">
          {(Object.keys(LABEL) as Metric[]).map((m) => (
            <option key={m} value={m}>
              {LABEL[m]}
            </option>
          ))}
        </select>{' '}
        <select
          value={sort}
          onChange={(e) => setSort(e.target.value as 'layer' | 'total')}
          data-testid="layer-grid-sort"
        >
          <option value="layer">by layer</option>
          <option value="total">by row total, largest first</option>
        </select>{' '}
        <input
          placeholder="filter matrices (e.g. q_proj, mlp)"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="layer-grid-filter"
        />
      </div>
      <div className="layer-grid-scroll">
        <table className="data layer-grid-table">
          <thead>
            <tr>
              <th>layer</th>
              {types.map((t) => (
                <th key={t} className="mono" title={t}>
                  {t.split('.').pop()}
                </th>
              ))}
              <th>row</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <tr key={l} data-layer={l}>
                <td className="mono">{l}</td>
                {types.map((t) => {
                  const c = cells.get(`${l}/${t}`);
                  if (!c)
                    return (
                      <td key={t} className="muted">
                        ·
                      </td>
                    );
                  const shade = max > 0 && Number.isFinite(c.value) ? c.value / max : 0;
                  return (
                    <td
                      key={t}
                      className={`mono grid-cell${c.name === selected ? ' sel' : ''}`}
                      style={{ background: `rgba(214, 69, 80, ${(0.08 + 0.6 * shade).toFixed(3)})` }}
                      title={`${c.name}: ${LABEL[metric]} ${Number.isFinite(c.value) ? c.value.toFixed(metric === 'intruders' ? 0 : 2) : '—'}`}
                      onClick={() => setMatrix(c.name)}
                      data-matrix={c.name}
                    >
                      {Number.isFinite(c.value) ? (metric === 'intruders' ? c.value : c.value.toFixed(1)) : '—'}
                    </td>
                  );
                })}
                <td className="mono">{metric === 'intruders' ? total(l) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
