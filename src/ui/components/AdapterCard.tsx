/** The adapter the worker got: name, vendor/architecture, fallback flag, key limits, features. */
import { adapterName } from '../../worker/gpu-info';
import { formatBytes } from '../format';
import { useStudio } from '../store';

const KEY_LIMITS: { key: string; label: string; bytes?: boolean }[] = [
  { key: 'maxBufferSize', label: 'max buffer', bytes: true },
  { key: 'maxStorageBufferBindingSize', label: 'max storage binding', bytes: true },
  { key: 'maxComputeWorkgroupStorageSize', label: 'workgroup storage', bytes: true },
  { key: 'maxComputeInvocationsPerWorkgroup', label: 'invocations / workgroup' },
  { key: 'maxStorageBuffersPerShaderStage', label: 'storage buffers / stage' },
];

export function AdapterCard() {
  const adapter = useStudio((s) => s.adapter);
  const engine = useStudio((s) => s.engine);
  if (!adapter) {
    return (
      <section className="card" data-testid="adapter-card" data-state={engine}>
        <h2 className="card-title">GPU adapter</h2>
        <p className="muted">{engine === 'failed' ? 'No adapter.' : 'Requesting an adapter in the engine worker…'}</p>
      </section>
    );
  }
  return (
    <section className="card" data-testid="adapter-card" data-state="ready">
      <h2 className="card-title">
        GPU adapter
        {adapter.isFallbackAdapter && (
          <span
            className="badge warn"
            data-testid="adapter-fallback"
            title="A software or fallback adapter: correct, but slow"
          >
            fallback
          </span>
        )}
      </h2>
      <div className="adapter-name" data-testid="adapter-name">
        {adapterName(adapter)}
      </div>
      <dl className="kv">
        <dt>vendor</dt>
        <dd data-testid="adapter-vendor">{adapter.vendor || '—'}</dd>
        <dt>architecture</dt>
        <dd data-testid="adapter-architecture">{adapter.architecture || '—'}</dd>
        <dt>fallback</dt>
        <dd data-testid="adapter-is-fallback">{adapter.isFallbackAdapter ? 'yes' : 'no'}</dd>
        {KEY_LIMITS.map(({ key, label, bytes }) => (
          <Limit key={key} name={key} label={label} value={adapter.limits[key]} bytes={bytes} />
        ))}
      </dl>
      <details className="features">
        <summary>{adapter.features.length} features</summary>
        <div className="feature-list" data-testid="adapter-features">
          {adapter.features.map((f) => (
            <code key={f}>{f}</code>
          ))}
        </div>
      </details>
    </section>
  );
}

function Limit({
  name,
  label,
  value,
  bytes,
}: {
  name: string;
  label: string;
  value: number | undefined;
  bytes?: boolean;
}) {
  return (
    <>
      <dt title={name}>{label}</dt>
      <dd data-testid={`limit-${name}`} data-value={value ?? ''}>
        {value === undefined ? '—' : bytes ? formatBytes(value) : value.toLocaleString('en-US')}
      </dd>
    </>
  );
}
