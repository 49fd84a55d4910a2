/**
 * The adapter registry: every file in methods/ is a method, discovered with import.meta.glob (the
 * same in Vite, Vitest and vite-node). Adding a method = adding a file.
 */
import { ConfigError } from '../config';
import type { AdapterMethod, MethodParamSpec } from './types';

const modules = import.meta.glob('./methods/*.ts', { eager: true }) as Record<string, { method: AdapterMethod }>;

const methods = new Map<string, AdapterMethod>();
for (const [path, mod] of Object.entries(modules)) {
  const id = path.split('/').pop()!.replace(/\.ts$/, '');
  if (!mod.method) throw new Error(`adapter file ${path} exports no \`method\``);
  if (mod.method.id !== id)
    throw new Error(`adapter file ${path} declares id "${mod.method.id}"; the id must equal the file name`);
  methods.set(id, mod.method);
}

export function listMethods(): AdapterMethod[] {
  return [...methods.values()].sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}

/** The method with this id, or undefined (getMethod throws a ConfigError instead). */
export function tryGetMethod(id: string): AdapterMethod | undefined {
  return methods.get(id);
}

export function getMethod(id: string): AdapterMethod {
  const m = methods.get(id);
  if (!m) throw new ConfigError(`method.id: unknown method "${id}" (known: ${[...methods.keys()].sort().join(', ')})`);
  return m;
}

/** Apply defaults and check every param against its spec; unknown keys are errors (typos must not pass silently). */
export function resolveMethodParams(
  m: AdapterMethod,
  given: Record<string, unknown>,
): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  const errors: string[] = [];
  const known = new Map(m.params.map((p) => [p.key, p]));
  for (const k of Object.keys(given))
    if (!known.has(k))
      errors.push(
        `method.params.${k}: not a parameter of ${m.id} (allowed: ${[...known.keys()].join(', ') || 'none'})`,
      );
  for (const p of m.params) {
    const v = given[p.key] ?? p.default;
    const err = checkParam(p, v);
    if (err) errors.push(`method.params.${p.key}: ${err}`);
    else out[p.key] = v as number | boolean | string;
  }
  if (errors.length) throw new ConfigError(errors.join('\n'));
  return out;
}

export function checkParam(p: MethodParamSpec, v: unknown): string | null {
  switch (p.type) {
    case 'int':
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a number, got ${JSON.stringify(v)}`;
      if (p.type === 'int' && !Number.isInteger(v)) return `must be an integer, got ${v}`;
      if (p.min !== undefined && v < p.min) return `must be ≥ ${p.min}, got ${v}`;
      if (p.max !== undefined && v > p.max) return `must be ≤ ${p.max}, got ${v}`;
      return null;
    }
    case 'bool':
      return typeof v === 'boolean' ? null : `must be true or false, got ${JSON.stringify(v)}`;
    case 'enum':
      return typeof v === 'string' && p.options?.includes(v)
        ? null
        : `must be one of ${p.options?.join(', ')}, got ${JSON.stringify(v)}`;
  }
}
