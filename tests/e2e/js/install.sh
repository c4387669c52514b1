#!/usr/bin/env bash
# Installs what the end-to-end tracker tests need; safe to run again.
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it; no browser is ever downloaded);
#   - the npm packages pinned in package.json / package-lock.json, with `npm ci` (which puts
#     node_modules back exactly as the lock file says, whatever was there before).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

# playwright-core never downloads a browser; this also stops any package's postinstall from trying.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund
