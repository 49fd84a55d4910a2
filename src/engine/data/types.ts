/**
 * Shared data types: examples, prepared datasets, the public/data manifest, and DatasetError.
 * No logic here, so scripts/prepare-data.ts can import the manifest type without pulling in loaders.
 */
import type { Conversation } from './chat';

/** One supervised pair. Training text is prompt + completion + '\n'; loss counts the completion. */
export interface Example {
  prompt: string;
  completion: string;
}

interface PreparedBase {
  id: string;
  /**
   * Content hash for the RunConfig: SHA-256 of the source file bytes for built-in text sets (equal
   * to the manifest sha256) and uploads, SHA-256 of the generated examples for procedural sets.
   */
  hash: string;
  /** Held-out slice of the pretraining distribution (english) for measuring forgetting. */
  probe?: string;
}

export type PreparedText =
  | (PreparedBase & { kind: 'text'; train: string; val: string })
  | (PreparedBase & { kind: 'pairs'; train: Example[]; val: Example[] })
  /** Conversations, rendered through the model's chat template when tokenized (chat.ts). */
  | (PreparedBase & { kind: 'chat'; train: Conversation[]; val: Conversation[] });

export interface DatasetInfo {
  id: string;
  label: string;
  kind: 'text' | 'pairs' | 'chat';
  description: string;
  source: string;
  license: string;
  /** Default validation fraction used when loadDataset gets none. */
  defaultValFraction: number;
}

/** One entry of public/data/index.json, written by scripts/prepare-data.ts. */
export interface DataManifestEntry {
  id: string;
  label: string;
  kind: 'text';
  /** Path relative to public/, e.g. 'data/english.txt.gz'. */
  file: string;
  /** Size of the gzip file in bytes. */
  bytes: number;
  /** Size of the uncompressed UTF-8 text in bytes. */
  rawBytes: number;
  /** Number of non-empty lines (split units). */
  lines: number;
  /** Lower-case hex SHA-256 of the gzip file: the dataset's identity in run links. */
  sha256: string;
  /**
   * SHA-256 of the uncompressed text. Servers that send `.gz` with `Content-Encoding: gzip` make the
   * browser inflate the file before we see it; the loader then checks the text against this.
   */
  rawSha256?: string;
  license: string;
  source: string;
  description: string;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}
