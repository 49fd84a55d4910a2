// Vite serves the studio; the same config drives Vitest (tests/) and vite-node (the CLI),
// so `?raw` shader imports and `import.meta.glob` work identically in the page, the tests and Node.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173, strictPort: false, fs: { allow: ['.'] } },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn on lavapipe is one process-wide device; running test files in parallel on two cores only
    // thrashes the CPU Vulkan driver. One worker, files in sequence.
    fileParallelism: false,
    pool: 'forks',
  },
});
