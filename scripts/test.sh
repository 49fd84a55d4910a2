#!/usr/bin/env bash
# The whole test suite (README: `npm test`). On a fresh Debian 12 machine as root it installs what the
# OS lacks; it installs npm packages from the lockfile when node_modules is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

step() { echo; echo "── $* ──"; }
step "lint"; npx eslint . && npx prettier --check .
step "typecheck"; npx tsc --noEmit -p tsconfig.json
step "unit + GPU tests (Vitest, Dawn in Node)"; npx vitest run
if [ "${RANKSCOPE_SKIP_E2E:-0}" = 1 ]; then
  echo "RANKSCOPE_SKIP_E2E=1: browser e2e skipped"
else
  step "e2e (Playwright, Chromium + WebGPU)"; npx playwright test
fi
