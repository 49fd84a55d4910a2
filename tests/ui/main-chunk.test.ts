/**
 * The page's main entry chunk holds no method code (issue 15 item 1): the adapter registry and the method
 * files live in the engine worker, which sends the page their metadata (worker/methods.ts). A production
 * build (vite, in memory) is read chunk by chunk: everything the entry loads statically must leave out
 * src/engine/adapters/registry.ts and src/engine/adapters/methods/*. The Experiments tab's lazy chunk may
 * hold them (the engine's experiment code runs on the page there), so the registry must still be in the
 * build somewhere — which also proves the check looks at the right module ids.
 *
 * Nor any GPU code: no module under src/gpu/ and no shaders/*.wgsl, except the two plain-data leaves that
 * import nothing (adapter-info.ts: an adapter as data; purposes.ts: RNG stream tags). The page needs the model families'
 * metadata (module names, target presets, parameter shapes for the memory plan) synchronously; it reads
 * them from src/engine/model/family-meta.ts, which imports no model or kernel code. The kernels and shaders
 * are in the build (the worker and the lazy Experiments chunk), which the test also checks.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Rollup } from 'vite';

const root = path.resolve(__dirname, '../..');
const METHOD_CODE = /src\/engine\/adapters\/(registry\.ts|methods\/)/;
const GPU_CODE = /^(src\/gpu\/|shaders\/.*\.wgsl)/;
/** src/gpu files that are plain data and import nothing (checked below), which the page may load. */
const GPU_DATA_LEAVES = ['src/gpu/adapter-info.ts', 'src/gpu/purposes.ts'];

describe('main entry chunk', () => {
  it('loads no adapter registry, method file, GPU kernel or shader statically; a lazy chunk does', async () => {
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
    expect(ids(eager).filter((m) => GPU_CODE.test(m) && !GPU_DATA_LEAVES.includes(m))).toEqual([]);
    for (const f of GPU_DATA_LEAVES)
      expect(readFileSync(path.join(root, f), 'utf8')).not.toMatch(/^\s*(import|export .* from)\b/m);
    // the lazy Experiments chunk brings the engine's experiment code, registry and kernels included (allowed there)
    const lazy = [...chunks.keys()].filter((n) => !eager.has(n));
    expect(ids(lazy)).toContain('src/engine/adapters/registry.ts');
    expect(ids(lazy)).toContain('src/gpu/kernels/matmul.ts');
    expect(ids(lazy).filter((m) => /^shaders\/matmul\.wgsl/.test(m))).not.toEqual([]);
    console.log(
      `vite build (in memory): ${((performance.now() - t0) / 1000).toFixed(1)} s, ${eager.size} eager chunks`,
    );
  }, 180_000);
});
