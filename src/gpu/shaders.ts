/**
 * WGSL sources, one file per kernel family under shaders/. Vite (page), Vitest (tests) and vite-node
 * (CLI) all resolve this glob at build/transform time, so the three run byte-identical shader text.
 *
 * A line `// #include "name"` is replaced by shaders/name.wgsl (once per module), which lets families
 * share helpers such as the Philox RNG in random.wgsl without copy-paste.
 */

const raw = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

const byName = new Map<string, string>();
for (const [path, text] of Object.entries(raw)) {
  const name = path
    .split('/')
    .pop()!
    .replace(/\.wgsl$/, '');
  byName.set(name, text);
}

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}

export function shaderSource(name: string): string {
  const seen = new Set<string>();
  const expand = (n: string): string => {
    const text = byName.get(n);
    if (text === undefined) throw new Error(`Unknown shader "${n}" (known: ${shaderNames().join(', ')})`);
    seen.add(n);
    return text.replace(/^\s*\/\/\s*#include\s+"([\w-]+)"\s*$/gm, (_m, inc: string) =>
      seen.has(inc) ? `// (${inc} already included)` : expand(inc),
    );
  };
  return expand(name);
}
