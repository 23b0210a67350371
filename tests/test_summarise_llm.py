"""The checks an LLM's answers pass before they replace the offline text, one by one, with a backend that
answers what each test needs (the ChatBackend protocol; tests/test_llm.py runs the real HTTP client
against a server)."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from composer.models import Entry, Item
from composer.summarise.llm import LLMError, OpenAIChat, improve_editorial, improve_entry

ARTICLE = ("IBM has announced a major investment plan worth $150 billion over the next five years to solidify its "
           "role as a global leader in advanced computing and quantum technologies. Over $30 billion will go to "
           "research and development, helping IBM advance in mainframe and quantum computer production.")
ITEM = Item(id="ibm0000000000001", title=None, paragraphs=(ARTICLE,), source="test")
ENTRY = Entry(title="IBM announces major investment plan worth $150 billion", teaser="Offline teaser of the entry.",
              item_id=ITEM.id, topic="Economic")
TEASER = "IBM will spend over $30 billion of its $150 billion plan on research in mainframe and quantum computers."
HEADLINE = "IBM plans $150 billion investment in advanced computing"


class Backend:
    """Answers every call with `answer` (or raises it), and keeps the prompts."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, system: str, user: str) -> str:
        self.prompts.append(user)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def entry_with(answer: dict | str, needs_headline: bool = True) -> tuple[Entry, str | None]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return improve_entry(Backend(text), ITEM, ENTRY, needs_headline=needs_headline)


def test_a_sound_answer_replaces_the_teaser_and_the_headline():
    """A grounded teaser of whole sentences and a sound headline are used, with no note."""
    improved, note = entry_with({"headline": HEADLINE, "teaser": TEASER})
    assert (improved.title, improved.teaser, note) == (HEADLINE, TEASER, None)
    kept_title, note = entry_with({"headline": "ignored", "teaser": TEASER}, needs_headline=False)
    assert (kept_title.title, kept_title.teaser, note) == (ENTRY.title, TEASER, None)


def test_the_prompt_asks_for_the_limits_the_answer_is_held_to():
    """The prompt names the teaser's 80-220 characters, the headline's 90 and the article."""
    backend = Backend(json.dumps({"headline": HEADLINE, "teaser": TEASER}))
    improve_entry(backend, ITEM, ENTRY, needs_headline=True)
    assert "80 to 220 characters" in backend.prompts[0] and "at most 90 characters" in backend.prompts[0]
    assert backend.prompts[0].endswith(ARTICLE)
    improve_entry(backend, ITEM, ENTRY, needs_headline=False)
    assert f"The title is: {ENTRY.title}" in backend.prompts[1] and "at most 90" not in backend.prompts[1]


@pytest.mark.parametrize(("answer", "reason"), [
    ({"headline": HEADLINE, "teaser": "IBM invests."}, "an answer had 12 characters, not 80 to 220"),
    ({"headline": HEADLINE, "teaser": " ".join([TEASER] * 3)}, "characters, not 80 to 220"),
    ({"headline": HEADLINE, "teaser": TEASER[:-1] + " and"}, "did not end a sentence"),
    ({"headline": HEADLINE, "teaser": TEASER + "\nSecond line."}, "missing or not one line"),
    ({"headline": HEADLINE}, "missing or not one line"),
    ({"headline": HEADLINE, "teaser": TEASER + " Ask our Diplo chatbot!"}, "repeated a trailer"),
    ({"headline": "IBM", "teaser": TEASER}, "an answer had 3 characters, not 10 to 90"),
    ({"headline": "IBM has announced a major investment plan worth $150", "teaser": TEASER}, "is broken"),
    ({"headline": "Learn how IBM plans its $150 billion investment", "teaser": TEASER}, "call to action"),
    ({"headline": HEADLINE, "teaser": "However, " + TEASER[:1].lower() + TEASER[1:]}, "opens with 'However'"),
    ({"headline": HEADLINE, "teaser": TEASER + " Learn more about quantum computers."}, "call to action"),
    ({"headline": HEADLINE, "teaser": "The weather in Paris was sunny and warm all week, with light winds and clear "
                                      "skies over the river."}, "not about the story"),
    ("I cannot answer that.", "held no JSON object"),
    ('{"headline": "x", "teaser": ', "held no JSON object"),
    ('["a list"]', "held no JSON object"),
])
def test_an_answer_that_breaks_a_rule_keeps_the_offline_entry(answer, reason):
    """Each rule the offline text keeps, broken once: the entry stays as it was, the note says why."""
    improved, note = entry_with(answer)
    assert improved == ENTRY
    assert note is not None and note.startswith(f"LLM kept the offline text for {ITEM.id}: ") and reason in note


def test_a_failing_backend_keeps_the_offline_entry():
    """The backend's own error becomes the note."""
    improved, note = improve_entry(Backend(LLMError("http://llm answered HTTP 500")), ITEM, ENTRY, True)
    assert improved == ENTRY and note == f"LLM kept the offline text for {ITEM.id}: http://llm answered HTTP 500"


RADAR = (ENTRY.model_copy(update={"teaser": TEASER}),
         Entry(title="EU launches Apply AI Strategy", teaser="The European Commission launched the Apply AI Strategy "
                                                             "to speed up AI adoption by small firms.", topic="Economic"))
OFFLINE = ("Offline opening.", "Offline story.", "For the main updates, consult the Radar below.")
GOOD = [f"This week IBM announced a $150 billion plan for advanced computing and quantum research, number {n}."
        for n in range(1, 7)]


@pytest.mark.parametrize("count", [3, 6])
def test_an_editorial_of_three_to_six_sound_paragraphs_is_used(count):
    """3 to 6 grounded paragraphs replace the offline ones; the offline pointer stays last."""
    paragraphs, note = improve_editorial(Backend("\n\n".join(GOOD[:count])), RADAR, OFFLINE)
    assert (paragraphs, note) == ((*GOOD[:count], OFFLINE[-1]), None)


@pytest.mark.parametrize(("answer", "reason"), [
    ("\n\n".join(GOOD[:2]), "the editorial had 2 paragraphs, not 3 to 6"),
    ("\n\n".join([*GOOD, GOOD[0]]), "the editorial had 7 paragraphs, not 3 to 6"),
    ("\n\n".join([*GOOD[:2], "Short one."]), "an answer had 10 characters, not 40 to 900"),
    ("\n\n".join(["He stressed that IBM announced a $150 billion plan for advanced computing.", *GOOD[:2]]),
     "its subject is the pronoun 'He'"),
    ("\n\n".join([*GOOD[:2], "Learn how IBM will spend $150 billion on advanced computing and quantum research."]),
     "call to action"),
    ("\n\n".join([*GOOD[:2], "The weather in Paris was sunny and warm all week, with light winds over the river."]),
     "not about the story"),
])
def test_an_editorial_that_breaks_a_rule_is_not_used(answer, reason):
    """Too few or too many paragraphs, one too short, one leaning on context or selling, one about something
    else: the offline editorial stays, the note says why."""
    paragraphs, note = improve_editorial(Backend(answer), RADAR, OFFLINE)
    assert paragraphs == OFFLINE
    assert note is not None and note.startswith("LLM kept the offline editorial: ") and reason in note


def test_an_editorial_may_share_fewer_words_with_its_sources_than_a_teaser():
    """An editorial links stories in words of its own: 30 % of its words from the Radar suffice, where a
    teaser needs half."""
    linking = ("The European Commission and IBM both spoke of AI adoption and computing this week, while partners on "
               "several continents weighed what it could mean.")
    paragraphs, note = improve_editorial(Backend("\n\n".join([GOOD[0], GOOD[1], linking])), RADAR, OFFLINE)
    assert note is None and paragraphs[2] == linking
    improved, note = entry_with({"headline": HEADLINE, "teaser": linking})
    assert improved == ENTRY and "not about the story" in note


def test_answers_at_the_bounds_and_json_among_words_are_taken():
    """A teaser of exactly 80 or 220 characters, a headline of exactly 10 or 90, and a JSON object the model
    wrapped in words of its own are all used."""
    short = "IBM will spend more than $30 billion of its plan on research into quantum chips."
    long = ("IBM will spend over $30 billion of its $150 billion plan on research in mainframe and quantum computers. "
            "It will spend on research and development, helping IBM advance in mainframe and quantum computer "
            "production plants.")
    for teaser in (short, long):
        improved, note = entry_with({"headline": HEADLINE, "teaser": teaser})
        assert len(teaser) in (80, 220) and note is None and improved.teaser == teaser
    for headline in ("IBM builds", "IBM announces major investment plan worth $150 billion in research for mainframe "
                                   "computers"):
        text = f'Here it is: {json.dumps({"headline": headline, "teaser": TEASER})}. Done.'
        improved, note = entry_with(text)
        assert len(headline) in (10, 90) and (note, improved.title) == (None, headline)


