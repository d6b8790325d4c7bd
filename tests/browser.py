"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages
ended by NUL on file descriptors 3 and 4), so a test can send the API key as a header, run script in the
page and print it, with no websocket client and no port of its own."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class Chromium:
    def __init__(self, profile: Path, timeout: float = 10.0) -> None:
        binary = shutil.which("chromium")
        assert binary, "chromium is not installed: apt-get install -y chromium (.ci/run does)"
        self.timeout = timeout
        # above 9 so that bash can move them to 3 and 4 without closing what it moves
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()
        a, b = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser))
        for fd in (to_browser, from_browser):
            os.close(fd)
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{a} 4>&{b} {a}<&- {b}>&-', "bash", binary, *FLAGS]
            + [f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(a, b),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(a)
        os.close(b)
        self._buf, self._id, self._events = b"", 0, []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self._id:
                assert "error" not in m, f"{method}: {m['error']}"
                return m["result"]
            self._events.append(m)

    def event(self, method: str, session: str, where: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first event `method` of the page `session` whose params hold `where`."""

        def match(m: dict[str, Any]) -> bool:
            params = m.get("params", {})
            return (
                m.get("method") == method
                and m.get("sessionId") == session
                and all(params.get(k) == v for k, v in (where or {}).items())
            )

        for i, m in enumerate(self._events):
            if match(m):
                return self._events.pop(i)["params"]
        while True:
            m = self._read()
            if match(m):
                return m["params"]
            self._events.append(m)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError(f"chromium answered nothing in {self.timeout} s")
            chunk = os.read(self._in, 1 << 16)
            assert chunk, f"chromium exited ({self.proc.poll()})"
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str, headers: dict[str, str] | None = None) -> Page:
        """A new tab that sends `headers` with every request, loaded with `url`."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        self.send("Network.setExtraHTTPHeaders", {"headers": headers or {}}, session=session)
        self.send("Emulation.setDeviceMetricsOverride", PAGE_SIZE, session=session)
        page.go(url)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=5)
        finally:
            os.close(self._out)
            os.close(self._in)


PAGE_SIZE = {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session, self.status = browser, session, 0

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, session=self.session)

    def go(self, url: str) -> None:
        """Load `url` and wait for its load event; `status` is the document's HTTP status."""
        nav = self.call("Page.navigate", {"url": url})
        assert not nav.get("errorText"), f"{url}: {nav['errorText']}"
        response = self.browser.event("Network.responseReceived", self.session, {"type": "Document"})
        self.status = response["response"]["status"]
        self.browser.event("Page.loadEventFired", self.session)

    def reload(self) -> None:
        self.go(self.evaluate("location.href"))

    def evaluate(self, expression: str) -> Any:
        """The value of a script expression in the page (promises awaited)."""
        options = {"returnByValue": True, "awaitPromise": True}
        r = self.call("Runtime.evaluate", {"expression": expression, **options})
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def wait_for(self, condition: str, seconds: float = 8.0) -> bool:
        """Whether the script `condition` turns true within `seconds` (polled in the page)."""
        return self.evaluate(
            f"new Promise(done => {{ const start = Date.now(); const poll = () => ({condition}) ? done(true)"
            f" : Date.now() - start > {seconds * 1000:.0f} ? done(false) : setTimeout(poll, 50); poll(); }})"
        )

    def type(self, text: str) -> None:
        """Type `text` into the focused field, as a person would (the page's own input events fire)."""
        self.call("Input.insertText", {"text": text})

    def screenshot(self) -> bytes:
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        return base64.b64decode(shot["data"])

    def pdf(self) -> bytes:
        return base64.b64decode(self.call("Page.printToPDF", {"printBackground": True})["data"])
