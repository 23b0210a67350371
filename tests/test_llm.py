"""The optional LLM backend, against a real HTTP server on 127.0.0.1 that speaks the OpenAI chat protocol."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SEEDS

from composer.config import Settings
from composer.pipeline import ComposeOptions, compose

TEASER_OPENING = "The model read it:"
WEATHER = "The weather in Paris was sunny and warm all week, with light winds and clear skies over the river."



class ChatServer(ThreadingHTTPServer):
    """Answers POST /v1/chat/completions according to `mode`, and keeps every request it got."""

    mode = "good"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if self.server.mode == "error":
            self.send_error(500)
            return
        user = body["messages"][-1]["content"]
        article = user.split("Article:\n", 1)[-1].split()
        if user.startswith("Write the editorial"):
            stories = [line.split("] ", 1)[1] for line in user.splitlines() if line.startswith("- [")]
            content = ("\n\n".join(f"This week {story[:300].rstrip('.')}." for story in stories[:4])
                       if self.server.mode != "offtopic" else "\n\n".join([WEATHER] * 3))
        elif self.server.mode == "bad":
            content = '{"headline": "", "teaser": "Too short."}'
        elif self.server.mode == "offtopic":
            content = json.dumps({"headline": "Sunny weather in Paris", "teaser": WEATHER})
        else:  # a teaser and a headline in the article's own words, as a model that read it writes them
            content = json.dumps({"headline": "Model: " + " ".join(article[:6]).rstrip(".,;:"),
                                  "teaser": f"{TEASER_OPENING} {' '.join(article[:14]).rstrip('.,;:')}."})
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    chat = ChatServer()
    thread = threading.Thread(target=chat.serve_forever, daemon=True)
    thread.start()
    yield chat
    chat.shutdown()
    chat.server_close()


def _compose(llm: dict | None):
    settings = Settings(llm=llm) if llm else Settings()
    return compose([SEEDS], settings, ComposeOptions(), date(2026, 11, 22))


@pytest.fixture(scope="module")
def offline():
    return _compose(None)


def test_llm_teasers_headlines_and_editorial_are_used(server, offline):
    """With a working endpoint every teaser, every untitled headline and the editorial come from it."""
    composed = _compose({"base_url": server.url, "model": "test-model", "api_key": "sk-test"})
    assert composed.notes == ()
    entries = [*composed.draft.sections.radar, *composed.draft.sections.reading_corner]
    assert all(entry.teaser.startswith(TEASER_OPENING) for entry in entries)
    untitled = [e for e, o in zip(entries, [*offline.draft.sections.radar, *offline.draft.sections.reading_corner], strict=True)
                if e.title != o.title]
    assert untitled and all(entry.title.startswith("Model: ") for entry in untitled)
    assert len(composed.draft.editorial) == 5 and all(p.startswith("This week ") for p in composed.draft.editorial[:-1])
    assert composed.draft.editorial[-1] == offline.draft.editorial[-1]
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["model"] == "test-model"
    assert first["temperature"] == 0 and first["auth"] == "Bearer sk-test"


def test_server_error_falls_back_to_offline_and_says_so(server, offline):
    """HTTP 500 for every call: the draft is the offline one, with a note per fallback."""
    server.mode = "error"
    composed = _compose({"base_url": server.url})
    assert composed.draft.model_copy(update={"notes": ()}) == offline.draft
    assert composed.draft.notes == composed.notes
    assert composed.notes and all("HTTP 500" in note for note in composed.notes)


def test_answers_that_break_the_limits_are_not_used(server, offline):
    """A too-short teaser is refused and the offline teaser kept, with a note naming the reason."""
    server.mode = "bad"
    composed = _compose({"base_url": server.url})
    assert composed.draft.sections == offline.draft.sections
    assert any("characters" in note for note in composed.notes)


def test_unreachable_endpoint_is_tried_once(offline):
    """A server that drops every connection: one connection, then no more calls; the offline draft with notes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        accepted = []

        def drop_connections() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                accepted.append(connection)
                connection.close()

        stop = threading.Event()
        dropper = threading.Thread(target=drop_connections)
        dropper.start()
        try:
            composed = _compose({"base_url": f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "timeout_seconds": 2})
        finally:
            stop.set()
            dropper.join()
    assert composed.draft.model_copy(update={"notes": ()}) == offline.draft
    assert composed.draft.notes == composed.notes
    assert len(composed.notes) > 1 and all("unreachable" in note for note in composed.notes)
    assert len(accepted) == 1, "the backend kept calling a dead endpoint"


def test_answers_that_are_not_about_the_story_are_refused(server, offline):
    """A well-formed teaser about the weather in Paris shares too little with its article: the offline
    teaser stays, and the draft's notes say why for each entry and for the editorial."""
    server.mode = "offtopic"
    composed = _compose({"base_url": server.url})
    assert composed.draft.sections == offline.draft.sections
    assert composed.draft.editorial == offline.draft.editorial
    assert composed.draft.notes and all("not about the story" in note for note in composed.draft.notes)
