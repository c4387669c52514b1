#!/usr/bin/env bash
# The hostile-client suite starts nginx from deploy/nginx.conf: the integration installer provides it.
set -euo pipefail
bash "$(dirname "$0")/../integration/install.sh"
