#!/usr/bin/env bash
# Installs wrk, the load generator that bench/run.py drives (Debian's package); safe to run again.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first try cannot find wrk.
$SUDO apt-get install -y -qq wrk || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk; }
command -v wrk >/dev/null
