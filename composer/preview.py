"""Preview an issue as readers will see it: a local page with the email at 600 px and 375 px side by side,
re-rendered whenever the draft file changes, or PNG screenshots at both widths by headless Chromium.

The server listens on 127.0.0.1 only. Chromium runs with no network of its own (background networking,
component updates and sync off) and a throw-away profile.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from composer.config import Settings
from composer.draft import read_draft
from composer.errors import WeeklyError
from composer.issues import DRAFT, EMAIL, IssueFolder
from composer.render import render
from composer.render.strings import strings_for

WIDTHS = (600, 375)
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>weekly preview</title>
<style>body{{margin:0;background:#d9dee3;font-family:sans-serif}}main{{display:flex;gap:24px;padding:16px;
align-items:flex-start}}figure{{margin:0}}figcaption{{font-size:13px;color:#333;margin-bottom:6px}}
iframe{{border:0;background:#fff;height:calc(100vh - 60px);box-shadow:0 1px 4px #0003}}</style></head><body><main>
{frames}</main><script>let seen=null;setInterval(async()=>{{const v=await (await fetch('/version')).text();
if(seen!==null&&v!==seen)document.querySelectorAll('iframe').forEach(f=>f.contentWindow.location.reload());
seen=v}},1000)</script></body></html>"""


class _Source:
    """The email to show: re-rendered from a draft file when it changes, or read from a built issue's folder
    that has no draft."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.settings = settings
        built = IssueFolder(path)
        self.draft = path if path.is_file() else built.draft_path
        self.built = None if self.draft.is_file() else built
        if self.built and not self.built.has(EMAIL):
            raise WeeklyError(f"{path}: neither a draft file nor a folder with {DRAFT} or {EMAIL}")
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._html = ""

    def version(self) -> str:
        watched = self.draft if self.built is None else self.built.path / EMAIL
        return str(watched.stat().st_mtime_ns)

    def html(self) -> str:
        if self.built is not None:
            return self.built.html
        with self._lock:
            mtime = self.draft.stat().st_mtime
            if mtime != self._mtime:
                try:
                    self._html = render(read_draft(self.draft), self.settings.brand, strings_for(self.settings.issue)).html
                except WeeklyError as err:  # an editor mid-edit: show why instead of failing
                    self._html = f"<pre style='padding:2em;color:#b00'>{escape(str(err))}</pre>"
                self._mtime = mtime
            return self._html


def preview_server(path: Path, port: int, settings: Settings) -> ThreadingHTTPServer:
    """A server for the preview of `path` on 127.0.0.1:`port` (0 picks a free port); call serve_forever()."""
    source = _Source(path, settings)
    frames = "".join(
        f'<figure><figcaption>{width} px</figcaption><iframe src="/email" style="width:{width}px"></iframe></figure>'
        for width in WIDTHS
    )
    page = _PAGE.format(frames=frames)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes = {"/": page, "/email": None, "/version": None}
            if self.path not in routes:
                self.send_error(404)
                return
            body = page if self.path == "/" else source.html() if self.path == "/email" else source.version()
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if self.path == "/version" else "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    try:
        return ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as err:
        raise WeeklyError(f"127.0.0.1:{port}: cannot listen: {err.strerror or err}") from err


# What makes headless Chromium report prefers-color-scheme: dark, as Apple Mail and Outlook's apps do.
DARK_FLAGS = ("--force-dark-mode", "--blink-settings=preferredColorScheme=0")


def screenshots(path: Path, out_dir: Path, settings: Settings, height: int = 1600, dark: bool = False) -> list[Path]:
    """PNG screenshots of the email at 600 and 375 px wide, `height` px tall, into `out_dir`
    (preview-600.png, preview-375.png; with `dark`, preview-dark-600.png and preview-dark-375.png)."""
    source = _Source(path, settings)
    browser = chromium()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="weekly-preview-") as work:
        page = Path(work) / "email.html"
        page.write_text(source.html(), encoding="utf-8")
        for width in WIDTHS:
            target = (out_dir / f"preview-{'dark-' if dark else ''}{width}.png").resolve()
            run_chromium(browser, Path(work) / f"profile-{width}", width, height,
                         [*(DARK_FLAGS if dark else ()), f"--screenshot={target}", page.as_uri()])
            if not target.is_file():
                raise WeeklyError(f"{browser}: wrote no screenshot at {width} px")
            written.append(target)
    return written


def chromium() -> str:
    """The headless browser on this machine, or an error saying how to install one."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise WeeklyError("headless Chromium not found; install it (Debian: apt-get install chromium)")


def run_chromium(browser: str, profile: Path, width: int, height: int, arguments: list[str]) -> str:
    """Run headless Chromium once at a window size; returns what it printed on stdout."""
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--window-size={width},{height}", *arguments,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as err:
        raise WeeklyError(f"{browser}: no answer within 120 s") from err
    if done.returncode != 0:
        raise WeeklyError(f"{browser}: exited with {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout

