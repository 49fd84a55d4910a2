/**
 * Module-level actions (zustand "practice with no store actions"): the engine's events enter the
 * store here, so the worker client needs no React hooks.
 */
import type { EngineEvent } from '../../worker/protocol';
import { classifyError } from '../gpuSupport';
import { useStudio } from './index';

export function applyEngineEvent(e: EngineEvent): void {
  const st = useStudio.getState();
  switch (e.type) {
    case 'ready':
      st.setEngine('ready', { adapter: e.adapter, problem: null });
      return;
    case 'error': {
      const p = classifyError(e.error);
      if (p.kind === 'device-lost') {
        st.setDeviceLost(e.error);
        return;
      }
      // Before the engine is ready, init()'s rejection decides the page; after, it's a notice.
      if (st.engine === 'ready') st.notify(e.error.message);
      return;
    }
    default:
      return;
  }
}
