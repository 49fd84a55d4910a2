/**
 * The reproduction check: when a run finishes, compare its exact per-step losses with (a) the
 * fingerprint of the link it came from and (b) any finished run in this browser with the same
 * configuration on the same adapter. "Identical" means every float32 loss is bit-identical.
 */
import type { RunConfig } from '../engine/config';
import { canonicalJson } from './draft';
import { lossFingerprint } from './share';
import { ensureRunData } from './runHistory';
import { useStudio } from './store';

/** The parts of a config that decide the losses (names and content hashes do not). */
export function reproKey(c: RunConfig): string {
  const { name: _name, ...rest } = c;
  const model = { ...rest.model } as Record<string, unknown>;
  delete model.hash;
  const dataset = { ...rest.dataset } as Record<string, unknown>;
  delete dataset.hash;
  return canonicalJson({ ...rest, model, dataset });
}

export function sameLosses(a: readonly number[], b: readonly number[]): { equal: boolean; firstDiff: number | null } {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    // Math.fround: compare as the engine's float32 values; Object.is so NaN equals NaN
    if (!Object.is(Math.fround(a[i]), Math.fround(b[i]))) return { equal: false, firstDiff: i + 1 };
  }
  return { equal: a.length === b.length, firstDiff: a.length === b.length ? null : n + 1 };
}

export async function checkReproduction(runId: string): Promise<void> {
  const st = useStudio.getState();
  const run = st.runs[runId];
  const m = st.metrics[runId];
  if (!run || !m || m.losses.length === 0) return;
  const parts: string[] = [];
  let match: boolean | null = null;

  const fp = run.reproduces?.fingerprint;
  if (fp) {
    const mine = await lossFingerprint(m.losses, run.adapterName);
    if (mine.steps === fp.steps && mine.loss === fp.loss) {
      match = true;
      parts.push(`all ${fp.steps} losses are bit-identical to the shared run`);
    } else if (mine.adapter !== fp.adapter) {
      match = false;
      parts.push(
        `losses differ from the shared run, which was trained on a different GPU adapter (bit-identical losses need the same adapter)`,
      );
    } else {
      match = false;
      parts.push(
        mine.steps !== fp.steps
          ? `the shared run had ${fp.steps} steps, this one ${mine.steps}`
          : 'losses differ from the shared run on the same adapter',
      );
    }
  }

  const key = reproKey(run.config);
  const peers = Object.values(st.runs).filter(
    (r) => r.id !== runId && r.status === 'done' && r.adapterName === run.adapterName && reproKey(r.config) === key,
  );
  for (const peer of peers.slice(0, 3)) {
    await ensureRunData(peer.id);
    const pm = useStudio.getState().metrics[peer.id];
    if (!pm || pm.losses.length === 0) continue;
    const cmp = sameLosses(m.losses, pm.losses);
    if (cmp.equal) {
      if (match === null) match = true;
      parts.push(`identical to “${peer.name}” (${pm.losses.length} losses)`);
    } else {
      match = false;
      parts.push(`differs from “${peer.name}” from step ${cmp.firstDiff}`);
    }
  }
  if (parts.length === 0) return;
  useStudio.getState().upsertRun({ id: runId, reproduction: { match, detail: parts.join('; ') } });
}
