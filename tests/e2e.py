#!/usr/bin/env python3
"""End-to-end test of the release page, as a learner uses it.

Serves a built dist/ on 127.0.0.1, drives headless Chromium through
chromedriver (WebDriver), and checks what a learner would see:

1. the article's packet is sent and stepped (with the step buttons) to its
   DNAT step, where the headers show 172.16.225.112:80 with the changed
   field marked and the old address beside it;
2. stepping on reaches the transmit on cali71ca141a178, and the route
   that won is highlighted in node8's route editor;
3. editing node8's routes (typing) so the pod's route is a blackhole
   drops the packet, with the reason shown; bad text shows its error at
   its line and is kept;
4. "Copy link" gives a link that reproduces the same view in a fresh
   browser; a damaged link shows a message, not a blank page;
5. the remote-endpoint scenario shows the IPIP encapsulation;
6. embed mode at 600 px wide is compact and has no editors.
7. with the cluster generator's module missing (a blocked fetch), a
   cluster scenario's URL opens the article's scenario and says why.

Screenshots go to target/screenshots/e2e-*.png. Prints
`e2e: N passed, M failed` last; exits 1 when anything failed.

Usage: tests/e2e.py [DIST_DIR]
"""

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import KEY_LEFT, KEY_RIGHT, Browser, WebDriverError, free_port, serve  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.path.join(ROOT, "target", "screenshots")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


AXE = os.path.join(ROOT, ".tools", "node_modules", "axe-core", "axe.min.js")


def axe(b, what):
    """Runs axe-core's WCAG 2 A/AA rules on the page; checks that nothing
    serious or critical is found, and prints every finding."""
    if not os.path.exists(AXE):
        check(f"accessibility of {what} (axe-core)", False, f"no {AXE}: run scripts/setup.sh")
        return
    b.js(open(AXE).read())
    found = b.js_async(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].target.join(' ')])))"
        ".catch(e => done([['axe failed', 'critical', 0, String(e)]]));"
    )
    for rule, impact, n, target in found:
        print(f"     axe {what}: {impact} {rule} x{n} (first: {target})")
    bad = [f for f in found if f[1] in ("serious", "critical")]
    check(f"accessibility of {what}: no serious or critical WCAG 2 AA finding (axe-core)", not bad, repr(bad))


def selected_text(b):
    """The selected step's row, its words on one line (the tag and the
    words after it read as one: "DNAT destination …")."""
    return " ".join(b.text(".event.selected").split())


def last_history(b):
    """The text of the last packet in the history."""
    return b.js("const i = [...document.querySelectorAll('.history-item')]; return i[i.length - 1].textContent")


def form_send(b, frm, proto, to, count, what):
    """Sends from the form and waits for the history to hold `count` packets."""
    b.select("#send-from", frm)
    b.select("#send-proto", proto)
    b.clear("#send-to")
    b.type("#send-to", to)
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == count, what)


def from_client_to_flask(b, field, value):
    """Fills the send form: from the LAN client to flask-ui, with `field`
    (an input's CSS selector) set to `value`; then Send."""
    b.select("#send-from", "client:192.168.11.200")
    b.clear("#send-to")
    b.type("#send-to", "flask-ui")
    b.clear(field)
    b.type(field, value)
    b.click("#send-button")


def step_until(b, pred, what, limit=120):
    """Presses "next step" until `pred()` holds; returns how many presses."""
    for n in range(limit):
        if pred():
            return n
        b.click("#step-forward")
    raise WebDriverError(f"never reached {what} in {limit} steps")


def check_gutter(b, editor, text):
    """The marked line number, the band behind the text and the line that
    holds `text` are one line, level with each other (the textarea may be
    scrolled to its end, past a horizontal scroll bar)."""
    delta, n, line, left = b.js(
        "const ta = document.getElementById(arguments[0]), ed = ta.closest('.code-editor');"
        "const ln = ed.querySelector('.ln-hl'), band = ed.querySelector('.band-hl');"
        "const n = parseInt(ln.textContent.replace(/[^0-9]/g, ''));"
        "return [Math.round(ln.getBoundingClientRect().top - band.getBoundingClientRect().top), n,"
        "        ta.value.split('\\n')[n - 1], ta.scrollLeft];",
        editor,
    )
    check(f"{editor}: the marked line number is level with the highlighted line, which is the one meant, shown from its start",
          abs(delta) <= 1 and text in line and left == 0, f"{delta} px apart, line {n}: {line!r}, scrolled {left} px right")



def drop_file(b, text, name, mime, near="#topo-h", closest=".topo-panel"):
    """Drops a file holding `text` on the element `closest` around `near`,
    as a drag from the desktop would (dragover, then drop)."""
    b.js(
        "const dt = new DataTransfer();"
        "dt.items.add(new File([arguments[0]], arguments[1], {type: arguments[2]}));"
        "const target = document.querySelector(arguments[3]).closest(arguments[4]);"
        "for (const kind of ['dragover', 'drop']) {"
        "  target.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true, dataTransfer: dt}));"
        "}",
        text, name, mime, near, closest,
    )

def fresh(b, url):
    """Opens `url` with no autosave left from an earlier test."""
    b.get(url.split("#")[0].split("?")[0])
    # Clear the storage, and keep the page from saving into it again as it
    # is left (it saves on pagehide).
    b.js("localStorage.clear(); Storage.prototype.setItem = function () {};")
    # A new document: a change of fragment alone would not reload the page.
    b.get("about:blank")
    b.get(url)
    b.wait("#verdict", 20)


