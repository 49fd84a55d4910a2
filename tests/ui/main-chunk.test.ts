/**
 * The page's main entry chunk holds no method code (issue 15 item 1): the adapter registry and the method
 * files live in the engine worker, which sends the page their metadata (worker/methods.ts). A production
 * build (vite, in memory) is read chunk by chunk: everything the entry loads statically must leave out
 * src/engine/adapters/registry.ts and src/engine/adapters/methods/*. The Experiments tab's lazy chunk may
 * hold them (the engine's experiment code runs on the page there), so the registry must still be in the
 * build somewhere — which also proves the check looks at the right module ids.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { build, type Rollup } from 'vite';

const root = path.resolve(__dirname, '../..');
const METHOD_CODE = /src\/engine\/adapters\/(registry\.ts|methods\/)/;

describe('main entry chunk', () => {
  it('loads no adapter registry or method file statically; a lazy chunk does', async () => {
    const t0 = performance.now();
    const res = await build({
      root,
      configFile: path.join(root, 'vite.config.ts'),
      logLevel: 'silent',
      build: { write: false },
    });
    const outputs = (Array.isArray(res) ? res : [res]) as Rollup.RollupOutput[];
    const chunks = new Map<string, Rollup.OutputChunk>();
    for (const o of outputs) for (const c of o.output) if (c.type === 'chunk') chunks.set(c.fileName, c);
    const entries = [...chunks.values()].filter((c) => c.isEntry && c.facadeModuleId?.endsWith('index.html'));
    expect(entries).toHaveLength(1);
    // the entry and every chunk it imports statically: what the first paint loads
    const eager = new Set<string>();
    const visit = (name: string) => {
      if (eager.has(name) || !chunks.has(name)) return;
      eager.add(name);
      for (const i of chunks.get(name)!.imports) visit(i);
    };
    visit(entries[0].fileName);
    const ids = (names: Iterable<string>) =>
      [...names].flatMap((n) => chunks.get(n)!.moduleIds.map((m) => path.relative(root, m).split(path.sep).join('/')));
    expect(ids(eager).filter((m) => METHOD_CODE.test(m))).toEqual([]);
    // the lazy Experiments chunk brings the engine's experiment code, registry included (allowed there)
    const lazy = [...chunks.keys()].filter((n) => !eager.has(n));
    expect(ids(lazy)).toContain('src/engine/adapters/registry.ts');
    console.log(
      `vite build (in memory): ${((performance.now() - t0) / 1000).toFixed(1)} s, ${eager.size} eager chunks`,
    );
  }, 180_000);
});