def test_a_teaser_may_share_exactly_half_its_words_with_the_article():
    """The grounding bar is at least half of the teaser's content words: exactly half passes."""
    from composer.language import content_words

    teaser = "IBM announced a major investment plan worth billions, while rivals elsewhere expand factories abroad."
    said = set(content_words(teaser))
    known = set(content_words(ARTICLE))
    assert len(said & known) * 2 == len(said)
    improved, note = entry_with({"headline": HEADLINE, "teaser": teaser})
    assert note is None and improved.teaser == teaser


def test_an_editorial_paragraph_must_end_a_sentence():
    """A paragraph cut off mid-sentence is refused like a teaser would be."""
    answer = "\n\n".join([*GOOD[:2], GOOD[2].rstrip(".") + " and"])
    paragraphs, note = improve_editorial(Backend(answer), RADAR, OFFLINE)
    assert paragraphs == OFFLINE and "did not end a sentence" in note


def test_summarise_asks_a_headline_only_for_untitled_items():
    """Through summarise: a titled item keeps its own title, an untitled one takes the model's headline."""
    from datetime import date

    from composer.config import IssueSettings, load_taxonomy
    from composer.models import Pick, Selection
    from composer.pipeline import style_for
    from composer.summarise import summarise

    titled = Item(id="ibm0000000000002", title="IBM commits $150 billion to US tech", paragraphs=(ARTICLE,),
                  source="test")
    selection = Selection(number=1, week_start=date(2025, 4, 25), week_end=date(2025, 5, 2),
                          radar=(Pick(item=ITEM, topic="Economic"), Pick(item=titled, topic="Economic")))
    backend = Backend(json.dumps({"headline": HEADLINE, "teaser": TEASER}))
    draft = summarise(selection, style_for(IssueSettings(), load_taxonomy()), backend).draft
    untitled, kept = draft.sections.radar
    assert (untitled.title, kept.title) == (HEADLINE, titled.title)
    assert untitled.teaser == kept.teaser == TEASER
    assert "at most 90 characters" in backend.prompts[0] and "The title is: IBM commits" in backend.prompts[1]


class _Chat(ThreadingHTTPServer):
    """An OpenAI-compatible endpoint on 127.0.0.1 answering `status` and `body`, keeping each request."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.status, self.body, self.requests = status, body, []


class _ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization"),
                                     json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chat():
    servers = []

    def start(status: int = 200, body: bytes = b"") -> tuple[_Chat, str]:
        server = _Chat(status, body)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_client_posts_one_chat_completion_at_temperature_0(chat):
    """POST {base_url}/chat/completions with the model, temperature 0, both messages and the key; the first
    choice's content is the answer."""
    answer = {"choices": [{"message": {"content": "first"}}, {"message": {"content": "second"}}]}
    server, url = chat(body=json.dumps(answer).encode())
    client = OpenAIChat(url, "llama3.1", api_key="sk-test")
    assert client.timeout == 30.0 and client.complete("system words", "user words") == "first"
    path, auth, body = server.requests[0]
    assert (path, auth) == ("/v1/chat/completions", "Bearer sk-test")
    assert body == {"model": "llama3.1", "temperature": 0, "messages": [
        {"role": "system", "content": "system words"}, {"role": "user", "content": "user words"}]}
    OpenAIChat(url, "m").complete("s", "u")
    assert server.requests[1][1] is None  # no key, no Authorization


@pytest.mark.parametrize(("status", "body", "message", "dead"), [
    (500, b"", "answered HTTP 500", False),
    (200, b"not json", "answered something that is not JSON", False),
    (200, b'{"choices": []}', "answered JSON without choices[0].message.content", False),
])
def test_the_client_says_what_went_wrong(chat, status, body, message, dead):
    """An HTTP error, a body that is not JSON, JSON without an answer: LLMError naming it; the endpoint is
    tried again next time (only an unreachable one is given up)."""
    _, url = chat(status, body)
    client = OpenAIChat(url, "m")
    with pytest.raises(LLMError, match=re.escape(message)):
        client.complete("s", "u")
    assert (client.dead is not None) is dead