def main():
    dist = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "dist")
    if not os.path.exists(os.path.join(dist, "index.html")):
        print(f"e2e: no {dist}/index.html: build the page first (trunk build --release)")
        print("e2e: 0 passed, 1 failed")
        return 1
    page_size(dist)
    port = int(os.environ.get("E2E_PORT") or free_port())
    with serve(dist, port) as base:
        b = Browser(1440, 1400)
        try:
            run(b, base)
            at_1366(base)
            owner_uid(b, base)
            without_generator(b, dist)
            without_page_module(b, dist)
        except Exception as e:  # a step that could not run is a failure, with its cause
            traceback.print_exc()
            check("the walk-through ran to the end", False, str(e))
            try:
                b.screenshot(os.path.join(SHOTS, "e2e-failure.png"))
            except Exception:
                pass
        finally:
            b.quit()
    print(f"e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


# The default page's .wasm + .js, gzip -9, as it stands (476.3 kB on
# 2026-11-26, after the kernel's NAT choices, TCP closing, the other-tab
# check, the NAT steps' Why, the input checks, ping, the kernel's
# answers followed back (+11.5 kB, two thirds of it serde for the
# answer's quote and connection in a link), ICMP redirects and the TTL
# field of that day; 477.4 kB after the step panel's keys, the page
# following the packet and the glyph's room in the picture, 479.5 kB
# after the second walkthrough's fixes (the routes' and the import's
# messages, the lines note, the embed's word), 480.5 kB with the cluster
# form's notes, 482.3 kB with rp_filter (in ARP too) and the listener's
# resets and half-open connections, 483.1 kB with Again's flags named and
# the TTL field following the next hop, 488.7 kB with the neighbour
# cache and its `ip neigh` view, the narrow embed's step line and the
# Embed dialog's colours, 492.0 kB with NOTRACK, the messages' places and
# escapes and the bad-input checks of that evening, 494.1 kB with the Why
# of ARP steps and of UNTRACKED, the CNI's chain names and the narrow
# embed following the packet, 494.8 kB with the notice of a verdict an
# edit changed, 495.3 kB with that notice following undo and the
# PERMANENT neighbour entries' words, 495.7 kB with "go back to the text
# in use" beside an editor's errors and the sync's word on typed text,
# 504.9 kB with MTUs (the send form's data size and source port,
# fragmentation needed, fragments), the exercise link and the fixes of
# three hunts on 2026-11-26's night, 508.9 kB with the exercise mode,
# the CNI switch keeping a chain in use and a fourth hunt's fixes, 510.2
# kB with the exercise keeping what the packet leaves and its step count
# to its last step, 510.7 kB with Again's next segment numbers, 511.5
# kB with End held to the steps reached and the form's fields marked
# invalid together, 512.0 kB with the form's fields from one helper, 517.1
# kB (517.2 with the embed following the box) with conntrack's TCP state table, its timeouts, the challenge ACK,
# the Embed dialog's exercise and Show all steps asking first, 521.2 kB
# on 2026-11-27 with a RST's sequence checks (conntrack's and the
# socket's), the packet card's placement clear of lines and titles, the
# theme following the system again and the embed's "Send a packet",
# 523.2 kB with an exercise's question, its step kept in the address and
# the review's fixes, 523.4 kB with the picture as wide as it draws,
# 525.9 kB with a teacher's hunt's fixes (the link dialog's choice kept
# and copied, the reader's own packets outside the exercise), 526.5 kB
# with its review's fixes, 526.8 kB with Back from a link, 530.1 kB
# with a bad-input hunt's messages (lone CRs, non-breaking spaces, other
# routing tables, a misspelt scenario field: 0.3 kB of it), 532.3 kB
# with the kernel hunts' fixes (the null binding's step and words),
# 532.9 kB with the narrow layout's following of the packet, 535.6 kB
# with a lost-work hunt's fixes (a second place to keep a link's session
# aside, the swap of Bring back, storage refusing to keep a session) and
# an expert's corrections of the Why, 539.3 kB with the list of sessions
# kept aside (a third exercise no longer replaces the first's work) and
# a review's fixes, 543.2 kB with a second review's (stable ids for the
# kept sessions, the one that made room offered as a download), 544.8
# kB with a cluster change's texts kept in the autosave's undo, 545.9 kB
# with the notice of the learner's rules a sync took away, 559.5 kB with
# what a real Calico node's dump needs (IP sets and their match, rpfilter,
# the dump's header lines named) and an accessibility audit's fixes, 562.1
# kB with pass-over targets (NFLOG, DSCP…) and the scenario list's keys,
# 568.2 kB with -m limit, the note on interfaces a host lacks, the parse's
# progress at the editor and a review's fixes, 571.2 kB with a code
# review's (ranges in sets, -exist, the targets' hooks), 572.7 kB with
# CONNMARK and connmark and the IP sets listed under the editors, 573.0
# kB with the connection mark's step and an EKS node's pods in a replay,
# 585.8 kB with policy routing (ip rule lines, tables, the rules walked),
# 588.3 kB with two reviews' fixes to it (each rule's outcome, a long run
# of rules told in one row, the full flow for more lookups), 588.6 kB with
# ip rule output joining a host's routes and a third review's fixes,
# 591.0 kB with every ARP answer named, the verdict's word on texts
# with errors and a first-user review's fixes, 592.1 kB with a step's
# link to the conntrack or neighbour table it looked in, 595.2 kB with
# Wait (conntrack's timeouts run), 597.8 kB with two reviews' fixes to
# it and a real node's routes pointed to the CLI's replay, 598.9 kB
# with an iptables command line under the rules text, 599.7 kB with
# notices floating over the window's foot, 601.8 kB with REDIRECT and
# "Why ↓", 602.0 kB with it in the narrow step bar, 603.6 kB with
# physdev and an exercise's step noted in the tab, 606.1 kB with a
# review's fixes and the word on a session too large to autosave,
# 608.7 kB with conntrack's tests of the connection, 609.7 kB with a
# UI check's fixes (a field typed in kept in place, Escape, the ✕'s focus),
# 610.3 kB with the picture scrolling in its own box, fitted to the
# window, 611.1 kB with the path MTU a host learns, 614.4 kB with a
# review's fixes to it and ip route show cache in the editors, 619.9 kB
# with the card that keeps still in a box and a framed embed's scrolling,
# 621.0 kB with table numbers as strtoul reads them, netstat -rn's
# columns, TCPMSS's checks and the embed's chips naming their packets,
# 626.8 kB with -m owner and the send form's UID, and the istio-sidecar
# scenario (1.3 kB of it), 628.6 kB with the parse's progress bar drawn
# as a component of its own (1.8 kB) and a jump's odd character named,
# 629.0 kB with a node's dump sent to the worker beside the sync's JSON,
# 630.7 kB with a sync's parsed rules kept (two dumps' worth), its lost
# rules counted in the worker and its request made without copying a
# dump; the issue's budget, 250 kB, is not met: see the README). A
# guard against creeping back, as core's float tables did once: raise it
# on purpose, with the README's size table, when the page must grow.
PAGE_BYTES_LIMIT = 631_000


def page_size(dist):
    import glob
    import gzip
    files = [f for f in glob.glob(os.path.join(dist, "**", "*.js"), recursive=True)
             + glob.glob(os.path.join(dist, "*.wasm")) if "cluster" not in os.path.basename(f)]
    size = sum(len(gzip.compress(open(f, "rb").read(), 9)) for f in files)
    check(f"the default page's .wasm + .js is {size / 1000:.1f} kB gzip, within the guard of {PAGE_BYTES_LIMIT / 1000:.0f} kB",
          0 < size <= PAGE_BYTES_LIMIT, [os.path.basename(f) for f in files])


def run(b, base):
    # 0. The first view, light and dark, as a projector would show it.
    b.set_size(1280, 800)
    fresh(b, base + "?scenario=article")
    check("the first view shows the preset packet's verdict", "Delivered" in b.text("#verdict"))
    check("the first view offers the step buttons", b.exists("#step-forward"))
    # In a window under 820 px high, "About this scenario" starts closed:
    # the picture and the step buttons start in the first screen.
    about, topo, step = b.js("return [document.querySelector('details.about').open, innerHeight - document.querySelector('.topo-panel').getBoundingClientRect().top,"
                             " innerHeight - document.querySelector('#step-forward').getBoundingClientRect().bottom]")
    check("in a 1280×800 window About starts closed; the picture and the step buttons are in the first screen",
          not about and topo > 200 and step > 0, f"about open {about}, picture {topo} px in, step button {step} px above the foot")
    glyph = b.js("const r = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect(); return [scrollY, r.top > 0 && r.bottom < innerHeight]")
    check("the page opens at its top (the scenario picker in sight) with the packet in sight too (clients are drawn first)", glyph == [0, True], glyph)
    b.screenshot(os.path.join(SHOTS, "e2e-first-view.png"))
    b.js("document.getElementById('scenario-picker').focus()")
    before = b.text(".step-position")
    b.keys([KEY_RIGHT])
    check("→ on the scenario picker steps, as the step panel's hint says, and keeps the scenario",
          b.value("#scenario-picker") == "article" and b.text(".step-position") != before, [b.value("#scenario-picker"), before, b.text(".step-position")])
    b.keys([KEY_LEFT])
    tops = b.js("return ['#scenario-picker', '#theme'].map(s => Math.round(document.querySelector(s).getBoundingClientRect().top))")
    check("at 1280 px the toolbar is one row", abs(tops[0] - tops[1]) <= 4, tops)
    axe(b, "the first view")
    b.click("#theme")
    theme = b.js("return document.documentElement.getAttribute('data-theme')")
    check("the theme button switches to dark", theme == "dark", repr(theme))
    b.screenshot(os.path.join(SHOTS, "e2e-first-view-dark.png"))
    axe(b, "the first view, dark")
    b.click("#theme")
    back = b.js("return [document.documentElement.getAttribute('data-theme'), localStorage.getItem('packetwalk.theme')]")
    check("switching back to the system's light follows the system again (nothing stored)", back == [None, None], back)
    b.set_size(1440, 1400)

    # 1. The article's packet, stepped to the DNAT.
    fresh(b, base + "?scenario=article")
    b.select("#send-from", "client:192.168.11.200")
    b.clear("#send-to")
    b.type("#send-to", "flask-ui")
    b.click("#send-button")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the second send selected")
    check("sending adds a trace and selects its first step", re.search(r"(^|\s)1 of \d+", b.text(".step-position")) is not None, b.text(".step-position"))
    check("…and the outcome beside the step buttons names the packet just sent", b.text("#outcome").startswith("✓ Packet #2: delivered after"), b.text("#outcome"))
    step_until(b, lambda: re.match(r"\s*\d+\s*node8", selected_text(b)) is not None, "the first step on node8")
    check("from the packet's first step on node8, the editors show node8's rules",
          b.exists("#rules-node8") and "node8" in b.text("#editor-host option:checked"), selected_text(b)[:80])
    presses = step_until(b, lambda: b.exists(".nat-line"), "the DNAT step")
    dst = b.text("#headers [data-field='dst']")
    check(
        "DNAT step: headers show dst 172.16.225.112, marked changed, was 10.96.100.10",
        "172.16.225.112" in dst and "changed" in dst and "10.96.100.10" in dst
        and b.exists("#headers [data-field='dst'].changed"),
        repr(dst),
    )
    dport = b.text("#headers [data-field='dport']")
    check("DNAT step: dport 80 (unchanged)", dport.split()[-1] == "80" and not b.exists("#headers [data-field='dport'].changed"), repr(dport))
    nat = b.text(".nat-line")
    check("DNAT step names the rule", "172.16.225.112:80" in nat and "KUBE-SEP-IWORYNCAYHBSQHXU" in nat, repr(nat))
    check("the DNAT rule is highlighted in node8's rules", b.exists("#rules-node8") and b.exists(".gutter .ln-hl"))
    check_gutter(b, "rules-node8", "-j DNAT --to-destination 172.16.225.112:80")
    b.screenshot(os.path.join(SHOTS, "e2e-dnat.png"))
    axe(b, "the DNAT step")
    # A laptop's window: the NAT line and Why are under the headers, out
    # of the panel's view; "Why ↓" brings them under its step buttons.
    b.set_size(1366, 700)
    hidden_before = b.js("const p = document.querySelector('.detail-panel').getBoundingClientRect();"
                         " return document.querySelector('.nat-line').getBoundingClientRect().top > p.bottom")
    b.click("#headers .why-jump button")
    shown = b.js("const p = document.querySelector('.detail-panel').getBoundingClientRect();"
                 " const bar = document.querySelector('.detail-panel .step-controls').getBoundingClientRect();"
                 " const n = document.querySelector('.nat-line').getBoundingClientRect();"
                 " const w = document.querySelector('#step-why .explain').getBoundingClientRect();"
                 " return [n.top >= bar.bottom, w.top < Math.min(p.bottom, innerHeight) - 60, document.activeElement.id]")
    check("at 1366×700 the DNAT step's \"Why ↓\" brings its NAT line and Why into view, under the step buttons",
          hidden_before and shown == [True, True, "step-why"], f"hidden before: {hidden_before}; {shown}")
    b.screenshot(os.path.join(SHOTS, "e2e-dnat-why.png"))
    b.set_size(1440, 1400)
    print(f"     (DNAT reached after {presses} presses of the next-step button)")

    # The masquerade on the way to the pod: cali71ca141a178 has no
    # address, so the kernel takes ens33's (inet_select_addr).
    step_until(b, lambda: "MASQUERADE takes" in (b.text(".explain") if b.exists(".explain") else ""), "the MASQUERADE step")
    why = b.text(".explain")
    check("the MASQUERADE step's Why says whose address it took: not the veth's, which has none, but ens33's",
          "cali71ca141a178, the interface the packet leaves by, has none" in why and "ens33's 192.168.11.58" in why, repr(why[:400]))

    # 2. On to the veth; keyboard stepping works too.
    step_until(b, lambda: "transmitted on cali71ca141a178" in selected_text(b), "the cali71ca141a178 transmit")
    check("stepping reaches the transmit on cali71ca141a178", True)
    at = selected_text(b)
    b.js("document.activeElement && document.activeElement.blur()")
    b.keys([KEY_LEFT])
    back = selected_text(b)
    b.keys([KEY_RIGHT])
    check("arrow keys step back and forward", back != at and selected_text(b) == at, repr(back))
    # The keys the page takes do not also scroll it (the listener used to be
    # passive: its preventDefault did nothing).
    b.set_size(1280, 800)
    b.js("window.scrollTo(0, 0)")
    b.keys(["\ue010"])  # End
    end_at = selected_text(b)
    b.keys(["\ue011", " ", " "])  # Home, then Space twice: play and pause
    first_at = selected_text(b)
    # The page moves only to keep the packet on the picture in view, never
    # to the page's end as the End key would scroll it.
    tall, scrolled, most, in_view = b.js(
        "const g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
        " const h = document.documentElement.scrollHeight;"
        " return [h > innerHeight + 200, scrollY, h - innerHeight, g.top >= 0 && g.bottom <= innerHeight]")
    check("End, Home and Space step and play, and the page moves only to keep the packet in view",
          tall and 0 <= scrolled < most - 200 and in_view and end_at != at and first_at != end_at,
          f"tall {tall}, scrollY {scrolled} of {most}, packet in view {in_view}")
    seen, words = b.js("const o = document.querySelector('#outcome'); const r = o.getBoundingClientRect();"
                       " return [r.top >= 0 && r.bottom <= innerHeight, o.textContent]")
    check("at 1280×800 the packet's outcome is in view beside the step buttons", seen and "delivered after" in words, repr(words))
    # Beside the step panel the picture scrolls in its own box: ▶ clicked
    # again and again, down the picture and out of the window's first
    # screen, stays under the pointer (the page once scrolled, and the
    # panel moved up 160 px until it stuck), and the packet stays in sight.
    b.set_size(1366, 768)
    b.js("window.scrollTo(0, 0)")
    b.click("#step-first")
    spots = []
    for _ in range(12):
        b.click("#step-forward")
        spots.append(b.js("const s = document.querySelector('.topo-scroll'), r = s.getBoundingClientRect(),"
                          " g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
                          " return [Math.round(document.getElementById('step-forward').getBoundingClientRect().top),"
                          " g.top >= Math.max(r.top, 0) && g.bottom <= Math.min(r.bottom, innerHeight), s.scrollTop, scrollY]"))
    check("at 1366×768 ▶ stays under the pointer down the picture, which scrolls in its box with the packet in sight",
          len({s[0] for s in spots}) == 1 and all(s[1] for s in spots) and spots[-1][2] > 0 and spots[-1][3] == 0, spots)
    b.screenshot(os.path.join(SHOTS, "e2e-picture-box.png"))
    # The selected step's panel scrolls on its own there: a Tab stop, and
    # the arrows are the browser's (they scroll it) while it has the focus,
    # not the page's (they would step).
    b.set_size(1280, 560)
    b.wait_until(lambda: b.js("const p = document.querySelector('.detail-panel'); return p.scrollHeight > p.clientHeight + 100"), "the panel to overflow")
    b.js("document.querySelector('.detail-panel').focus()")
    before = b.text(".step-position")
    b.keys(["\ue015", "\ue015"])  # ArrowDown ×2
    with contextlib.suppress(Exception):  # (the browser scrolls smoothly)
        b.wait_until(lambda: b.js("return document.querySelector('.detail-panel').scrollTop") > 0, "the panel to scroll", 2)
    check("the selected step's panel takes the focus, and the up and down arrows scroll it, not step",
          b.js("return document.activeElement.classList.contains('detail-panel')") and b.text(".step-position") == before
          and b.js("return document.querySelector('.detail-panel').scrollTop") > 0,
          f"{before!r} -> {b.text('.step-position')!r}")
    b.keys([KEY_RIGHT])
    after = b.text(".step-position")
    controls_top, panel_top = b.js("return [document.querySelector('.step-controls').getBoundingClientRect().top,"
                                   " document.querySelector('.detail-panel').getBoundingClientRect().top]")
    check("…the right arrow steps there, and the step buttons stay in sight at the panel's top",
          after != before and abs(controls_top - panel_top) < 2, f"{after!r}, controls at {controls_top}, panel at {panel_top}")
    b.keys([KEY_LEFT])
    b.set_size(1280, 800)
    # The skip link moves the focus to the steps; the address keeps no
    # fragment that would be read as a link.
    b.js("document.activeElement && document.activeElement.blur()")
    b.js("document.querySelector('.skip-link').click()")
    focus, frag = b.js("return [document.activeElement.id, location.hash]")
    check("the skip link focuses the steps and shows no error", focus == "events" and frag == "" and not b.exists(".notice-error"),
          f"{focus!r} {frag!r}")
    pressed = "return document.getElementById('play').getAttribute('aria-pressed')"
    width = "return document.getElementById('play').getBoundingClientRect().width"
    still = b.js(width)
    b.keys([" "])
    playing = b.js(pressed)
    time.sleep(0.1)
    moving = b.js(width)
    b.keys([" "])
    check("from there Space plays and pauses, as the page's keys say", playing == "true" and b.js(pressed) == "false", playing)
    check("Play and Pause take one width: the buttons after them stay put", still == moving, f"{still} {moving}")
    # The scenario list browsed by arrow keys opens nothing until Enter.
    b.js("document.getElementById('scenario-picker').focus()")
    b.keys(["\ue015"])
    time.sleep(0.3)
    browsed = b.js("return [location.search, document.getElementById('scenario-picker').value]")
    b.keys(["\ue007"])
    b.wait_until(lambda: "article-remote" in b.js("return location.search"), "Enter to open the scenario chosen", 10)
    check("arrow keys in the scenario list choose without opening; Enter opens",
          "article-remote" not in browsed[0] and browsed[1] == "article-remote", browsed)
    b.select("#scenario-picker", "article")
    b.wait_until(lambda: "scenario=article" in b.js("return location.search") and "remote" not in b.js("return location.search"), "the article back", 10)
    b.wait("#verdict", 20)
    # "Next change" skips the chain and rule steps that leave the packet as
    # it was: the DNAT is a few presses from the start.
    b.click("#step-first")
    presses = 0
    while "DNAT destination" not in selected_text(b) and presses < 10:
        b.click("#step-change")
        presses += 1
    check("Next change reaches the DNAT at its fourth press, as the README says (the next-step button takes 21)",
          "DNAT destination" in selected_text(b) and presses == 4, f"{presses} presses: {selected_text(b)!r}")
    # A notice dismissed from the keyboard gives the focus back to where
    # the learner was when it came, not to the page's start; Escape
    # dismisses it from outside a text field.
    b.click("#clear-ct")
    b.wait(".notice", 5)
    b.js("document.querySelector('.notice .icon-button').focus()")
    b.keys(["\ue007"])
    b.wait_until(lambda: not b.exists(".notice"), "the notice to go", 5)
    check("a notice dismissed with the keyboard gives the focus back to where the learner was (Clear conntrack)",
          b.js("return document.activeElement.id") == "clear-ct", b.js("return document.activeElement.tagName + '#' + document.activeElement.id"))
    b.click("#clear-ct")
    b.wait(".notice", 5)
    b.keys(["\ue00c"])
    b.wait_until(lambda: not b.exists(".notice"), "Escape to dismiss the notice", 5)
    check("Escape dismisses the notice, the focus staying where it was", b.js("return document.activeElement.id") == "clear-ct")
    # N is a character key (WCAG 2.1.4): it steps only from the steps or
    # their buttons, not from a button of the send form.
    at = b.text(".step-position")
    b.js("document.getElementById('send-button').focus()")
    b.keys(["n"])
    time.sleep(0.3)
    moved_elsewhere = b.text(".step-position") != at
    b.js("document.getElementById('step-change').focus()")
    b.keys(["n"])
    b.wait_until(lambda: b.text(".step-position") != at, "N on the step buttons", 5)
    check("N does not step from the send form's buttons, and steps from the step buttons", not moved_elsewhere)
    b.set_size(1440, 1400)
    step_until(b, lambda: "transmitted on cali71ca141a178" in selected_text(b), "the cali71ca141a178 transmit again")
    topo = b.js("const s=document.querySelector('svg[role=img]'); return s ? s.getAttribute('aria-label') : ''")
    check("the topology says where the packet is", "cali71ca141a178" in (topo or ""), repr(topo))
    b.screenshot(os.path.join(SHOTS, "e2e-veth.png"))

    # 3. Edit node8's routes by typing: the pod's route becomes a blackhole.
    routes = b.value("#routes-node8")
    check("node8's routes are in their editor", "172.16.225.112 dev cali71ca141a178" in routes, routes[:200])
    # With a bad line typed above it, the route that won is still marked,
    # where it now is in the typed text, and the step says that its line
    # numbers are those of the routes in use.
    b.js("[...document.querySelectorAll('.event')].find(e => e.textContent.includes('lookup for 172.16.225.112')).click()")
    b.clear("#routes-node8")
    b.type("#routes-node8", "bogus route\n" + routes)
    b.wait("#routes-node8-errors", 5)
    check_gutter(b, "routes-node8", "172.16.225.112 dev cali71ca141a178")
    note = b.text(".lines-note") if b.exists(".lines-note") else ""
    check("…and the step says its line numbers are those of the routes node8 runs", "routes node8 runs" in note, repr(note))
    b.clear("#routes-node8")
    b.type("#routes-node8", routes)
    b.wait_until(lambda: not b.exists("#routes-node8-errors") and not b.exists(".lines-note"), "the routes in use again", 5)
    bad = routes.replace("172.16.225.112 dev cali71ca141a178 scope link", "172.16.225.112/40 dev cali71ca141a178")
    b.clear("#routes-node8")
    b.type("#routes-node8", bad)
    b.wait("#routes-node8-errors", 5)
    err = b.text("#routes-node8-errors")
    line = bad.splitlines().index(next(l for l in bad.splitlines() if "/40" in l)) + 1
    check("a bad route shows its error at its line", f"line {line}" in err, repr(err))
    check("the bad text is kept in the editor", "/40" in b.value("#routes-node8"))
    check("the packet still uses the last valid routes", "Delivered" in b.text("#verdict"), b.text("#verdict"))
    unapplied = b.text("#unapplied") if b.exists("#unapplied") else ""
    check("under the verdict, a line says which text has errors and that the packet ran on the last valid one",
          f"Errors in node8's routes (line {line}): this packet ran on the last valid text" in unapplied, repr(unapplied))
    check("beside the errors, a button goes back to the text in use", b.exists("#routes-node8-back"))
    # A route of a table known by its name in the node's rt_tables only
    # is read past, and the editor says so; a non-breaking space pasted
    # from a web page is named.
    b.clear("#routes-node8")
    b.type("#routes-node8", routes.rstrip("\n") + "\n10.9.0.0/16 via 192.168.11.1 dev ens33 table cali\n")
    b.wait("#routes-node8-left-out", 5)
    left_out = b.text("#routes-node8-left-out")
    check("a route of a table known by name only is said to be left out, with its line",
          f"1 route (line {len(routes.rstrip().splitlines()) + 1}) left out: a table named in the node's /etc/iproute2/rt_tables" in left_out, repr(left_out))
    b.clear("#routes-node8")
    b.type("#routes-node8", "default via 192.168.11.1 dev\u00a0ens33\n" + routes)
    b.wait_until(lambda: b.exists("#routes-node8-errors") and "/40" not in b.text("#routes-node8-errors"), "the typed text's errors", 5)
    err = b.text("#routes-node8-errors")
    check("a non-breaking space in a route is named at its column", "column 29" in err and "non-breaking space (U+00A0)" in err, repr(err[:200]))
    b.clear("#routes-node8")
    b.type("#routes-node8", bad)
    b.wait("#routes-node8-errors", 5)
    # Typing where the box, scrolled a little sideways by a long line, shows
    # the caret at its left edge brings the lines' first letters back.
    b.type("#routes-node8", "\n# " + "x" * 300)
    shifted = b.js("const a = document.getElementById('routes-node8'); a.focus();"
                   "const i = a.value.indexOf('\\n') + 10; a.setSelectionRange(i, i); a.scrollLeft = 20; return a.scrollLeft")
    b.keys(["z"])
    left = b.js("return document.getElementById('routes-node8').scrollLeft")
    check("an edit near the left edge scrolls the editor back to the lines' first letters", shifted == 20 and left == 0, f"{shifted} -> {left}")
    edited = routes.replace("172.16.225.112 dev cali71ca141a178 scope link", "blackhole 172.16.225.112")
    b.clear("#routes-node8")
    b.type("#routes-node8", edited)
    editor_top = "return Math.round(document.getElementById('routes-node8').getBoundingClientRect().top)"
    typed_at = b.js(editor_top)
    b.wait_until(lambda: "Dropped" in b.text("#verdict"), "the drop after the edit", 5)
    time.sleep(0.2)
    check("the routes being typed in stay where they are when the verdict above them grows", abs(b.js(editor_top) - typed_at) <= 1, f"{typed_at} -> {b.js(editor_top)}")
    verdict = b.text("#verdict")
    check("after the edit the packet is dropped by the blackhole route", "blackhole" in verdict, repr(verdict))
    said = b.text(".notice") if b.exists(".notice") else ""
    check("…and the page says the last packet was traced again, and how its verdict changed",
          "was traced again on the edited text" in said and "it was delivered in flask-ui" in said and "now it is dropped in node8 (a blackhole route discards it silently)" in said, repr(said[:200]))
    # The editors are far down the page: the notice floats in sight over
    # the window's foot (in the page's flow it would be above the window).
    sight = b.js("const r = document.querySelector('.notice').getBoundingClientRect();"
                 "return [r.top >= 0 && r.bottom <= innerHeight, r.bottom > innerHeight / 2, Math.round(scrollY)]")
    check("…in sight at the window's foot, with the editors far down the page", sight[:2] == [True, True] and sight[2] > 800, sight)
    b.click("#step-last")
    reason = b.text("#drop-reason")
    check("the drop step explains the reason", "a blackhole route discards it silently" in reason and "blackhole route 172.16.225" in reason, repr(reason))
    b.click("#step-back")
    check_gutter(b, "routes-node8", "blackhole 172.16.225.112")
    lines = b.js("return [...document.querySelectorAll('.routes-weighed .route-meta')].map(c => {"
                 " const r = document.createRange(); r.selectNodeContents(c); return r.getClientRects().length; })")
    check("the routes weighed: each table, prefix and metric reads on one line", lines and set(lines) == {1}, lines)
    # No address is cut in two, and the table fits the panel: every word of
    # a route is on one line.
    broken, wide = b.js("""
        const t = document.querySelector('.routes-weighed');
        const cut = [...t.querySelectorAll('td:first-child code')].flatMap(code => {
            const words = []; const text = code.firstChild; let at = 0;
            for (const w of code.textContent.split(' ')) {
                const r = document.createRange(); r.setStart(text, at); r.setEnd(text, at + w.length);
                if (r.getClientRects().length > 1) words.push(w);
                at += w.length + 1;
            }
            return words;
        });
        return [cut, t.scrollWidth > t.parentElement.clientWidth];""")
    check("the routes weighed: no address or device name is cut, and the table fits its panel", not broken and not wide, f"{broken} wide={wide}")
    b.click("#step-last")
    topo = b.js("return document.querySelector('svg.topo').getAttribute('aria-label')")
    check("the picture marks where the packet is dropped, in words too",
          b.exists(".topo-ended circle") and "dropped here" in topo, topo)
    b.screenshot(os.path.join(SHOTS, "e2e-drop.png"))
    b.click("#undo")
    b.wait_until(lambda: "Delivered" in b.text("#verdict"), "undo to bring delivery back", 5)
    check("undo restores the route and the delivery", "blackhole 172.16.225.112" not in b.value("#routes-node8"))
    said = b.text(".notice") if b.exists(".notice") else ""
    check("…and the notice follows: it was dropped, now it is delivered (not the edit's stale words)",
          "it was dropped in node8" in said and "now it is delivered in flask-ui" in said, repr(said[:200]))
    b.click("#redo")
    b.wait_until(lambda: "Dropped" in b.text("#verdict"), "redo", 5)
    selected = selected_text(b)

    # 4. The link reproduces the view in a fresh browser: the packets, the
    # step, the step filters and the editors' tabs.
    b.click("#show-conntrack")
    # A ticked filter box keeps the focus, and the arrows still step.
    at = b.text(".step-position")
    b.keys([KEY_LEFT])
    moved = b.text(".step-position")
    b.keys([KEY_RIGHT])
    ticked = lambda: b.js("return document.getElementById('show-conntrack').checked")
    was = ticked()
    b.keys([" "])
    toggled = ticked() != was and b.js("return document.getElementById('play').getAttribute('aria-pressed')") == "false"
    b.keys([" "])
    check("Space ticks the focused filter's checkbox and does not play", toggled and ticked() == was)
    check("the arrows step while a filter's checkbox has the focus",
          b.js("return document.activeElement.id") == "show-conntrack" and moved != at and b.text(".step-position") == at,
          f"{at!r} {moved!r}")
    b.js("[...document.querySelectorAll('#editors .tab')].find(t => t.textContent.includes('Chains')).click()")
    b.click("#copy-link")
    b.wait("#link-text")
    link = b.value("#link-text")
    check("copy link gives a #v2 link", "#v2." in link, link[:80])
    status = b.wait_until(lambda: b.exists(".copy-status") and b.text(".copy-status"), "the copy's outcome", 5)
    check("the link dialog says whether the copy worked", "clipboard" in status, repr(status))
    axe(b, "the link dialog")
    b.keys(["\ue00c"])  # Escape closes the dialog
    b.wait_until(lambda: not b.exists("#link-text"), "Escape to close the dialog", 5)
    focused = b.wait_until(lambda: b.js("return document.activeElement.id") == "copy-link" and "copy-link", "focus back on Copy link", 5)
    check("Escape closes the dialog and focus returns to Copy link", focused == "copy-link")
    other = Browser(1440, 1400)
    try:
        fresh(other, link)
        check("the link reproduces the verdict in a fresh browser", "blackhole" in other.text("#verdict"), other.text("#verdict"))
        check("the link reproduces the selected step", selected_text(other) == selected, selected_text(other))
        check("the link reproduces the edited route", "blackhole 172.16.225.112" in other.value("#routes-node8"))
        view = lambda br: br.js("return [document.getElementById('show-conntrack').checked, "
                                "[...document.querySelectorAll('#editors .tab[aria-pressed=true]')].map(t => t.textContent)]")
        check("the link reproduces the step filters and the editors' tabs", view(other) == view(b) and view(b)[0] is False
              and "Chains and counters" in view(b)[1], f"{view(b)} / {view(other)}")
        # The packets sent before the edit met the old route: delivered, in
        # the link as on the page (before, a link replayed them on the new
        # route, and they were dropped).
        tags = lambda br: br.js("return [...document.querySelectorAll('.history-item .tag')].map(t => t.textContent.trim())")
        check("the link keeps each packet's own verdict: those before the edit delivered, the last dropped",
              tags(other) == tags(b) and tags(b)[0].endswith("delivered") and tags(b)[-1].endswith("dropped"), f"{tags(b)} / {tags(other)}")
        other.screenshot(os.path.join(SHOTS, "e2e-link.png"))
        # The address keeps the link while the session is as shared (a
        # teacher may copy it from the address bar); the first change
        # takes it away.
        kept = other.js("return location.hash") == "#" + link.split("#", 1)[1]

        other.click("#again-button")
        other.wait_until(lambda: other.js("return location.hash") == "", "the link to leave the address after a send", 5)
        check("the address keeps an opened link until the session changes", kept)
        other.click("#step-last")
        other.get(base + "#v1.AAAA!!")
        other.wait(".notice-error", 20)
        check("a damaged link pasted in the tab says so and changes nothing", "could not be opened" in other.text(".notice-error") and "blackhole 172.16.225.112" in other.value("#routes-node8"))
        # Opened as a new page, with the learner's own session saved: the
        # session is shown, and still saved afterwards.
        other.get("about:blank")
        other.get(base + "#v1.AAAA!!")
        other.wait(".notice-error", 20)
        check("a damaged link opened in a new page shows the learner's own session",
              "could not be opened" in other.text(".notice-error") and "blackhole 172.16.225.112" in other.value("#routes-node8"))
        other.get("about:blank")
        other.get(base)
        other.wait("#verdict", 20)
        check("after a damaged link the learner's session is still saved", "blackhole 172.16.225.112" in other.value("#routes-node8"))
        # On a plain-http origin the Clipboard API does not exist: the copy
        # falls back (or says it failed) and the page goes on working.
        other.get("about:blank")
        other.get(base)
        other.wait("#verdict", 20)
        other.js("Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined, configurable: true })")
        other.click("#copy-link")
        other.wait(".copy-status", 5)
        said = other.text(".copy-status")
        other.keys(["\ue00c"])
        at = other.text(".step-position")
        other.click("#step-back")
        moved = other.wait_until(lambda: other.text(".step-position") != at, "a step after the copy", 5)
        check("without the Clipboard API, Copy link still copies or says it could not, and the page goes on working",
              ("clipboard" in said or "Ctrl+C" in said) and moved, repr(said))
        # The Embed dialog's iframe shows the same view, compact.
        b.click("#embed-button")
        b.wait("#embed-snippet")
        check("the Embed dialog warns that a snippet made on 127.0.0.1 points readers at their own machines",
              b.exists(".embed-local"))
        # The author pins the colours; a copy's outcome goes with the
        # snippet it was of.
        b.js("const s = document.getElementById('embed-theme');"
             "s.value = 'dark'; s.dispatchEvent(new Event('change', {bubbles: true}))")
        b.wait_until(lambda: "&theme=dark" in b.value("#embed-snippet"), "the snippet with its colours", 5)
        b.click(".dialog-actions .primary")
        b.wait(".copy-status", 5)
        b.js("document.querySelector('.dialog input[type=checkbox]').click()")
        b.wait_until(lambda: "&editors=1" in b.value("#embed-snippet"), "the snippet with editors", 5)
        check("changing the snippet takes back the word that it was copied", not b.exists(".copy-status"))
        b.js("document.querySelector('.dialog input[type=checkbox]').click()")
        b.wait_until(lambda: "&editors=1" not in b.value("#embed-snippet"), "the snippet without editors", 5)
        src = re.search(r'src="([^"]+)"', b.value("#embed-snippet")).group(1).replace("&amp;", "&")
        b.keys(["\ue00c"])
        other.get("about:blank")
        other.get(src)
        other.wait("#verdict", 20)
        check("the Embed dialog's iframe address shows the edited view: verdict, step, no editors, the colours pinned",
              "?embed=1" in src and "blackhole" in other.text("#verdict") and selected_text(other) == selected
              and not other.exists("#editors") and other.js("return document.documentElement.getAttribute('data-theme')") == "dark",
              f"{src[:60]}…: {other.text('#verdict')!r}")
    finally:
        other.quit()

    # 4a. Two endpoints: a statistic rule; its draw is explained and the
    # other branch can be forced.
    fresh(b, base + "?scenario=article")
    rules = b.value("#rules-node8")
    svc = next(l for l in rules.splitlines() if l.startswith("-A KUBE-SVC-7RUAH544RSSBQYKK") and "-j KUBE-SEP-" in l)
    two = (
        rules.replace(":KUBE-SVC-7RUAH544RSSBQYKK", ":KUBE-SEP-TWO - [0:0]\n:KUBE-SVC-7RUAH544RSSBQYKK", 1)
        .replace(svc, "-A KUBE-SVC-7RUAH544RSSBQYKK -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-TWO\n" + svc, 1)
        .replace("-A KUBE-SVC-7RUAH544RSSBQYKK", "-A KUBE-SEP-TWO -p tcp -m tcp -j DNAT --to-destination 172.16.225.101:80\n-A KUBE-SVC-7RUAH544RSSBQYKK", 1)
    )
    # Set the text as a paste would (typing 8 KB key by key takes minutes).
    b.js("const a = document.getElementById('rules-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true}));", two)
    b.wait_until(lambda: "in use" in b.text("#rules-node8-status"), "the two-endpoint rules to apply", 5)
    step_until(b, lambda: b.exists("#force-other"), "the statistic step")
    why = b.text(".explain")
    check("the statistic step explains probability and draw", "probability 0.50000000000" in why and "draw" in why, repr(why))

    def outcome():
        """The verdict, read at the last step; then back to the first."""
        b.click("#step-last")
        text = b.text("#verdict")
        b.click("#step-first")
        return text

    before = outcome()
    step_until(b, lambda: b.exists("#force-other"), "the statistic step again")
    b.click("#force-other")
    b.wait_until(lambda: "forced" in b.text(".explain"), "the forced branch")
    b.screenshot(os.path.join(SHOTS, "e2e-statistic.png"))
    after = outcome()
    check(
        "forcing the other branch sends the packet to the other endpoint",
        before != after and ("curl" in before or "curl" in after),
        f"{before!r} / {after!r}",
    )

    # Keyboard: Enter in the form sends; Space on a button presses it
    # (and does not start playing).
    n = len(b.find_all(".history-item"))
    b.js("document.getElementById('send-to').focus()")
    b.keys(["\ue007"])  # Enter
    b.wait_until(lambda: len(b.find_all(".history-item")) == n + 1, "Enter to send")
    b.js("document.getElementById('again-button').focus()")
    b.keys([" "])
    b.wait_until(lambda: len(b.find_all(".history-item")) == n + 2, "Space on Again")
    check("Enter sends and Space presses a focused button, without starting play",
          b.text("#play").strip().endswith("Play"), b.text("#play"))

    # A huge paste of garbage: errors named by line, the page stays, and
    # undo brings the rules back.
    rules = b.value("#rules-node8")
    b.js("const a = document.getElementById('rules-node8');"
         "a.value = Array.from({length: 100000}, (_, i) => '-A NOPE' + i + ' -j ACCEPT').join('\\n');"
         "a.dispatchEvent(new Event('input', {bubbles: true}));")
    b.wait("#rules-node8-errors", 30)
    errs = b.text("#rules-node8-errors")
    check("a 100,000-line paste of garbage gets located errors", "line 1, column 1" in errs, errs[:200])
    check("the packet keeps the rules in use", "Delivered" in b.text("#verdict"), b.text("#verdict"))
    b.click("#undo")
    b.wait("#rules-node8", 10)
    check("undo brings the rules text back", b.value("#rules-node8") == rules)
    # Undo while such a paste is still being parsed: the late result of
    # the parse must not come back over the undo.
    # (A real 1 MB dump eight times over: parsed for a while in chunks.)
    big = open(os.path.join(ROOT, "tests", "data", "gen-1500x1.iptables-save")).read() * 8
    # Every text the progress bar shows, as the page draws it.
    b.js("window.__bar = []; window.__barWatch = new MutationObserver(() => {"
         " const l = document.querySelector('.progress-wrap label');"
         " if (l && window.__bar[window.__bar.length - 1] !== l.textContent) window.__bar.push(l.textContent);"
         "}); window.__barWatch.observe(document.body, {subtree: true, childList: true, characterData: true});")
    b.js("const a = document.getElementById('rules-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true}));", big)
    b.wait(".progress-wrap", 5)
    b.click("#undo")
    b.wait_until(lambda: not b.exists(".progress-wrap"), "the parse to end or be dropped", 30)
    time.sleep(0.5)
    # The bar counts up as the chunks are read (drawn alone, not with the
    # page).
    bar = b.js("window.__barWatch.disconnect(); return window.__bar")
    check("the progress bar counts up during a parse",
          any(re.fullmatch(r"Parsing .* for node8… [1-9]\d? %", t) for t in bar), bar)
    check("undo during a parse wins over the parse's late result",
          b.exists("#rules-node8") and b.value("#rules-node8") == rules and not b.exists("#rules-node8-errors"))

    # Closing a connection and opening it again from the page: the
    # handshake, then Again with RST ticked closes it (CLOSE), and Again
    # with SYN reopens it (a new entry, the nat table again).
    fresh(b, base + "?scenario=article")
    b.click("#reply-button")
    b.click("#reply-button")
    # Again with the flags as the form opened: the selected packet's own (ACK).
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 4, "the ACK again")
    last_sent = last_history(b)
    check("Again right after the handshake sends the selected packet's ACK, not the form's SYN", "TCP ACK" in last_sent, last_sent)
    check("Again's button names the flags it sends: the selected packet's own, before any box is ticked",
          b.text("#again-button").split() == ["Again", "ACK"], b.text("#again-button"))
    flag = lambda name: b.js("[...document.querySelectorAll('.flag')].find(l => l.textContent.trim() == arguments[0]).querySelector('input').click()", name)
    ticked = "return [...document.querySelectorAll('.flag input')].filter(i => i.checked).map(i => i.parentElement.textContent.trim()).join(',')"
    for name in b.js(ticked).split(","):
        if name:
            flag(name)
    flag("RST")
    check("…and the flags ticked since the last packet went", b.text("#again-button").split() == ["Again", "RST"], b.text("#again-button"))
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 5, "the RST")
    all_steps = "return [...document.querySelectorAll('.event-list .ev-what')].map(e => e.textContent).join(' | ')"
    closed = b.js(all_steps)
    flag("RST")
    flag("SYN")
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 6, "the SYN")
    reopened = b.js(all_steps)
    check("Again with RST ticked closes the connection, and Again with SYN reopens it through the nat table",
          "TCP state ESTABLISHED → CLOSE" in closed and "a SYN on a closed connection" in reopened and "DNAT" in reopened,
          f"{closed[:200]} // {reopened[:200]}")

    # 4a''. An edit pasted and linked at once, before its pause in typing
    # is over: the link is made after it applies, so the packet before it
    # keeps its verdict in the link (before, every packet met the edit).
    fresh(b, base + "?scenario=article")
    b.click("#again-button")
    routes = b.value("#routes-node8")
    b.js("const a = document.getElementById('routes-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true})); document.getElementById('copy-link').click();",
         routes.replace("172.16.225.112 dev cali71ca141a178 scope link", "blackhole 172.16.225.112"))
    b.wait("#link-text")
    link = b.value("#link-text")
    b.keys(["\ue00c"])
    here = b.js("return [...document.querySelectorAll('.history-item .tag')].map(t => t.textContent.trim())")
    fresh(b, link)
    there = b.js("return [...document.querySelectorAll('.history-item .tag')].map(t => t.textContent.trim())")
    check("an edit linked before its pause in typing is over: the link shows each packet's own verdict",
          here == there and here[0].endswith("delivered") and here[-1].endswith("dropped"), f"{here} / {there}")
    # Undo survives a reload: the autosave keeps it (this page saves; only
    # the document fresh() started from does not).
    extra = b.value("#routes-node8") + "10.77.0.0/16 via 192.168.11.1 dev ens33\n"
    b.js("const a = document.getElementById('routes-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true}));", extra)
    b.wait_until(lambda: "in use" in b.text("#routes-node8-status") and not b.js("return document.getElementById('undo').disabled"),
                 "the edit to apply", 5)
    # (Saved: the autosave's pause is over. Leaving the page saves too, but
    # on a loaded machine the test should not race it.)
    b.wait_until(lambda: b.js("return Object.values(localStorage).some(v => v.includes('10.77.0.0/16'))"), "the autosave", 10)
    b.get("about:blank")
    b.get(base + "?scenario=article")
    b.wait("#verdict", 20)
    kept = "10.77.0.0/16" in b.value("#routes-node8") and not b.js("return document.getElementById('undo').disabled")
    b.click("#undo")
    b.wait_until(lambda: "10.77.0.0/16" not in b.value("#routes-node8"), "undo after the reload", 5)
    check("undo survives a reload: the autosave keeps it", kept)

    # A packet that cannot be sent says why beside the field, and is not
    # kept as a packet.
    fresh(b, base + "?scenario=article")
    b.select("#send-proto", "udp")
    b.clear("#send-to")
    b.type("#send-to", "172.16.166.130")
    b.click("#send-button")
    b.wait("#send-error", 5)
    check("a packet that cannot be sent: the reason under the form, announced, no history entry",
          "udp needs a destination port" in b.text("#send-error") and b.js("return document.getElementById('send-error').getAttribute('role')") == "alert"
          and len(b.find_all(".history-item")) == 1, b.text("#send-error"))

    # A ping from the form, answered with Reply: the echo-reply comes back
    # to the ping socket, and the history names both ICMP messages.
    form_send(b, "node8", "icmp", "172.16.225.112", 2, "the ping")
    b.js("document.getElementById('reply-button').focus()")
    b.keys(["\ue007"])
    b.wait_until(lambda: len(b.find_all(".history-item")) == 3, "its echo-reply")
    sent = b.js("return [...document.querySelectorAll('.history-item')].map(i => i.textContent)")
    check("Reply answers a ping with an echo-reply that reaches the ping socket; the focus goes on to Again",
          "ICMP echo-request" in sent[1] and "ICMP echo-reply" in sent[2]
          and "ping socket (echo id" in b.text("#verdict")
          and b.js("return document.activeElement.id") == "again-button",
          f"{sent} / {b.text('#verdict')} / {b.js('return document.activeElement.id')}")
    b.select("#editor-host", "0")
    ct = b.js("const d = document.querySelector('.conntrack-list'); d.open = true; return d.textContent")
    check("conntrack -L on node8 lists the article's TCP connection, DNATed, and the ping's",
          re.search(r"tcp +6 11[89] SYN_SENT src=192\.168\.11\.200 dst=10\.96\.100\.10 sport=\d+ dport=80 \[UNREPLIED\] src=172\.16\.225\.112", ct) is not None
          and "icmp     1 30 src=192.168.11.58 dst=172.16.225.112 type=8 code=0" in ct and "2 entries" in ct, ct[:400])
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 4, "ping's next echo")
    nxt = last_history(b)
    check("Again after the echo-reply sends ping's next echo-request, answered by the pod's kernel",
          "ICMP echo-request seq 2 node8 → 172.16.225.112" in nxt and "ICMP echo responder" in b.text("#verdict"), f"{nxt} / {b.text('#verdict')}")

    # A Service without endpoints: kube-proxy's REJECT. From the LAN
    # client, node8 sends the packet back out of ens33: its ICMP redirect
    # holds the error back (the kernel's rate limit), and nothing answers.
    form_send(b, "client:192.168.11.200", "tcp", "ms-test/flask-api", 5, "the REJECTed packet")
    step_until(b, lambda: "ICMP redirect" in selected_text(b), "node8's redirect")
    redirect = selected_text(b)
    b.click("#step-last")
    b.wait("#drop-reason", 5)
    held = b.text("#drop-reason")
    check("from the LAN client, node8's ICMP redirect holds the REJECT's error back: no answer to follow",
          "192.168.11.200 (use 192.168.11.1)" in redirect and "ICMP rate limit" in held
          and not b.exists("#outcome-reply") and b.js("return document.getElementById('reply-button').disabled"),
          f"{redirect} / {held}")
    # From the curl pod the kernel's ICMP error goes back, and Follow the
    # answer walks it to curl's socket: RELATED at node8, quoting the
    # packet as sent.
    curl = b.js("return [...document.querySelectorAll('#send-from option')].map(o => o.value).find(v => v.startsWith('curl'))")
    b.select("#send-from", curl)
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 6, "the pod's REJECTed packet")
    b.click("#step-last")
    b.wait("#outcome-reply", 5)
    label, refused = b.text("#outcome-reply"), b.text("#drop-reason")
    b.click("#outcome-reply")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 7, "the kernel's answer")
    last_item = last_history(b)
    step_until(b, lambda: "RELATED" in selected_text(b), "node8's conntrack lookup of the answer")
    related = selected_text(b)
    b.click("#step-last")
    b.wait_until(lambda: "connect() fails" in b.text("#verdict"), "the answer's delivery", 5)
    quoted = b.js("const h = [...document.querySelectorAll('.hdr')].find(h => h.textContent.includes('Quoted')); return h ? h.textContent : ''")
    check("Follow the answer walks a REJECT's ICMP error back: RELATED at node8, quoting the ClusterIP, curl's connect() refused",
          label.startswith("Follow the answer") and "Reply sends it on its way back" in refused
          and "ICMP port-unreachable node8 → 172.16.225.101" in last_item
          and "node8" in related and "ECONNREFUSED (Connection refused)" in b.text("#verdict")
          and "connect() fails with ECONNREFUSED" in b.text("#outcome")
          and "10.96.45.12" in quoted and "5000" in quoted and b.js("return document.getElementById('again-button').disabled"),
          f"{label} / {refused} / {last_item} / {related} / {b.text('#verdict')} / {b.text('#outcome')} / {quoted}")
    b.screenshot(os.path.join(SHOTS, "e2e-refused-answer.png"))
    # TTL: a bad one is refused by the form; TTL 1 from the client dies at
    # node8, whose time-exceeded, followed back, comes from the ClusterIP.
    from_client_to_flask(b, "#send-ttl", "0")
    b.wait("#send-error", 5)
    bad_ttl = b.text("#send-error")
    b.clear("#send-ttl")
    b.type("#send-ttl", "1")
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 8, "the TTL 1 packet")
    ttl_item = last_history(b)
    b.click("#reply-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 9, "its time-exceeded")
    b.click("#step-last")
    b.wait_until(lambda: "EHOSTUNREACH" in b.text("#verdict"), "the error at the client", 5)
    src = b.js("const h = [...document.querySelectorAll('.hdr')].find(h => h.textContent.startsWith('IPv4')); return h ? h.textContent : ''")
    check("the TTL field: 0 is refused; TTL 1 dies at node8, and its time-exceeded comes back from the ClusterIP",
          "from 1 to 255" in bad_ttl and "TTL 1" in ttl_item and "10.96.100.10" in src,
          f"{bad_ttl} / {ttl_item} / {src}")
    b.clear("#send-ttl")
    b.type("#send-ttl", "64")
    # The next hop of the traceroute, from the packet whose TTL ran out.
    b.js("const i = document.querySelectorAll('.history-item'); i[i.length - 2].click()")
    b.wait_until(lambda: "TTL 1" in b.text(".history-item.selected"), "the TTL 1 packet again")
    b.click("#outcome-next-hop")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 10, "the next hop")
    check("Send with TTL 2 sends the next hop of a traceroute: through node8 to the pod",
          "TTL 2" in last_history(b) and "delivered" in last_history(b), last_history(b))
    check("…and the form's TTL follows it, so the next Send goes on from there", b.value("#send-ttl") == "2", b.value("#send-ttl"))
    b.js("[...document.querySelectorAll('.history-item')].find(i => i.textContent.includes('#6')).click()")
    b.wait_until(lambda: "#6" in b.text(".history-item.selected"), "the refused packet again")
    # The kernel answers once: back on the refused packet, Reply is off.
    check("a refused packet whose answer was sent cannot be answered again",
          b.js("return document.getElementById('reply-button').disabled"), b.text(".history-item.selected"))

    # 4a''. An earlier packet met earlier rules: its lines are not marked
    # in today's text (a line added on top moves every rule down).
    fresh(b, base + "?scenario=article")
    b.click("#again-button")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the second packet")
    b.js("const a = document.getElementById('rules-node8'); a.value = '# moved down by one line\\n' + a.value;"
         "a.dispatchEvent(new Event('input', {bubbles: true}));")
    b.wait_until(lambda: "in use" in b.text("#rules-node8-status"), "the edit to apply", 5)
    matched = lambda: "match rule " in selected_text(b) and ": -A" in selected_text(b) and "node8" in selected_text(b)
    b.click(".history-item")
    step_until(b, matched, "#1's first rule match")
    old_mark, note = b.exists("#editors .gutter .ln-hl"), b.text(".earlier-note") if b.exists(".earlier-note") else ""
    b.js("document.querySelectorAll('.history-item')[1].click()")
    b.click("#step-first")
    step_until(b, matched, "#2's first rule match")
    marked = b.text("#editors .gutter .ln-hl").strip("▶ ") if b.exists("#editors .gutter .ln-hl") else "0"
    line = b.value("#rules-node8").split("\n")[int(marked) - 1] if marked.isdigit() and int(marked) > 0 else ""
    check("a packet that met earlier rules marks no line and says why; the last one marks its rule in today's text",
          not old_mark and "Packet #1 met the rules node8 had" in note and line.startswith("-A") and line in selected_text(b)
          and not b.exists(".earlier-note"), f"{old_mark} {note!r} {marked} {line!r}")

    # 4a'. A routes file dropped on the editor (drag and drop).
    fresh(b, base + "?scenario=article")
    routes = b.value("#routes-node8")
    dropped = routes.replace("172.16.225.112 dev cali71ca141a178 scope link", "unreachable 172.16.225.112")
    drop_file(b, dropped, 'node8.routes', 'text/plain', "#routes-node8", ".field-editor")
    b.wait_until(lambda: "unreachable 172.16.225.112" in b.value("#routes-node8"), "the dropped file", 5)
    check("a routes file dropped on the editor replaces the routes; the unreachable route refuses the packet and says with what",
          "Refused" in b.text("#verdict") and "answered with ICMP" in b.text("#verdict") and "unreachable" in b.text("#verdict"), b.text("#verdict"))
    check("the drop says what was loaded, and how the last packet's end changed",
          "node8.routes is now the routes of node8. Packet #1 was traced again on it: it was delivered in flask-ui-6c9f7d8b5d-x2k4p; now it is dropped in node8" in b.text(".notice"),
          b.text(".notice"))
    # Another node's routes name its devices: the notice says where such
    # a file is replayed.
    eks = open(os.path.join(ROOT, "tests", "data", "eks-node.routes")).read()
    drop_file(b, eks, 'eks-node.routes', 'text/plain', "#routes-node8", ".field-editor")
    b.wait(".notice-error", 5)
    check("a real node's routes dropped on node8 are refused with a pointer to the command line's replay",
          "name devices this host does not have" in b.text(".notice-error") and "packetwalk trace --routes FILE" in b.text(".notice-error"),
          b.text(".notice-error")[:300])
    # (Back to the routes in use: the file's text is not the learner's.)
    if b.exists("#routes-node8-back"):
        b.click("#routes-node8-back")
    # A scenario file dropped on the topology (not an editor) is imported,
    # and the page stays (a browser would otherwise leave it to show the file).
    scenario_json = open(os.path.join(ROOT, "src", "engine", "scenarios", "article-remote.json")).read()
    drop_file(b, scenario_json, 'remote.packetwalk.json', 'application/json')
    picked = lambda: b.js("return document.getElementById('scenario-picker').value")
    b.wait_until(lambda: picked() == "article-remote", "the dropped scenario to open", 10)
    check("a scenario file dropped on the page is imported", picked() == "article-remote" and "r8w2n" in b.text("#verdict"), b.text("#verdict"))
    # A session record of a scenario this version does not have says so.
    drop_file(b, json.dumps({"b": "calico-ebpf", "p": []}), 'old.packetwalk.json', 'application/json')
    b.wait(".notice-error", 5)
    check("a session file of an unknown scenario says which, and changes nothing",
          'builds on the scenario "calico-ebpf"' in b.text(".notice-error") and picked() == "article-remote", b.text(".notice-error")[:200])

    # Two imports in a row: the session kept aside is still the learner's
    # own (two packets), not the first file's.
    fresh(b, base + "?scenario=article-remote")
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the learner's second packet")
    time.sleep(1.2)  # the autosave
    for _ in range(2):
        drop_file(b, scenario_json, 'remote.packetwalk.json', 'application/json')
        b.wait_until(lambda: b.exists("#restore-own") and len(b.find_all(".history-item")) == 1, "the import", 10)
        time.sleep(1.2)
    b.click("#restore-own")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the learner's own session back", 10)
    check("after two imports, Bring back my own session brings the learner's own (2 packets)", len(b.find_all(".history-item")) == 2)

    # The learner's work (2 packets) is kept aside by a link (1 packet);
    # the page reloaded brings the link's session back from its autosave,
    # and the learner works on it (3 packets). The next link keeps that
    # work aside too, in its own place: the learner's own session stays
    # kept (a classroom's second exercise replaced it with the first's).
    fresh(b, base + "?scenario=article")
    b.click("#copy-link")
    b.wait("#link-text")
    shared = b.value("#link-text")
    b.keys(["\ue00c"])
    b.click("#again-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the learner's second packet")
    time.sleep(1.2)  # the autosave
    for url in (shared, base + "?scenario=article"):
        b.get("about:blank")
        b.get(url)
        b.wait("#verdict", 20)
    for n in (2, 3):
        b.click("#again-button")
        b.wait_until(lambda: len(b.find_all(".history-item")) == n, f"packet {n} of the linked session")
    time.sleep(1.2)
    b.get("about:blank")
    b.get(shared)
    b.wait_until(lambda: b.exists("#restore-own") and b.exists("#restore-earlier"), "the offers to bring back both sessions", 10)
    check("the next link keeps the work on the linked session aside, and says the learner's own is kept too",
          "Your own session of this scenario is kept aside. The session you had open, with your work on it, is kept aside too" in b.text(".notice"), b.text(".notice"))
    b.click("#restore-own")
    b.wait_until(lambda: len(b.find_all(".history-item")) != 1, "the learner's own session back", 10)
    check("Bring back my own session brings the learner's own (2 packets), not the work on the link (3)",
          len(b.find_all(".history-item")) == 2, f"{len(b.find_all('.history-item'))} packets")
    b.click(".kept-menu summary")
    b.wait("#kept-1", 5)
    b.click("#kept-1")
    b.wait_until(lambda: len(b.find_all(".history-item")) != 2, "the work on the link back", 10)
    check("…and the toolbar's Kept list brings the work on the link (3 packets), keeping the learner's own aside in turn",
          len(b.find_all(".history-item")) == 3 and b.exists("#restore-own") and "your own, is kept aside" in b.text(".notice"),
          f"{len(b.find_all('.history-item'))} packets; {b.text('.notice')!r}")
    focused = b.js("return document.activeElement.id")
    check("…and the focus goes on to the steps, not lost to the page", focused == "events", focused)
    b.click("#restore-own")
    b.wait_until(lambda: len(b.find_all(".history-item")) != 3, "the learner's own session back again", 10)
    check("going back and forth loses neither session", len(b.find_all(".history-item")) == 2 and b.exists("#restore-earlier"),
          f"{len(b.find_all('.history-item'))} packets; {b.text('.notice')!r}")
    # A third link: the learner's own goes aside again, and the work on the
    # first link stays kept (a third exercise replaced it).
    time.sleep(1.2)
    b.get("about:blank")
    b.get(shared)
    b.wait_until(lambda: b.exists("#restore-own"), "the third link", 10)
    kept = b.text(".kept-menu summary") if b.exists(".kept-menu summary") else ""
    check("a third link keeps every session: the learner's own and the work on the first link (Kept (2))",
          kept == "Kept (2)", repr(kept))
    b.click("#restore-own")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the learner's own session, once more", 10)
    # Five kept already (each its own session: one kept twice is kept
    # once), and the learner's own place taken by another: the next one
    # kept makes the oldest go, and the notice offers that one as a
    # download (it went without a word).
    time.sleep(1.2)
    b.js("const own = localStorage.getItem('packetwalk.session.v1.article');"
         "localStorage.setItem('packetwalk.kept-aside.v1.article', JSON.stringify({...JSON.parse(own), n0: 9}));"
         "for (const i of [2, 3, 4, 5]) localStorage.setItem('packetwalk.kept-aside-link.v1.article.' + i, JSON.stringify({...JSON.parse(own), n0: i}));")
    b.get("about:blank")
    b.get(shared)
    b.wait_until(lambda: b.exists("#download-dropped"), "the offer of the session that made room", 10)
    kept_ids = b.js("return Object.keys(localStorage).filter(k => k.startsWith('packetwalk.kept-aside-link.v1.article.')).map(k => +k.split('.').pop()).sort((a, b) => a - b)")
    check("a sixth session kept makes the oldest go, and the notice offers it as a download",
          kept_ids == [2, 3, 4, 5, 6] and "made room" in b.text(".notice"), f"{kept_ids} {b.text('.notice')!r}")
    # One that no longer reads (storage damaged, a save from a newer
    # version): the learner can take it away and see its place free.
    b.js("localStorage.setItem('packetwalk.kept-aside-link.v1.article.2', '{not json')")
    b.get("about:blank")
    b.get(base + "?scenario=article")
    b.wait("#verdict", 20)
    b.click(".kept-menu summary")
    b.wait("#kept-2", 5)
    b.keys(["\ue00c"])
    closed = b.js("const d = document.querySelector('.kept-menu'); return [d.open, document.activeElement.tagName]")
    check("Escape closes the Kept list, on its button", closed == [False, "SUMMARY"], closed)
    b.click(".kept-menu summary")
    b.wait("#kept-2", 5)
    damaged_label = b.js("return document.getElementById('kept-2').closest('li').textContent")
    b.click("#kept-2")
    b.wait("#remove-damaged", 5)
    b.js("window.confirm = () => true")
    b.click("#remove-damaged")
    b.wait_until(lambda: "taken away" in b.text(".notice"), "the damaged session taken away", 5)
    check("a kept session that does not read says so in the Kept list and can be taken away",
          "no longer reads" in damaged_label and b.text(".kept-menu summary") == "Kept (5)"
          and b.js("return localStorage.getItem('packetwalk.kept-aside-link.v1.article.2')") is None,
          f"{damaged_label!r} {b.text('.kept-menu summary')!r}")

    # Storage full: a link opened over the learner's work, which cannot be
    # kept aside, leaves that work saved and does not autosave over it
    # (the linked session was saved in its place, and the work was gone).
    fresh(b, base + "?scenario=article")
    count = lambda: b.js("const t = localStorage.getItem('packetwalk.session.v1.article'); return t && JSON.parse(t).p.length")
    b.click("#again-button")
    b.wait_until(lambda: count() == 2, "the learner's save")
    b.js("const set = Storage.prototype.setItem; Storage.prototype.setItem = function (k, v) {"
         " if (k.includes('kept-aside')) throw new DOMException('full', 'QuotaExceededError'); return set.call(this, k, v); }")
    b.js("location.hash = arguments[0]", shared.split("#", 1)[1])
    b.wait_until(lambda: len(b.find_all(".history-item")) == 1, "the link to open", 10)
    b.click("#again-button")
    time.sleep(1.5)
    check("a link over work that storage cannot keep aside says so, and does not autosave over that work",
          count() == 2 and "could not be kept aside" in b.text(".notice"), f"{count()} stored; {b.text('.notice')!r}")

    # A Calico node's set rules: ipset save's lines before the rules make
    # the sets that -m set looks in; the editors list them, and a matched
    # rule's Why says which entry held the address.
    fresh(b, base + "?scenario=article")
    rules = b.value("#rules-node8")
    first_forward = next(l for l in rules.splitlines() if l.startswith("-A FORWARD"))
    with_set = "create blocked hash:net family inet\nadd blocked 192.168.11.0/24\n" + rules.replace(
        first_forward, "-A FORWARD -m set --match-set blocked src -j DROP\n" + first_forward, 1)
    b.js("const a = document.getElementById('rules-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true}));", with_set)
    b.wait_until(lambda: "in use" in b.text("#rules-node8-status") and "Dropped" in b.text("#verdict"), "the set rule to drop the packet", 10)
    sets = b.js("const d = [...document.querySelectorAll('details.conntrack-list')].find(d => d.textContent.includes('IP sets on node8')); return d ? d.textContent : ''")
    b.click("#step-first")
    step_until(b, lambda: "--match-set blocked" in selected_text(b) and "match rule" in selected_text(b), "the set rule's step")
    why = b.text(".explain")
    check("a rule testing an IP set made by ipset save's lines matches, the sets are listed, and its Why names the entry",
          "IP sets on node8: 1 set" in sets and "192.168.11.0/24" in sets
          and "192.168.11.200 is in set blocked (hash:net, 1 entry) by its entry 192.168.11.0/24" in why, f"{sets!r} {why!r}")

    # Policy routing: an ip rule line among node8's routes ends the lookup
    # (prohibit); the route step lists the rules it walked, and the
    # routes editor marks the rule's line.
    fresh(b, base + "?scenario=article")
    routes = b.value("#routes-node8")
    b.js("const a = document.getElementById('routes-node8'); a.value = arguments[0];"
         "a.dispatchEvent(new Event('input', {bubbles: true}));", routes.rstrip("\n") + "\n100:\tfrom all to 172.16.225.112 prohibit\n")
    b.wait_until(lambda: "in use" in b.text("#routes-node8-status") and "Delivered" not in b.text("#verdict"), "the ip rule to refuse the packet", 10)
    b.click("#step-last")
    reason = b.text("#drop-reason")
    b.click("#step-first")
    step_until(b, lambda: "by rule 100" in selected_text(b), "the route step decided by rule 100")
    why = b.text(".explain")
    check("an ip rule among the routes refuses the packet, and the route step lists the rules walked",
          "rule 100 (from all to 172.16.225.112 prohibit)" in reason
          and "× refuses" in why and "↓ takes it, next rule" in why and "a router answers ICMP administratively prohibited" in why
          and "Rules tried, in order" in why and "table main not searched: rule 100 (from all to 172.16.225.112 prohibit) ended the lookup first" in why, f"{reason!r} {why[:300]!r}")
    check_gutter(b, "routes-node8", "100:\tfrom all to 172.16.225.112 prohibit")
    b.screenshot(os.path.join(SHOTS, "e2e-ip-rule.png"))
    # `ip rule` output alone, dropped on the routes: its rules join them.
    fresh(b, base + "?scenario=article")
    drop_file(b, "0:\tfrom all lookup local\n100:\tfrom all to 172.16.225.112 prohibit\n32766:\tfrom all lookup main\n",
              "node8-ip-rule.txt", "text/plain", "#routes-node8", ".field-editor")
    b.wait_until(lambda: "Delivered" not in b.text("#verdict"), "the dropped ip rules to refuse the packet", 10)
    joined = b.value("#routes-node8")
    said = b.text(".notice") if b.exists(".notice") else ""
    check("ip rule output dropped on the routes joins them: the routes stay, the rules refuse the packet",
          "172.16.225.112 dev cali71ca141a178" in joined and joined.rstrip().endswith("32766:\tfrom all lookup main")
          and "holds ip rule lines only" in said, f"{joined[-200:]!r} {said[:200]!r}")

    # 4b. A real node's dump, loaded from a file: parsed in chunks, listed
    # virtualised, counters count, and too big for a link (a clear message).
    fresh(b, base + "?scenario=article")
    dump = os.path.join(ROOT, "tests", "data", "gen-1500x1.iptables-save")
    text = open(dump).read()
    m = re.search(r"-A KUBE-SERVICES -d (\S+)/32 -p tcp .*?--dport (\d+) -j KUBE-SVC-", text)
    inp = b.find("input[aria-label='Load file: rules of node8']")
    b.cmd("POST", f"/element/{inp}/value", {"text": dump})
    b.wait_until(lambda: "rules loaded into node8" in b.text(".notice"), "the dump to load", 60)
    lines = len(text.splitlines())
    check("a large dump is listed, not put in a textarea", b.exists("#editors .vlist-scroll") and not b.exists("#rules-node8"))
    drawn = b.js("return document.querySelectorAll('#editors .vlist-scroll [role=listitem]').length")
    check(f"only the visible lines of the {lines}-line dump are in the DOM", 0 < drawn < 100, f"{drawn} rows")
    b.clear("#send-to")
    b.type("#send-to", f"{m.group(1)}:{m.group(2)}")
    b.click("#send-button")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the send")
    check("a packet to a Service of the dump is DNATed", b.exists(".event.row-nat"), b.text("#verdict"))
    b.js("[...document.querySelectorAll('#editors .tab')].find(t => t.textContent.includes('Chains')).click()")
    count = "return [...document.querySelectorAll('.rt-pkts')].slice(1).reduce((n, e) => n + Number(e.textContent), 0)"
    before = b.js(count)
    b.click("#again-button")
    b.wait_until(lambda: "#3" in b.text(".history-item.selected"), "the second send")
    after = b.wait_until(lambda: b.js(count) > before and b.js(count), "the counters to count")
    check("the chains view counts packets as they pass", before > 0 and after > before, f"{before} -> {after}")
    b.screenshot(os.path.join(SHOTS, "e2e-dump.png"))
    b.click("#copy-link")
    b.wait(".notice-error")
    check("a session too large for a link says so", "Export the scenario as a file" in b.text(".notice-error"), b.text(".notice-error"))
    # The listing's command line: a command iptables refuses stays in the
    # input with its error beside it; one that applies clears the input.
    b.js("[...document.querySelectorAll('#editors .tab')].find(t => t.textContent.includes('iptables-save')).click()")
    b.wait("#rules-node8-cmd")
    b.type("#rules-node8-cmd", "-I FORWARD 1 -d 172.16.225.112/32 -j DRO")
    b.click(".large-text .command button[type=submit]")
    b.wait("#rules-node8-cmd-result")
    check("a refused command stays in the input, its error beside it",
          b.value("#rules-node8-cmd").endswith("-j DRO") and 'no chain or target named "DRO"' in b.text("#rules-node8-cmd-result")
          and b.js("return document.getElementById('rules-node8-cmd').getAttribute('aria-invalid')") == "true",
          b.text("#rules-node8-cmd-result"))
    b.clear("#rules-node8-cmd")
    b.type("#rules-node8-cmd", "-I FORWARD 1 -d 172.16.225.112/32 -j DROP\ue007")
    b.wait_until(lambda: b.value("#rules-node8-cmd") == "", "the input to clear")
    check("a command that applies says so beside the input and clears it",
          b.text("#rules-node8-cmd-result") == "Applied: -I FORWARD 1 -d 172.16.225.112/32 -j DROP", b.text("#rules-node8-cmd-result"))
    # Too large to autosave (2.2 MB, the dump and a long comment): a
    # reload shows the last session that was saved, and says what it
    # leaves out (once) and what came back.
    big = os.path.join(tempfile.mkdtemp(), "big.iptables-save")
    with open(big, "w") as f:
        f.write(text + "# padding\n" * 110_000)
    inp = b.find("input[aria-label='Load file: rules of node8']")
    b.cmd("POST", f"/element/{inp}/value", {"text": big})
    b.wait_until(lambda: b.exists(".notice") and ("big.iptables-save" in b.text(".notice") or "too large" in b.text(".notice")), "the 2.2 MB dump to load", 60)
    time.sleep(1.5)
    b.js("location.reload()")
    b.wait(".notice", 20)
    said = b.text(".notice")
    check("a reload after a dump too large to autosave says the session shown is the last saved, and what is missing",
          "held a text too large for the browser's storage (node8's rules, " in said and "Load the file again" in said
          and "this is the last session that was" in said, said[:300])
    b.js("location.reload()")
    b.wait(".step-position", 20)
    time.sleep(0.5)
    check("…once: the next reload does not say it again", not (b.exists(".notice") and "too large" in b.text(".notice")))
    shutil.rmtree(os.path.dirname(big))
    # A long paste into the text turns it into the listing: focus goes to
    # the listing's command line, not to the page.
    fresh(b, base + "?scenario=article")
    b.click("#rules-node8")
    b.js("const t = document.getElementById('rules-node8'); t.value = arguments[0];"
         "t.dispatchEvent(new InputEvent('input', {bubbles: true}));", text)
    b.wait_until(lambda: b.exists("#rules-node8-cmd"), "the listing after the paste", 60)
    focused = b.js("return document.activeElement && document.activeElement.id")
    check("after a long paste the listing's command line has focus", focused == "rules-node8-cmd", focused)
    # The same with a mistake in it: once the parse finds it, the command
    # line gives way to the way back, which takes focus.
    fresh(b, base + "?scenario=article")
    b.click("#rules-node8")
    b.js("const t = document.getElementById('rules-node8'); t.value = arguments[0];"
         "t.dispatchEvent(new InputEvent('input', {bubbles: true}));",
         text.replace("-A KUBE-SERVICES ", "-A KUBE-SERVICES -j NO-SUCH-CHAIN\n-A KUBE-SERVICES ", 1))
    b.wait_until(lambda: b.exists("#rules-node8-revert"), "the listing's error", 60)
    focused = b.wait_until(lambda: b.js("return document.activeElement && document.activeElement.id") == "rules-node8-revert" and "rules-node8-revert", "focus on the way back", 5)
    check("after a long paste with a mistake, the way back to the rules in use has focus", focused == "rules-node8-revert", focused)

    # 4b'. The same dump with a bad line: listed with its error, the rules in
    # use stay, commands are off (they would change rules not shown), and
    # one click goes back to the rules in use.
    fresh(b, base + "?scenario=article")
    bad_file = os.path.join(tempfile.mkdtemp(), "bad.iptables-save")
    open(bad_file, "w").write(text.replace("-A KUBE-SERVICES ", "-A KUBE-SERVICES -j NO-SUCH-CHAIN\n-A KUBE-SERVICES ", 1))
    inp = b.find("input[aria-label='Load file: rules of node8']")
    b.cmd("POST", f"/element/{inp}/value", {"text": bad_file})
    b.wait_until(lambda: b.exists(".large-errors"), "the dump's error", 60)
    check("a dump with an error: listed with it, commands off, the rules in use kept",
          "NO-SUCH-CHAIN" in b.text("#rules-node8-errors") and not b.exists("#editors .command")
          and "Delivered" in b.text("#verdict"), b.text(".large-errors"))
    check("the bad line is not in view at first", not b.exists("#editors .vlist-scroll .band-err"))
    b.click("#rules-node8-errors button")
    b.wait_until(lambda: b.exists("#editors .vlist-scroll .band-err"), "the error's line in view", 5)
    check("clicking an error shows its line in the listing", "NO-SUCH-CHAIN" in b.text("#editors .vlist-scroll .band-err"))
    b.click(".large-errors button")
    b.wait_until(lambda: b.exists("#rules-node8") and not b.exists("#rules-node8-errors"), "the rules in use back in the editor")
    check("going back shows the rules in use, without errors", "in use" in b.text("#rules-node8-status") and "KUBE-SERVICES" in b.value("#rules-node8"))
    shutil.rmtree(os.path.dirname(bad_file))

    # 4c. A scenario file that holds such a dump: the scenario opens at
    # once, and the dump is parsed in chunks as a loaded one is.
    scenario_file = os.path.join(tempfile.mkdtemp(), "with-dump.packetwalk.json")
    sc = json.load(open(os.path.join(ROOT, "src", "engine", "scenarios", "article.json")))
    sc["name"] = "article-with-a-dump"
    next(h for h in sc["hosts"] if h["name"] == "node8")["iptables"] = text
    # Two packets sent: the first to the dump's last Service (past a long
    # run of KUBE-SERVICES rules).
    last = re.findall(r"-A KUBE-SERVICES -d (\S+)/32 -p tcp .*?--dport (\d+) -j KUBE-SVC-", text)[-1]
    sc["sends"] = [{"from": "client:192.168.11.200", "to": f"{last[0]}:{last[1]}", "proto": "tcp"},
                   {"from": "client:192.168.11.200", "to": "flask-ui", "proto": "tcp"}]
    json.dump(sc, open(scenario_file, "w"))
    fresh(b, base + "?scenario=article")
    inp = b.find("input[aria-label='Import a scenario JSON file, or Kubernetes objects']")
    b.cmd("POST", f"/element/{inp}/value", {"text": scenario_file})
    b.wait_until(lambda: "node8's rules in the file" in b.text(".notice"), "the file's dump to load", 60)
    notice = b.text(".notice")
    rules = int(re.search(r"([\d,]+) rules loaded into node8", notice).group(1).replace(",", ""))
    check("a scenario file with a dump opens, and the dump is parsed in chunks and used",
          rules > 5000 and b.exists("#editors .vlist-scroll") and "(imported)" in b.text("#scenario-picker option:checked"),
          f"{notice!r}")
    b.click(".history-item")
    b.wait_until(lambda: "#1" in b.text(".history-item.selected"), "the file's first packet")
    check("the file's packets are traced with its dump: the first one is DNATed to the dump's endpoint",
          len(b.find_all(".history-item")) == 2 and b.exists(".event.row-nat"), b.text("#verdict"))
    # Why any rule of a long run of skipped rules (more than the Why
    # table lists) did not match: only those.
    b.click("#step-first")
    step_until(b, lambda: b.exists("#why-rule"), "the dump's long run of skipped KUBE-SERVICES rules")
    lo, hi = (int(b.js(f"return document.getElementById('why-rule').{a}")) for a in ("min", "max"))
    b.js("const i = document.getElementById('why-rule'); i.value = '';"
         "i.dispatchEvent(new Event('input', {bubbles: true}));")
    b.click(".why-not button[type=submit]")
    b.wait("#why-rule-range", 5)
    said = b.text("#why-rule-range")
    b.type("#why-rule", str(hi))
    b.click(".why-not button[type=submit]")
    b.wait(".why-answer", 5)
    check("Why: an empty rule number is refused with the run's range; a number of the run is explained",
          f"from {lo} to {hi}" in said and b.value("#why-rule") == str(hi) and b.text(".why-answer").startswith(f"Rule {hi}: "),
          f"{said!r} {b.text('.why-answer')!r}")
    shutil.rmtree(os.path.dirname(scenario_file))

    # A projector's 1024×768: the page opens at its top, its title in
    # sight (the packet just under the window's foot). Again names the
    # flags it sends, the same for the preset packet and one sent from the
    # form, and Clear conntrack keeps its place.
    b.set_size(1024, 768)
    fresh(b, base + "?scenario=article")
    time.sleep(0.3)
    check("at 1024×768 the page opens at its top, the title in sight", b.js("return scrollY") == 0, b.js("return scrollY"))
    again = lambda: [" ".join(b.text("#again-button").split()), round(b.js("return document.getElementById('clear-ct').getBoundingClientRect().top + scrollY"))]
    before = again()
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the packet sent")
    check("Again says SYN for the preset packet and for the same packet sent from the form; Clear conntrack stays put",
          before[0] == "Again SYN" and again() == before, f"{before} {again()}")
    # The rules text takes iptables commands too, as a node does: the
    # rule goes in its place in the text, and the last packet meets it.
    b.type("#rules-node8-cmd", "-I FORWARD 1 -d 172.16.225.112/32 -j DROP")
    b.js("document.getElementById('rules-node8-cmd').form.requestSubmit()")
    b.wait_until(lambda: "Dropped" in b.text("#verdict"), "the command's rule to drop the packet", 5)
    rules = b.value("#rules-node8").splitlines()
    forward = [l for l in rules if l.startswith("-A FORWARD")]
    check("an iptables command on the rules text puts the rule in its place, and the last packet is traced again on it",
          forward[:1] == ["-A FORWARD -d 172.16.225.112/32 -j DROP"] and "Applied: -I FORWARD 1" in b.text(".command-result")
          and b.value("#rules-node8-cmd") == "", f"{forward[:2]} {b.text('.command-result')!r}")
    b.click("#undo")
    b.wait_until(lambda: "Delivered" in b.text("#verdict"), "the command undone", 5)
    # A conntrack step's Why opens the table it looked in, under the
    # editors, on its host.
    b.click("#step-first")
    step_until(b, lambda: "node8" in selected_text(b) and "conntrack" in selected_text(b), "node8's conntrack lookup")
    b.click("#show-listing")
    time.sleep(0.3)
    listing = b.js("const d = document.getElementById('conntrack-list'); const r = d.getBoundingClientRect();"
                   " return [d.open, r.top >= 0 && r.top < innerHeight / 2, document.activeElement.tagName, d.textContent]")
    check("a conntrack step's 'Show conntrack -L on node8' opens node8's listing in view, its summary focused",
          listing[0] and listing[1] and listing[2] == "SUMMARY" and "conntrack -L on node8: 2 entries" in listing[3]
          and "SYN_SENT" in listing[3], listing[:3] + [listing[3][:120]])
    # Wait lets the SYN's conntrack entry run out (120 s): the pod's
    # SYN-ACK is INVALID at node8, which resets it.
    b.clear("#wait-secs")
    b.type("#wait-secs", "120")
    b.click("#wait-button")
    b.wait("#waiting", 5)
    waiting = b.text("#waiting")
    b.click("#reply-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 3, "the late answer")
    late = " ".join(b.text(".history-item.selected").split())
    b.click("#step-first")
    step_until(b, lambda: "node8" in selected_text(b) and "conntrack" in selected_text(b), "node8's lookup of the late answer")
    check("Wait 120 s before Reply: the list says so, node8's entry has expired and the SYN-ACK is refused there",
          "The next packet goes 2 min after the last" in waiting and late.startswith("#3 after 2 min: TCP SYN,ACK")
          and "expired before this packet (SYN_SENT" in selected_text(b) and "node8 refused the packet" in b.text("#verdict") and not b.exists("#waiting"),
          f"{waiting!r} {late!r} {selected_text(b)[:200]!r} {b.text('#verdict')[:80]!r}")

    # 5. The remote endpoint: IPIP.
    # (A laptop's window: the picture is taller than it.)
    b.set_size(1440, 900)
    fresh(b, base + "?scenario=article-remote")
    # Stepped with the arrow key, the page brings the packet's card on
    # the picture (the outer header around the inner one) into the window.
    b.js("document.activeElement.blur()")
    for _ in range(120):
        if b.exists("#headers .hdr-added"):
            break
        b.keys([KEY_RIGHT])
    card = b.js("const r = document.querySelector('.topo-marker .topo-card-outer > rect').getBoundingClientRect(); return [r.top >= 0 && r.bottom <= innerHeight, Math.round(r.bottom), innerHeight]")
    check("stepped by the keyboard to the encapsulation, the IPIP card on the picture is in the window", card[0], card)
    b.set_size(1440, 1400)
    outer = b.text("#headers .hdr-added")
    check("the remote scenario shows an outer IPIP header added", "IPIP" in outer and "192.168.11.58" in outer, repr(outer))
    b.screenshot(os.path.join(SHOTS, "e2e-ipip.png"))
    step_until(b, lambda: b.exists("#headers .hdr-removed"), "the IPIP decapsulation")
    removed = b.text("#headers .hdr-removed")
    check("node54's decapsulation says which outer header it took off",
          "removed by this step" in removed and "Outer IPv4 (IPIP) 192.168.11.58 → 192.168.11.54" in removed
          and "node54" in selected_text(b), repr(removed))
    # The steps' list scrolls to the selected step, laid out or not yet
    # (rows far from it are laid out only in view): at the last of 143
    # steps, and 40 steps back, its row is inside the list's box, and
    # stays where it is once the rows around it are laid out.
    in_list = ("const l = document.querySelector('.event-list').getBoundingClientRect(),"
               " s = document.querySelector('.event.selected'), r = s.getBoundingClientRect(),"
               " rows = [...document.querySelectorAll('.event')];"
               " return [r.top >= l.top - 2 && r.bottom <= l.bottom + 2, Math.round(r.top - l.top), Math.round(l.height),"
               " rows.length - 1 - rows.indexOf(s), document.querySelectorAll('.event.far').length, s.classList.contains('far')]")
    b.click("#step-last")
    time.sleep(0.3)
    at_last = b.js(in_list)
    time.sleep(0.3)
    at_last_later = b.js(in_list)
    b.js("for (let i = 0; i < 40; i++) document.getElementById('step-back').click()")
    time.sleep(0.3)
    back = b.js(in_list)
    time.sleep(0.3)
    back_later = b.js(in_list)
    check("the steps' list shows the selected step's row, at the last step and 40 steps back, and it stays put"
          " (the rows far from it laid out only in view)",
          at_last[0] and at_last[3] == 0 and back[0] and back[3] == 40 and back[4] > 0 and not back[5]
          and at_last_later[1] == at_last[1] and back_later[1] == back[1],
          f"last {at_last} then {at_last_later}, back {back} then {back_later}")
    loaded = lambda: b.js("return performance.getEntriesByType('resource').some(e => e.name.includes('packetwalk-cluster'))")
    check("the article's scenarios do not load the cluster generator", loaded() is False)
    # The editors followed the packet to node54: a link (and a reload) shows
    # node54's texts again, not the first node's.
    host = lambda: b.js("const s = document.querySelector('#editor-host'); return s.options[s.selectedIndex].text")
    b.click("#step-first")
    b.click("#step-last")
    check("End from the first step shows the editors of the packet's last node", host().startswith("node54"), host())
    before = host()
    # Typed in the send form and not sent: kept too.
    b.clear("#send-to")
    b.type("#send-to", "10.96.100.10:8080")
    b.click("#copy-link")
    b.wait("#link-text")
    link = b.value("#link-text")
    b.keys(["\ue00c"])
    size = b.js("return [outerWidth, outerHeight]")
    b.set_size(1366, 768)
    fresh(b, link)
    # Its step's packet, delivered in node54's pod at the picture's foot,
    # is in view: the page scrolled to it.
    # (At the picture's foot: its box, as tall as the window leaves it,
    # scrolled to it; the page did not move.)
    glyph = b.js("const g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect(),"
                 " s = document.querySelector('.topo-scroll'), r = s.getBoundingClientRect();"
                 " return [Math.round(r.top), Math.round(g.top), Math.round(g.bottom), Math.round(r.bottom), innerHeight, scrollY, s.scrollTop]")
    check("a link opens with its step's packet in view on the picture, scrolled in its box",
          glyph[0] <= glyph[1] and glyph[2] <= glyph[3] <= glyph[4] and glyph[5] == 0 and glyph[6] > 0, glyph)
    b.click(".toasts .icon-button")
    after = b.js("return [scrollY, document.activeElement.id]")
    check("the link's notice's ✕, clicked, hands the focus to the steps and leaves the page where it was", after == [0, "events"], after)
    # A step picked in the list, the picture out of sight above it: the
    # page stays, and the picture's box shows the packet when the learner
    # scrolls back to it (the first step, at the picture's top).
    b.js("window.scrollTo(0, document.getElementById('events').getBoundingClientRect().top + scrollY - 8)")
    b.click("#events li.event")
    picked = b.js("return [Math.round(scrollY), document.querySelector('.topo-scroll').getBoundingClientRect().bottom < 0]")
    b.js("window.scrollTo(0, 0)")
    back = b.js("const r = document.querySelector('.topo-scroll').getBoundingClientRect(), g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
                " return g.top >= r.top && g.bottom <= r.bottom")
    check("a step picked in the list, the picture out of sight, leaves the page; the picture shows the packet on the way back",
          picked[0] > 0 and picked[1] and back, [picked, back])
    b.set_size(*size)
    check("a link opens the editors on the host they showed", before.startswith("node54") and host() == before, f"{before!r} → {host()!r}")
    check("a link keeps what was typed in the send form and not sent", b.value("#send-to") == "10.96.100.10:8080", b.value("#send-to"))

    # Where the send form is above the picture (820–1200 px wide), its box
    # starts at the window's foot: the arrow keys bring it into view once,
    # and it follows the packet from there.
    was = b.js("return [outerWidth, outerHeight]")
    b.set_size(1024, 768)
    fresh(b, base + "?scenario=article")
    below = b.js("return document.querySelector('.topo-scroll').getBoundingClientRect().top > innerHeight - 120")
    b.js("document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(6):
        b.keys([KEY_RIGHT])
        seen.append(b.js("const r = document.querySelector('.topo-scroll').getBoundingClientRect(),"
                         " g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
                         " return g.top >= Math.max(r.top, 0) && g.bottom <= Math.min(r.bottom, innerHeight)"))
    check("at 1024×768 the picture starts under the window's foot, and → brings it into view with the packet in its box",
          below and all(seen), [below, seen])
    b.set_size(*was)

    # 5'. MTUs, as the README tells it: data goes on an open connection
    # (Linux puts none on a SYN); node8's route to node54's block given
    # mtu 1300, 1400 bytes sent with Again on the client's connection are
    # refused at node8, whose fragmentation needed names the MTU.
    fresh(b, base + "?scenario=article-remote")
    from_client_to_flask(b, "#send-len", "1400")
    b.wait("#send-error", 5)
    no_syn_data = b.text("#send-error")
    check("Linux puts no data on a SYN, and the page says so", "sends no data on its SYN" in no_syn_data, no_syn_data)
    b.clear("#send-len")
    b.type("#send-len", "0")
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the client's SYN")
    b.click("#reply-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 3, "the SYN-ACK")
    routes = b.value("#routes-node8")
    b.clear("#routes-node8")
    b.type("#routes-node8", routes.replace("172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink", "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink mtu 1300"))
    b.wait_until(lambda: "mtu 1300" in b.value("#routes-node8") and "✓" in b.text("#routes-node8-status"), "the route's mtu in use", 5)
    b.js("[...document.querySelectorAll('.history-item')].find(i => i.textContent.includes('#2')).click()")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the client's SYN selected")
    flag = "[...document.querySelectorAll('.flags label')].find(l => l.textContent.trim() == arguments[0]).querySelector('input').click()"
    b.js(flag, "SYN")
    b.js(flag, "ACK")
    b.clear("#send-len")
    b.type("#send-len", "1400")
    b.wait_until(lambda: "+1400 B" in b.text("#again-button"), "Again naming its data", 5)

    def again_refused(sent, what):
        """Again, as packet #`sent`; its last step's Why."""
        b.click("#again-button")
        b.wait_until(lambda: len(b.find_all(".history-item")) == sent, what)
        b.click("#step-last")
        b.wait_until(lambda: b.exists("#drop-reason"), f"{what}'s drop", 5)
        return b.text("#drop-reason")

    why = again_refused(4, "the 1400 bytes")
    check("1400 bytes on the connection do not fit node8's route of mtu 1300: refused there, and the Why says with which MTU",
          "node8" in b.text("#verdict") and "1440 bytes do not fit the route to 172.16.3.64/26's mtu 1300" in why and "next-hop mtu 1300" in why, why)
    b.click("#outcome-reply")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 5, "the kernel's answer")
    b.click("#step-last")
    b.wait_until(lambda: "news of the path's MTU (1300)" in b.text("#verdict"), "the answer at the client", 5)
    icmp = b.js("const h = [...document.querySelectorAll('.hdr')].find(h => h.textContent.startsWith('ICMP')); return h ? h.textContent : ''")
    check("its ICMP fragmentation needed shows the next-hop MTU field", "next-hop mtu" in icmp and "1300" in icmp, icmp)
    # The client keeps the path MTU it learnt: the same 1400 bytes, sent
    # again, are refused at home, with the MTU and its time left.
    b.js("[...document.querySelectorAll('.history-item')].find(i => i.textContent.includes('#4')).click()")
    b.wait_until(lambda: "#4" in b.text(".history-item.selected"), "the refused packet")
    why = again_refused(6, "the 1400 bytes again")
    check("the client learnt the path MTU: the same 1400 bytes again are refused at home, naming it",
          "client" in b.text("#verdict") and "1440 bytes do not fit the path MTU 1300 learnt for 10.96.100.10" in why and "cache expires" in why, why)
    cache = b.text("#route-cache pre") if b.exists("#route-cache pre") else ""
    check("…and the client's editors list it as ip route show cache does",
          cache.startswith("10.96.100.10 via 192.168.11.58 dev eth0") and "mtu 1300" in cache, repr(cache))
    # A datagram larger than its sender's own MTU is not sent as one
    # packet (the kernel fragments it): "too big", not "dropped".
    b.select("#send-proto", "udp")
    b.clear("#send-to")
    b.type("#send-to", "10.96.100.10:53")
    b.clear("#send-len")
    b.type("#send-len", "1500")
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 7, "the large datagram")
    b.click("#step-last")
    b.wait_until(lambda: "too big" in last_history(b), "its tag", 5)
    check("a datagram larger than its sender's MTU is tagged and marked too big, not dropped",
          "Too big" in b.text("#verdict") and "too big here" in (b.js("return document.querySelector('svg.topo').getAttribute('aria-label')") or ""),
          f"{last_history(b)!r} {b.text('#verdict')!r}")
    b.screenshot(os.path.join(SHOTS, "e2e-mtu.png"))
    # A teacher's exercise: the link opens at the packet's first step, not
    # at the step selected (the answer).
    b.js("[...document.querySelectorAll('.history-item')].find(i => i.textContent.includes('#4')).click()")
    b.wait_until(lambda: "#4" in b.text(".history-item.selected"), "the refused packet")
    b.click("#step-last")
    b.click("#copy-link")
    b.wait("#link-text")
    at_end = b.value("#link-text")
    b.click("#link-at-start")
    b.wait_until(lambda: b.value("#link-text") != at_end, "the link at the first step")
    plain_exercise = b.value("#link-text")
    b.type("#exercise-question", "Which rule refuses it?")
    b.wait_until(lambda: b.value("#link-text") != plain_exercise, "the link with the question")
    exercise = b.value("#link-text")
    b.wait_until(lambda: b.exists(".copy-status"), "the link with the question copied (or why not)", 5)
    check("typing the question keeps the focus in its field (the copies made meanwhile do not take it)",
          b.js("return document.activeElement.id") == "exercise-question", b.js("return document.activeElement.id"))
    axe(b, "the link dialog with an exercise's question")
    b.keys(["\ue00c"])
    # Opened again, the dialog keeps the choice: the exercise and its
    # question are what it copies.
    b.click("#copy-link")
    b.wait("#link-text")
    kept = [b.js("return document.getElementById('link-at-start').checked"), b.value("#exercise-question"), b.value("#link-text") == exercise]
    check("Copy link, opened again, keeps the exercise and its question (the link it shows and copies)", kept == [True, "Which rule refuses it?", True], kept)
    b.keys(["\ue00c"])
    fresh(b, exercise)
    check("an exercise's link carries the teacher's question, shown above the steps",
          b.exists("#exercise-task") and b.text("#exercise-task") == "Question: Which rule refuses it?",
          b.text("#exercise-task") if b.exists("#exercise-task") else "no question shown")
    axe(b, "an exercise with its question")
    said = b.text("#outcome")
    check("an exercise's link opens the same packet at its first step, its steps listed as far as reached and its outcome hidden",
          b.text("#headers-h").startswith("Step 1 ") and "#4" in b.text(".history-item.selected") and len(b.find_all(".event")) == 1
          and "An exercise" in said and "refused" not in said and "outcome hidden" in b.text(".history-item.selected") and "of …" in b.text(".step-position"),
          f"{b.text('#headers-h')!r} / {b.text('.history-item.selected')!r} / {len(b.find_all('.event'))} / {said!r}")
    for _ in range(3):
        b.click("#step-forward")
    b.wait_until(lambda: len(b.find_all(".event")) == 4, "the steps reached, listed")
    # End goes no further than the steps reached (then one more): the
    # answer is not one key away.
    b.click("#step-back")
    b.click("#step-last")
    b.wait_until(lambda: "4 of" in b.text(".step-position"), "End back to the furthest step reached", 5)
    # The address keeps the step reached (the steps within 600 ms of a
    # written one wait for a pause in stepping): a reload comes back to it.
    b.wait_until(lambda: b.js("return location.hash") != exercise[exercise.index("#"):], "the step in the address", 5)
    time.sleep(1.0)
    b.js("location.reload()")
    time.sleep(1)
    b.wait(".step-position", 10)
    b.wait_until(lambda: "4 of" in b.text(".step-position"), "the exercise at its step after a reload", 10)
    check("an exercise reloaded comes back to the step reached, its steps listed, its outcome still hidden",
          len(b.find_all(".event")) == 4 and "of …" in b.text(".step-position") and "refused" not in b.text("#outcome"),
          f"{len(b.find_all('.event'))} {b.text('.step-position')!r}")
    # One step after a pause is written at once: a reload right after it
    # comes back to it, not to the step before.
    def reload_exercise(what):
        b.js("location.reload()")
        time.sleep(1)
        b.wait(".step-position", 10)
        b.wait_until(lambda: "of" in b.text(".step-position"), what, 10)

    time.sleep(1.0)
    b.click("#step-forward")
    b.wait_until(lambda: "5 of" in b.text(".step-position"), "one step on")
    reload_exercise("the exercise after the quick reload")
    check("a reload right after one step comes back to that step", "5 of" in b.text(".step-position"), b.text(".step-position"))
    # Quick steps wait for a pause to reach the address; a reload before
    # it comes back to the last one all the same (the tab notes it).
    time.sleep(1.0)
    b.click("#step-forward")
    b.click("#step-forward")
    b.wait_until(lambda: "7 of" in b.text(".step-position"), "two steps on")
    reload_exercise("the exercise after the quick steps' reload")
    check("a reload within the pause after quick steps comes back to the last of them, its steps listed",
          "7 of" in b.text(".step-position") and len(b.find_all(".event")) == 7, f"{b.text('.step-position')!r} {len(b.find_all('.event'))}")
    # "Show all steps" asks first: the answer is one click away, not a slip.
    b.click("#end-exercise")
    b.wait("#keep-exercise", 5)
    asked = b.text("#outcome")
    check("the question puts the focus on its safe answer, Keep stepping",
          b.js("return document.activeElement.id") == "keep-exercise", b.js("return document.activeElement.id"))
    b.click("#keep-exercise")
    b.wait_until(lambda: not b.exists("#keep-exercise"), "the question gone", 5)
    check("Show all steps asks before it shows the answer, and Keep stepping keeps the exercise",
          "This shows where the packet goes" in asked and "refused" not in asked and "of …" in b.text(".step-position"), asked)
    step_until(b, lambda: "refused" in b.text("#outcome"), "the outcome at the last step", 30)
    check("stepping lists the steps reached; at the last the outcome shows, in Packets sent too",
          "refused" in b.text(".history-item.selected") and not b.exists("#end-exercise"), b.text(".history-item.selected"))
    # The Embed dialog gives the exercise too, for a course page.
    b.click("#embed-button")
    b.wait("#embed-exercise")
    plain = b.value("#embed-snippet")
    b.click("#embed-exercise")
    b.wait_until(lambda: b.value("#embed-snippet") != plain, "the exercise's snippet")
    src = re.search(r'src="([^"]+)"', b.value("#embed-snippet")).group(1).replace("&amp;", "&")
    b.keys(["\ue00c"])
    fresh(b, src)
    check("the Embed dialog's exercise snippet opens the packet compact, at its first step, the outcome hidden",
          b.exists(".app.embed") and "of …" in b.text(".step-position") and not (b.exists("#outcome") and "refused" in b.text("#outcome")),
          f"{src[:60]}…: {b.text('.step-position')!r}")
    # The reader's own packet is no exercise: its outcome shows at once.
    fresh(b, exercise)
    sent = len(b.find_all(".history-item"))
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == sent + 1, "the reader's own packet")
    own = b.text(".history-item.selected")
    check("in an exercise the reader's own packet shows its outcome (only the link's packets are the exercise)",
          "outcome hidden" not in own and "of …" not in b.text(".step-position"), own)
    # Back from a link opened over the learner's own session brings that
    # session back.
    fresh(b, base + "?scenario=article")
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "a packet of the learner's own")
    time.sleep(1.2)  # (autosaved)
    b.js("location.hash = arguments[0]", exercise[exercise.index("#"):])
    b.wait_until(lambda: b.exists("#exercise-task"), "the exercise link opened over it", 10)
    b.js("history.back()")
    b.wait_until(lambda: not b.exists("#exercise-task") and len(b.find_all(".history-item")) == 2, "the learner's own session back", 10)
    check("Back from an exercise link opened over the learner's session brings that session back", True)
    # The source port field: a chosen port, then empty for an ephemeral one.
    fresh(b, base)
    b.type("#send-sport", "40000")
    b.click("#send-button")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the packet from port 40000")
    first = b.text("#headers-h") + " " + b.text(".step-summary")
    b.clear("#send-sport")
    b.type("#send-sport", "70000")
    b.clear("#send-len")
    b.type("#send-len", "abc")
    b.click("#send-button")
    b.wait("#send-error", 5)
    invalid = b.js("return ['send-sport', 'send-len', 'send-ttl'].map(i => document.getElementById(i).getAttribute('aria-invalid'))")
    check("the source port field sends from the port typed; a port and a data size that do not read are both said at once, their fields marked invalid",
          ":40000 > 10.96.100.10:80" in first and "1 to 65535" in b.text("#send-error") and "Data bytes" in b.text("#send-error")
          and invalid == ["true", "true", "false"], f"{first!r} / {b.text('#send-error')!r} / {invalid}")
    b.clear("#send-len")
    b.type("#send-len", "0")

    # 5a. Picking a cluster scenario loads the generator, then opens it; a
    # choice made while it loads is handled after it, so the last one wins.
    b.select("#scenario-picker", "calico-vxlan")
    b.select("#scenario-picker", "article")
    b.wait_until(loaded, "the generator to load")
    # (The first choice is opened, then the last: on a loaded machine that
    # takes more than a moment.)
    try:
        b.wait_until(lambda: not b.exists("#cluster-yaml") and b.value("#scenario-picker") == "article", "the last choice", 10)
    except WebDriverError:
        pass
    time.sleep(0.5)
    check("a scenario picked while the generator loads wins over the one picked before",
          not b.exists("#cluster-yaml") and b.value("#scenario-picker") == "article", b.value("#scenario-picker"))
    b.select("#scenario-picker", "calico-vxlan")
    b.wait_until(lambda: b.exists("#cluster-yaml") and "in sync" in b.text("#cluster-yaml-status"), "calico-vxlan from the picker")
    check("picking a cluster scenario loads the generator and opens it",
          loaded() is True and "mode: calico-vxlan" in b.value("#cluster-yaml") and "vxlan.calico" in b.value("#routes-node8"),
          b.value("#routes-node8")[:200])

    # 5b. The cluster as the learner's lever: from one endpoint to three,
    # kube-proxy's probabilities, the sync's diff, the chains' names, and
    # VXLAN in the Flannel mode.
    fresh(b, base + "?scenario=calico-ipip")
    yaml = b.value("#cluster-yaml")
    b.clear("#cluster-yaml")
    b.type("#cluster-yaml", yaml[: yaml.index("- addresses: [172.16.3.70]")])
    in_sync = lambda: "in sync" in b.text("#cluster-yaml-status")
    b.wait_until(in_sync, "the one-endpoint cluster in sync")
    rules = b.value("#rules-node8")
    check("one endpoint: node8's KUBE-SVC chain has no statistic rule", "KUBE-SVC-" in rules and "--probability" not in rules, rules[-400:])
    for node in ("node54", "node51"):
        b.click(f"button[aria-label='+ endpoint on {node} for ms-test/flask-ui']")
        b.wait_until(lambda: node in b.text(".cluster-service"), f"the endpoint on {node}")
        b.wait_until(in_sync, "the cluster in sync")
    rules = b.value("#rules-node8")
    check("three endpoints: kube-proxy's probabilities in iptables-save form",
          "--probability 0.33333333349" in rules and "--probability 0.50000000000" in rules, rules[-600:])
    diff = b.text(".sync-diff summary")
    check("the sync's diff counts the rules it added", re.search(r"node8: iptables-save lines \+[1-9]", diff) is not None, repr(diff))
    names = b.text(".chain-names")
    check("each KUBE-SEP chain is named by its endpoint", "ms-test/flask-ui:http → 172.16.3.66:80" in names, names[:300])
    # Remove the first endpoint from the keyboard: the focus goes to the
    # Remove button of the endpoint that takes its row, not elsewhere.
    ips = lambda: b.js("return [...document.querySelectorAll('.cluster-service .endpoints code')].map(c => c.textContent)")
    first, second = ips()[:2]
    b.js("document.getElementById('remove-ms-test-flask-ui-0').focus()")
    b.keys(["\ue007"])
    b.wait_until(lambda: first not in ips() and in_sync(), "the first endpoint's removal")
    b.wait_until(lambda: not b.js("return document.activeElement.disabled"), "the form enabled again")
    focused = b.js("return document.activeElement.getAttribute('aria-label')")
    check("removing an endpoint from the keyboard leaves the focus on the next endpoint's Remove", focused == f"Remove endpoint {second}", f"{focused!r}, {ips()}")
    b.click("#undo")
    b.wait_until(lambda: first in ips() and in_sync(), "the endpoint back")
    b.js("document.querySelector('.restore-input').open = true")
    restore = b.text(".restore-input .restore-text")
    check("kube-proxy's own restore text is shown beside it (10 decimals, no /32)",
          "--probability 0.3333333333 " in restore and "-d 10.96.100.10 --dport 80" in restore, restore[:300])
    # The form's network mode: every node is synced to Flannel, and the
    # picture follows (cni0 and flannel.1 where tunl0 was).
    chips = "return [...document.querySelectorAll('.topo-dev .topo-dev-name')].map(t => t.textContent)"
    b.select("#cluster-mode", "flannel-vxlan")
    b.wait_until(lambda: "mode: flannel-vxlan" in b.value("#cluster-yaml") and in_sync(), "the mode change")
    drawn = b.js(chips)
    check("a mode change in the form redraws the nodes' devices", "cni0" in drawn and "flannel.1" in drawn and "tunl0" not in drawn, drawn)
    b.select("#cluster-mode", "calico-ipip")
    b.wait_until(lambda: "mode: calico-ipip" in b.value("#cluster-yaml") and in_sync() and "tunl0" in b.js(chips), "the mode back")
    # Undo and redo: the mode box follows the objects in use (a box the
    # learner picked in keeps its own value unless the page puts it back).
    mode_box = "return document.getElementById('cluster-mode').value"
    b.click("#undo")
    b.wait_until(lambda: "mode: flannel-vxlan" in b.value("#cluster-yaml") and in_sync(), "the undo of the mode")
    undone = b.js(mode_box)
    b.click("#redo")
    b.wait_until(lambda: "mode: calico-ipip" in b.value("#cluster-yaml") and in_sync(), "the redo of the mode")
    check("undo and redo of a mode change put the mode box on the mode in use",
          undone == "flannel-vxlan" and b.js(mode_box) == "calico-ipip", f"{undone}, {b.js(mode_box)}")
    # Export, then open the file again: still calico-ipip (its objects
    # changed, as edits in the page change them), with the three endpoints.
    b.js("HTMLAnchorElement.prototype.click = function () {"
         " fetch(this.href).then(r => r.text()).then(t => { window.__exported = t; }); };")
    # …as the page shows it: the step selected, a filter off.
    b.click("#step-first")
    for _ in range(3):
        b.click("#step-forward")
    b.click("#show-conntrack")
    shown_at = b.text(".step-position")
    editor_host = "const s = document.getElementById('editor-host'); return s.options[s.selectedIndex].text"
    shown_host = b.js(editor_host)
    b.click("#export")
    exported = b.wait_until(lambda: b.js("return window.__exported || null"), "the exported file", 5)
    b.click("#show-conntrack")
    b.click("#step-first")
    drop_file(b, exported, 'calico.packetwalk.json', 'application/json')
    b.wait_until(lambda: "Scenario imported" in (b.text(".notice") if b.exists(".notice") else ""), "the import of the export", 10)
    check("an exported file opens at the step it was exported at, with its filters and the editors' host",
          b.text(".step-position") == shown_at and not b.js("return document.getElementById('show-conntrack').checked")
          and b.js(editor_host) == shown_host,
          f"{b.text('.step-position')!r} vs {shown_at!r}; {b.js(editor_host)!r} vs {shown_host!r}")
    b.click("#show-conntrack")
    b.js("const s = document.getElementById('editor-host'); s.value = [...s.options].find(o => o.text.startsWith('node8 ')).value;"
         " s.dispatchEvent(new Event('change', {bubbles: true}))")
    check("an exported cluster scenario opens again as itself, with its objects as they were",
          b.js("return document.getElementById('scenario-picker').value") == "calico-ipip"
          and "--probability 0.33333333349" in b.value("#rules-node8") and "172.16.3.66" in b.value("#cluster-yaml"),
          b.js("return document.getElementById('scenario-picker').value"))
    b.click("#step-first")
    step_until(b, lambda: "is kube-proxy's chain for" in (b.text(".explain") if b.exists(".explain") else ""), "a jump into a KUBE-SVC chain")
    check("a jump names the Service port its chain stands for", "is kube-proxy's chain for ms-test/flask-ui:http" in b.text(".explain"), b.text(".explain"))
    step_until(b, lambda: "kube-proxy wrote this rule for ms-test/flask-ui:http →" in (b.text(".explain") if b.exists(".explain") else ""), "the DNAT rule")
    b.click(".explain .origin button")
    b.wait_until(lambda: b.exists(".cluster-panel .gutter .ln-hl"), "the endpoint's line marked in the YAML")
    marked = b.text(".cluster-panel .gutter .ln-hl").strip("▶ ")
    yaml_line = b.value("#cluster-yaml").split("\n")[int(marked) - 1]
    check("a generated rule links back to its endpoint's line in the YAML", "addresses: [172.16." in yaml_line, repr(yaml_line))
    b.js("document.querySelector('#cluster-h').scrollIntoView()")
    b.screenshot(os.path.join(SHOTS, "e2e-cluster.png"))
    axe(b, "the cluster panel")
    b.select("#type-ms-test-flask-ui", "LoadBalancer")
    b.wait_until(lambda: "loadbalancer IP" in b.value("#rules-node8"), "the LoadBalancer's rules")
    check("type LoadBalancer from the form: an ingress IP and its rules", "192.168.11.240" in b.value("#rules-node8") and "ip: 192.168.11.240" in b.value("#cluster-yaml"))
    # The client sends to it: a node answers ARP for it (MetalLB layer 2)
    # and kube-proxy's rules DNAT it to an endpoint.
    offered = b.js("return [...document.querySelectorAll('#send-to-list option')].map(o => o.value)")
    b.clear("#send-to")
    b.type("#send-to", "192.168.11.240:80")
    b.click("#send-button")
    b.wait_until(lambda: "192.168.11.240" in (b.js("return document.querySelector('.history-item.selected') && document.querySelector('.history-item.selected').textContent") or ""), "the send to the LoadBalancer", 10)
    check("the send form offers the LoadBalancer IP, and a client's packet to it is answered and delivered",
          "192.168.11.240:80" in offered and "Delivered" in b.text("#verdict"), f"{offered} / {b.text('#verdict')!r}")
    b.select("#etp-ms-test-flask-ui", "Local")
    b.wait_until(lambda: "KUBE-SVL-" in b.value("#rules-node8"), "the Local policy's KUBE-SVL chain")
    check("externalTrafficPolicy: Local from the form gives node8 a KUBE-SVL chain",
          "externalTrafficPolicy: Local" in b.value("#cluster-yaml"))
    b.select("#cluster-layout", "legacy")
    b.wait_until(lambda: "kubernetes forwarding conntrack pod source rule" in b.value("#rules-node8"), "the 1.18 layout")
    # (1.18 does not know today's KUBE-EXT-/KUBE-SVL- chains: it leaves them, unused.)
    check("the layout switch writes kube-proxy 1.18's rules", "-j KUBE-XLB-" in b.value("#rules-node8") and "-j KUBE-EXT-" not in b.value("#rules-node8"))
    b.select("#type-ms-test-flask-ui", "ClusterIP")
    b.wait_until(lambda: "--dport 30080" not in b.value("#rules-node8"), "the node port's rules to go")
    check("type ClusterIP from the form drops the node port, the ingress IP and their rules, as the API server does",
          "nodePort: 30080" not in b.value("#cluster-yaml") and "192.168.11.240" not in b.value("#cluster-yaml")
          and "192.168.11.240" not in b.value("#rules-node8") and "in sync" in b.text("#cluster-yaml-status"))
    # `kubectl get -o json` of a new Service and its slice, dropped on the
    # page: applied as kubectl apply would, the other objects kept.
    echo = json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "ms-test"},
         "spec": {"clusterIP": "10.96.7.7", "ports": [{"name": "udp", "port": 7, "protocol": "UDP"}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "echo-1", "namespace": "ms-test", "labels": {"kubernetes.io/service-name": "echo"}},
         "addressType": "IPv4", "ports": [{"name": "udp", "port": 7, "protocol": "UDP"}],
         "endpoints": [{"addresses": ["172.16.3.99"], "nodeName": "node54"}]}]}, indent=2)
    drop_file(b, echo, 'echo.json', 'application/json')
    b.wait_until(lambda: "-d 10.96.7.7/32 -p udp" in b.value("#rules-node8") and in_sync(), "the dropped objects' rules", 10)
    check("kubectl's JSON dropped on a cluster is applied: the new Service gets its chains, the nodes and flask-ui stay",
          "added Service ms-test/echo, EndpointSlice ms-test/echo-1" in b.text(".notice")
          and "name: flask-ui" in b.value("#cluster-yaml") and "kind: Node" in b.value("#cluster-yaml"), b.text(".notice"))
    # One whose cluster IP is taken: applied, but the objects then do not
    # read, and the notice says so (the nodes keep the last ones that did).
    drop_file(b, "apiVersion: v1\nkind: Service\nmetadata: {name: dup, namespace: ms-test}\nspec:\n  clusterIP: 10.96.7.7\n  ports: [{port: 9}]\n", 'dup.yaml', 'application/yaml')
    b.wait_until(lambda: b.exists(".notice-error"), "the failed sync's notice", 10)
    check("objects that then do not read: the notice says so, the error names the taken cluster IP",
          "have errors" in b.text(".notice") and "already allocated" in b.text("#cluster-yaml-errors")
          and "-d 10.96.7.7/32 -p udp" in b.value("#rules-node8"), b.text(".notice"))
    b.click("#undo")
    b.wait_until(lambda: not b.exists("#cluster-yaml-errors"), "undo to take the file's objects back", 10)
    check("Undo takes the dropped file's objects back", "name: dup" not in b.value("#cluster-yaml") and "name: echo" in b.value("#cluster-yaml"))
    b.clear("#cluster-yaml")
    b.type("#cluster-yaml", "kind: Network\nmode: weave\n")
    b.wait_until(lambda: b.exists("#cluster-yaml-errors"), "the error list")
    check("a bad network mode is located at its line", "line 2" in b.text("#cluster-yaml-errors") and "weave" in b.text("#cluster-yaml-errors"), b.text("#cluster-yaml-errors"))
    check("the nodes keep the last valid objects' rules", "--probability 0.33333333349" in b.value("#rules-node8"))
    fresh(b, base + "?scenario=flannel-vxlan")
    step_until(b, lambda: b.exists("#headers .hdr-added"), "the VXLAN encapsulation")
    outer = b.text("#headers")
    check("Flannel VXLAN: outer Ethernet, IPv4, UDP 8472 and VNI 1 are added",
          "Outer Ethernet" in outer and "Outer IPv4 (VXLAN)" in outer and "8472" in outer and "Inner Ethernet" in outer, outer[:400])
    b.screenshot(os.path.join(SHOTS, "e2e-vxlan.png"))
    # Flannel's cni0 is a bridge: curl to the pod beside it is switched
    # there, not routed, and keeps its TTL.
    curl = b.js("return [...document.querySelectorAll('#send-from option')].map(o => o.value).find(v => v.endsWith('curl'))")
    b.select("#send-from", curl)
    b.clear("#send-to")
    b.type("#send-to", "10.244.0.12:80")
    b.click("#send-button")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the send to the pod beside curl")
    step_until(b, lambda: "switches the frame" in selected_text(b), "the bridge step")
    check("Flannel: a frame to the pod beside the sender is switched by cni0 between its veths, TTL kept",
          "cni0 switches the frame from veth" in selected_text(b) and "not routed, TTL kept" in selected_text(b)
          and re.search(r"ttl\s+64", b.text("#headers")) and b.exists("#headers .layer-link"),
          selected_text(b) + " | " + b.text("#headers")[:200])
    b.screenshot(os.path.join(SHOTS, "e2e-bridge.png"))
    # The cluster form turns hairpin mode off: the YAML says so, and the
    # synced node's veths no longer have it.
    titles = "return [...document.querySelectorAll('.topo-dev title')].map(t => t.textContent).filter(t => t.includes('port of cni0'))"
    before = b.js(titles)
    b.click("#cluster-hairpin")
    b.wait_until(lambda: "hairpinMode: false" in b.value("#cluster-yaml") and "in sync" in b.text("#cluster-yaml-status"), "the hairpin change")
    after = b.js(titles)
    check("the hairpin box writes hairpinMode: false, and the bridge ports lose hairpin mode",
          before and all("(hairpin on)" in t for t in before) and after and not any("hairpin on" in t for t in after), f"{before} -> {after}")
    # Every endpoint not ready: the packets are sent again on the new
    # cluster, and one that now ends otherwise says how it ended before.
    b.clear("#send-to")
    b.type("#send-to", "ms-test/flask-ui")
    b.click("#send-button")
    b.wait_until(lambda: "#3" in b.text(".history-item.selected") and "delivered" in b.text(".history-item.selected"), "the send to the Service")
    for k, ip in enumerate(("10.244.0.12", "10.244.1.7", "10.244.2.9")):
        b.select(f"select[aria-label='State of endpoint {ip}']", "notready")
        b.wait_until(lambda: in_sync() and b.value("#cluster-yaml").count("{ready: false, serving: false}") == k + 1, f"{ip} not ready")
    was = b.text(".history-item .history-was") if b.exists(".history-item .history-was") else ""
    check("a cluster change that refuses a delivered packet: its history line says it was delivered before",
          "refused" in b.js("return document.querySelector('.history-was').closest('.history-item').textContent")
          and "before the cluster change: ✓ delivered in flask-ui-" in was
          and "differently" in b.text(".notice"), f"{was!r} | {b.text('.notice')!r}")
    shown = b.js("const w = document.querySelector('.history-item.selected .history-was'), l = document.querySelector('.history-list');"
                 "return !!w && w.getBoundingClientRect().bottom <= l.getBoundingClientRect().bottom + 1;")
    check("the selected packet's 'before the cluster change' line is scrolled into the list's view", shown)
    b.js("document.querySelector('.history').scrollIntoView({block: 'center'})")
    b.screenshot(os.path.join(SHOTS, "e2e-before-sync.png"))

    # The hairpin scenario: the pod reaches itself through its Service; with
    # hairpin mode unticked, cni0 drops the same packet.
    fresh(b, base + "?scenario=flannel-hairpin")
    b.wait_until(lambda: "Delivered" in b.text("#verdict"), "the hairpin packet")
    step_until(b, lambda: "back out of the port it came in on" in selected_text(b), "the hairpin bridge step")
    b.click("#cluster-hairpin")
    b.wait_until(lambda: "hairpinMode: false" in b.value("#cluster-yaml") and in_sync() and "Delivered" not in b.text("#verdict"), "the hairpin drop")
    verdict = b.text("#verdict")
    check("flannel-hairpin: delivered back to the pod through cni0; with hairpin mode off, dropped for it",
          "hairpin mode is off" in verdict or "hairpin" in verdict.lower(), verdict)
    b.screenshot(os.path.join(SHOTS, "e2e-hairpin-off.png"))

    # The cluster's own objects dropped again change nothing, and say so.
    fresh(b, base + "?scenario=calico-ipip")
    drop_file(b, b.value("#cluster-yaml"), "calico-ipip.yaml", "application/yaml")
    b.wait_until(lambda: "nothing changed" in (b.text(".notice") if b.exists(".notice") else ""), "the notice of the same objects", 10)
    check("the cluster's own objects opened again change nothing and say so, with no error",
          not b.exists(".notice-error") and "in sync" in b.text("#cluster-yaml-status"), b.text(".notice"))

    # Many Services: the form lists twenty, found by name; the YAML's
    # gutter numbers the lines around its view, not all of them.
    yaml = b.value("#cluster-yaml") + "".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: d}}\n"
        f"spec:\n  clusterIP: 10.97.0.{i + 1}\n  ports: [{{port: 80}}]\n" for i in range(120))
    b.js("const t = document.getElementById('cluster-yaml'); t.value = arguments[0];"
         " t.dispatchEvent(new Event('input', {bubbles: true}));", yaml)
    b.wait_until(lambda: "in sync" in b.text("#cluster-yaml-status") and b.exists("#cluster-find"), "121 Services", 30)
    listed = len(b.find_all(".cluster-service"))
    count = b.text("#cluster-find-count")
    b.type("#cluster-find", "s77")
    b.wait_until(lambda: len(b.find_all(".cluster-service")) == 1, "the Service found")
    found = b.text(".cluster-service strong")
    check("121 Services: the form lists 20, and finds one by part of its name",
          listed == 20 and "20 of 121 Services" in count and found == "d/s77"
          and "1 of 121 Services match \"s77\"" in b.text("#cluster-find-count"), f"{listed} / {count} / {found} / {b.text('#cluster-find-count')}")
    # (The empty line after the last newline, where the caret may stand,
    # has its number too.)
    lines = b.value("#cluster-yaml").count("\n") + 1
    numbered = lambda: b.js("return [...document.querySelectorAll('#cluster-yaml')].map(a => a.closest('.code-editor').querySelectorAll('.ln')).map(l => [l.length, l[l.length - 1].textContent])[0]")
    top = numbered()
    b.js("const a = document.getElementById('cluster-yaml'); a.scrollTop = a.scrollHeight; a.dispatchEvent(new Event('scroll'));")
    b.wait_until(lambda: numbered()[1].endswith(str(lines)), "the gutter at the end", 5)
    time.sleep(0.3)
    # The last number is in view, level with the text's last line.
    level = b.js("const a = document.getElementById('cluster-yaml'); const g = a.closest('.code-editor').querySelector('.gutter');"
                 "const l = [...g.querySelectorAll('.ln')].pop().getBoundingClientRect(); const r = g.getBoundingClientRect();"
                 "return [l.top >= r.top && l.bottom <= r.bottom + 1, Math.round(l.bottom - (a.getBoundingClientRect().top + 6 + a.scrollHeight - 12 - a.scrollTop))]")
    check("a long YAML numbers 400 lines around its view, and the last ones, in view beside the text, when scrolled there",
          lines > 800 and top[0] == 400 and numbered()[0] == 400 and level[0], f"{lines} lines; {top} then {numbered()}; {level}")

    # 5b. A real node's dump loaded into a cluster's node, then a cluster
    # edit: kube-proxy's sync deletes the dump's service chains, and the diff
    # shows its first lines and the count, not thousands of list items.
    fresh(b, base + "?scenario=calico-ipip")
    inp = b.find("input[aria-label='Load file: rules of node8']")
    b.cmd("POST", f"/element/{inp}/value", {"text": os.path.join(ROOT, "tests", "data", "gen-1500x1.iptables-save")})
    b.wait_until(lambda: "rules loaded into node8" in b.text(".notice"), "the dump to load", 60)
    yaml_before = b.value("#cluster-yaml")
    b.click("button[aria-label='+ endpoint on node54 for ms-test/flask-ui']")
    b.wait_until(lambda: "in sync" in b.text("#cluster-yaml-status") and b.exists(".sync-diff"), "the sync after the dump", 30)
    summary, items, more = b.js(
        "const d = [...document.querySelectorAll('.sync-diff')].find(d => d.querySelector('summary').textContent.startsWith('node8:'));"
        "d.open = true; const m = d.querySelector('.diff-more');"
        "return [d.querySelector('summary').textContent, d.querySelectorAll('li').length, m && m.textContent];")
    removed = int(re.search(r"node8: iptables-save lines \+\d+ −(\d+)", summary).group(1))
    check("a sync over a loaded dump counts every removed line and lists only the first 200",
          removed > 5000 and items < 420 and more == f"… and {removed - 200} more lines removed",
          f"{summary!r}, {items} items, {more!r}")
    # Undo and redo walk back over the edit and the dump. A cluster change
    # redone while the dump is in use is synced in the worker, as the edit
    # was: the status says "syncing…" in between.
    yaml_after = b.value("#cluster-yaml")
    b.click("#undo")
    b.wait_until(lambda: b.value("#cluster-yaml") == yaml_before and "in sync" in b.text("#cluster-yaml-status"), "the undo of the edit", 30)
    b.click("#undo")
    b.wait_until(lambda: b.exists("#rules-node8"), "the undo of the dump", 30)
    b.click("#redo")
    b.wait_until(lambda: b.exists("#editors .vlist-scroll") and not b.exists("#rules-node8"), "the redo of the dump", 30)
    b.js("window.__status = []; new MutationObserver(() => window.__status.push("
         "document.getElementById('cluster-yaml-status').textContent))"
         ".observe(document.body, {subtree: true, childList: true, characterData: true});")
    b.click("#redo")
    b.wait_until(lambda: b.value("#cluster-yaml") == yaml_after and "in sync" in b.text("#cluster-yaml-status"), "the redo of the edit", 30)
    status = b.js("return window.__status")
    seen = [t for i, t in enumerate(status) if i == 0 or t != status[i - 1]]
    check("over a dump, a cluster edit redone is synced in the worker (\"syncing…\", then in sync) and brings the edit back",
          seen.count("syncing…") == 1 and not b.exists("#undo[disabled]"), seen)

    # 320 CSS px (the window cannot be that narrow; the device metrics can):
    # no sideways scrolling of the page, the cluster form's included (its
    # endpoints table scrolls itself), nor with a notice's long button.
    b.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride",
                                        "params": {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False}})
    widths = []
    for query in ("?scenario=article", "?scenario=calico-ipip"):
        fresh(b, base + query)
        time.sleep(0.5)
        widths.append(b.js("return document.documentElement.scrollWidth"))
    b.js("localStorage.setItem('packetwalk.session.v1.calico-ipip', '{broken')")
    b.get(base + "?scenario=calico-ipip")
    b.wait("#verdict", 20)
    time.sleep(0.5)
    widths.append(b.js("return document.documentElement.scrollWidth") if b.exists(".notice-error") else 999)
    b.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.clearDeviceMetricsOverride", "params": {}})
    check("at 320 CSS px the page does not scroll sideways (article, calico-ipip, a notice)", all(w <= 320 for w in widths), widths)

    # A stored session that does not read (damaged, or another version's)
    # is set aside with a notice, not silently overwritten by the next save.
    fresh(b, base)
    damaged = '{"b":"article","p":[{"from":"client:192.168.11.200","to":"flask-ui"'
    b.js("localStorage.setItem('packetwalk.session.v1.article', arguments[0]); localStorage.setItem('packetwalk.last', 'article')", damaged)
    b.get(base)
    b.wait("#verdict", 20)
    time.sleep(1.5)
    kept = b.js("return localStorage.getItem('packetwalk.session.v1.article.unreadable')")
    check("a damaged autosave is kept aside as ….unreadable, and the page says so",
          kept == damaged and "could not be restored" in (b.text(".notice-error") if b.exists(".notice-error") else ""),
          repr(kept)[:80])
    # …and when storage cannot move it aside, it stays where it is and
    # the tab does not autosave over it (it did, two seconds later).
    fresh(b, base)
    b.js("localStorage.setItem('packetwalk.session.v1.article', arguments[0]); localStorage.setItem('packetwalk.last', 'article')", damaged)
    hook = b.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source":
        "const set = Storage.prototype.setItem; Storage.prototype.setItem = function (k, v) {"
        " if (k.includes('unreadable')) throw new DOMException('full', 'QuotaExceededError'); return set.call(this, k, v); }"}})
    b.get(base)
    b.wait("#verdict", 20)
    b.click("#again-button")
    time.sleep(1.5)
    b.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.removeScriptToEvaluateOnNewDocument", "params": {"identifier": hook["identifier"]}})
    stays = b.js("return localStorage.getItem('packetwalk.session.v1.article')")
    check("a damaged autosave storage cannot move aside stays untouched, and the tab says it does not save over it",
          stays == damaged and "does not autosave over it" in (b.text(".notice-error") if b.exists(".notice-error") else ""),
          repr(stays)[:80])

    # Two tabs on one scenario: the tab that finds the other's save since
    # its own does not overwrite it, says so, and on request saves its own
    # with the other's kept aside.
    stored = lambda key: b.js("const t = localStorage.getItem(arguments[0]); return t && JSON.parse(t).p.length", key)
    main_key, aside_key = "packetwalk.session.v1.article", "packetwalk.kept-aside.v1.article"
    def two_tabs():
        """This tab saves 2 packets, then a second tab, opened after,
        saves 4 over them; back in this tab. Returns both handles."""
        fresh(b, base)
        first = b.cmd("GET", "/window")
        b.click("#again-button")
        b.wait_until(lambda: stored(main_key) == 2, "the first tab's save")
        second = b.cmd("POST", "/window/new", {"type": "tab"})["handle"]
        b.cmd("POST", "/window", {"handle": second})
        b.get(base)
        b.wait("#verdict", 20)
        b.click("#again-button")
        b.click("#again-button")
        b.wait_until(lambda: stored(main_key) == 4, "the second tab's save")
        b.cmd("POST", "/window", {"handle": first})
        return first, second
    first, second = two_tabs()
    b.click("#again-button")
    b.wait_until(lambda: b.exists("#take-over"), "the notice of the other tab", 5)
    check("a tab does not autosave over another tab's later save, and says so, at the editors too",
          stored(main_key) == 4 and "open in another tab" in b.text(".notice-error")
          and "not autosaved: this scenario is open in another tab" in b.text("#editors .not-saved"), stored(main_key))
    b.click("#take-over")
    b.wait_until(lambda: stored(main_key) == 3, "this tab's save")
    check("…and on request saves its own, the other tab's kept aside", stored(aside_key) == 4 and b.exists("#restore-own"), stored(aside_key))
    b.cmd("POST", "/window", {"handle": second})
    b.cmd("DELETE", "/window")
    b.cmd("POST", "/window", {"handle": first})

    # A Reset in a tab behind another tab's newer save leaves that save
    # alone (it deleted it), and says so.
    first, second = two_tabs()
    b.js("window.confirm = () => true")
    b.click("#reset")
    b.wait_until(lambda: "Back to the built-in" in b.text(".notice"), "the reset", 5)
    check("a Reset behind another tab's newer save discards this tab's session only, and says so",
          stored(main_key) == 4 and "Another tab saved its work" in b.text(".notice") and b.exists("#take-over"),
          f"{stored(main_key)} packets stored; {b.text('.notice')!r}")
    b.cmd("POST", "/window", {"handle": second})
    b.cmd("DELETE", "/window")
    b.cmd("POST", "/window", {"handle": first})
    # Another tab's save that holds no work (two tabs opened at once, say)
    # does not stop this tab's autosave: it goes over it.
    fresh(b, base + "?scenario=article-remote")
    remote_key = "packetwalk.session.v1.article-remote"
    b.wait_until(lambda: b.js("return localStorage.getItem(arguments[0])", remote_key), "the first autosave")
    b.js("localStorage.setItem(arguments[0], localStorage.getItem(arguments[0]) + ' ')", remote_key)
    b.click("#again-button")
    b.wait_until(lambda: stored(remote_key) == 2 or b.exists("#take-over"), "this tab's save", 5)
    check("another tab's save without work does not stop this tab's autosave",
          stored(remote_key) == 2 and not b.exists("#take-over"), f"{stored(remote_key)} packets; {b.text('.notice') if b.exists('.notice') else ''!r}")

    # A NodePort called on 127.0.0.1 from the node: the lookup after
    # OUTPUT's DNAT sends a loopback source out of a veth, which only
    # kube-proxy's route_localnet = 1 allows; the Why says so.
    fresh(b, base + "?scenario=article")
    form_send(b, "node8", "tcp", "127.0.0.1:30080", 2, "the packet to the NodePort on 127.0.0.1")
    step_until(b, lambda: "route_localnet" in (b.text(".explain") if b.exists(".explain") else ""), "the lookup after OUTPUT", 60)
    check("a loopback source routed out of a veth: the Why names route_localnet, which kube-proxy sets",
          "lookup again after OUTPUT" in selected_text(b) and "with the kernel's default, 0, this lookup fails" in b.text(".explain"),
          selected_text(b)[:120])

    # A rule the learner wrote in kube-proxy's chains goes when a cluster
    # change makes kube-proxy rewrite them: the notice says so (it went
    # without a word), and Undo brings it back.
    fresh(b, base + "?scenario=calico-ipip")
    b.wait_until(lambda: b.exists("#cluster-yaml") and "in sync" in b.text("#cluster-yaml-status"), "calico-ipip in sync", 30)
    b.select("#editor-host", b.js("return [...document.querySelectorAll('#editor-host option')].find(o => o.textContent.startsWith('node8')).value"))
    set_text = "const t = document.getElementById(arguments[0]); t.value = arguments[1]; t.dispatchEvent(new Event('input', {bubbles: true}))"
    mine = "-A KUBE-SERVICES -s 10.95.5.5/32 -m comment --comment learner -j RETURN"
    b.js(set_text, "rules-node8", b.value("#rules-node8").replace("-A KUBE-SERVICES ", mine + "\n-A KUBE-SERVICES ", 1))
    b.wait_until(lambda: "✓" in b.text("#rules-node8-status"), "the learner's rule in use", 5)
    b.js(set_text, "cluster-yaml", b.value("#cluster-yaml").replace("nodePort: 30080", "nodePort: 31999", 1))
    b.wait_until(lambda: "31999" in b.value("#rules-node8"), "the sync", 20)
    b.wait_until(lambda: b.exists(".notice"), "its notice", 5)
    check("a cluster change that takes away a rule the learner wrote says so",
          "1 rule on node8 you wrote in them is gone" in b.text(".notice") and mine not in b.value("#rules-node8"), b.text(".notice"))
    b.click("#undo")
    b.wait_until(lambda: mine in b.value("#rules-node8"), "the undo", 20)
    check("…and Undo brings it back with the objects", "nodePort: 30080" in b.value("#cluster-yaml"), "")

    # Tab goes through the panels as they are read, row by row, in every
    # layout: the page holds them in that order and the grid places them so.
    panels = ("return [...document.querySelectorAll('.workspace > section')].map(p => {"
              " const r = p.getBoundingClientRect();"
              " return [p.className.match(/(send|topo|detail|events)-panel/)[1], Math.round(r.top), Math.round(r.left)]; })")
    for query, width, want in [("", 1440, "send topo detail events"), ("", 1000, "send topo detail events"),
                               ("", 700, "send topo detail events"), ("?embed=1", 1000, "topo detail events send"),
                               ("?embed=1", 600, "topo detail events send")]:
        b.set_size(width, 1000)
        fresh(b, base + query)
        got = b.js(panels)
        read = " ".join(p[0] for p in sorted(got, key=lambda p: (p[1], p[2])))
        check(f"at {width} px{' embedded' if query else ''} the panels are tabbed through as they are read: {want}",
              " ".join(p[0] for p in got) == want and read == want, got)

    # A narrow page (a phone, a projector zoomed in): the step buttons stay
    # at the window's bottom; a packet sent is brought into view, and the
    # page follows it as it steps.
    b.set_size(700, 700)
    fresh(b, base + "?scenario=article")
    check("a narrow page opens at its top, the send form first", b.js("return scrollY") == 0, b.js("return scrollY"))
    in_view = ("const g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
               "const c = document.querySelector('.step-controls').getBoundingClientRect();"
               "return [c.bottom >= innerHeight - 2 && c.top > innerHeight / 2, g.top >= 0 && g.bottom <= c.top, Math.round(g.top), Math.round(c.top)]")
    b.js("document.querySelector('#send-button').scrollIntoView({block: 'end'}); document.querySelector('#send-button').click()")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the packet sent")
    time.sleep(0.3)
    sent = b.js(in_view)
    for _ in range(21):
        b.click("#step-forward")
    b.wait_until(lambda: "22 of" in b.text(".step-position"), "the DNAT step")
    time.sleep(0.3)
    stepped = b.js(in_view)
    check("a narrow page keeps the step buttons at the window's bottom, brings a packet sent into view above them, and follows it to the DNAT",
          sent[0] and sent[1] and stepped[0] and stepped[1] and "DNAT" in b.text(".step-caption"), f"{sent} {stepped} {b.text('.step-caption')!r}")
    # The picture is a keyboard stop: from there the arrows step.
    b.js("window.scrollTo(0, 0); document.querySelector('.topo-scroll').focus()")
    b.keys([KEY_RIGHT])
    b.wait_until(lambda: "23 of" in b.text(".step-position"), "a step from the picture")
    time.sleep(0.3)
    keyed = b.js(in_view)
    check("the picture takes the keyboard's focus, and the right arrow steps there with the packet in view", keyed[1], keyed)
    b.screenshot(os.path.join(SHOTS, "e2e-narrow-700.png"))
    # From the top of the page (the send form), a step brings the packet
    # into view; from the headers under the picture, the page stays.
    b.js("document.activeElement.blur(); window.scrollTo(0, 0)")
    hidden_at_top = not b.js(in_view)[1]
    b.click("#step-back")
    time.sleep(0.3)
    from_top = b.js(in_view)
    from_top[1] = from_top[1] and hidden_at_top and b.js("return scrollY") > 0
    b.js("document.querySelector('#headers').scrollIntoView({block: 'start'})")
    reading = b.js("return scrollY")
    b.click("#step-forward")
    time.sleep(0.3)
    check("a narrow page's step brings the packet into view from the send form, and leaves the learner reading the headers there",
          from_top[1] and b.js("return scrollY") == reading, f"{from_top} {reading} -> {b.js('return scrollY')}")
    # A link opened there shows its step's packet.
    b.click("#copy-link")
    b.wait("#link-text")
    narrow_link = b.value("#link-text")
    b.keys(["\ue00c"])
    fresh(b, narrow_link)
    time.sleep(0.5)
    opened = b.js(in_view) + [b.js("return scrollY")]
    check("a link opened on a narrow page shows its step's packet above the step bar", opened[0] and opened[1] and opened[-1] > 0 and "23 of" in b.text(".step-position"),
          f"{opened} {b.text('.step-position')!r}")
    # A phone: the bar takes more of a shorter window; stepping with its
    # buttons keeps the packet in view at every step (it once was followed
    # only at the first).
    b.set_size(420, 860)
    fresh(b, base + "?scenario=article")
    b.click("#step-first")
    followed = []
    for _ in range(10):
        b.click("#step-forward")
        time.sleep(0.15)
        followed.append(b.js(in_view)[1])
    check("on a phone the bar's ▶ keeps the packet in view at each step", all(followed), followed)
    # The headers and Why are far below the picture there: the bar's
    # "Why ↓" brings the DNAT step's NAT line and Why above the bar.
    step_until(b, lambda: b.exists(".nat-line"), "the DNAT step")
    b.screenshot(os.path.join(SHOTS, "e2e-phone-dnat.png"))
    b.click("#bar-why")
    time.sleep(0.3)
    seen = b.js("const bar = document.querySelector('.step-controls').getBoundingClientRect();"
                " const n = document.querySelector('.nat-line').getBoundingClientRect();"
                " const w = document.querySelector('#step-why .explain').getBoundingClientRect();"
                " return [n.top >= 0, n.bottom < bar.top, w.top < bar.top - 40, document.activeElement.id]")
    check("on a phone the bar's \"Why ↓\" brings the NAT line and Why above the bar", seen == [True, True, True, "step-why"], seen)
    b.click("#step-first")
    shown = b.js("const w = document.getElementById('bar-why'); return [getComputedStyle(w).display, document.querySelector('#step-why').textContent.trim().length]")
    check("…and it is not there at a step without an explanation (the socket's send)", shown == ["none", 0], shown)
    b.screenshot(os.path.join(SHOTS, "e2e-phone-why.png"))
    b.set_size(700, 700)
    # Wider (the send form a band above the picture), Send moves the page
    # only for a packet out of sight: the form's buttons stay put.
    # (At 680 px high the panel's buttons reach the window's bottom edge,
    # where they were once taken for the narrow layout's bar.)
    b.set_size(1024, 680)
    fresh(b, base + "?scenario=article")
    # (The page opens at its top, the packet just under the window's foot:
    # the learner scrolls it into sight.)
    b.js("document.querySelector('.topo-marker .topo-glyph').scrollIntoView({block: 'center'})")
    time.sleep(0.3)
    shown = ("const g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
             "return g.bottom > 0 && g.top < innerHeight")
    was, visible = b.js("return scrollY"), b.js(shown)
    b.js("document.querySelector('#send-button').click()")
    b.wait_until(lambda: len(b.find_all(".history-item")) == 2, "the packet sent")
    time.sleep(0.3)
    check("at 1024×680 a packet sent with the packet in sight does not scroll the page",
          visible and b.js("return scrollY") == was, f"{visible} {was} -> {b.js('return scrollY')}")

    # 6. Embed mode, 600 px wide.
    b.set_size(600, 1000)
    fresh(b, base + "?embed=1")
    check("embed mode has no editors", not b.exists("#editors"))
    fresh(b, base + "?embed=1&editors=1")
    check("an embed with its editors says that edits there are not saved",
          b.exists("#editors") and "not saved" in b.text(".embed-unsaved"))
    fresh(b, base + "?embed=1")
    width = b.js("return document.documentElement.scrollWidth")
    check("embed mode fits 600 px without a horizontal scroll bar", width <= 600, f"scrollWidth {width}")
    b.js("window.scrollTo(0, 0)")
    at = b.text(".step-position")
    b.click("#step-forward")
    bar = b.js("const r = document.querySelector('#step-forward').getBoundingClientRect();"
               "const g = document.querySelector('.topo-marker .topo-glyph').getBoundingClientRect();"
               "const c = document.querySelector('.step-controls').getBoundingClientRect();"
               "return [r.top > innerHeight / 2, r.bottom <= innerHeight, g.top >= 0 && g.bottom <= c.top, scrollY]")
    check("a narrow embed keeps the step buttons at the bottom of the frame, and the packet in view above them",
          bar[0] and bar[1] and bar[2] and b.text(".step-position") != at, f"{bar} {at!r}")
    caption = b.text(".step-caption")
    check("…and the step itself in a line above them (the detail panel is below the picture there)",
          caption.startswith("client · routing: output lookup for 10.96.100.10"), caption)
    # The bar is the step's line and one row of buttons, and the page's
    # end is not under it: the last packet can be clicked.
    b.js("window.scrollTo(0, document.body.scrollHeight)")
    hit = b.js("const r = document.querySelector('.history-item').getBoundingClientRect();"
               "const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
               "return [!!(e && e.closest('.history-item')), document.querySelector('.step-controls').getBoundingClientRect().height]")
    check("at the page's end the step bar (a line and one row) covers no packet", hit[0] and hit[1] < 100, hit)
    b.screenshot(os.path.join(SHOTS, "e2e-embed-600.png"))
    axe(b, "embed mode at 600 px")
    b.js("window.scrollTo(0, 0)")
    b.click("#embed-send")
    sent = b.js("const r = document.querySelector('#send-from').getBoundingClientRect();"
                "return [document.activeElement.id, r.top >= 0 && r.bottom <= document.querySelector('.step-controls').getBoundingClientRect().top]")
    check("an embed's \"Send a packet ↓\" takes the reader to the send form, under the steps, and focuses it", sent == ["send-from", True], sent)
    b.js("document.querySelector('#send-button').click()")
    b.wait_until(lambda: "1 of" in b.text(".step-position") and len(b.find_all(".history-item")) == 2, "the embed's packet sent")
    chips = b.js("return [...document.querySelectorAll('.history-item')].map(e => e.innerText.replace(/\\s+/g, ' ').trim())")
    check("an embed's packets sent say which packet each is (TCP SYN), not only their verdict",
          len(chips) == 2 and all("TCP SYN" in c for c in chips), chips)
    time.sleep(0.3)
    back = b.js(in_view)
    check("…and a packet sent there is brought into view on the picture, above the step bar", back[0] and back[1], back)
    # In a blog post's frame, the embed scrolls itself, never the post.
    b.js("document.open(); document.write('<body style=\"margin:0\"><p style=\"height:900px\">The post.</p>"
         "<iframe id=\"pw\" src=\"/?embed=1\" width=\"600\" height=\"600\"></iframe><p style=\"height:2000px\">More of it.</p></body>'); document.close()")
    b.js("document.getElementById('pw').scrollIntoView()")
    post = b.js("return scrollY")
    b.cmd("POST", "/frame", {"id": 0})
    b.wait("#verdict", 20)
    b.js("document.getElementById('embed-send').click()")
    time.sleep(0.3)
    inside = b.js("return [scrollY > 0, document.activeElement.id]")
    b.cmd("POST", "/frame/parent", {})
    check("…and, framed in a post, scrolls its own page to the form, not the post around it",
          inside == [True, "send-from"] and b.js("return scrollY") == post, [post, b.js("return scrollY"), inside])
    fresh(b, base + "?embed=1&scenario=calico-ipip#v2.AAAA")
    bar = b.js("const c = document.querySelector('.step-controls'); return [c.scrollWidth, c.clientWidth, document.querySelector('.step-position').textContent]")
    check("a narrow embed's step bar holds a three-digit step count without scrolling", bar[0] <= bar[1], bar)
    b.js("document.getElementById('show-conntrack').scrollIntoView({block: 'center'})")
    b.click("#show-conntrack")
    bar = b.js("const c = document.querySelector('.step-controls'); const s = document.querySelector('.shown-count').getBoundingClientRect();"
               "return [c.scrollWidth, c.clientWidth, document.querySelector('.step-position').textContent, s.width > 20]")
    check("…and, with a step filter off, the count of steps shown, visible, without scrolling", bar[0] <= bar[1] and "shown" in bar[2] and bar[3], bar)
    check("an embed whose link is damaged shows the scenario it names, and says why",
          "Calico IPIP" in b.text(".embed-title") and "embedded view could not be opened" in b.text(".notice-error"),
          f"{b.text('.embed-title')!r}: {b.text('.notice-error')[:120]!r}")
    fresh(b, base + "?embed=1&scenario=nosuch")
    check("an address naming no built-in scenario says so, and shows the article's",
          'There is no built-in scenario "nosuch"' in b.text(".notice-error") and "article" in b.text(".notice-error"),
          b.text(".notice-error")[:160] if b.exists(".notice-error") else "no notice")
    b.set_size(1440, 1400)


