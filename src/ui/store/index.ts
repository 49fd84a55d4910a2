/**
 * The studio's one zustand store, made of slices (zustand "slices pattern"). Components select
 * narrowly; the engine feeds it through module-level actions (actions.ts), never through hooks.
 */
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './gpuSlice';
import { createRunsSlice, type RunsSlice } from './runsSlice';
import { createSetupSlice, type SetupSlice } from './setupSlice';
import { createShareSlice, type ShareSlice } from './shareSlice';
import { createViewSlice, type ViewSlice } from './viewSlice';

export type StudioState = GpuSlice & SetupSlice & RunsSlice & ViewSlice & ShareSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createSetupSlice(...a),
  ...createRunsSlice(...a),
  ...createViewSlice(...a),
  ...createShareSlice(...a),
}));
