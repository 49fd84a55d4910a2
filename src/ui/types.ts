/** Types shared by the store, the database and the views. */
import type { RunConfig } from '../engine/config';
import type { SerializedGpuError } from '../worker/gpu-info';
import type { MemoryReport, RunState } from '../worker/protocol';
import type { LossFingerprint } from './share';

/** A run's lifecycle as the studio sees it: the engine's states plus "interrupted" (a reload cut it off). */
export type RunStatus = RunState | 'interrupted' | 'queued';

export interface RunRecord {
  id: string;
  name: string;
  config: RunConfig;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  /** Completed steps. */
  step: number;
  totalSteps: number;
  /** The adapter that trained it (same adapter ⇒ same losses). */
  adapterName: string;
  modelHash?: string;
  datasetHash?: string;
  matrices: string[];
  rankAllocation?: Record<string, number>;
  memory?: MemoryReport;
  message?: string;
  error?: SerializedGpuError;
  /** Step of the newest saved checkpoint, if any. */
  checkpointStep?: number;
  summary?: Record<string, unknown>;
  /** This run reproduces a shared link; the link's loss fingerprint, if it had one. */
  reproduces?: { fingerprint: LossFingerprint | null };
  /** Set by the reproduction check when the run finished. */
  reproduction?: { match: boolean | null; detail: string };
  /** Text generated from this run (newest first, at most MAX_SAMPLES), kept with it across reloads. */
  samples?: Generation[];
  /** The person's labels, for filtering the run list. */
  tags?: string[];
}

export interface Generation {
  id: number;
  runId: string | null;
  prompt: string;
  base: string;
  tuned: string;
  at: number;
  /** Stopped by the person before maxTokens. */
  cancelled?: boolean;
  /** The sampling settings it was drawn with (absent in samples from before they were recorded). */
  settings?: { maxTokens: number; temperature: number; topK: number; topP: number; seed: number };
}