def test_an_unreachable_endpoint_is_not_called_again(chat):
    """A refused connection marks the client dead: the next call fails at once with the same reason."""
    server, url = chat()
    server.shutdown()
    server.server_close()
    client = OpenAIChat(url, "m", timeout=2)
    with pytest.raises(LLMError, match="unreachable"):
        client.complete("s", "u")
    with pytest.raises(LLMError, match="unreachable") as second:
        client.complete("s", "u")
    assert str(second.value) == client.dead


class _RawEndpoint:
    """A listener on 127.0.0.1 that reads each request and sends `reply`'s bytes as they are (first, when it
    `greets`, as an SMTP server does), then closes: what no HTTP server sends (an SMTP greeting, an answer cut
    short)."""

    def __init__(self, reply: bytes, greets: bool = False) -> None:
        self.reply, self.greets, self.connections = reply, greets, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.connections += 1
            with connection:
                connection.settimeout(5)
                if self.greets:
                    connection.sendall(self.reply)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, body = request.split(b"\r\n\r\n", 1)
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])
                while len(body) < length:
                    body += connection.recv(65536)
                if not self.greets:
                    connection.sendall(self.reply)

    def close(self) -> None:
        self.listener.close()


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


SMTP_GREETING = b"220 mail.example.org ESMTP ready\r\n"
CUT_SHORT = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" + b'{"choices":[{'


@pytest.mark.parametrize(("reply", "greets", "message", "dead"), [
    (SMTP_GREETING, True, "broke the HTTP exchange (BadStatusLine", True),
    (CUT_SHORT, False, "broke the HTTP exchange (IncompleteRead", True),
    (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n", False, "broke the HTTP exchange", True),
    (_ok(b'{"choices":[{"message":{"content":null}}]}'), False, "without choices[0].message.content", False),
    (_ok(b'{"choices":[{"message":{"content":42}}]}'), False, "without choices[0].message.content", False),
    (_ok(b'{"choices":[{"message":["content"]}]}'), False, "without choices[0].message.content", False),
    (_ok(b'{"choices":"none"}'), False, "without choices[0].message.content", False),
    (_ok(b'"just a string"'), False, "without choices[0].message.content", False),
    (_ok(b'{"choices":[{"message":{"content":"caf\xe9"}}]}'), False, "not JSON", False),
    (_ok(b"[" * 100_000 + b"]" * 100_000), False, "not JSON", False),
])
def test_a_broken_exchange_or_answer_is_an_llm_error(reply, greets, message, dead):
    """Something that is no HTTP server, an answer cut short, a header too long, an answer whose content is
    not text or whose JSON is not UTF-8 or nested too deep: LLMError naming it, never another exception; a
    broken exchange gives the endpoint up for the run, a bad answer only costs its call."""
    endpoint = _RawEndpoint(reply, greets)
    try:
        client = OpenAIChat(endpoint.url, "m", timeout=5)
        with pytest.raises(LLMError, match=re.escape(message)):
            client.complete("s", "u")
        assert (client.dead is not None) is dead
    finally:
        endpoint.close()


def test_a_backend_answering_something_not_text_keeps_the_offline_text():
    """A plugged-in backend that returns None breaks the ChatBackend protocol: the offline entry and
    editorial are kept, with a note, as for any bad answer."""
    improved, note = improve_entry(Backend(None), ITEM, ENTRY, needs_headline=True)  # type: ignore[arg-type]
    assert improved == ENTRY and note == f"LLM kept the offline text for {ITEM.id}: the answer was NoneType, not text"
    paragraphs, note = improve_editorial(Backend(None), RADAR, OFFLINE)  # type: ignore[arg-type]
    assert paragraphs == OFFLINE and note == "LLM kept the offline editorial: the answer was NoneType, not text"


def test_build_against_an_endpoint_that_is_no_http_server_keeps_the_offline_draft(tmp_path):
    """`weekly build` with llm.base_url on an SMTP server (the user trial's 127.0.0.1:8025): exit 0, the draft
    written, one note line per entry saying the exchange broke, and only one connection made."""
    from conftest import run_weekly

    endpoint = _RawEndpoint(SMTP_GREETING, greets=True)
    try:
        done = run_weekly("build", "-o", str(tmp_path / "out"), env={**os.environ, "WEEKLY_LLM__BASE_URL": endpoint.url})
    finally:
        endpoint.close()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "out" / "issue.yaml").is_file()
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: LLM kept the offline")]
    assert notes and all("broke the HTTP exchange (BadStatusLine" in note for note in notes)
    assert endpoint.connections == 1
