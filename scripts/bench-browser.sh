#!/usr/bin/env bash
# Engine timings in headless Chromium, printed, not asserted: once built for
# speed (profile release) and once as the page ships (profile wasm-release,
# optimised for size).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh
for profile in release wasm-release; do
    echo "== $profile" >&2
    CHROMEDRIVER="$(command -v chromedriver)" \
        cargo test --profile "$profile" --target wasm32-unknown-unknown --test web_bench -- --nocapture 2>&1 |
        grep -E "^browser|test result"
done
