/** View slice: which tab, which matrix, which intruder threshold, how much smoothing. */
import type { StateCreator } from 'zustand';
import type { StudioState } from './index';

export type TabId = 'loss' | 'spectra' | 'intruders' | 'generate' | 'compare' | 'experiments' | 'system';

export interface ViewSlice {
  tab: TabId;
  matrix: string | null;
  eps: number;
  smoothing: number;
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
  setTab: (tab) => set({ tab }),
  setMatrix: (matrix) => set({ matrix }),
  setEps: (eps) => set({ eps: Math.min(0.99, Math.max(0.01, eps)) }),
  setSmoothing: (smoothing) => set({ smoothing: Math.min(0.99, Math.max(0, smoothing)) }),
});
