"""An optional LLM for headlines, teasers and the editorial, through any OpenAI-compatible chat endpoint
(Ollama, llama.cpp server, vLLM, OpenAI). Off unless `llm.base_url` is set.

The offline result is always computed first; the LLM may only improve it. Every answer is checked
(length limits, whole sentences, no trailer text, about its story) and by the rules the offline text
keeps: a headline must have no defect (summarise.headline.defects), no sentence may lean on context
the reader lacks (summarise.context.leans) or sell (composer.promo). A bad answer, an error or a
timeout keeps the offline text and leaves a note saying why. After a connection failure, a timeout or a broken
exchange (something that does not speak HTTP, an answer cut short) no further calls are made in the run, so a
dead endpoint costs one timeout, not one per entry; an HTTP error or an unusable answer costs only its entry.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any, Protocol

from composer.ingest._lines import is_trailer
from composer.language import content_words, ends_sentence, split_sentences
from composer.models import Entry, Item
from composer.promo import promotional
from composer.summarise.context import leans

_MAX_ARTICLE_CHARS = 4000
# How much of an answer must come from its source: a teaser restates one article; an editorial links
# several stories with words of its own.
_TEASER_SHARE, _EDITORIAL_SHARE = 0.5, 0.3
_SYSTEM = (
    "You are an editor of DW Weekly, the Digital Watch newsletter on digital policy. You write plain, "
    "factual English, never invent facts, and answer exactly in the format asked."
)


class ChatBackend(Protocol):
    """Anything that answers a system and a user message with text (raises LLMError on failure)."""

    def complete(self, system: str, user: str) -> str: ...


class LLMError(Exception):
    """The endpoint failed or answered something unusable."""


class OpenAIChat:
    """POST {base_url}/chat/completions with temperature 0, within `timeout` seconds."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.dead: str | None = None  # why the endpoint is not tried again in this run

    def complete(self, system: str, user: str) -> str:
        if self.dead:
            raise LLMError(self.dead)
        body = json.dumps({
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise LLMError(f"{self.url} answered HTTP {err.code}") from err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            self.dead = f"{self.url} unreachable ({getattr(err, 'reason', err)})"
            raise LLMError(self.dead) from err
        except http.client.HTTPException as err:  # no HTTP server there, or an answer cut short
            self.dead = f"{self.url} broke the HTTP exchange ({type(err).__name__}: {str(err)[:80]})"
            raise LLMError(self.dead) from err
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
            raise LLMError(f"{self.url} answered something that is not JSON") from err
        content = _content(answer)
        if content is None:
            raise LLMError(f"{self.url} answered JSON without choices[0].message.content as text")
        return content


def _content(answer: Any) -> str | None:
    """The first choice's message text, or None when the answer has another shape."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None

def improve_entry(backend: ChatBackend, item: Item, entry: Entry, needs_headline: bool) -> tuple[Entry, str | None]:
    """The entry with the LLM's teaser (and headline, for an untitled item), or as it was and why."""
    from composer.summarise.headline import MAX_HEADLINE, defects
    from composer.summarise.teaser import MAX_TEASER, MIN_TEASER

    wants = "a headline and a teaser" if needs_headline else "a teaser"
    user = (
        f"Write {wants} for this article in the DW Weekly Radar.\n"
        + (f"headline: at most {MAX_HEADLINE} characters, news style (who does what, present tense).\n"
           if needs_headline else f"The title is: {entry.title}\n")
        + f"teaser: one or two complete sentences, {MIN_TEASER} to {MAX_TEASER} characters, that add an angle "
        "beyond the title rather than repeat it.\n"
        'Answer with JSON only: {"headline": "...", "teaser": "..."}.\n\nArticle:\n'
        + "\n\n".join(item.paragraphs)[:_MAX_ARTICLE_CHARS]
    )
    try:
        answer = _json_object(_ask(backend, user))
        source = " ".join((item.title or "", *item.paragraphs))
        title = entry.title
        if needs_headline:
            title = _grounded(_checked(answer.get("headline"), 10, MAX_HEADLINE, sentence=False), source)
            broken = [*defects(title), *filter(None, [promotional(title)])]
            if broken:
                raise LLMError(f"the headline {title!r} is broken: {broken[0]}")
        teaser = _sound(_grounded(_checked(answer.get("teaser"), MIN_TEASER, MAX_TEASER, sentence=True), source),
                        title, " ".join(item.paragraphs))
    except LLMError as err:
        return entry, f"LLM kept the offline text for {entry.item_id}: {err}"
    return entry.model_copy(update={"teaser": teaser, "title": title}), None


def improve_editorial(backend: ChatBackend, radar: tuple[Entry, ...], offline: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """3-6 editorial paragraphs from the LLM (the pointer kept last), or the offline ones and why."""
    stories = "\n".join(f"- [{entry.topic}] {entry.title}: {entry.teaser}" for entry in radar)
    user = (
        "Write the editorial of this week's DW Weekly: 3 to 6 short paragraphs that walk through the week's "
        "main stories grouped by theme, with transitions between them, naming the stories you draw on. No "
        "greeting, no sign-off. Separate paragraphs with a blank line.\n\nThis week's Radar:\n" + stories
    )
    try:
        text = _ask(backend, user)
        paragraphs = tuple(" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip())
        if not 3 <= len(paragraphs) <= 6:
            raise LLMError(f"the editorial had {len(paragraphs)} paragraphs, not 3 to 6")
        source = " ".join(f"{entry.title} {entry.teaser}" for entry in radar)
        for paragraph in paragraphs:
            _grounded(_checked(paragraph, 40, 900, sentence=True), source, share=_EDITORIAL_SHARE)
        _sound(" ".join(paragraphs), "", "")
    except LLMError as err:
        return offline, f"LLM kept the offline editorial: {err}"
    return (*paragraphs, offline[-1]), None


def _ask(backend: ChatBackend, user: str) -> str:
    """The backend's answer, refused unless it is text (a plugged-in backend may break the protocol)."""
    text = backend.complete(_SYSTEM, user)
    if not isinstance(text, str):
        raise LLMError(f"the answer was {type(text).__name__}, not text")
    return text


def _sound(text: str, heading: str, article: str) -> str:
    """`text` if each of its sentences stands alone after the ones before it (under `heading`) and none
    sells: the checks the offline teaser and editorial pass."""
    sentences = split_sentences(text)
    for index, sentence in enumerate(sentences):
        reason = promotional(sentence) or leans(sentence, before=" ".join(sentences[:index]), heading=heading,
                                                article=article)
        if reason:
            raise LLMError(f"an answer's sentence {sentence[:60]!r} {reason}")
    return text


def _grounded(text: str, source: str, share: float = 0.0) -> str:
    """`text` if enough of its content words come from `source`: an answer about the weather in Paris
    is well formed and still wrong."""
    share = share or _TEASER_SHARE
    said = set(content_words(text))
    known = set(content_words(source))
    if said and len(said & known) / len(said) < share:
        raise LLMError(f"an answer shared {len(said & known)} of its {len(said)} words with its source "
                       f"(at least {share:.0%} needed): it is not about the story")
    return text


def _json_object(text: str) -> dict:
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start : end + 1]) if start >= 0 else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise LLMError("the answer held no JSON object")
    return value


def _checked(value, shortest: int, longest: int, sentence: bool) -> str:
    if not isinstance(value, str) or "\n" in value.strip():
        raise LLMError("an answer was missing or not one line")
    text = value.strip()
    if not shortest <= len(text) <= longest:
        raise LLMError(f"an answer had {len(text)} characters, not {shortest} to {longest}")
    if sentence and not ends_sentence(text):
        raise LLMError("an answer did not end a sentence")
    if is_trailer(text) or "chatbot" in text.lower():
        raise LLMError("an answer repeated a trailer")
    return text
