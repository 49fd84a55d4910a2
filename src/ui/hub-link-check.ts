/**
 * A run link whose model is a hub snapshot (`hf:owner/name@<commit>` with the sha256 of every file,
 * issue 11 item 6): checked against this browser's model library (OPFS) rather than picked files. Not
 * stored → the check says so and where to download it (Restore setup, then Model shows the download of
 * exactly that commit); stored → every file's hash compared with the link's.
 */
import type { LinkCheck } from './store/shareSlice';
import { engineApi } from './engine';

const HUB_ID = /^hf:([^@]+)@([0-9a-f]{40})$/;

export function isHubSnapshotId(id: string): boolean {
  return HUB_ID.test(id);
}

export async function hubModelCheck(id: string, want: { name: string; sha256: string }[]): Promise<LinkCheck> {
  const [, repo, commit] = HUB_ID.exec(id)!;
  const at = `${repo} at commit ${commit.slice(0, 12)}`;
  const api = engineApi();
  let have: { name: string; sha256: string }[];
  try {
    if (!api) throw new Error('engine not ready');
    have = await api.libraryManifest(repo, commit);
  } catch {
    return {
      what: 'model',
      ok: false,
      message: `Hub model ${at} is not in this browser's model library: Restore setup, then download it under Model (the link names ${want.length} files by sha256).`,
    };
  }
  const bad = want.filter((w) => !have.some((h) => h.name === w.name && h.sha256 === w.sha256)).map((w) => w.name);
  return bad.length
    ? {
        what: 'model',
        ok: false,
        message: `Hub model ${at}: the stored ${bad.join(', ')} differ from the link's sha256 (delete it from the library and download it again).`,
      }
    : { what: 'model', ok: true, message: `Hub model ${at}: all ${want.length} files in the library match by sha256.` };
}