def owner_uid(b, base):
    """A host whose rules test the sending program (-m owner, as Istio's
    sidecar does): the send form asks for its uid, and the uid decides."""
    fresh(b, base + "/?scenario=article")
    check("the send form asks for no uid while no rule tests one", not b.exists("#send-uid"))
    b.wait("#rules-node8-cmd")
    b.type("#rules-node8-cmd", "-I OUTPUT 1 -p tcp -m owner ! --uid-owner 1337 -j REJECT\ue007")
    b.wait_until(lambda: "-m owner" in b.value("#rules-node8"), "the owner rule to apply", 10)
    b.select("#send-from", "node8")
    b.wait("#send-uid")
    b.clear("#send-to")
    b.type("#send-to", "ms-test/flask-ui")
    b.click("#send-button")
    b.wait_until(lambda: "#2" in b.text(".history-item.selected"), "the root program's packet")
    refused = b.text("#verdict")
    b.clear("#send-uid")
    b.type("#send-uid", "1337")
    b.click("#send-button")
    b.wait_until(lambda: "#3" in b.text(".history-item.selected"), "the proxy's packet")
    check("with an owner rule on node8 the form asks for the uid: uid 0 is refused, the proxy's uid 1337 goes through",
          "Delivered" not in refused and "Delivered" in b.text("#verdict") and "uid 1337" in b.text(".history-item.selected"),
          f"{refused!r} / {b.text('#verdict')!r} / {b.text('.history-item.selected')!r}")
    b.screenshot(os.path.join(SHOTS, "e2e-owner-uid.png"))


