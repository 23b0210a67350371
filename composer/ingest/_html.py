"""HTML bodies (RSS content:encoded, Atom content) turned into clean paragraphs."""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCKS = {
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "section", "article", "header", "footer", "tr", "table", "br", "hr", "pre", "figure",
}
# Text that is never body: code, and captions of images.
_SKIPPED = {"script", "style", "figcaption", "noscript", "template"}


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.first_image: tuple[str, str | None] | None = None
        self._parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self._flush()
        elif tag == "img" and self.first_image is None:
            values = dict(attrs)
            src = values.get("src")
            if src:
                self.first_image = (src, values.get("alt") or None)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._parts.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        if text:
            self.paragraphs.append(text)
        self._parts = []

    def close(self) -> None:
        super().close()
        self._flush()


def html_paragraphs(html: str) -> tuple[list[str], tuple[str, str | None] | None]:
    """The text paragraphs of an HTML fragment, and its first image as (src, alt)."""
    parser = _Paragraphs()
    parser.feed(html)
    parser.close()
    return parser.paragraphs, parser.first_image
