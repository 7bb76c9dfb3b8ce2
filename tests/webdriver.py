"""A small W3C WebDriver client for chromedriver, standard library only.

The page's end-to-end test (tests/e2e.py) and the browser benchmark
(scripts/bench_page.py) drive headless Chromium through it. It also serves
a built dist/ directory on 127.0.0.1 for them.
"""

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(Exception):
    pass


@contextlib.contextmanager
def serve(directory, port):
    """Serves `directory` on 127.0.0.1:port in a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=directory)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def find_chromium():
    for c in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if c and shutil.which(c):
            return shutil.which(c)
    raise WebDriverError("no chromium on PATH (apt-get install chromium)")


class Browser:
    """One chromedriver process and one headless Chromium session."""

    def __init__(self, width=1440, height=1000, prefs=None):
        """`prefs`: Chromium's preferences, as a reader's settings (its
        default font size: {"webkit": {"webprefs": {"default_font_size": 24}}})."""
        driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
        if not driver:
            raise WebDriverError("no chromedriver on PATH (apt-get install chromium-driver)")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [driver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self._req("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError, WebDriverError):
                time.sleep(0.1)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": find_chromium(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-background-networking",
                            f"--window-size={width},{height}",
                        ],
                        "prefs": prefs or {},
                    },
                }
            }
        }
        r = self._req("POST", "/session", caps)
        self.session = r["sessionId"]

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                out = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            msg = json.loads(e.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {msg.get('error')}: {msg.get('message', '')[:300]}")
        return out.get("value", out) if path != "/session" else out["value"]

    def cmd(self, method, path, body=None):
        return self._req(method, f"/session/{self.session}{path}", body)

    def quit(self):
        with contextlib.suppress(Exception):
            self.cmd("DELETE", "")
        self.proc.terminate()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)

    # Navigation and scripts
    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        """Runs `script`; it calls arguments[arguments.length - 1] with the result."""
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def set_size(self, width, height):
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)

    # Elements
    def find(self, css):
        r = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return r[ELEMENT]

    def find_all(self, css):
        r = self.cmd("POST", "/elements", {"using": "css selector", "value": css})
        return [e[ELEMENT] for e in r]

    def click(self, css):
        # As a user would, first brings the control clear of what floats
        # over the window's edges (the page's notice, a phone's step bar:
        # the root's scroll padding keeps their room), then clicks it.
        el = self.find(css)
        self.js("arguments[0].scrollIntoView({block: 'nearest'})", {ELEMENT: el})
        self.cmd("POST", f"/element/{el}/click", {})

    def text(self, css):
        return self.cmd("GET", f"/element/{self.find(css)}/text")

    def clear(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/clear", {})

    def type(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def value(self, css):
        return self.cmd("GET", f"/element/{self.find(css)}/property/value")

    def select(self, css, value):
        """Chooses an option of a <select> by value, as a user would."""
        el = self.find(css)
        opt = self.cmd(
            "POST", f"/element/{el}/element", {"using": "css selector", "value": f"option[value='{value}']"}
        )[ELEMENT]
        self.cmd("POST", f"/element/{opt}/click", {})

    def keys(self, keys):
        """Sends key presses to the focused element (W3C actions)."""
        actions = []
        for k in keys:
            actions += [{"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": actions}]})

    def exists(self, css):
        return bool(self.find_all(css))

    def wait(self, css, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.exists(css):
                return
            time.sleep(0.05)
        raise WebDriverError(f"timed out waiting for {css}")

    def wait_until(self, fn, what, timeout=10.0):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = fn()
                if last:
                    return last
            except WebDriverError as e:
                last = e
            time.sleep(0.05)
        raise WebDriverError(f"timed out waiting for {what} (last: {last!r})")


KEY_RIGHT = "\ue014"
KEY_LEFT = "\ue012"
KEY_HOME = "\ue011"
KEY_END = "\ue010"
