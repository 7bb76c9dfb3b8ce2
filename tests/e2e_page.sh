#!/usr/bin/env bash
# End-to-end check of the built web page: serves a built dist/ on
# 127.0.0.1, loads it in headless Chromium, and checks the rendered DOM for
# the article's trace. Saves a screenshot to target/screenshots/e2e-page.png.
#
# Usage: tests/e2e_page.sh [DIST_DIR]      (default: dist, built by `trunk build --release`)
# Environment: E2E_PORT (default 8080), CHROMIUM (default: chromium on PATH).
# Prints `e2e: N passed, M failed` last; exits 1 when anything failed.

set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

dist="${1:-dist}"
port="${E2E_PORT:-8080}"
url="http://127.0.0.1:${port}/"
shots="$root/target/screenshots"

fail() {
    echo "e2e: $*" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
}

[[ -f "$dist/index.html" ]] || fail "no $dist/index.html: build the page first (trunk build --release)"
ls "$dist"/*.wasm >/dev/null 2>&1 || fail "no .wasm in $dist"

chromium="${CHROMIUM:-}"
if [[ -z "$chromium" ]]; then
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then
            chromium="$c"
            break
        fi
    done
fi
[[ -n "$chromium" ]] || fail "no chromium on PATH (apt-get install chromium)"

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Serve dist/ on the loopback address only.
python3 -m http.server --directory "$dist" --bind 127.0.0.1 "$port" >"$tmp/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 50); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$tmp/server.log" >&2
        fail "the HTTP server exited (is port $port in use? set E2E_PORT)"
    fi
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ -n "$ready" ]] || fail "the HTTP server did not answer on $url"

chrome_flags=(
    --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic
    --no-first-run --disable-background-networking --disable-component-update
    --disable-sync --hide-scrollbars --virtual-time-budget=10000
)

timeout 120 "$chromium" "${chrome_flags[@]}" --user-data-dir="$tmp/profile-dom" \
    --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/chromium.log"
status=$?

passed=0
failed=0
check() { # name, command...
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
    fi
}

check "chromium dumped the DOM (exit $status)" test "$status" -eq 0 -a -s "$tmp/dom.html"
for needle in \
    "KUBE-SVC-7RUAH544RSSBQYKK" \
    "KUBE-SEP-IWORYNCAYHBSQHXU" \
    "172.16.225.112:80" \
    "cali71ca141a178" \
    "Verdict: Delivered"; do
    check "the page shows \"$needle\"" grep -qF -- "$needle" "$tmp/dom.html"
done
check "the trace is a table" grep -qE '<table[^>]*class="trace"' "$tmp/dom.html"

mkdir -p "$shots"
rm -f "$shots/e2e-page.png"
timeout 120 "$chromium" "${chrome_flags[@]}" --user-data-dir="$tmp/profile-shot" \
    --window-size=1400,1000 --screenshot="$shots/e2e-page.png" "$url" >/dev/null 2>>"$tmp/chromium.log"
check "screenshot saved to target/screenshots/e2e-page.png" test -s "$shots/e2e-page.png"

if [[ "$failed" -gt 0 ]]; then
    echo "--- rendered DOM (first 40 lines) ---" >&2
    head -n 40 "$tmp/dom.html" >&2
    echo "--- chromium log (last 20 lines) ---" >&2
    tail -n 20 "$tmp/chromium.log" >&2
fi
echo "e2e: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
