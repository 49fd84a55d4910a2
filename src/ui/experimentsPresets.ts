/**
 * The gallery's presets: each names the claim it tests (quoted from the paper's abstract, as in
 * shared/reference/methods-catalog.md §3), the paper, the model/data it runs on, its budget and the
 * verdict rule. A preset whose methods the engine does not have yet is listed as waiting, with why.
 *
 * Page-side definitions (the engine's src/engine/experiments/ presets were not there when this was
 * written). Budgets: "smoke" is CI-sized on the built-in micro model (seconds per run on a software
 * adapter), "full" is the README's figures on the same model.
 */
import { RunConfigSchema, type RunConfig } from '../engine/config';
import {
  EXPERIMENT_FORMAT,
  expandRuns,
  parseExperiment,
  type Axes,
  type ExperimentSpec,
  type Rule,
} from './experiments';

export type Budget = 'smoke' | 'full';

export interface Preset {
  id: string;
  title: string;
  claim: string;
  paper: string;
  axes: Axes;
  /** Seeds per configuration at each budget. */
  seeds: Record<Budget, number>;
  /** Overrides of the base config (train/eval/analysis) for this preset. */
  base?: (c: RunConfig, budget: Budget) => RunConfig;
  /** Method parameters that differ from the method's defaults. */
  params?: Record<string, Record<string, number | string | boolean>>;
  rule?: Rule;
  /** Methods the engine must have; the first missing one makes the preset "waiting". */
  needs: string[];
  /** Waiting for something other than a method (says what). */
  waitingFor?: string;
  lrNote: string;
}

const STEPS: Record<Budget, number> = { smoke: 8, full: 200 };

/** The base run of every preset: the built-in micro model (pretrained) on brown-news. */
export function presetBase(budget: Budget): RunConfig {
  const steps = STEPS[budget];
  return RunConfigSchema.parse({
    model: { source: 'builtin', id: 'micro' },
    dataset: { source: 'builtin', id: 'brown-news' },
    method: { id: 'lora', params: { rank: 4, alpha: 8 } },
    targets: { modules: ['attn.c_attn'], layers: null, rankOverrides: {} },
    train: {
      steps,
      batchSize: budget === 'smoke' ? 2 : 8,
      contextLength: budget === 'smoke' ? 16 : 32,
      lr: 1e-3,
      warmupSteps: budget === 'smoke' ? 1 : 10,
      schedule: 'cosine',
    },
    eval: { every: budget === 'smoke' ? 4 : 25, batches: budget === 'smoke' ? 1 : 4 },
    analysis: { every: 0, k: 10, eps: 0.5 },
    seed: 0,
  });
}

const withAnalysis = (c: RunConfig): RunConfig => ({
  ...c,
  analysis: { ...c.analysis, every: c.train.steps, k: 4 },
});

export const PRESETS: Preset[] = [
  {
    id: 'smoke-rank',
    title: 'LoRA rank 8 vs rank 1 (pipeline check)',
    claim: 'A higher LoRA rank fits the fine-tuning data at least as well as rank 1 (a sanity check of the pipeline).',
    paper: 'Hu et al. 2021, LoRA (arXiv:2106.09685)',
    axes: { method: ['lora'], rank: [8, 1] },
    seeds: { smoke: 2, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'rank', value: 8 }, b: { by: 'rank', value: 1 } },
    needs: ['lora'],
    lrNote: 'one shared lr (1e-3, the studio default)',
  },
  {
    id: 'intruders',
    title: 'Intruder dimensions: LoRA vs full fine-tuning',
    claim:
      '“LoRA and full fine-tuning yield weight matrices whose singular value decompositions exhibit very different structure: weight matrices trained with LoRA have new, high-ranking singular vectors, which we call intruder dimensions. Intruder dimensions do not appear during full fine-tuning.”',
    paper: 'Shuttleworth et al. 2024, LoRA vs Full Fine-tuning: An Illusion of Equivalence (arXiv:2410.21228)',
    axes: { method: ['lora', 'rslora', 'full'], rank: [1, 8] },
    seeds: { smoke: 1, full: 3 },
    base: withAnalysis,
    rule: { metric: 'intruders', a: { by: 'method', value: 'full' }, b: { by: 'method', value: 'lora' } },
    needs: ['lora', 'rslora', 'full'],
    lrNote: 'one shared lr (1e-3); at 3e-3 full fine-tuning forgot 5× more on this model (issue 13)',
  },
  {
    id: 'rslora',
    title: 'α/r vs α/√r scaling across ranks',
    claim:
      '“Adapters should be divided by a factor of the square root of the rank” — with α/r, learning slows at high rank; rsLoRA keeps it.',
    paper: 'Kalajdzievski 2023, A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA (arXiv:2312.03732)',
    axes: { method: ['rslora', 'lora'], rank: [4, 32] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'method', value: 'rslora' }, b: { by: 'method', value: 'lora' } },
    needs: ['lora', 'rslora'],
    lrNote: 'one shared lr (1e-3) for both scalings, as in the paper',
  },
  {
    id: 'inits',
    title: 'Initialisations: LoRA vs PiSSA vs MiLoRA vs LoRA-GA vs EVA',
    claim: '“PiSSA … converges much faster than LoRA and achieves better performance.”',
    paper: 'Meng et al. 2024, PiSSA (arXiv:2404.02948)',
    axes: { method: ['pissa', 'lora', 'milora', 'lora-ga', 'eva'], lr: [1e-3, 3e-3] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'method', value: 'pissa' }, b: { by: 'method', value: 'lora' } },
    needs: ['lora', 'pissa', 'milora', 'lora-ga', 'eva'],
    lrNote: 'lr grid {1e-3, 3e-3}, best per method by val loss (the ordering flipped between these on this model)',
  },
  {
    id: 'loraplus',
    title: 'LoRA+: a larger learning rate for B',
    claim: '“LoRA+ improves performance (1-2% improvements) and finetuning speed (up to ∼2X SpeedUp).”',
    paper: 'Hayou et al. 2024, LoRA+ (arXiv:2402.12354)',
    axes: { method: ['loraplus', 'lora'] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'method', value: 'loraplus' }, b: { by: 'method', value: 'lora' } },
    needs: ['lora', 'loraplus'],
    lrNote: 'one shared lr (1e-3) with the method’s default ratio λ',
  },
  {
    id: 'asymmetry',
    title: 'B-only vs A+B',
    claim: '“A random untrained A should perform nearly as well as a fine-tuned one.”',
    paper: 'Zhu et al. 2024, Asymmetry in Low-Rank Adapters of Foundation Models (arXiv:2402.16842)',
    axes: { method: ['lora', 'lora-asym'] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'trainableParams', a: { by: 'method', value: 'lora-asym' }, b: { by: 'method', value: 'lora' } },
    needs: ['lora', 'lora-asym'],
    lrNote: 'one shared lr (1e-3); the table shows the val-loss gap the claim says is small',
  },
  {
    id: 'memory',
    title: 'Optimizer memory and loss: full Adam vs GaLore vs Fira vs LoRA',
    claim:
      '“GaLore … reduces memory usage by up to 65.5% in optimizer states while maintaining both efficiency and performance.”',
    paper: 'Zhao et al. 2024, GaLore (arXiv:2403.03507)',
    axes: { method: ['galore', 'fira', 'full', 'lora'] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'method', value: 'galore' }, b: { by: 'method', value: 'lora' } },
    needs: ['full', 'galore', 'fira', 'lora'],
    lrNote: 'one shared lr (1e-3)',
  },
  {
    id: 'lift',
    title: 'LIFT vs LoRA vs full fine-tuning: forgetting',
    claim: '“LIFT … better preserves source-domain knowledge” than full fine-tuning and LoRA.',
    paper: 'LIFT: principal weights are the key to sparse fine-tuning (catalog §3)',
    axes: { method: ['lift', 'lora', 'full'] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'probeLoss', a: { by: 'method', value: 'lift' }, b: { by: 'method', value: 'full' } },
    needs: ['lift', 'lora', 'full'],
    lrNote: 'one shared lr (1e-3)',
  },
  {
    id: 'dylora',
    title: 'DyLoRA: one run at every rank vs separate LoRAs',
    claim: '“DyLoRA … trains LoRA blocks for a range of ranks instead of a single rank.”',
    paper: 'Valipour et al. 2022, DyLoRA (arXiv:2210.07558)',
    axes: { method: ['dylora', 'lora'] },
    seeds: { smoke: 1, full: 3 },
    rule: { metric: 'valLoss', a: { by: 'method', value: 'dylora' }, b: { by: 'method', value: 'lora' } },
    needs: ['dylora', 'lora'],
    waitingFor: 'evaluating one run at every rank needs the engine’s per-rank evaluation (src/engine/experiments)',
    lrNote: 'one shared lr (1e-3)',
  },
  {
    id: 'phlora',
    title: 'PHLoRA: energy captured vs extracted rank',
    claim: 'Post-hoc LoRA extraction from a full fine-tune keeps most of its gain at low rank.',
    paper: 'PHLoRA (catalog §3)',
    axes: { method: ['full'] },
    seeds: { smoke: 1, full: 1 },
    needs: ['phlora'],
    lrNote: '—',
  },
  {
    id: 'flat-spectra',
    title: 'Flat spectra: LoRA vs full-rank-capable adapters on synthetic targets',
    claim:
      'LoRA “struggles to approximate matrices with relatively flat spectrums or high frequency components” (KRAdapter).',
    paper: 'KRAdapter (catalog §1.5, §3)',
    axes: { method: ['lora'] },
    seeds: { smoke: 1, full: 1 },
    needs: ['kradapter'],
    waitingFor: 'synthetic target matrices need the engine’s matrix-fit runner (no model)',
    lrNote: '—',
  },
];

export interface PresetStatus {
  ready: boolean;
  why: string | null;
}

export function presetStatus(p: Preset, methods: string[]): PresetStatus {
  const missing = p.needs.filter((m) => !methods.includes(m));
  if (missing.length)
    return {
      ready: false,
      why: `waiting: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the engine yet`,
    };
  if (p.waitingFor) return { ready: false, why: `waiting: ${p.waitingFor}` };
  return { ready: true, why: null };
}

/** The preset as an experiment: every run spelled out. */
export function presetExperiment(
  p: Preset,
  budget: Budget,
  paramsFor: (method: string) => Record<string, number | string | boolean> | null,
): ExperimentSpec {
  const base0 = presetBase(budget);
  const base = p.base ? p.base(base0, budget) : base0;
  const seeds = Array.from({ length: p.seeds[budget] }, (_, i) => i);
  const runs = expandRuns(base, { ...p.axes, seed: seeds }, (m) => ({
    ...(paramsFor(m) ?? {}),
    ...(p.params?.[m] ?? {}),
  }));
  return parseExperiment({
    format: EXPERIMENT_FORMAT,
    version: 1,
    name: `${p.title} (${budget})`,
    preset: p.id,
    claim: p.claim,
    paper: p.paper,
    budget,
    axes: { ...p.axes, seed: seeds },
    runs,
    ...(p.rule ? { rule: p.rule } : {}),
  });
}
