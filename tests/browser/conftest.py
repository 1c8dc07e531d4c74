"""Fixtures for the browser tests of `stylize serve`.

Environment (scripts/test-browser sets them):
  STYLIZE_BIN          the stylize binary
  STYLIZE_HED_WEIGHTS  the VGG16 (HED) weights file
  CHROMIUM_PATH        a system Chromium / chromium-headless-shell
Optional:
  STYLIZE_SERVE_ASSETS a folder with index.html, app.js and style.css that the
                       browser gets instead of the binary's embedded copies (to
                       try page changes without rebuilding the binary). Purely
                       test-side: Playwright intercepts the page's requests for
                       /, /app.js and /style.css (context.route) and answers
                       them from the folder; the server never sees them and
                       knows nothing of this variable. test_binary_serves_these_assets
                       is skipped then. Leave it unset in CI.
"""

import json
import os
import pathlib
import select
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[2]
IMAGES = REPO / "assets" / "images"
PHOTO = IMAGES / "chelsea.jpg"
STYLE = IMAGES / "starry_night.jpg"

STARTUP_TIMEOUT_S = 180


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set (run the tests through scripts/test-browser)", returncode=2)
    return value


class Server:
    """A running `stylize serve` on a free port, with a small HTTP client."""

    def __init__(self, log_path, extra_args=(), port=0):
        self.log_path = log_path
        self.log = open(log_path, "w")
        args = [
            _env("STYLIZE_BIN"), "serve", "--port", str(port),
            "--preview-interval-ms", "200", *extra_args,
        ]
        # Its jobs folder in the test's own temporary folder, not the
        # system's: one a server leaves (killed, or stopped with a job it
        # could not end in time) goes with the test's. The weights found
        # through the environment, not --weights: the jobs' commands name
        # them all the same (a test checks).
        env = {
            **os.environ,
            "TMPDIR": str(pathlib.Path(log_path).parent),
            "STYLIZE_WEIGHTS": _env("STYLIZE_HED_WEIGHTS"),
        }
        self.proc = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, text=True,
            env=env,
        )
        self.url = self._read_url()
        self.origin = self.url.rstrip("/")
        # Keep reading stdout so the server never blocks on a full pipe.
        self._drain = threading.Thread(target=self._copy_stdout, daemon=True)
        self._drain.start()

    def _read_url(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        prefix = "stylize serve: listening on "
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stylize serve exited with {self.proc.returncode} before listening:\n{self.log_tail()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                continue
            line = line.strip()
            assert line.startswith(prefix), f"first stdout line is {line!r}, expected {prefix!r}..."
            url = line[len(prefix):]
            assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
            self.port = int(url.rstrip("/").rsplit(":", 1)[1])
            return url
        self.proc.kill()
        raise RuntimeError(f"stylize serve printed no URL in {STARTUP_TIMEOUT_S} s:\n{self.log_tail()}")

    def _copy_stdout(self):
        for line in self.proc.stdout:
            self.log.write("[stdout] " + line)
            self.log.flush()

    def log_tail(self, n=40):
        self.log.flush()
        try:
            return "".join(pathlib.Path(self.log_path).read_text(errors="replace").splitlines(True)[-n:])
        except OSError:
            return ""

    # ---------------------------------------------------------------- HTTP
    def request(self, method, path, body=None, headers=None, expect=None):
        data = None
        hdrs = {"Origin": self.origin}
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, bytes):
            data = body
        hdrs.update(headers or {})
        req = urllib.request.Request(self.origin + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        if expect is not None:
            assert status == expect, f"{method} {path}: HTTP {status} {raw[:300]!r}"
        if "json" in ctype and raw:
            return status, json.loads(raw)
        return status, raw

    def get_json(self, path):
        return self.request("GET", path, expect=200)[1]

    def jobs(self):
        return self.get_json("/api/jobs")

    def job(self, job_id):
        return self.get_json(f"/api/jobs/{job_id}")

    def submit(self, settings, content=PHOTO, styles=(STYLE,), builtins=()):
        """POST /api/jobs as multipart; returns (status, body)."""
        boundary = uuid.uuid4().hex
        parts = []

        def part(name, value, filename=None, ctype=None):
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            if filename:
                head += f'; filename="{filename}"'
            head += "\r\n"
            if ctype:
                head += f"Content-Type: {ctype}\r\n"
            parts.append(head.encode() + b"\r\n" + value + b"\r\n")

        part("content", pathlib.Path(content).read_bytes(), pathlib.Path(content).name, "image/jpeg")
        for s in styles:
            part("style", pathlib.Path(s).read_bytes(), pathlib.Path(s).name, "image/jpeg")
        for b in builtins:
            part("builtin", b.encode())
        part("settings", json.dumps(settings).encode())
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", "/api/jobs", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def wait_job(self, job_id, states, timeout=180):
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not reach {states} in {timeout} s; last: {job}")

    def settle(self, timeout=120):
        """Removes queued jobs, cancels the running one and waits until none runs."""
        for job in self.jobs():
            if job["state"] == "queued":
                status, _ = self.request("DELETE", f"/api/jobs/{job['id']}")
                if status != 204:  # it started meanwhile
                    self.request("POST", f"/api/jobs/{job['id']}/cancel")
            elif job["state"] == "running":
                self.request("POST", f"/api/jobs/{job['id']}/cancel")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(j["state"] in ("queued", "running") for j in self.jobs()):
                return
            time.sleep(0.2)
        raise AssertionError("the server did not become idle")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._drain.join(timeout=5)
        self.log.close()
        assert self.proc.poll() is not None, "stylize serve is still running"
        return self.proc.returncode


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # A memory limit of its own, so that the refusal test does not depend on the machine;
    # an output folder, where finished results are also written (`srv.kept`).
    folder = tmp_path_factory.mktemp("serve")
    kept = folder / "kept"
    srv = Server(folder / "server.log", extra_args=("--max-memory", "8G", "--output-dir", str(kept)))
    srv.kept = kept
    yield srv
    srv.stop()


@pytest.fixture()
def fresh_server(tmp_path):
    """A server of the test's own (an empty history)."""
    srv = Server(tmp_path / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    path = _env("CHROMIUM_PATH")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True)
        yield b
        b.close()


def _route_assets(context):
    folder = os.environ.get("STYLIZE_SERVE_ASSETS")
    if not folder:
        return
    folder = pathlib.Path(folder)
    types = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
             "style.css": "text/css; charset=utf-8"}

    def handler(route):
        path = urllib.parse.urlparse(route.request.url).path
        name = "index.html" if path == "/" else path.lstrip("/")
        route.fulfill(status=200, body=(folder / name).read_bytes(), headers={"Content-Type": types[name]})

    context.route(lambda url: urllib.parse.urlparse(url).path in ("/", "/app.js", "/style.css"), handler)


class PageWatch:
    """Page errors and preview requests of one page."""

    def __init__(self, page):
        self.errors = []
        self.preview_inflight = 0
        self.preview_max_inflight = 0
        self.preview_requests = 0
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)

    def _console(self, msg):
        if msg.type == "error":
            text = msg.text
            # Failed loads are reported by the tests themselves (e.g. the expected 415).
            if "Failed to load resource" not in text:
                self.errors.append(f"console: {text}")

    @staticmethod
    def _is_preview(req):
        return "/preview" in req.url

    def _request(self, req):
        if self._is_preview(req):
            self.preview_requests += 1
            self.preview_inflight += 1
            self.preview_max_inflight = max(self.preview_max_inflight, self.preview_inflight)

    def _finished(self, req):
        if self._is_preview(req):
            self.preview_inflight -= 1


def open_page(browser, srv, **context_args):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, **context_args)
    _route_assets(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page)
    page.goto(srv.url)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#connection[data-state=live]")
    return context, page, watch


@pytest.fixture()
def page_for(browser):
    """Opens the page of a given server; closes it and checks for script errors at the end."""
    opened = []

    def opener(srv, **context_args):
        context, page, watch = open_page(browser, srv, **context_args)
        opened.append((context, watch, srv))
        page.watch = watch
        return page

    yield opener
    for context, watch, srv in opened:
        context.close()
        if srv.proc.poll() is None:
            srv.settle()
        assert not watch.errors, "\n".join(watch.errors)


@pytest.fixture()
def page(page_for, server):
    server.settle()
    return page_for(server)
