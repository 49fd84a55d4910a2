/**
 * A PEFT adapter repository from the hub: only its two files (adapter_config.json +
 * adapter_model.safetensors), through the same resumable, checksummed download and store as models
 * (hub.ts downloadBlob, a HubStore: the page's OPFS library, the CLI's HF cache). Without a network the
 * store's refs answer, as huggingface_hub's cache does.
 */
import type { NamedFile } from './checkpoint';
import {
  downloadBlob,
  fetchFileMeta,
  formatHubRef,
  HubError,
  parseHubRef,
  type DownloadOptions,
  type HubStore,
} from './hub';

export const HUB_ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

export interface HubAdapter {
  repo: string;
  commit: string;
  files: NamedFile[];
}

export async function adapterDownload(spec: string, store: HubStore, opts: DownloadOptions = {}): Promise<HubAdapter> {
  const ref = parseHubRef(spec);
  let commit: string | null = null;
  try {
    for (const file of HUB_ADAPTER_FILES) {
      const meta = await fetchFileMeta(commit ? { repo: ref.repo, revision: commit } : ref, file, opts);
      commit = meta.commit;
      await downloadBlob({ repo: ref.repo, revision: meta.commit }, meta, store, opts);
      await store.link(ref.repo, meta.commit, file, meta.etag);
    }
    if (ref.revision !== commit) await store.setRevision(ref.repo, ref.revision, commit!);
  } catch (e) {
    if (e instanceof HubError && e.code === 'entry-not-found')
      throw new HubError(
        'entry-not-found',
        `${formatHubRef(ref)}: not a PEFT adapter repository (it needs adapter_config.json and adapter_model.safetensors)`,
      );
    if (e instanceof HubError || opts.signal?.aborted || !(e instanceof TypeError)) throw e;
    // no network: the stored snapshot, if the revision was resolved before
    commit = await store.resolveRevision(ref.repo, ref.revision);
    if (!commit)
      throw new HubError(
        'interrupted',
        `${formatHubRef(ref)}: cannot reach the hub (${e.message}) and it is not stored`,
      );
  }
  const files: NamedFile[] = [];
  for (const name of HUB_ADAPTER_FILES)
    files.push({ name, bytes: await store.readSnapshotFile(ref.repo, commit!, name) });
  return { repo: ref.repo, commit: commit!, files };
}
