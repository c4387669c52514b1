#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs every gate (scripts/check:
# format, lint, types), the unit tests on pure Python, and every test on the compiled build.
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

# The gates, then the unit tests on the pure-Python pipeline (the fallback where no C compiler is).
PYTHON=.venv/bin/python CI_EXPECT_BUILD=pure bash scripts/check tests/unit -q

# Then every test on the pipeline as it ships: compiled with mypyc beside the sources, removed again
# on the way out so that an edited .py file is never shadowed by a stale compiled one.
trap 'PYTHON=.venv/bin/python bash scripts/build-compiled --clean' EXIT
PYTHON=.venv/bin/python bash scripts/build-compiled
CI_EXPECT_BUILD=compiled .venv/bin/python -m pytest "$@"
