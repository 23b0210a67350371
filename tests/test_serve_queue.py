"""`weekly serve`'s queue and protocol after issue 24: one server per queue file, a queue left by a killed
server applied at start and then emptied, oversized headers refused whichever HTTP parser runs; a real
process on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from test_hardening_serve import ONE_CLICK, PATH, WebServer, _eventually, _suppressed, _token

pytestmark = pytest.mark.both_backends


def test_a_second_server_on_the_same_queue_file_is_refused_in_one_line(tmp_path):
    """The queue's lines are applied and truncated by one process: a second `weekly serve` with the same
    serve.queue_file exits 1 naming the file, no traceback; the first goes on answering."""
    with WebServer(tmp_path) as web:
        second = WebServer(tmp_path)
        done = subprocess.run([sys.executable, "-m", "composer", "serve", "--port", str(second.port)], cwd=ROOT,
                              env=second.env, capture_output=True, text=True, timeout=60)
        answer = web.client.post(f"{PATH}?token={_token('reader@example.org')}", **ONE_CLICK)
    assert done.returncode == 1, done.stderr
    assert "queue.jsonl: another weekly serve is using this unsubscribe queue" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert answer.status_code == 200


def test_a_queue_left_by_a_killed_server_is_applied_at_start_then_emptied(tmp_path):
    """Lines a killed server wrote but never applied (the last one cut off mid-write) are applied in order
    when the next server starts: an unsubscribe, a resubscribe after it, another unsubscribe; half a line is
    skipped; once applied the file is empty, and a new one-click is added after nothing."""
    queue = tmp_path / "queue.jsonl"
    lines = [{"op": "unsubscribe", "email": "first@example.org"}, {"op": "unsubscribe", "email": "back@example.org"},
             {"op": "resubscribe", "email": "back@example.org"}, {"op": "unsubscribe", "email": "last@example.org"}]
    queue.write_text("".join(json.dumps({**line, "at": 0, "id": str(n)}) + "\n" for n, line in enumerate(lines))
                     + '{"op": "unsubscribe", "email": "cut@exa')
    with WebServer(tmp_path) as web:
        assert _eventually(lambda: set(_suppressed()) == {"first@example.org", "last@example.org"}), _suppressed()
        assert _eventually(lambda: queue.read_text() == ""), queue.read_text()
        answer = web.client.post(f"{PATH}?token={_token('new@example.org')}", **ONE_CLICK)
        assert answer.status_code == 200
        assert _eventually(lambda: "new@example.org" in _suppressed())
    assert queue.read_text() == "", "an applied line was kept"


def test_headers_past_16_kb_get_400_and_the_server_goes_on(tmp_path):
    """A header block that goes on past 16 KB (a header bomb, sent a line at a time) gets 400 and the
    connection is closed, with httptools' parser as with h11's; the next request is answered."""
    with WebServer(tmp_path) as web:
        with socket.create_connection(("127.0.0.1", web.port), timeout=10) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            try:
                for number in range(64):
                    connection.sendall(b"X-Filler-%d: %s\r\n" % (number, b"a" * 1000))
                    time.sleep(0.01)
            except OSError:
                pass  # refused and closed before the bomb was out
            answer = connection.recv(200)
        assert web.client.get("/").status_code in (200, 404)
    assert answer.startswith(b"HTTP/1.1 400"), answer
