/** Optimizer, schedule and run size, plus what to measure while training. */
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStudio } from '../store';
import { ConfigNumber, ConfigSelect } from './ConfigField';
import { LrDefaultHint } from './LrDefaultHint';

const ADVANCED = [
  'train.minLrRatio',
  'train.weightDecay',
  'train.beta1',
  'train.beta2',
  'train.eps',
  'train.gradClip',
  'eval.batches',
];

export function TrainingSection() {
  // the advanced block opens by itself when one of its fields has a problem
  const advancedIssues = useStudio(
    useShallow((s) => s.validation.issues.filter((i) => ADVANCED.includes(i.path)).length),
  );
  const [open, setOpen] = useState(false);
  return (
    <>
      <div className="field-group" data-testid="section-training">
        <div className="group-title">Run</div>
        <ConfigNumber path="train.steps" label="Steps" />
        <ConfigNumber path="train.batchSize" label="Batch" help="sequences per step" />
        <ConfigNumber path="train.contextLength" label="Context" help="tokens per sequence" />
        <ConfigNumber path="seed" label="Seed" help="init, data order and sampling all derive from it" />
      </div>
      <div className="field-group" data-testid="section-optimizer">
        <div className="group-title">Optimizer (AdamW) and schedule</div>
        <ConfigNumber path="train.lr" label="Learning rate" />
        <LrDefaultHint />
        <ConfigSelect path="train.schedule" label="Schedule" options={['cosine', 'linear', 'constant']} />
        <ConfigNumber path="train.warmupSteps" label="Warmup steps" />
        <details
          open={open || advancedIssues > 0}
          onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
          data-testid="advanced-optimizer"
        >
          <summary className="small muted" style={{ cursor: 'pointer', margin: '2px 0' }}>
            Advanced: decay floor, weight decay, β, ε, clipping, eval batches
          </summary>
          <ConfigNumber path="train.minLrRatio" label="Final LR ratio" help="decay floor as a fraction of the peak" />
          <ConfigNumber path="train.weightDecay" label="Weight decay" />
          <ConfigNumber path="train.beta1" label="β₁" />
          <ConfigNumber path="train.beta2" label="β₂" />
          <ConfigNumber path="train.eps" label="ε" />
          <ConfigNumber path="train.gradClip" label="Grad clip" help="global norm; 0 = off" />
          <ConfigNumber path="eval.batches" label="Eval batches" />
        </details>
      </div>
      <div className="field-group" data-testid="section-measure">
        <div className="group-title">Measure</div>
        <ConfigNumber path="eval.every" label="Eval every" help="steps between validation + forgetting-probe losses" />
        <ConfigNumber path="analysis.every" label="Spectra every" help="steps between SVD snapshots" />
        <ConfigNumber path="analysis.k" label="Top-k vectors" help="singular vectors checked for intruders" />
        <ConfigNumber path="analysis.eps" label="Intruder ε" help="max cosine below which a vector is an intruder" />
      </div>
    </>
  );
}
