#!/usr/bin/env bash
# The short benchmark test needs wrk, which bench/install.sh installs (and leaves alone if present).
# matplotlib, for the plot, is in the `test` extra.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/install.sh
