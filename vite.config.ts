// Vite serves the studio; the same config drives Vitest (tests/) and vite-node (the CLI),
// so `?raw` shader imports and `import.meta.glob` work identically in the page, the tests and Node.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { Connect, Plugin } from 'vite';

/**
 * Vite's dev and preview servers answer `*.gz` with `Content-Encoding: gzip`, so the browser would
 * inflate the built-in datasets in transit and the loader would hash text instead of the file it
 * expects. Serve them as plain binary, as static hosts do. (The loader also copes with inflated
 * text, checking it against the manifest's rawSha256, for hosts that do the same.)
 */
function serveGzipAsBinary(dir: () => string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!url.endsWith('.gz')) return next();
    const root = path.resolve(dir());
    const file = path.resolve(root, '.' + url);
    if (!file.startsWith(root + path.sep)) return next();
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) return next();
      size = st.size;
    } catch {
      return next();
    }
    res.setHeader('Content-Type', 'application/gzip');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Cache-Control', 'no-cache');
    createReadStream(file).pipe(res);
  };
}

function gzipAsBinary(): Plugin {
  return {
    name: 'rankscope:gzip-as-binary',
    configureServer(server) {
      server.middlewares.use(serveGzipAsBinary(() => server.config.publicDir));
    },
    configurePreviewServer(server) {
      server.middlewares.use(serveGzipAsBinary(() => path.resolve(server.config.root, server.config.build.outDir)));
    },
  };
}

export default defineConfig({
  plugins: [react(), gzipAsBinary()],
  server: { host: '127.0.0.1', port: 5173, strictPort: false, fs: { allow: ['.'] } },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn on lavapipe is one process-wide device; running test files in parallel on two cores only
    // thrashes the CPU Vulkan driver. One worker, files in sequence.
    fileParallelism: false,
    pool: 'forks',
  },
});
