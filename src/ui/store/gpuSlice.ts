/**
 * GPU slice: where the engine stands (checking → starting → ready, or failed with a problem), the
 * adapter the worker got, a device lost mid-session, and the self-test result.
 */
import type { StateCreator } from 'zustand';
import type { AdapterDescription, SerializedGpuError } from '../../worker/gpu-info';
import type { SelfTestReport } from '../../worker/protocol';
import type { GpuProblem } from '../gpuSupport';
import type { StudioState } from './index';

export type EnginePhase = 'checking' | 'starting' | 'ready' | 'failed';

export type SelfTestState =
  | { phase: 'idle' }
  | { phase: 'running' }
  | { phase: 'done'; report: SelfTestReport }
  | { phase: 'error'; message: string };

export interface GpuSlice {
  engine: EnginePhase;
  adapter: AdapterDescription | null;
  /** Why the studio cannot run (set with engine = 'failed'). */
  problem: GpuProblem | null;
  /** The device was lost after start-up: the studio stays visible with a banner. */
  deviceLost: SerializedGpuError | null;
  selfTest: SelfTestState;
  /** Recent errors not tied to a run (validation, out-of-memory), newest last, bounded. */
  notices: { id: number; text: string; level: 'error' | 'info' }[];
  setEngine(phase: EnginePhase, patch?: Partial<Pick<GpuSlice, 'adapter' | 'problem'>>): void;
  setDeviceLost(e: SerializedGpuError): void;
  /** A new device replaced the lost one (recoverDevice). */
  clearDeviceLost(): void;
  setSelfTest(s: SelfTestState): void;
  notify(text: string, level?: 'error' | 'info'): void;
  dismissNotice(id: number): void;
}

let noticeId = 0;
const MAX_NOTICES = 5;

export const createGpuSlice: StateCreator<StudioState, [], [], GpuSlice> = (set) => ({
  engine: 'checking',
  adapter: null,
  problem: null,
  deviceLost: null,
  selfTest: { phase: 'idle' },
  notices: [],
  setEngine: (engine, patch = {}) => set({ engine, ...patch }),
  setDeviceLost: (e) => set((s) => (s.deviceLost ? {} : { deviceLost: e })),
  clearDeviceLost: () => set({ deviceLost: null }),
  setSelfTest: (selfTest) => set({ selfTest }),
  notify: (text, level = 'error') =>
    set((s) => {
      const last = s.notices[s.notices.length - 1];
      if (last && last.text === text) return {};
      return { notices: [...s.notices, { id: ++noticeId, text, level }].slice(-MAX_NOTICES) };
    }),
  dismissNotice: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
});
