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
from composer.language import split_sentences
from composer.pipeline import ComposeOptions, compose
from composer.promo import promotional
from composer.summarise.context import leans
from composer.summarise.headline import defects, headline

WEATHER = "The weather in Paris was sunny and warm all week, with light winds and clear skies over the river."


def _sound_sentence(article: str, longest: int = 220) -> str:
    """What a model that read the article well answers: its last sentence that stands alone, does not sell
    and makes a sound headline (the offline teaser prefers early sentences, so the two differ)."""
    sentences = [s for paragraph in article.split("\n\n") for s in split_sentences(paragraph)]
    sound = [s for s in sentences if 80 <= len(s) <= longest and s.endswith(".") and not leans(s, article=article)
             and not promotional(s) and not defects(headline(s))]
    return (sound or [s for s in sentences if 80 <= len(s) <= longest])[-1]


class ChatServer(ThreadingHTTPServer):
    """Answers POST /v1/chat/completions according to `mode`, and keeps every request and answer."""

    mode = "good"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.answers: list[dict] = []

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
        mode = self.server.mode
        if user.startswith("Write the editorial"):
            stories = [line.split("] ", 1)[1] for line in user.splitlines() if line.startswith("- [")]
            opening = {"offtopic": "", "leaning": "He stressed that "}.get(mode, "This week ")
            content = ("\n\n".join(f"{opening}{story[:300].rstrip('.')}." for story in stories[:4])
                       if mode != "offtopic" else "\n\n".join([WEATHER] * 3))
        else:
            article = user.split("Article:\n", 1)[-1]
            sentence = _sound_sentence(article, 200 if mode == "selling" else 220)
            answer = {"headline": headline(sentence), "teaser": sentence}
            if mode == "bad":
                answer = {"headline": "", "teaser": "Too short."}
            elif mode == "offtopic":
                answer = {"headline": "Sunny weather in Paris", "teaser": WEATHER}
            elif mode == "leaning":  # issue 20: a sentence that continues one the reader never saw
                answer["teaser"] = f"However, {sentence[:1].lower()}{sentence[1:]}"
            elif mode == "selling":
                answer["teaser"] = f"{sentence} Learn more."
            elif mode == "broken headline":  # cut mid-phrase, as "The US tech giant, Google, has announced a €5"
                answer["headline"] = " ".join(split_sentences(article)[0].split()[:6]).rstrip(",") + " and the"
            self.server.answers.append(answer)
            content = json.dumps(answer)
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
    offline_entries = [*offline.draft.sections.radar, *offline.draft.sections.reading_corner]
    teasers = {answer["teaser"] for answer in server.answers}
    assert all(entry.teaser in teasers for entry in entries)
    assert sum(entry.teaser != before.teaser for entry, before in zip(entries, offline_entries, strict=True)) >= 5
    untitled = [e for e, o in zip(entries, offline_entries, strict=True) if e.title != o.title]
    assert untitled and all(entry.title in {answer["headline"] for answer in server.answers} for entry in untitled)
    assert len(composed.draft.editorial) == 5 and all(p.startswith("This week ") for p in composed.draft.editorial[:-1])
    assert composed.draft.editorial[-1] == offline.draft.editorial[-1]
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["model"] == "test-model"
    assert first["temperature"] == 0 and first["auth"] == "Bearer sk-test"


@pytest.mark.parametrize(("mode", "reason"), [
    ("leaning", "opens with 'However'"),
    ("selling", "call to action: 'Learn more'"),
    ("broken headline", "is broken: ends on 'the'"),
])
def test_answers_that_break_the_offline_rules_are_refused(server, offline, mode, reason):
    """An LLM teaser that leans on context ("However, …") or sells ("Learn how …"), an LLM headline cut
    mid-phrase, an editorial whose sentences lean ("He stressed that …"): each is refused by the checks the
    offline text passes, the offline text kept, and the notes say why."""
    server.mode = mode
    composed = _compose({"base_url": server.url})
    notes = composed.draft.notes
    assert any(reason in note for note in notes), notes
    changed = [entry for entry, before in zip(composed.draft.sections.radar, offline.draft.sections.radar, strict=True)
               if entry != before]
    if mode == "broken headline":  # the titled entries take the (sound) teaser; the untitled keep all
        assert all(entry.title == before.title for entry, before in zip(
            composed.draft.sections.radar, offline.draft.sections.radar, strict=True))
    else:
        assert changed == []
    if mode == "leaning":
        assert composed.draft.editorial == offline.draft.editorial
        assert any(note.startswith("LLM kept the offline editorial") and "pronoun 'He'" in note for note in notes)


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
