/**
 * Keeping chart rendering off the critical path (issue: "no long task over 50 ms caused by training
 * or analysis"). A chart costs milliseconds to render, tens when the CPU is shared with a software
 * GPU, so charts must never all render in one task:
 *   - every chart has a slot (0…7) and renders in its own macrotask, offset by its slot;
 *   - while a run trains, a chart takes new data at most once per PACE_MS;
 *   - a chart mounts in its own task too (a placeholder of the same height first).
 * The store itself updates at full rate; only the drawing is paced.
 */
import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { flushSync } from 'react-dom';
import { useStudio } from '../store';

export const PACE_MS = 1000;
const SLOT_MS = 45;
const SLOTS = 8;
let nextSlot = 0;

export function useSlot(): number {
  const slot = useRef(-1);
  if (slot.current < 0) slot.current = nextSlot++ % SLOTS;
  return slot.current;
}

function useTraining(): boolean {
  return useStudio((s) => {
    const r = s.engineRunId ? s.runs[s.engineRunId] : null;
    return !!r && (r.status === 'running' || r.status === 'preparing');
  });
}

/** `value`, delivered in this chart's own task, at most once per PACE_MS while training. */
export function usePaced<T>(value: T, slot: number): { shown: T; mounted: boolean } {
  const training = useTraining();
  const [state, setState] = useState<{ shown: T; mounted: boolean }>({ shown: value, mounted: false });
  const last = useRef(0);
  const latest = useRef(value);
  useEffect(() => {
    latest.current = value;
  });
  useEffect(() => {
    if (state.mounted && state.shown === value) return;
    const now = performance.now();
    const earliest = training && state.mounted ? last.current + PACE_MS : now;
    const delay = Math.max(0, earliest - now) + slot * SLOT_MS;
    const t = setTimeout(() => {
      last.current = performance.now();
      // render now, in this task: timers that fire together must not batch into one long render
      flushSync(() => setState({ shown: latest.current, mounted: true }));
    }, delay);
    return () => clearTimeout(t);
  }, [value, training, slot, state]);
  return state;
}

/**
 * memo() equality for chart props: data arrays by identity (they are memoised by the views), the
 * small descriptive props (series specs, labels, sizes) by value, so inline literals in a parent's
 * JSX do not redraw a chart.
 */
export function sameChartProps<P extends object>(a: P, b: P): boolean {
  const ka = Object.keys(a) as (keyof P)[];
  const kb = Object.keys(b) as (keyof P)[];
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (k === 'data' || k === 'overlap' || ArrayBuffer.isView(x)) return false;
    if (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null) {
      if (k === 'markers') {
        const mx = x as unknown as { data: unknown }[];
        const my = y as unknown as { data: unknown }[];
        if (
          mx.length !== my.length ||
          mx.some(
            (m, i) =>
              JSON.stringify({ ...m, data: undefined }) !== JSON.stringify({ ...my[i], data: undefined }) ||
              JSON.stringify(m.data) !== JSON.stringify(my[i].data),
          )
        )
          return false;
        continue;
      }
      if (JSON.stringify(x) !== JSON.stringify(y)) return false;
      continue;
    }
    return false;
  }
  return true;
}

/**
 * The element's width, for charts drawn at a fixed size. Recharts' ResponsiveContainer re-renders
 * every chart from one ResizeObserver callback, and React batches those into a single long task;
 * here a width change reaches each chart in its own task (its slot), and only when it really changed.
 */
export function useElementWidth(ref: RefObject<HTMLElement | null>, slot: number): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(Math.floor(el.getBoundingClientRect().width));
    let timer: ReturnType<typeof setTimeout> | null = null;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (timer) clearTimeout(timer);
      timer = setTimeout(
        () => {
          timer = null;
          flushSync(() => setWidth((prev) => (Math.abs(prev - w) >= 1 ? w : prev)));
        },
        60 + slot * SLOT_MS,
      );
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      if (timer) clearTimeout(timer);
    };
  }, [ref, slot]);
  return width;
}
