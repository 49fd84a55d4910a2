#!/usr/bin/env node
// `npm start`: install the npm packages when they are missing (fresh clone), then serve the studio on
// localhost and print the URL to open. Plain Node (no dependencies) so it runs before `npm ci`.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const stale =
  !existsSync('node_modules/.package-lock.json') ||
  statSync('package-lock.json').mtimeMs > statSync('node_modules/.package-lock.json').mtimeMs;
if (stale) {
  console.log('rankscope: installing npm packages (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const port = process.env.PORT ?? '5173';
console.log(
  `rankscope: starting the studio — open http://127.0.0.1:${port}/ in a browser with WebGPU (Chrome/Edge 113+)`,
);
// --strictPort: vite binds exactly this port or exits, so the URL printed above is the one it serves
// (without it vite silently moved to the next free port while we had printed this one — issue 16).
const vite = spawn('npx', ['vite', '--host', '127.0.0.1', '--port', port, '--strictPort'], { stdio: 'inherit' });
vite.on('exit', (code) => {
  if (code) console.error(`rankscope: the studio did not start; if port ${port} is in use, run PORT=5174 npm start`);
  process.exit(code ?? 0);
});
