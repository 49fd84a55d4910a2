/**
 * The studio's one zustand store, made of slices (zustand "slices pattern"). Components select
 * narrowly; the engine feeds it through module-level actions (actions.ts), never through hooks.
 */
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './gpuSlice';

export type StudioState = GpuSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createGpuSlice(...a),
}));
