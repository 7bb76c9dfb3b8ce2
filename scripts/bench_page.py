#!/usr/bin/env python3
"""Timings of the release page in headless Chromium, printed as medians.

Measured (the page writes each as a `data-*-ms` attribute of <body>):
  * first render: performance.now() when the page first rendered the
    default scenario with its trace (includes fetching and compiling the
    wasm), over fresh loads;
  * import: a generated 10k-service kube-proxy dump (12 MB, made with
    ../shared/tools/gen_kube_rules.py) loaded into node8 through the rule
    editor's file input: the chunked parse, and the longest main-thread
    task during it (PerformanceObserver "longtask", tasks over 50 ms);
  * send: from the Send button's message to the rendered trace, with that
    dump in place, to a Service of the dump;
  * edits over that dump: the longest task of an iptables command typed
    under its listing, of undo and redo of it, and of undo and redo of
    the dump itself;
  * a cluster of 400 and 1,000 Services pasted into calico-ipip's YAML:
    the longest main-thread task until it is in sync;
  * size: gzip -9 of the .wasm and .js files the default scenario's page
    fetches (from the browser's resource timing), and of the cluster
    generator's module, which it fetches only for a cluster scenario.

Usage: scripts/bench_page.py [DIST_DIR]   (build first: trunk build --release)
"""

import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from webdriver import Browser, free_port, serve  # noqa: E402

RUNS = 7


def attr(b, name):
    v = b.js(f"return document.body.getAttribute('{name}')")
    return float(v) if v else None


