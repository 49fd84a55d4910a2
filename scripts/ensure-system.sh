#!/usr/bin/env bash
# Make sure the OS pieces real WebGPU needs without a GPU are present:
#   - Mesa's Vulkan CPU driver lavapipe >= 23 (Dawn in Node; Debian 12's own 22.3 is rejected by Dawn),
#   - Chromium (Playwright e2e with WebGPU on SwiftShader).
# As root with apt (CI, a fresh Debian 12), it installs what is missing. Elsewhere it says exactly
# which piece is missing and how to get it, and exits 1.
set -euo pipefail

missing=()
need_mesa=0
need_chromium=0

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }

if command -v dpkg-query >/dev/null 2>&1; then
  v=$(mesa_version)
  major=${v%%.*}; major=${major##*:}
  if [ -z "$v" ] || ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt 23 ]; then need_mesa=1; fi
fi
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ] && [ "${RANKSCOPE_SKIP_E2E:-0}" != 1 ]; then need_chromium=1; fi

if [ $need_mesa = 0 ] && [ $need_chromium = 0 ]; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  if [ $need_mesa = 1 ] && [ "$codename" = bookworm ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  fi
  echo "ensure-system: installing$([ $need_mesa = 1 ] && echo ' mesa-vulkan-drivers (lavapipe)')$([ $need_chromium = 1 ] && echo ' chromium')" >&2
  apt-get update -q >/dev/null
  if [ $need_chromium = 1 ]; then apt-get install -y -q chromium >/dev/null; fi
  if [ $need_mesa = 1 ]; then
    if [ "$codename" = bookworm ]; then apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >/dev/null
    else apt-get install -y -q mesa-vulkan-drivers >/dev/null; fi
  fi
  v=$(mesa_version); major=${v%%.*}; major=${major##*:}
  if [ -z "$v" ] || [ "$major" -lt 23 ]; then echo "ensure-system: mesa-vulkan-drivers is $v after install; Dawn needs >= 23" >&2; exit 1; fi
  exit 0
fi

[ $need_mesa = 1 ] && missing+=("Mesa lavapipe >= 23 (found: '$(mesa_version)'). On Debian 12 as root: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers. With a real GPU, its Vulkan driver works instead.")
[ $need_chromium = 1 ] && missing+=("Chromium at $CHROMIUM (apt-get install chromium, or set CHROMIUM_PATH to a Chromium/Chrome binary; RANKSCOPE_SKIP_E2E=1 skips the browser tests).")
echo "ensure-system: missing pieces for the test suite:" >&2
for m in "${missing[@]}"; do echo "  - $m" >&2; done
exit 1
