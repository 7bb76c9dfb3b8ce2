#!/usr/bin/env bash
# Installs what building, serving and testing Packet Walk needs, skipping
# what is already there. Needs only rustup (and network access to crates.io,
# npm and Debian's archive). Sourced by serve.sh and test.sh.
#
#   wasm32-unknown-unknown     rustup target
#   trunk 0.21.14              cargo install (0.22 needs a newer rustc)
#   wasm-bindgen-cli           cargo install, the exact version in Cargo.lock
#   wasm-opt (binaryen 132)    npm, into .tools/ (Debian's binaryen is too old)
#   axe-core 4.11.0            npm, into .tools/ (accessibility checks in tests/e2e.py)
#   chromium, chromedriver     Debian packages, for the browser tests
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION=0.21.14
AXE_VERSION=4.11.0
BINARYEN_VERSION=132

say() { echo "setup: $*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

export PATH="$HOME/.cargo/bin:$root/.tools/node_modules/.bin:$PATH"

# The host needs these Debian packages; install them at once when any is missing.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if ((${#missing[@]})); then
        say "installing Debian packages: ${missing[*]}"
        local sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! have trunk || [[ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]]; then
    say "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate the build links.
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$root/Cargo.lock")"
if ! have wasm-bindgen || [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WB_VERSION" ]]; then
    say "installing wasm-bindgen-cli $WB_VERSION (about 5 minutes)"
    # Not --locked: its lockfile pins a webpki-roots release the registry does not serve.
    cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

if ! have npm; then
    apt_install nodejs npm
fi
if [[ ! -x "$root/.tools/node_modules/.bin/wasm-opt" ]] ||
    ! "$root/.tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    say "installing binaryen@$BINARYEN_VERSION (wasm-opt) into .tools/"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools" "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# axe-core: the accessibility checks the end-to-end test runs in the page.
if [[ ! -f "$root/.tools/node_modules/axe-core/axe.min.js" ]] ||
    ! grep -q "\"version\": \"$AXE_VERSION\"" "$root/.tools/node_modules/axe-core/package.json" 2>/dev/null; then
    say "installing axe-core@$AXE_VERSION into .tools/"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools" "axe-core@$AXE_VERSION" >/dev/null
fi

apt_install chromium chromium-driver python3
