/**
 * What fits this adapter, before downloading: the model's config.json (a few hundred bytes) read from
 * the hub, then the engine's memory plan for full fine-tuning and for LoRA r = 16 on all linear layers
 * at the setup's batch and context, against this adapter's buffer limits and the default budget.
 */
import { useEffect, useState } from 'react';
import { DEFAULT_LIMITS, fmtBytes, planMemory } from '../../engine/memory-plan';
import { fromHfConfig } from '../../engine/model/config';
import { expandSelectors } from '../../engine/model/family-meta';
import { parseHubRef, resolveUrl } from '../../engine/io/hub';
import { useHub } from '../hub';
import { useStudio } from '../store';

interface Fit {
  spec: string;
  lines: { label: string; total: number; fits: boolean; why: string }[];
  error?: string;
}

export function HubFit({ spec }: { spec: string }) {
  const endpoint = useHub((h) => h.endpoint);
  const token = useHub((h) => h.token);
  const train = useStudio((s) => s.draft.train);
  const adapter = useStudio((s) => s.adapter);
  const [fit, setFit] = useState<Fit | null>(null);
  useEffect(() => {
    const s = spec.trim();
    if (!/^[\w.-]+\/[\w.-]+(@.+)?$/.test(s)) return;
    const abort = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const ref = parseHubRef(s);
        const res = await fetch(resolveUrl(endpoint.trim() || 'https://huggingface.co', ref, 'config.json'), {
          signal: abort.signal,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
        const cfg = fromHfConfig(await res.json());
        const limits = {
          maxStorageBufferBindingSize:
            adapter?.limits.maxStorageBufferBindingSize ?? DEFAULT_LIMITS.maxStorageBufferBindingSize,
          maxBufferSize: adapter?.limits.maxBufferSize ?? DEFAULT_LIMITS.maxBufferSize,
          budgetBytes: DEFAULT_LIMITS.budgetBytes,
        };
        const targets = { modules: expandSelectors(cfg, ['all-linear']), layers: null, rankOverrides: {} };
        const plan = (id: string, params: Record<string, number>) =>
          planMemory(cfg, { method: { id, params }, targets, train }, limits, { trainsBase: id === 'full' });
        const lines = [
          { label: 'full fine-tuning', p: plan('full', {}) },
          { label: 'LoRA r16, all linear', p: plan('lora', { rank: 16, alpha: 32 }) },
        ].map(({ label, p }) => ({
          label,
          total: p.bytes.total,
          fits: p.problems.length === 0,
          why: p.problems.join(' '),
        }));
        setFit({ spec: s, lines });
      } catch (e) {
        if (!abort.signal.aborted) setFit({ spec: s, lines: [], error: (e as Error).message });
      }
    }, 400);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [spec, endpoint, token, train, adapter]);
  if (!fit || fit.spec !== spec.trim()) return null;
  return (
    <div className="field-help" data-testid="hub-fit">
      {fit.error ? (
        `Memory plan not available (${fit.error}).`
      ) : (
        <>
          On this adapter at batch {train.batchSize}, context {train.contextLength}:{' '}
          {fit.lines.map((l, i) => (
            <span key={l.label} data-fits={l.fits} title={l.why}>
              {i > 0 ? ' · ' : ''}
              {l.label} {fmtBytes(l.total)} {l.fits ? 'fits' : 'does not fit'}
            </span>
          ))}
          .
        </>
      )}
    </div>
  );
}
