"""HTML bodies (RSS content:encoded and description, Atom content, JSON Feed content_html) read by their
structure: what sits in paragraph-like elements is body text, whatever its length; headings, captions,
scripts and embedded players are not; plain text (no markup at all) is split at its blank lines. Images
keep their alt text, or their caption when the alt is empty.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple

# Elements whose text is body text, each a paragraph of its own.
_PARAGRAPHS = {"p", "li", "blockquote", "div", "td", "th", "pre", "dd", "dt", "section", "article", "main",
               "address", "center"}
_BREAKS = {"br", "hr", "tr", "ul", "ol", "table", "figure", "header", "footer", "nav", "aside"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Never body: code, players, forms, and captions (those become the image's alt text when it has none).
_SKIPPED = {"script", "style", "noscript", "template", "iframe", "object", "embed", "video", "audio", "form",
            "button", "select", "svg", "figcaption", "nav", "aside"}


# Images that are not pictures: feed readers' tracking pixels and share buttons.
_TRACKERS = re.compile(r"feeds\.feedburner\.com/~|feeds\.wordpress\.com/|stats\.wordpress\.com|pixel\.wp\.com|"
                       r"doubleclick\.net|feedsportal\.com|/pixel[./?]|[/.]beacon[./?]|/~ff/|/~a/|share[-_]?button",
                       re.IGNORECASE)


def _hidden_or_tracking(src: str, values: dict[str, str]) -> bool:
    tiny = any(values.get(side, "").strip().rstrip("px") in ("0", "1", "2") for side in ("width", "height"))
    hidden = "display:none" in values.get("style", "").replace(" ", "").lower()
    return tiny or hidden or bool(_TRACKERS.search(src))


class Image(NamedTuple):
    src: str
    alt: str | None


class Body(NamedTuple):
    paragraphs: list[str]
    images: list[Image]
    captions: list[str]  # figure captions and image descriptions: never body text


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.images: list[Image] = []
        self.captions: list[str] = []
        self._parts: list[str] = []
        self._skipping: list[str] = []  # the open skipped elements
        self._in_heading = 0
        self._caption: list[str] | None = None
        self._figure_images: list[int] = []  # indexes of images in the open <figure>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "img":
            self._image(values)
            return
        if tag == "figure":
            self._figure_images = []
        if tag == "figcaption":
            self._caption = []
        if tag in _SKIPPED:
            self._skipping.append(tag)
            return
        if tag in _HEADINGS:
            self._flush()
            self._in_heading += 1
        elif tag in _PARAGRAPHS or tag in _BREAKS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._caption is not None:
            caption = " ".join(" ".join(self._caption).split())
            self._caption = None
            if caption:
                self.captions.append(caption)
                for index in self._figure_images:
                    if not self.images[index].alt:
                        self.images[index] = self.images[index]._replace(alt=caption)
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
            return
        if tag in _HEADINGS:
            self._parts = []  # a heading is not body text
            self._in_heading = max(0, self._in_heading - 1)
        elif tag in _PARAGRAPHS or tag in _BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._caption is not None:
            self._caption.append(data)
        if self._skipping or self._in_heading:
            return
        self._parts.append(data)

    def _image(self, values: dict[str, str]) -> None:
        src = values.get("src") or values.get("data-src") or ""
        caption = values.get("data-caption", "").strip()
        if caption:
            self.captions.append(caption)
        alt = values.get("alt", "").strip() or caption or None
        if alt:
            self.captions.append(alt)
        if src and not _hidden_or_tracking(src, values):
            self.images.append(Image(src, alt))
            self._figure_images.append(len(self.images) - 1)

    def _flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        if text:
            self.paragraphs.append(text)
        self._parts = []

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(html: str) -> Body:
    """The body paragraphs of an HTML fragment, its images and its captions."""
    if "<" not in html:
        paragraphs = [" ".join(part.split()) for part in html.replace("\r", "").split("\n\n")]
        return Body([text for text in paragraphs if text], [], [])
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return Body(reader.paragraphs, reader.images, list(dict.fromkeys(reader.captions)))
