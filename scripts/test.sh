#!/usr/bin/env bash
# The whole test suite: formatting and lints, the engine's tests natively,
# the browser tests (wasm-bindgen-test in headless Chromium), and an
# end-to-end test of the release page (tests/e2e.py drives Chromium
# through chromedriver). Installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native and wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --bins --tests -- -D warnings

step "native tests (engine, formats, golden traces, CLI)"
cargo test

step "browser tests (wasm-bindgen-test in headless Chromium)"
CHROMEDRIVER="$(command -v chromedriver)" cargo test --target wasm32-unknown-unknown --lib --test web

step "release page and end-to-end test (WebDriver, headless Chromium)"
trunk build --release --offline
python3 tests/e2e.py dist
