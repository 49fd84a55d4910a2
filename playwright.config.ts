/**
 * Playwright e2e in Chromium with real WebGPU. On machines without a GPU, Chromium runs WebGPU on
 * SwiftShader (~0.2 GFLOPS, shared/design/ENVIRONMENT.md): tests use tiny configurations, one
 * worker, and generous timeouts. Playwright's own browser download is not used: CHROMIUM_PATH (or
 * Debian's /usr/bin/chromium) is launched directly.
 *
 * The page is served by `vite build && vite preview` (a production bundle: no dependency
 * re-optimisation reloads mid-test) on 127.0.0.1, a secure context, which WebGPU requires.
 */
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 5199);
const BASE_URL = `http://127.0.0.1:${PORT}`;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 240_000,
  expect: { timeout: 60_000 },
  reporter: [['list']],
  use: {
    baseURL: BASE_URL,
    viewport: { width: 1360, height: 900 },
    screenshot: 'only-on-failure',
    trace: 'off',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
  },
  // No device descriptor: its fixed Windows user agent would hide the real browser from the page.
  projects: [{ name: 'chromium-webgpu', use: { browserName: 'chromium' } }],
  webServer: {
    command: `npx vite build --logLevel warn && npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: BASE_URL,
    // E2E_REUSE_SERVER=1: use a server already on the port (e.g. a dev server while iterating)
    reuseExistingServer: !!process.env.E2E_REUSE_SERVER,
    timeout: 240_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