def at_1366(base):
    """A laptop's 1366 px: the route -n table's Iface column in sight. And
    a reader who set a 24 px default font, on a 1366 px screen: the
    layout takes it as a narrower window (em breakpoints), and the picture
    keeps its text readable (in px breakpoints, the side columns grew with
    the font and squeezed the picture's text to about 7 px)."""
    laptop = Browser(1366, 768)
    try:
        laptop.get(base + "?scenario=article")
        laptop.wait("#verdict", 20)
        laptop.js("[...document.querySelectorAll('#editors .tab')].find(t => t.textContent.includes('route -n')).click()")
        laptop.wait(".route-n")
        seen = laptop.js("""const box = document.querySelector('[aria-label="route -n"]').getBoundingClientRect();
            const iface = [...document.querySelectorAll('.route-n th')].pop().getBoundingClientRect();
            return [Math.round(box.right), Math.round(iface.right), document.querySelector('[aria-label="route -n"]').scrollWidth > box.width]""")
        check("at 1366 px the route -n table keeps its Iface column in sight while the columns before it scroll",
              seen[2] and seen[1] <= seen[0], seen)
    finally:
        laptop.quit()
    big = Browser(1366, 768, prefs={"webkit": {"webprefs": {"default_font_size": 24}}})
    try:
        big.get(base + "?scenario=article")
        big.wait("#verdict", 20)
        label, areas = big.js("""const t = [...document.querySelectorAll('.topo text')].find(t => t.textContent.includes('node8'));
            return [t.getBoundingClientRect().height, getComputedStyle(document.querySelector('.workspace')).gridTemplateAreas]""")
        check("with a 24 px default font at 1366 px, the picture's text stays readable (node8's label at least 14 px tall)",
              label >= 14, f"{label} px, areas {areas}")
        big.screenshot(os.path.join(SHOTS, "e2e-font-24px-1366.png"))
    finally:
        big.quit()


