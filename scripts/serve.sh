#!/usr/bin/env bash
# Builds Packet Walk for the browser (release) and serves it on
# http://127.0.0.1:8080 with the default scenario loaded. Ctrl-C stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh
echo "serve: building and serving on http://127.0.0.1:8080/ (first build takes a minute)" >&2
exec trunk serve --release --offline --address 127.0.0.1 --port 8080