def gz(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    return len(raw), len(gzip.compress(raw, 9))


def report_sizes(dist, fetched):
    """gzip -9 of what the default page fetched, and of the rest."""
    page = 0
    for f in sorted(fetched):
        raw, g = gz(os.path.join(dist, f))
        page += g
        print(f"size  {f}: {raw} B raw, {g} B gzip -9")
    print(f"size  the default page's .wasm + .js, gzip -9: {page} B ({page / 1000:.1f} kB)")
    lazy = 0
    for f in sorted(os.listdir(dist)):
        if f.endswith((".wasm", ".js")) and f not in fetched:
            raw, g = gz(os.path.join(dist, f))
            lazy += g
            print(f"size  {f} (not fetched by the default page): {raw} B raw, {g} B gzip -9")
    print(f"size  the cluster generator, fetched on first use, gzip -9: {lazy} B ({lazy / 1000:.1f} kB)")


def fresh_page(b, base, scenario, ready):
    """Built-in `scenario` opened with no autosave, and none made while it is open."""
    b.get("about:blank")
    b.get(base + f"?scenario={scenario}")
    b.js("localStorage.clear(); Storage.prototype.setItem = function () {};")
    b.get("about:blank")
    b.get(base + f"?scenario={scenario}")
    b.wait(ready, 20)


def open_watching_long_tasks(b, base):
    """A fresh article page that records every long task in window.__long."""
    b.get("about:blank")
    b.get(base + "?scenario=article")
    b.wait("#verdict", 20)
    b.js("""window.__long = [];
        new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
            .observe({type: 'longtask'});""")


def main():
    dist = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "dist")
    dump = os.path.join(tempfile.mkdtemp(), "kube-10k.rules")
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "..", "shared", "tools", "gen_kube_rules.py"),
         "--services", "10000", "--endpoints", "3", "--seed", "1", "-o", dump],
        check=True,
    )
    text = open(dump).read()
    # A ClusterIP whose service has endpoints (its rule jumps to KUBE-SVC-).
    m = re.search(r"-A KUBE-SERVICES -d (\S+)/32 -p tcp .*?--dport (\d+) -j KUBE-SVC-", text)
    target = f"{m.group(1)}:{m.group(2)}"
    print(f"dump  {len(text.splitlines())} lines, {len(text)} bytes; packets go to {target}")

    with serve(dist, free_port()) as base:
        b = Browser(1440, 1000)
        try:
            firsts = []
            for _ in range(RUNS):
                fresh_page(b, base, "article", "#verdict")
                firsts.append(attr(b, "data-first-render-ms"))
            clusters = []
            for _ in range(RUNS):
                b.get("about:blank")
                b.get(base + "?scenario=calico-ipip")
                b.wait("#cluster-yaml", 20)
                clusters.append(attr(b, "data-first-render-ms"))
            print(f"first render of calico-ipip (fetches the cluster generator first): median "
                  f"{statistics.median(clusters):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in clusters)})")
            b.get("about:blank")
            b.get(base + "?scenario=article")
            b.wait("#verdict", 20)
            fetched = b.js("return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)")
            code = [p.lstrip("/") for p in fetched if p.endswith((".wasm", ".js"))]
            report_sizes(dist, code)
            print(f"first render: median {statistics.median(firsts):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in firsts)})")

            parses, works, chunks, longest, sends, edits, commands = [], [], [], [], [], {}, []
            for _ in range(3):
                open_watching_long_tasks(b, base)
                inp = b.find("input[aria-label='Load file: rules of node8']")
                b.cmd("POST", f"/element/{inp}/value", {"text": dump})
                b.wait_until(lambda: attr(b, "data-parse-ms"), "the import to finish", 120)
                parses.append(attr(b, "data-parse-ms"))
                works.append(attr(b, "data-parse-work-ms"))
                chunks.append(attr(b, "data-parse-longest-chunk-ms"))
                print(f"      (run: file read {attr(b, 'data-read-ms')} ms, install {attr(b, 'data-install-ms')} ms, "
                      f"done→rendered {attr(b, 'data-import-ms')} ms since parse start; long tasks {b.js('return window.__long')})")
                longest.append(max(b.js("return window.__long") or [0]))
                b.clear("#send-to")
                b.type("#send-to", target)
                for _ in range(RUNS):
                    b.js("document.body.removeAttribute('data-send-ms')")
                    b.click("#send-button")
                    sends.append(b.wait_until(lambda: attr(b, "data-send-ms"), "the trace"))
                # An iptables command under the listing, then undo and redo
                # of it and of the dump itself: the longest task of each.
                for what, act in [("an iptables command", None), ("undo it", "#undo"), ("redo it", "#redo"),
                                  ("undo it again", "#undo"), ("undo the dump", "#undo"), ("redo the dump", "#redo")]:
                    if act is None:
                        # Typed first (WebDriver sends all the keys in one
                        # task, which no hand does), then run with Enter.
                        b.type("#rules-node8-cmd", "-I FORWARD 1 -d 10.1.2.3/32 -j DROP")
                        time.sleep(0.5)
                        b.js("window.__long.length = 0")
                        b.type("#rules-node8-cmd", "\n")
                        b.wait_until(lambda: b.exists("#rules-node8-cmd-result"), "the command", 30)
                        commands.append(b.wait_until(lambda: attr(b, "data-command-ms"), "the command's render", 30))
                    else:
                        b.js("window.__long.length = 0")
                        b.click(act)
                    time.sleep(0.5)
                    edits.setdefault(what, []).append(max(b.js("return window.__long") or [0]))
            print(f"import 10k dump: chunked parse, wall clock with the yields and progress redraws, median {statistics.median(parses):.0f} ms "
                  f"(runs: {', '.join(f'{x:.0f}' for x in parses)})")
            print(f"      of which parsing (chunks, without the yields and redraws between them): median "
                  f"{statistics.median(works):.0f} ms; longest chunk {max(chunks):.0f} ms; "
                  f"longest main-thread task during the import {max(longest):.0f} ms")
            print(f"send with the 10k dump: click to rendered trace median {statistics.median(sends):.1f} ms "
                  f"(max {max(sends):.1f}, {len(sends)} sends)")
            print("edits over the 10k dump, longest main-thread task: " + "; ".join(
                f"{what} {max(t):.0f} ms" for what, t in edits.items()))
            print(f"      an iptables command, Enter to rendered: median {statistics.median(commands):.0f} ms "
                  f"(runs: {', '.join(f'{x:.0f}' for x in commands)})")
            # The same dump inside a scenario file (Import…): 12.5 MB of JSON.
            sc = json.load(open(os.path.join(ROOT, "src", "engine", "scenarios", "article.json")))
            next(h for h in sc["hosts"] if h["name"] == "node8")["iptables"] = text
            scenario_file = os.path.join(os.path.dirname(dump), "with-dump.json")
            json.dump(sc, open(scenario_file, "w"))
            walls, tasks = [], []
            for _ in range(3):
                open_watching_long_tasks(b, base)
                b.js("document.body.removeAttribute('data-parse-ms')")
                t0 = b.js("return performance.now()")
                inp = b.find("input[aria-label='Import a scenario JSON file, or Kubernetes objects']")
                b.cmd("POST", f"/element/{inp}/value", {"text": scenario_file})
                b.wait_until(lambda: attr(b, "data-parse-ms"), "the file's dump to load", 120)
                walls.append(b.js("return performance.now()") - t0)
                tasks.append(max(b.js("return window.__long") or [0]))
            print(f"import a {os.path.getsize(scenario_file) / 1e6:.1f} MB scenario file holding the dump: wall clock to parsed, median "
                  f"{statistics.median(walls):.0f} ms; longest main-thread task {max(tasks):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in tasks)})")
            # The dump loaded into a cluster scenario's node, then a cluster
            # edit: kube-proxy's sync over 12 MB, made in the worker.
            walls, tasks = [], []
            for _ in range(3):
                fresh_page(b, base, "calico-ipip", "#cluster-yaml")
                inp = b.find("input[aria-label='Load file: rules of node8']")
                b.cmd("POST", f"/element/{inp}/value", {"text": dump})
                # (Its notice gives way to the word that the session, now
                # 12 MB, is too large to autosave.)
                b.wait_until(lambda: b.exists(".notice") and any(
                    w in b.text(".notice") for w in ("rules loaded into node8", "too large for the browser's storage")),
                    "the dump to load", 120)
                b.js("""window.__long = [];
                    new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
                        .observe({type: 'longtask'});""")
                t0 = b.js("return performance.now()")
                b.click("button[aria-label='+ endpoint on node54 for ms-test/flask-ui']")
                b.wait_until(lambda: "in sync" in b.text("#cluster-yaml-status") and b.exists(".sync-diff"), "the sync", 60)
                walls.append(b.js("return performance.now()") - t0)
                tasks.append(max(b.js("return window.__long") or [0]))
            print(f"first cluster edit after loading the dump into calico-ipip's node8 (sync in the worker): wall clock median "
                  f"{statistics.median(walls):.0f} ms; longest main-thread task {max(tasks):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in tasks)})")
            # A large cluster pasted into the YAML: the sync runs in the
            # worker, then the page builds the nodes' tables.
            base_yaml = open(os.path.join(ROOT, "src", "engine", "scenarios", "clusters", "calico-ipip.yaml")).read()
            for n in (400, 1000):
                yaml = base_yaml + "".join(
                    f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: d}}\n"
                    f"spec:\n  clusterIP: 10.97.{i // 250}.{i % 250 + 1}\n  ports: [{{port: 80}}]\n" for i in range(n))
                fresh_page(b, base, "calico-ipip", "#cluster-yaml")
                b.js("""window.__long = [];
                    new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
                        .observe({type: 'longtask'});""")
                t0 = time.time()
                b.js("const t = document.getElementById('cluster-yaml'); t.value = arguments[0];"
                     " t.dispatchEvent(new Event('input', {bubbles: true}));", yaml)
                b.wait_until(lambda: "in sync" in b.text("#cluster-yaml-status") and time.time() - t0 > 1, "the large cluster's sync", 120)
                print(f"a cluster of {n} Services ({len(yaml) // 1000} kB of YAML) pasted into calico-ipip: settled after "
                      f"{time.time() - t0:.1f} s; longest main-thread task {max(b.js('return window.__long') or [0]):.0f} ms")
            shots = os.path.join(ROOT, "target", "screenshots")
            b.js("document.getElementById('editors').scrollIntoView()")
            b.screenshot(os.path.join(shots, "bench-10k-listing.png"))
            b.js("[...document.querySelectorAll('#editors .tab')].find(t => t.textContent.includes('Chains')).click()")
            b.wait(".rule-table")
            b.js("document.getElementById('editors').scrollIntoView()")
            b.screenshot(os.path.join(shots, "bench-10k-chains.png"))
            rows = b.js("return document.querySelectorAll('.vlist-scroll [role=listitem]').length")
            print(f"      rows in the DOM for the 10k dump's chains view: {rows}")
            verdict = b.text("#verdict")
            print(f"      last verdict: {verdict[:120]}")
        finally:
            b.quit()


if __name__ == "__main__":
    main()
