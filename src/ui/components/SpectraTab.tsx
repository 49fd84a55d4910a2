/**
 * The spectra explorer for one layer/matrix: σ of W0 against the tuned W, σ of ΔW, the log-log
 * eigenvalue density with the fitted power-law α, effective and stable rank over steps, and the
 * per-layer rank allocation for methods that move ranks.
 */
import { useMemo, type ReactNode } from 'react';
import { BarView } from '../charts/BarView';
import { ChartCard } from '../charts/ChartCard';
import { LineView } from '../charts/LineView';
import { C } from '../charts/palette';
import { fmt } from '../format';
import { esd, esdFromHistogram } from '../spectra';
import { useStudio } from '../store';
import { MatrixPicker, useMatrices } from './MatrixPicker';
import { Term } from './Term';
import { DELTA_ZERO_TITLE, deltaIsZero } from '../deltaZero';
import { NoRun } from './NoRun';

export function SpectraTab() {
  const runId = useStudio((s) => s.selectedRunId);
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  const spectra = useStudio((s) => (s.selectedRunId ? s.spectra[s.selectedRunId] : null));
  const matrices = useMatrices(runId);
  const chosen = useStudio((s) => s.matrix);
  const matrix = chosen && matrices.includes(chosen) ? chosen : (matrices[0] ?? null);
  const snap = matrix && spectra ? (spectra.latest[matrix] ?? null) : null;

  const sigmaRows = useMemo(() => {
    if (!snap) return [];
    const n = Math.max(snap.sigmaBase.length, snap.sigmaTuned.length);
    return Array.from({ length: n }, (_, i) => ({
      i: i + 1,
      base: snap.sigmaBase[i] ?? null,
      tuned: snap.sigmaTuned[i] ?? null,
    }));
  }, [snap]);
  const deltaRows = useMemo(
    () => (snap ? Array.from(snap.sigmaDelta, (v, i) => ({ i: i + 1, delta: v })) : []),
    [snap],
  );
  const esdRows = useMemo(
    () =>
      snap
        ? snap.esd
          ? esdFromHistogram(snap.esd, snap.alpha, snap.alphaXmin)
          : esd(snap.sigmaTuned, snap.alpha, snap.alphaXmin)
        : [],
    [snap],
  );
  const rankRows = useMemo(
    () => (spectra && matrix ? spectra.history.filter((h) => h.name === matrix) : []),
    [spectra, matrix],
  );
  const angleRows = useMemo(() => (snap?.anglesDeg ? snap.anglesDeg.map((deg, i) => ({ i: i + 1, deg })) : []), [snap]);
  const alloc = useMemo(() => Object.entries(run?.rankAllocation ?? {}).map(([name, rank]) => ({ name, rank })), [run]);

  if (!runId || !run) return <NoRun what="No run selected." />;
  const waiting =
    run.config.analysis.every > 0
      ? `Waiting for the first snapshot (every ${run.config.analysis.every} steps)…`
      : 'Spectra are measured on demand for this run: press Analyze now.';
  const empty = snap ? null : waiting;
  return (
    <>
      <MatrixPicker runId={runId} />
      {snap && (
        <div className="stats" data-testid="spectra-stats" data-matrix={snap.name} data-step={snap.step}>
          <Mini k="matrix (out × in)" v={`${snap.name} (${snap.shape.join('×')})`} wide />
          <Mini k="snapshot step" v={String(snap.step)} />
          <Mini
            k={<Term k="erank">effective rank W</Term>}
            v={fmt(snap.erank)}
            testid="stat-erank"
            value={snap.erank}
          />
          <Mini
            k={<Term k="stableRank">stable rank W</Term>}
            v={fmt(snap.stableRank)}
            testid="stat-stable-rank"
            value={snap.stableRank}
          />
          {deltaIsZero(snap) ? (
            <Mini
              k={<Term k="deltaW">effective rank ΔW</Term>}
              v="ΔW ≈ 0"
              testid="stat-delta-erank"
              title={DELTA_ZERO_TITLE}
            />
          ) : (
            <Mini
              k={<Term k="deltaW">effective rank ΔW</Term>}
              v={fmt(snap.deltaErank)}
              testid="stat-delta-erank"
              value={snap.deltaErank}
            />
          )}
          <Mini k={<Term k="alpha">power-law α</Term>} v={fmt(snap.alpha)} testid="stat-alpha" value={snap.alpha} />
        </div>
      )}
      <div className="grid2">
        <ChartCard
          id="sigma-w0-vs-w"
          title="Singular values: W₀ vs tuned W"
          empty={empty}
          note="σᵢ in decreasing order (log scale)."
        >
          <LineView
            data={sigmaRows}
            xKey="i"
            logY
            height={210}
            series={[
              { key: 'base', label: 'σ(W₀)', color: C.grey, dashed: true },
              { key: 'tuned', label: 'σ(W)', color: C.blue },
            ]}
          />
        </ChartCard>
        <ChartCard
          id="sigma-delta"
          title="Singular values of ΔW = W − W₀"
          empty={empty}
          note="A low-rank update has only r non-negligible values."
        >
          <LineView
            data={deltaRows}
            xKey="i"
            logY
            height={210}
            series={[{ key: 'delta', label: 'σ(ΔW)', color: C.orange, dots: deltaRows.length <= 64 }]}
            legend={false}
          />
        </ChartCard>
        <ChartCard
          id="esd"
          title={
            <>
              Eigenvalue density (log-log)
              {snap && Number.isFinite(snap.alpha) ? <span className="badge plain">α = {fmt(snap.alpha)}</span> : null}
            </>
          }
          empty={empty || (esdRows.length === 0 ? 'Too few eigenvalues.' : null)}
          note="ESD of WᵀW (λ = σ²) with the fitted power law λ^−α above λmin."
        >
          <LineView
            data={esdRows as never}
            xKey="lambda"
            logX
            logY
            height={210}
            series={[
              { key: 'density', label: 'density', color: C.teal, dots: true, width: 1 },
              { key: 'fit', label: `power law α=${snap ? fmt(snap.alpha) : ''}`, color: C.red, dashed: true },
            ]}
          />
        </ChartCard>
        <ChartCard
          id="ranks"
          title="Effective and stable rank over steps"
          empty={rankRows.length ? null : (empty ?? 'No history yet.')}
        >
          <LineView
            data={rankRows as never}
            xKey="step"
            height={210}
            series={[
              { key: 'erank', label: 'eff. rank W', color: C.blue, dots: rankRows.length < 40 },
              { key: 'stableRank', label: 'stable rank W', color: C.teal, dots: rankRows.length < 40 },
              { key: 'deltaErank', label: 'eff. rank ΔW', color: C.orange, dashed: true, dots: rankRows.length < 40 },
              {
                key: 'deltaStableRank',
                label: 'stable rank ΔW',
                color: C.purple,
                dashed: true,
                dots: rankRows.length < 40,
              },
            ]}
          />
        </ChartCard>
      </div>
      {angleRows.length > 0 && (
        <ChartCard
          id="principal-angles"
          title="Principal angles: span(ΔW) vs top singular subspace of W₀"
          note="0° = the update lives in W₀'s dominant directions; 90° = orthogonal to them (where intruders come from)."
        >
          <LineView
            data={angleRows}
            xKey="i"
            height={160}
            series={[{ key: 'deg', label: 'angle (°)', color: C.purple, dots: angleRows.length <= 64 }]}
            legend={false}
          />
        </ChartCard>
      )}
      {alloc.length > 0 && (
        <ChartCard id="rank-allocation" title="Rank allocation per layer / matrix">
          <BarView
            data={alloc}
            xKey="name"
            bars={[{ key: 'rank', label: 'rank', color: C.blue }]}
            layout="vertical"
            height={Math.max(120, alloc.length * 18 + 30)}
          />
        </ChartCard>
      )}
    </>
  );
}

function Mini({
  k,
  v,
  testid,
  value,
  wide,
  title,
}: {
  k: ReactNode;
  v: string;
  testid?: string;
  value?: number;
  wide?: boolean;
  title?: string;
}) {
  return (
    <div className={wide ? 'stat wide' : 'stat'} data-testid={testid} data-value={value ?? ''} title={title}>
      <div className="k">{k}</div>
      <div className="v" style={{ fontSize: 13 }}>
        {v}
      </div>
    </div>
  );
}
