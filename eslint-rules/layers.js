/**
 * rankscope/layers — the arrows run one way: src/gpu → src/engine → src/worker → src/ui | src/cli
 * (docs/ARCHITECTURE.md, "Layering"). A module may import its own layer and the layers below it:
 *
 *   gpu     gpu
 *   engine  gpu, engine
 *   worker  gpu, engine, worker
 *   cli     gpu, engine, worker, cli
 *   ui      engine, worker, ui        (never gpu: the adapter name and GPU errors come through the
 *                                      worker protocol, src/worker/protocol.ts)
 *
 * Relative specifiers (`import`, `export … from`, `import()`) are resolved against the importing file;
 * package imports and paths outside src/ (shaders/*.wgsl, public/) are not layered. Files outside
 * src/ (tests, scripts, e2e) are not checked.
 */
import path from 'node:path';

export const ALLOWED = {
  gpu: ['gpu'],
  engine: ['gpu', 'engine'],
  worker: ['gpu', 'engine', 'worker'],
  cli: ['gpu', 'engine', 'worker', 'cli'],
  ui: ['engine', 'worker', 'ui'],
};

/** The layer of an absolute path: the directory right under the nearest `src/`, or null. */
export function layerOf(file) {
  const parts = path.resolve(file).split(path.sep);
  const i = parts.lastIndexOf('src');
  if (i < 0 || i + 2 >= parts.length) return null; // not under src/, or a file directly in src/
  return Object.hasOwn(ALLOWED, parts[i + 1]) ? parts[i + 1] : null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Imports run one way: gpu → engine → worker → ui/cli; ui never imports gpu.' },
    schema: [],
    messages: {
      upward:
        "src/{{from}} must not import src/{{to}} ('{{spec}}'): arrows run gpu → engine → worker → ui/cli, and ui never imports gpu. Move the shared piece down (docs/ARCHITECTURE.md, Layering).",
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const from = layerOf(file);
    if (!from) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = layerOf(path.resolve(path.dirname(file), source.value.split('?')[0]) + path.sep + 'x');
      if (to && !ALLOWED[from].includes(to))
        context.report({ node: source, messageId: 'upward', data: { from, to, spec: source.value } });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source.type === 'Literal' ? n.source : null),
    };
  },
};
