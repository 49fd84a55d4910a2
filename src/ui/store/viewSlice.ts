/** View slice: which tab, which matrix, which intruder threshold, how much smoothing, an opened comparison link. */
import type { StateCreator } from 'zustand';
import type { CompareLinkRun } from '../compare';
import type { StudioState } from './index';

export type TabId = 'loss' | 'spectra' | 'intruders' | 'generate' | 'compare' | 'experiments' | 'system';

export interface ViewSlice {
  tab: TabId;
  matrix: string | null;
  eps: number;
  smoothing: number;
  /** An opened comparison link: how many runs it names and those this browser does not have. */
  compareLink: { total: number; missing: CompareLinkRun[] } | null;
  setCompareLink(c: { total: number; missing: CompareLinkRun[] } | null): void;
  setTab(t: TabId): void;
  setMatrix(m: string | null): void;
  setEps(e: number): void;
  setSmoothing(s: number): void;
}

export const createViewSlice: StateCreator<StudioState, [], [], ViewSlice> = (set) => ({
  tab: 'loss',
  matrix: null,
  eps: 0.5,
  smoothing: 0.6,
  compareLink: null,
  setCompareLink: (compareLink) => set({ compareLink }),
  setTab: (tab) => set({ tab }),
  setMatrix: (matrix) => set({ matrix }),
  setEps: (eps) => set({ eps: Math.min(0.99, Math.max(0.01, eps)) }),
  setSmoothing: (smoothing) => set({ smoothing: Math.min(0.99, Math.max(0, smoothing)) }),
});
