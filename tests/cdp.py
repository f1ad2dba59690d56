"""A minimal headless-Chromium driver over the DevTools protocol, for tests/test_browser.py.

``Chromium()`` starts ``chromium --headless=new --remote-debugging-port=0`` with a throw-away profile, reads the
port from ``DevToolsActivePort`` and talks to the browser over one websocket (``websocket-client``), with one
flattened session per tab. ``tab.load(path, width)`` opens a local file at a viewport width and records what the
page did while loading: console errors, uncaught exceptions, log errors and every network request.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """The Chromium binary: ``$UBAKIT_CHROMIUM`` or the first of :data:`CANDIDATES` on ``PATH``."""
    env = os.environ.get("UBAKIT_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class CDPError(RuntimeError):
    pass


class Chromium:
    """One headless browser process; ``close()`` ends it (and only it) and removes its profile."""

    def __init__(self, binary: str, *, timeout: float = 30.0):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="ubakit-chromium-")
        args = [
            binary,
            "--headless=new",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "about:blank",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CDPError(f"{binary} did not start its DevTools endpoint within {timeout:.0f} s")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
        self._id = 0
        self.events: dict[str | None, list[dict]] = {}

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60.0) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise CDPError(f"{method}: no answer within {timeout:.0f} s")
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.setdefault(reply.get("sessionId"), []).append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 60.0) -> dict:
        """Wait for the first ``method`` event of ``session`` recorded since the last :meth:`Tab.clear`."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events.get(session, []):
                if ev["method"] == method:
                    return ev
            if time.monotonic() > deadline:
                raise CDPError(f"no {method} within {timeout:.0f} s")
            reply = json.loads(self.ws.recv())
            if "method" in reply:
                self.events.setdefault(reply.get("sessionId"), []).append(reply)

    def tab(self) -> Tab:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Tab(self, session)

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            shutil.rmtree(self.profile, ignore_errors=True)


class Tab:
    def __init__(self, browser: Chromium, session: str):
        self.b, self.session = browser, session
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        return self.b.send(method, params, self.session, timeout)

    def clear(self) -> None:
        self.b.events[self.session] = []

    def eval(self, expression: str):
        """The value of a JavaScript expression (promises awaited); raises on a JavaScript exception."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise CDPError(f"JavaScript error: {res['exceptionDetails']}")
        return res["result"].get("value")

    def viewport(self, width: int, height: int = 900, media: str = "") -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Emulation.setEmulatedMedia", {"media": media})

    def load(self, path: Path, width: int) -> dict:
        """Open ``path`` at ``width`` px; return ``{"requests", "console_errors"}`` seen while it loaded."""
        self.viewport(width)
        self.clear()
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        self.b.wait_event("Page.loadEventFired", self.session)
        self.eval("document.fonts.ready.then(() => new Promise(r => setTimeout(r, 50))).then(() => 1)")
        events = self.b.events.get(self.session, [])
        requests = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
        errors = []
        for e in events:
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                errors.append(
                    "console."
                    + p["type"]
                    + ": "
                    + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                )
            elif e["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append("exception: " + str(d.get("exception", {}).get("description", d.get("text"))))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(f"log ({p['entry'].get('source')}): {p['entry']['text']} {p['entry'].get('url', '')}")
        return {"requests": requests, "console_errors": errors}

    def print_pdf(self) -> bytes:
        """``Page.printToPDF`` on A4 (CSS ``@page`` size wins when the page sets one)."""
        res = self.send(
            "Page.printToPDF",
            {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True, "preferCSSPageSize": True},
            timeout=120,
        )
        return base64.b64decode(res["data"])
