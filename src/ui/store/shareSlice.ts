/** Share slice: a run link that was opened, validated, and what it needs before it can be reproduced. */
import type { StateCreator } from 'zustand';
import type { RunConfig } from '../../engine/config';
import type { LossFingerprint } from '../share';
import type { StudioState } from './index';

export interface LinkCheck {
  what: 'model' | 'dataset' | 'method' | 'adapter';
  /** true: verified; false: does not match (blocks reproduction); null: cannot check yet. */
  ok: boolean | null;
  message: string;
}

export type IncomingLink =
  | { status: 'ok'; config: RunConfig; fingerprint: LossFingerprint | null; checks: LinkCheck[]; restored: boolean }
  | { status: 'error'; error: string };

export interface ShareSlice {
  incoming: IncomingLink | null;
  setIncoming(l: IncomingLink | null): void;
}

export const createShareSlice: StateCreator<StudioState, [], [], ShareSlice> = (set) => ({
  incoming: null,
  setIncoming: (incoming) => set({ incoming }),
});
