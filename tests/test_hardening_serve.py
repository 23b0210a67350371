"""`weekly serve` holds (issue 19, points 4 to 8), as a real process on 127.0.0.1 (uvicorn): one-clicks in
the RFC's own encoding, never lost while the store is locked (not even if the server is killed), never
rate-limited when valid; resubscribe only by the reader, from the page, in time; bodies, slow headers,
connections, the file limit and the log held within bounds."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import KEY, ROOT, open_test_store, run_weekly
from smtp_server import free_port

from composer.config import load_settings
from composer.deliver.tokens import CONFIRM, COPY, READER, sign, sign_id
from composer.models import Subscriber
from composer.web.routes import routes

pytestmark = pytest.mark.both_backends

PATH = "/newsletter/unsubscribe"
ONE_CLICK = {"content": "List-Unsubscribe=One-Click", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


class WebServer:
    """`weekly serve` in a process of its own, with `settings` as WEEKLY_SERVE__* variables."""

    def __init__(self, tmp_path: Path, nofile: int | None = None, **settings: str) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.nofile = nofile
        self.env = {**os.environ, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_SERVE__ALLOWED_HOSTS": '["127.0.0.1"]',
                    "WEEKLY_SERVE__QUEUE_FILE": str(tmp_path / "queue.jsonl"),
                    "WEEKLY_OUTPUT__DIR": str(tmp_path / "out"), "WEEKLY_STORE__BUSY_TIMEOUT_SECONDS": "1",
                    **{f"WEEKLY_SERVE__{name.upper()}": value for name, value in settings.items()}}
        self.log = tmp_path / f"serve-{self.port}.log"

    def __enter__(self) -> WebServer:
        limit = self.nofile

        def limits() -> None:
            if limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        with self.log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "composer", "serve", "--port", str(self.port)],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            preexec_fn=limits)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
                    return self
            time.sleep(0.05)
        raise AssertionError(f"weekly serve did not start: {self.log.read_text()}")

    def __exit__(self, *exc) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def peak_memory_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])


def _token(email: str) -> str:
    return sign(email, "dw-weekly.dig.watch", KEY.encode())


def _suppressed() -> dict[str, str]:
    with open_test_store() as store:
        return {row.email: row.reason for row in store.suppressions.all()}


def _eventually(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_one_click_posted_as_multipart_form_data_unsubscribes(tmp_path):
    """RFC 8058 §3.2: the POST body SHOULD be multipart/form-data; so it is posted, as a mail provider does."""
    boundary = "----=_Part_1_2025"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n"
            f"--{boundary}--\r\n")
    with WebServer(tmp_path) as web:
        done = web.client.post(f"{PATH}?token={_token('reader@example.org')}", content=body,
                               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert done.status_code == 200 and "You are unsubscribed" in done.text
        assert _eventually(lambda: "reader@example.org" in _suppressed())


class WriteLock:
    """Another process's write lock on the store: SQLite's BEGIN IMMEDIATE, PostgreSQL's LOCK TABLE."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql://")
        if self.postgres:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)
            self.connection.execute("BEGIN")
            self.connection.execute("LOCK TABLE suppressions IN EXCLUSIVE MODE")
        else:
            self.connection = sqlite3.connect(url, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def test_a_one_click_is_never_lost_while_the_store_is_locked(tmp_path, store_url):
    """Another process holds the store's write lock: the one-click still gets 200 (not 500 after the busy
    timeout) and the archive answers; the server is killed before the lock goes; once it is gone and the
    server is back, the unsubscribe is in the store."""
    with open_test_store():
        pass  # the store exists before another process locks it
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("<html>archive</html>")
    with WebServer(tmp_path) as web:
        web.client.get("/")  # the server's connection is open
        lock = WriteLock(store_url)
        try:
            done = web.client.post(f"{PATH}?token={_token('reader@example.org')}", **ONE_CLICK)
            archive = web.client.get("/")
            assert done.status_code == 200 and "You are unsubscribed" in done.text, done.text
            assert archive.status_code == 200
            page = web.client.get(f"{PATH}?token={_token('reader@example.org')}")
            assert "You are unsubscribed" in page.text, "the page forgot the queued unsubscribe"
            web.kill()
        finally:
            lock.release()
    assert '"email": "reader@example.org"' in (tmp_path / "queue.jsonl").read_text()  # it waits there
    with WebServer(tmp_path):
        assert _eventually(lambda: "reader@example.org" in _suppressed()), "the one-click was lost"


def test_valid_one_clicks_are_never_rate_limited_failures_are(tmp_path):
    """rate_per_minute 5: thirty valid one-clicks from one address (a provider's) all get 200; forged
    tokens get 400 five times, then 429; a valid one-click still passes; the archive is limited too."""
    with WebServer(tmp_path, rate_per_minute="5") as web:
        valid = [web.client.post(f"{PATH}?token={_token(f'reader{n}@example.org')}", **ONE_CLICK).status_code
                 for n in range(30)]
        forged = [web.client.post(f"{PATH}?token={_token(f'x{n}@example.org')[:-3]}abc", **ONE_CLICK).status_code
                  for n in range(8)]
        still = web.client.post(f"{PATH}?token={_token('late@example.org')}", **ONE_CLICK).status_code
        archive = web.client.get("/").status_code
        assert _eventually(lambda: len(_suppressed()) == 31)
    assert valid == [200] * 30
    assert forged == [400] * 5 + [429] * 3
    assert still == 200 and archive == 429


def test_resubscribe_undoes_only_the_readers_own_unsubscribe(tmp_path):
    """A complaint and a hard bounce are never undone from the web (not by a bare POST with the link's token,
    nor with a genuine form); the reader's own unsubscription is, from the page's form on our own site and
    before the form expires."""
    from composer.deliver.tokens import RESUBSCRIBE, sign_id
    from composer.serve import _fingerprint

    def form_for(link: str, expires: float) -> dict:
        return {"token": link, "form": sign_id(RESUBSCRIBE, _fingerprint(link), "dw-weekly.dig.watch", KEY.encode(),
                                               expires=expires)}

    with open_test_store() as store:
        store.suppressions.add("complained@example.org", "complaint: abuse")
        store.suppressions.add("bounced@example.org", "hard bounce: 550 5.1.1 no such user")
    resubscribe = "/newsletter/resubscribe"
    reader = _token("reader@example.org")
    with WebServer(tmp_path) as web:
        own_site = {"Origin": f"http://127.0.0.1:{web.port}"}  # as a browser sends it from our page
        bare = web.client.post(f"{resubscribe}?token={_token('complained@example.org')}")
        page = web.client.get(f"{PATH}?token={_token('complained@example.org')}")
        genuine_form = web.client.post(resubscribe, headers=own_site,
                                       data=form_for(_token("bounced@example.org"), time.time() + 3600))
        unsubscribed = web.client.post(f"{PATH}?token={reader}", **ONE_CLICK)
        fields = dict(re.findall(r'name="(token|form)" value="([^"]+)"', unsubscribed.text))
        cross_site = web.client.post(resubscribe, data=fields, headers={"Origin": "https://evil.example.com"})
        other_link = web.client.post(resubscribe, headers=own_site,
                                     data={**fields, "token": _token("bounced@example.org")})
        expired = web.client.post(resubscribe, headers=own_site, data=form_for(reader, time.time() - 60))
        assert _eventually(lambda: "reader@example.org" in _suppressed())
        back = web.client.post(resubscribe, data=fields, headers=own_site)
        assert _eventually(lambda: "reader@example.org" not in _suppressed())
    assert bare.status_code in (400, 403) and page.status_code == 200 and "Resubscribe" not in page.text
    assert genuine_form.status_code == 403 and "Not resubscribed" in genuine_form.text
    assert fields["token"] == reader and "reader" not in fields["form"]
    assert cross_site.status_code == 403 and other_link.status_code == 400 and expired.status_code == 400
    assert back.status_code == 200 and "Welcome back" in back.text
    assert set(_suppressed()) == {"complained@example.org", "bounced@example.org"}


def _big_post(port: int, size: int) -> bytes:
    """A one-click of `size` bytes (declared, valid token), sent in 1 MB pieces until the server answers or
    hangs up; its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        token = _token("reader@example.org")
        connection.sendall(f"POST {PATH}?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/"
                           f"x-www-form-urlencoded\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(size // len(chunk)):
                connection.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: the rest is never read
        try:
            return connection.recv(200)
        except OSError:
            return b""


def test_a_100_mb_post_is_refused_unread(tmp_path):
    """Four 100 MB POSTs at once: 413 for each, and the server's peak memory grows by less than 20 MB (it
    grew by hundreds when the whole body was read)."""
    import concurrent.futures

    with WebServer(tmp_path) as web:
        web.client.get("/")
        before = web.peak_memory_kb()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _big_post(web.port, 100 << 20), range(4)))
        after = web.peak_memory_kb()
        assert web.client.get("/").status_code in (200, 404)
    assert all(answer.startswith(b"HTTP/1.1 413") for answer in answers), answers
    assert after - before < 20 * 1024, f"peak memory grew by {(after - before) // 1024} MB"


def _closed_by_server(connections: list[socket.socket], seconds: float) -> int:
    """How many of `connections` the server closed within `seconds`."""
    deadline = time.monotonic() + seconds
    closed: set[int] = set()
    while time.monotonic() < deadline and len(closed) < len(connections):
        for number, connection in enumerate(connections):
            if number in closed:
                continue
            connection.settimeout(0.01)
            try:
                if connection.recv(1024) == b"":
                    closed.add(number)
            except TimeoutError:
                pass
            except OSError:
                closed.add(number)
        time.sleep(0.05)
    return len(closed)


def test_slow_headers_and_too_many_connections_are_cut_off(tmp_path):
    """header_timeout_seconds 1: connections that never finish their headers are closed by the server;
    max_connections 20: of 60 idle connections, those beyond 20 are closed at once; the server answers
    normally afterwards."""
    with WebServer(tmp_path, header_timeout_seconds="1", max_connections="20") as web:
        slow = [socket.create_connection(("127.0.0.1", web.port)) for _ in range(60)]
        for connection in slow:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            assert _closed_by_server(slow, 20) == 60, "slow-header connections were held open"
        finally:
            for connection in slow:
                connection.close()
        assert web.client.get("/").status_code in (200, 404)
        overflow = [socket.create_connection(("127.0.0.1", web.port)) for _ in range(60)]
        try:
            cut = _closed_by_server(overflow, 0.5)
        finally:
            for connection in overflow:
                connection.close()
    assert cut >= 35, f"only {cut} of the 40 connections over the limit were closed at once"


def test_at_the_file_limit_the_server_and_its_log_hold(tmp_path):
    """The process may open 150 files and 400 clients connect: the connection cap stays under the limit,
    so accept() never fails; the log stays a few lines; the server still answers."""
    with WebServer(tmp_path, nofile=150, header_timeout_seconds="30") as web:
        crowd = []
        for _ in range(400):
            try:
                crowd.append(socket.create_connection(("127.0.0.1", web.port), timeout=5))
            except OSError:
                break
        time.sleep(2)
        for connection in crowd:
            connection.close()
        assert _eventually(lambda: _answers(web), 15), "the server no longer answers"
    log = web.log.read_text()
    assert "Traceback" not in log and len(log) < 5000, log[-3000:]


def _answers(web: WebServer) -> bool:
    try:
        return web.client.get("/").status_code in (200, 404)
    except httpx.HTTPError:
        return False  # still closing the crowd's connections: over the cap, a new one is cut off


def test_a_huge_issue_number_is_not_found_not_an_error(tmp_path):
    """GET /<4400 nines>/: 404, not 500 (int() refuses more than 4300 digits)."""
    with WebServer(tmp_path) as web:
        assert web.client.get("/" + "9" * 4400 + "/").status_code == 404


def test_the_rate_limiter_remembers_a_bounded_number_of_clients():
    """A million distinct clients leave at most MAX_CLIENTS windows in memory; a client within its window
    is still counted."""
    from composer.serve_limits import MAX_CLIENTS, RateLimit

    limiter = RateLimit(per_minute=2)
    for number in range(200_000):
        limiter.allow(f"10.{number >> 16}.{(number >> 8) & 255}.{number & 255}", now=1.0)
    assert len(limiter.seen) <= MAX_CLIENTS
    assert [limiter.allow("192.0.2.1", now=2.0) for _ in range(3)] == [True, True, False]


def test_a_port_in_use_is_one_line_and_nothing_claims_to_serve(tmp_path):
    """`weekly serve` on a port another process holds: one error line naming the address, exit 1, and no
    'serving …' line before it (the socket is bound before anything is announced)."""
    env = {**WebServer(tmp_path).env}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "composer", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr == f"error: 127.0.0.1:{port}: cannot listen: Address already in use\n"
    assert "serving" not in done.stdout


def test_every_page_a_get_answers_answers_head_as_its_get(tmp_path):
    """Each GET route of the app (the sign-up form, a confirmation link, the unsubscribe page, leaving a list, the
    archive, its issues and feed), with a good and a bad token where it takes one: HEAD gets the GET's status and
    no body, and a HEAD on a confirmation link (a link scanner's) confirms nothing."""
    settings = load_settings(ROOT / "config" / "weekly.toml", None)
    for name, text in {"index.html": "<h1>Archive</h1>", "feed.xml": "<feed/>", "210/web.html": "<h1>#210</h1>"}.items():
        (tmp_path / "out" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / name).write_text(text, encoding="utf-8")
    with open_test_store() as store:
        pending = store.subscribers.begin_signup("zoe@example.org", "", "sign-up form", 600)
    confirm = sign_id(CONFIRM, pending, settings.list.id, KEY.encode(), expires=time.time() + 3600)
    tokens = {"/newsletter/confirm": (confirm, "damaged"), PATH: (_token("reader@example.org"), "damaged")}
    pages = [PATH, *(route.path for route in routes(settings, KEY.encode(), None) if "GET" in route.methods)]
    urls = [url for path in pages for url in ([f"{path}?token={token}" for token in tokens[path]] if path in tokens
                                              else [path.replace("{number:issue}", "210")])]
    with WebServer(tmp_path) as web:
        answers = {url: (web.client.get(url), web.client.head(url)) for url in urls}
    assert len(urls) >= 14
    assert {url: get.status_code for url, (get, _) in answers.items() if url.endswith("damaged")} == {
        url: 400 for url in urls if url.endswith("damaged")}
    assert {url for url, (get, _) in answers.items() if get.status_code >= 400} == {
        url for url in urls if url.endswith("damaged")}  # the others are pages, or /newsletter's 301 to /newsletter/
    assert {url: head.status_code for url, (_, head) in answers.items()} == {
        url: get.status_code for url, (get, _) in answers.items()}
    assert all(head.content == b"" for _, head in answers.values())
    with open_test_store() as store:
        assert store.subscribers.get("zoe@example.org").status.value == "unconfirmed"


def test_the_links_of_a_reader_erased_on_request_unsubscribe_as_done(tmp_path):
    """After `weekly subscribers erase`, the reader's own links (a copy's token, a reader's, and one from before
    that names the address) are unsubscribes already done: 200 to a GET and to the one-click in both encodings,
    a forged token still 400; nothing recorded names the address (the store, the queue, the log)."""
    gone = "Gone.Reader@dw-readers.net"
    with open_test_store() as store:
        sid = store.subscribers.add(gone, "Gone Reader", "added by hand").sid
        store.recipients.add(210, [Subscriber(email=gone)])
        (row,) = store.recipients.pending(210)
    tokens = [sign_id(COPY, str(row.id), "dw-weekly.dig.watch", KEY.encode()),
              sign_id(READER, sid, "dw-weekly.dig.watch", KEY.encode()), _token(gone)]
    erased = run_weekly("subscribers", "erase", gone, "--yes", env={**os.environ, "WEEKLY_SIGNING_KEY": KEY})
    assert erased.returncode == 0, erased.stderr
    multipart = {"content": "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n",
                 "headers": {"Content-Type": "multipart/form-data; boundary=b"}}
    with WebServer(tmp_path) as web:
        answers = [answer for token in tokens for answer in (
            web.client.get(f"{PATH}?token={token}"), web.client.post(f"{PATH}?token={token}", **ONE_CLICK),
            web.client.post(f"{PATH}?token={token}", **multipart))]
        forged = web.client.post(f"{PATH}?token={tokens[1][:-4]}AAAA", **ONE_CLICK)
        queued = (tmp_path / "queue.jsonl").read_text()
    assert [answer.status_code for answer in answers] == [200] * 9
    assert all("You are unsubscribed" in answer.text and "gone" not in answer.text.lower() for answer in answers)
    assert forged.status_code == 400
    assert queued == ""
    assert list(_suppressed().values()) == ["erased on request"]
    with open_test_store() as store:
        assert all(rows == [] for rows in store.subscribers.held(gone).values())
    log = web.log.read_text()
    assert "gone" not in log.lower() and hashlib.sha256(gone.lower().encode()).hexdigest()[:12] not in log
    assert log.count("erased on request: answered as unsubscribed") == 9
