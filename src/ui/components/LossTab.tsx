/**
 * Live training views: loss (train, smoothed, validation, forgetting probe), gradient norm,
 * learning rate, tokens/s, GPU memory by category, and the latest numbers.
 */
import { useMemo } from 'react';
import { LineView } from '../charts/LineView';
import { C } from '../charts/palette';
import { ChartCard } from '../charts/ChartCard';
import { fmt } from '../format';
import { ema, seriesView, thin } from '../series';
import { useStudio } from '../store';
import { MemoryBars } from './MemoryBars';
import { emptyMetrics } from '../store/runData';

/** Labels of the method figures a run reports per step (MethodInstance step hooks). */
const METHOD_METRIC_LABELS: Record<string, string> = {
  loraProGap: 'LoRA-Pro ‖g̃ − G‖',
  loraGap: 'plain LoRA ‖g − G‖',
  loraProGapRel: '‖g̃ − G‖ / ‖G‖',
  adaloraBudget: 'AdaLoRA rank budget',
  adaloraOrthReg: 'AdaLoRA orth. regulariser',
  reloraRestart: 'ReLoRA restarts',
  reloraPrunedFraction: 'ReLoRA moments pruned',
};

const MAX_POINTS = 600;
const EMPTY = emptyMetrics();

export function LossTab() {
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  // with no run the tab still renders its frame (empty charts): starting a run then only fills it in
  const m = useStudio((s) => (s.selectedRunId ? s.metrics[s.selectedRunId] : null)) ?? EMPTY;
  const smoothing = useStudio((s) => s.smoothing);
  const setSmoothing = useStudio((s) => s.setSmoothing);

  const train = useMemo(() => thin(seriesView(m.train), MAX_POINTS), [m]);
  const evals = useMemo(() => seriesView(m.evals), [m]);
  const lossRows = useMemo(() => {
    const sm = ema(
      train.map((p) => p.loss),
      smoothing,
    );
    // one row per step (the tooltip reads rows by index): eval points join their step's row
    const byStep = new Map<number, Record<string, number | null>>();
    train.forEach((p, i) => byStep.set(p.step, { step: p.step, loss: p.loss, smooth: sm[i] }));
    for (const e of evals) {
      const row = byStep.get(e.step) ?? { step: e.step };
      row.val = Number.isFinite(e.valLoss) ? e.valLoss : null;
      row.probe = Number.isFinite(e.probeLoss) ? e.probeLoss : null;
      byStep.set(e.step, row);
    }
    return [...byStep.values()].sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  }, [train, evals, smoothing]);
  const scalars = useMemo(() => {
    const col = (key: 'gradNorm' | 'lr' | 'tokensPerSec') =>
      train.map((p) => ({ step: p.step, v: Number.isFinite(p[key]) ? p[key] : null }));
    return { gradNorm: col('gradNorm'), lr: col('lr'), tokensPerSec: col('tokensPerSec') };
  }, [train]);

  const last = m.train.last;
  const lastEval = m.evals.last;
  const empty =
    train.length === 0
      ? !run
        ? 'No run yet: set one up on the left and press Start training.'
        : run.status === 'error'
          ? 'The run stopped before its first step.'
          : 'Waiting for the first steps…'
      : null;
  return (
    <>
      <div className="stats" data-testid="loss-stats">
        <Stat k="step" v={`${m.lastStep}`} testid="stat-step" />
        <Stat k="train loss" v={fmt(last?.loss, 4)} testid="stat-loss" value={last?.loss} />
        <Stat k="val loss" v={fmt(lastEval?.valLoss, 4)} testid="stat-val" value={lastEval?.valLoss} />
        <Stat k="forgetting probe" v={fmt(lastEval?.probeLoss, 4)} testid="stat-probe" value={lastEval?.probeLoss} />
        <Stat k="grad norm" v={fmt(last?.gradNorm)} testid="stat-gradnorm" />
        <Stat k="learning rate" v={fmt(last?.lr)} testid="stat-lr" />
        <Stat k="tokens/s" v={fmt(last?.tokensPerSec)} testid="stat-tps" />
        {Object.entries(m.extra ?? {}).map(([k, v]) => (
          <Stat key={k} k={METHOD_METRIC_LABELS[k] ?? k} v={fmt(v)} testid={`stat-extra-${k}`} />
        ))}
        <Stat
          k="trainable"
          v={run?.memory ? `${fmt(run.memory.trainableParams)} / ${fmt(run.memory.totalParams)}` : '—'}
          testid="stat-params"
        />
      </div>
      <ChartCard
        id="loss"
        title="Loss (nats/token)"
        empty={empty}
        note="Train loss per step (faint), smoothed, validation and forgetting probe (held-out pretraining text)."
        right={
          <label className="small muted">
            smoothing{' '}
            <input
              type="range"
              min={0}
              max={0.98}
              step={0.02}
              value={smoothing}
              onChange={(e) => setSmoothing(Number(e.target.value))}
              style={{ width: 80, verticalAlign: 'middle' }}
            />
          </label>
        }
      >
        <LineView
          data={lossRows}
          xKey="step"
          height={240}
          series={[
            { key: 'loss', label: 'train', color: C.blueFaint, width: 1 },
            { key: 'smooth', label: 'train (smoothed)', color: C.blue, width: 2 },
            { key: 'val', label: 'validation', color: C.orange, dots: true },
            { key: 'probe', label: 'forgetting probe', color: C.purple, dots: true, dashed: true },
          ]}
        />
      </ChartCard>
      <div className="grid3">
        <ChartCard id="grad-norm" title="Gradient norm" empty={empty}>
          <LineView
            data={scalars.gradNorm}
            xKey="step"
            series={[{ key: 'v', label: 'grad norm', color: C.teal }]}
            height={150}
            legend={false}
          />
        </ChartCard>
        <ChartCard id="learning-rate" title="Learning rate" empty={empty}>
          <LineView
            data={scalars.lr}
            xKey="step"
            series={[{ key: 'v', label: 'lr', color: C.orange }]}
            height={150}
            legend={false}
          />
        </ChartCard>
        <ChartCard id="tokens-per-sec" title="Tokens / s" empty={empty}>
          <LineView
            data={scalars.tokensPerSec}
            xKey="step"
            series={[{ key: 'v', label: 'tokens/s', color: C.grey }]}
            height={150}
            legend={false}
          />
        </ChartCard>
      </div>
      <MemoryBars memory={run?.memory} />
    </>
  );
}

function Stat({ k, v, testid, value }: { k: string; v: string; testid: string; value?: number }) {
  return (
    <div className="stat" data-testid={testid} data-value={value ?? ''}>
      <div className="k">{k}</div>
      <div className="v">{v}</div>
    </div>
  );
}
