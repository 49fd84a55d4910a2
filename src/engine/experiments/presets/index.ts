/**
 * The experiment presets (issue 13): every file in this folder exporting `preset` is one, found with
 * import.meta.glob like the adapter methods. `listPresets()` says for each which methods it still waits
 * for (computed from the registry now, so a preset switches on when its methods land) and how many runs
 * each budget expands to.
 */
import { ExperimentSchema, expandExperiment, waitingFor, type Experiment, type ExperimentInput } from '../schema';

const modules = import.meta.glob('./*.ts', { eager: true }) as Record<string, { preset?: ExperimentInput }>;

/** The order of the list; presets not listed follow by id. */
const ORDER = [
  'intruders',
  'alpha-rank',
  'inits',
  'loraplus',
  'asymmetry',
  'optimizer-memory',
  'lift',
  'phlora',
  'flat-spectra',
  'dylora',
  'param-scatter',
  'sequential-forgetting',
];

const PRESETS: Experiment[] = Object.values(modules)
  .filter((m) => m.preset)
  .map((m) => ExperimentSchema.parse(m.preset))
  .sort((a, b) => (ORDER.indexOf(a.id) + 1 || 99) - (ORDER.indexOf(b.id) + 1 || 99) || a.id.localeCompare(b.id));

export interface PresetInfo {
  id: string;
  title: string;
  claim: string;
  paper: Experiment['paper'];
  kind: Experiment['kind'];
  /** Method ids not in the engine yet; non-empty = the preset is listed but cannot run. */
  waiting: string[];
  budgets: ('smoke' | 'full')[];
  /** Runs per budget at one seed (null while waiting). */
  runs: { smoke: number | null; full: number | null };
  experiment: Experiment;
}

export function getPreset(id: string): Experiment | null {
  const p = PRESETS.find((x) => x.id === id);
  return p ? structuredClone(p) : null;
}

export function presetIds(): string[] {
  return PRESETS.map((p) => p.id);
}

export function listPresets(): PresetInfo[] {
  return PRESETS.map((p) => {
    const waiting = waitingFor(p);
    const count = (budget: 'smoke' | 'full') =>
      waiting.length ? null : expandExperiment({ ...p, budget, seeds: 1 }).length;
    return {
      id: p.id,
      title: p.title,
      claim: p.claim,
      paper: p.paper,
      kind: p.kind,
      waiting,
      budgets: ['smoke', 'full'],
      runs: { smoke: count('smoke'), full: count('full') },
      experiment: structuredClone(p),
    };
  });
}
