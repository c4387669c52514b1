#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs every gate (scripts/check:
# format, lint, types, tests).
# Usage: bash tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

for installer in tests/*/install.sh tests/*/*/install.sh; do
  [ -f "$installer" ] && bash "$installer"
done

PYTHON=.venv/bin/python exec bash scripts/check "$@"
