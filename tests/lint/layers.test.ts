/**
 * The layering rule (eslint-rules/layers.js): arrows run gpu → engine → worker → ui/cli and ui never
 * imports gpu. Proves the rule fires on upward imports (as wired in eslint.config.js, on .ts files
 * under src/), stays quiet on allowed ones, and that no file in src/ breaks it today.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { ESLint, Linter } from 'eslint';
import layers, { ALLOWED, layerOf } from '../../eslint-rules/layers.js';
import { importCycles, importGraph } from './import-graph';

const root = path.resolve(__dirname, '../..');
const linter = new Linter({ configType: 'flat' });
const config = [{ plugins: { rankscope: { rules: { layers } } }, rules: { 'rankscope/layers': 'error' as const } }];

function lint(file: string, code: string): string[] {
  return linter.verify(code, config, path.join(root, file)).map((m) => m.message);
}

describe('eslint rule rankscope/layers', () => {
  it('fires on every upward import form', () => {
    expect(lint('src/gpu/kernels/x.js', "import { Rng } from '../../engine/rng';")[0]).toMatch(
      /src\/gpu must not import src\/engine/,
    );
    expect(lint('src/engine/x.js', "export { a } from '../worker/protocol';")).toHaveLength(1);
    expect(lint('src/engine/model/x.js', "export * from '../../ui/store';")).toHaveLength(1);
    expect(lint('src/worker/x.js', "const m = import('../cli/main');")).toHaveLength(1);
    expect(lint('src/ui/store/x.js', "import { adapterName } from '../../gpu/device';")[0]).toMatch(
      /src\/ui must not import src\/gpu/,
    );
    expect(lint('src/cli/x.js', "import '../ui/App';")).toHaveLength(1);
    expect(lint('src/ui/x.js', "import { main } from '../cli/main';")).toHaveLength(1);
  });

  it('allows downward and same-layer imports, packages and paths outside src/', () => {
    for (const [file, spec] of [
      ['src/engine/x.js', '../gpu/device'],
      ['src/engine/adapters/methods/x.js', '../../rng'],
      ['src/worker/x.js', '../engine/train'],
      ['src/worker/x.js', '../gpu/errors'],
      ['src/ui/x.js', '../worker/gpu-info'],
      ['src/ui/x.js', '../engine/config'],
      ['src/cli/commands/x.js', '../../gpu/node'],
      ['src/gpu/x.js', '../../shaders/matmul.wgsl?raw'],
      ['src/gpu/x.js', 'zod'],
      ['src/main.js', './ui/App'],
      ['tests/x.js', '../src/ui/store'],
    ])
      expect(lint(file, `import x from '${spec}';`), `${file} → ${spec}`).toEqual([]);
  });

  it('is wired into eslint.config.js for TypeScript under src/', async () => {
    const eslint = new ESLint({ cwd: root });
    const [res] = await eslint.lintText(
      "import { adapterName } from '../gpu/device';\nexport const n = adapterName;\n",
      {
        filePath: path.join(root, 'src/ui/__layers-fixture.ts'),
      },
    );
    expect(res.messages.map((m) => m.ruleId)).toContain('rankscope/layers');
  }, 60_000);

  it('holds for every file in src/ today', () => {
    const bad: string[] = [];
    for (const [file, deps] of importGraph(path.join(root, 'src'))) {
      const from = layerOf(file);
      if (!from) continue;
      for (const dep of deps) {
        const to = layerOf(dep);
        if (to && !ALLOWED[from as keyof typeof ALLOWED].includes(to))
          bad.push(`${path.relative(root, file)} → ${path.relative(root, dep)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('import cycles', () => {
  it('finds a cycle when there is one', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c']]);
  });

  // The last known cycle (ExperimentsTab ↔ ExperimentsGallery/ExperimentsResult) was broken by moving
  // their shared pieces into the leaf src/ui/components/experimentsShared.tsx; none is allowed now.
  it('src/ has no runtime import cycle (type-only imports are erased)', () => {
    const cycles = importCycles(importGraph(path.join(root, 'src'), { runtime: true })).map((c) =>
      c.map((f) => path.relative(root, f).split(path.sep).join('/')),
    );
    expect(cycles).toEqual([]);
  });
});