def without_generator(b, dist):
    """7. The page when packetwalk-cluster.js cannot be fetched."""
    copy = os.path.join(tempfile.mkdtemp(), "dist")
    shutil.copytree(dist, copy, ignore=shutil.ignore_patterns("packetwalk-cluster*"))
    with serve(copy, free_port()) as base:
        fresh(b, base + "?scenario=calico-ipip")
        notice = b.text(".notice-error")
        check("without the generator a cluster scenario's URL says why and shows the article's scenario",
              "could not be loaded" in notice and "Delivered" in b.text("#verdict") and not b.exists("#cluster-yaml"),
              repr(notice))
        b.screenshot(os.path.join(SHOTS, "e2e-no-generator.png"))
        b.select("#scenario-picker", "flannel-vxlan")
        b.wait_until(lambda: "could not be loaded" in b.text(".notice-error"), "the picker's failure")
        check("without the generator the picker says why and keeps the scenario shown",
              not b.exists("#cluster-yaml") and "Delivered" in b.text("#verdict"))
    shutil.rmtree(os.path.dirname(copy))


def without_page_module(b, dist):
    """8. The page when its own wasm module cannot be fetched: the loading
    line turns into a message that says so (not a page left loading)."""
    copy = os.path.join(tempfile.mkdtemp(), "dist")
    shutil.copytree(dist, copy, ignore=shutil.ignore_patterns("packetwalk-*_bg.wasm"))
    with serve(copy, free_port()) as base:
        b.get("about:blank")
        b.get(base + "?scenario=article")
        b.wait_until(lambda: "could not start" in b.text("#page-loading"), "the start-up failure", 20)
        text = b.text("#page-loading")
        check("without its wasm module the page says it could not start, naming the file",
              "_bg.wasm" in text and "404" in text and "Reload the page" in text
              and b.js("return document.getElementById('page-loading').getAttribute('role')") == "alert",
              repr(text))
        b.screenshot(os.path.join(SHOTS, "e2e-no-page-module.png"))
    shutil.rmtree(os.path.dirname(copy))


if __name__ == "__main__":
    sys.exit(main())
