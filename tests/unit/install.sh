#!/usr/bin/env bash
# Fetches MaxMind's published test databases (shipped in the maxminddb sdist, tests/data/test-data/)
# for tests/unit/test_enrichment_ip_lookups.py; safe to run again. Nothing is installed system-wide.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
DEST=tests/unit/maxmind-test-data
if [ -f "$DEST/GeoIP2-City-Test.mmdb" ]; then exit 0; fi
version="$("$PYTHON" -c 'from importlib.metadata import version; print(version("maxminddb"))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "maxminddb==$version" -d "$work"
tar -xzf "$work"/maxminddb-*.tar.gz -C "$work" --wildcards '*/tests/data/test-data/*.mmdb'
mkdir -p "$DEST"
cp "$work"/maxminddb-*/tests/data/test-data/*.mmdb "$DEST"/
