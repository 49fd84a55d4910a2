/** Run tags (issue 16): the person's labels on a run, saved with the record, for filtering the run list. */
import { putRun } from './db';
import { persist } from './persist';
import { useStudio } from './store';

/** Trimmed, inner spaces collapsed, at most 32 characters each, no duplicates (case-insensitive), at most 12. */
export function cleanTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    const c = t.trim().replace(/\s+/g, ' ').slice(0, 32);
    if (c && !out.some((x) => x.toLowerCase() === c.toLowerCase())) out.push(c);
  }
  return out.slice(0, 12);
}

function setTags(runId: string, tags: string[]): void {
  const rec = useStudio.getState().upsertRun({ id: runId, tags: cleanTags(tags) });
  if (rec) persist(putRun(rec), 'the tags');
}

/** Add one tag, or several separated by commas. */
export function addTag(runId: string, tag: string): void {
  const run = useStudio.getState().runs[runId];
  if (run) setTags(runId, [...(run.tags ?? []), ...tag.split(',')]);
}

export function removeTag(runId: string, tag: string): void {
  const run = useStudio.getState().runs[runId];
  if (run)
    setTags(
      runId,
      (run.tags ?? []).filter((t) => t !== tag),
    );
}
