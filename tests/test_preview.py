"""`weekly preview`: the local server re-renders an edited draft; --png writes screenshots at both widths."""

from __future__ import annotations

import os
import struct
import threading
import time
import urllib.request

import pytest
from conftest import BROWSER
from issue_fixtures import full_draft

from composer.config import Settings
from composer.draft import read_draft, write_draft
from composer.preview import preview_server, screenshots


@pytest.fixture
def draft_file(tmp_path):
    path = tmp_path / "issue.yaml"
    write_draft(full_draft(radar=2, reading=1, events=0), path)
    return path


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_server_shows_both_widths_and_rerenders_an_edited_draft(draft_file):
    """/ frames the email at 600 and 375 px; after an edit, /email shows it and /version changes."""
    server = preview_server(draft_file, 0, Settings())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = _get(base + "/")
        assert 'style="width:600px"' in page and 'style="width:375px"' in page
        assert "Money and markets" in _get(base + "/email")
        before = _get(base + "/version")
        edited = read_draft(draft_file).model_copy(update={"headline": "An edit made while previewing"})
        write_draft(edited, draft_file)
        later = time.time() + 5
        os.utime(draft_file, (later, later))  # a distinct mtime even on coarse file systems
        assert _get(base + "/version") != before
        assert "An edit made while previewing" in _get(base + "/email")
    finally:
        server.shutdown()
        server.server_close()


def test_png_screenshots_at_600_and_375(draft_file, tmp_path):
    """--png writes two PNG files whose widths are 600 and 375 pixels."""
    if BROWSER is None:
        message = "headless Chromium is not installed (apt-get install chromium)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    paths = screenshots(draft_file, tmp_path / "png", Settings(), height=400)
    widths = []
    for path in paths:
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        widths.append(struct.unpack(">I", header[16:20])[0])
    assert widths == [600, 375]
