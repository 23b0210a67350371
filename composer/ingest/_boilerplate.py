"""What feeds wrap around an article that is not the article: "Continue reading…", "The post … appeared
first on …", "[…]", share and credit lines; and text the feed cut off mid-sentence.

`article_text(paragraphs)` is the one entry point: it drops boilerplate paragraphs, strips boilerplate
tails, removes a sentence the feed cut off ("…the Commission said it would..."), separates sentences a
feed glued together ("sectors.Since"), and says whether the text was cut.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from composer.language import ends_sentence, split_sentences

_MORE = (r"(?:continue reading|read more|learn more|read the (?:full|rest of the|whole) (?:story|article|post)|"
         r"keep reading|full story|more\b)")
_ARROWS = r"(?:\.{3}|…|»|›|→|>>|\s)*"
# Whole paragraphs that are never the article (one pattern: a paragraph is tried once, not fifteen times).
_DROP = re.compile("|".join(f"(?:{pattern})" for pattern in (
    r"^the post .{1,400} appeared first on .{1,200}$",
    r"^(?:this (?:article|story|post) (?:was |is )?(?:originally )?(?:published|posted|appeared)|originally published)\b.{0,200}$",
    r"^[\[(]?(?:…|\.{3}|&hellip;)[\])]?$",
    r"^(?:photo|image|photograph|picture|illustration|video|graphic|credit|credits|source|caption)s?(?: credit)?\s*[:©|].{0,200}$",
    r"^[\[(]?(?:photo|image|photograph|picture|illustration)s? (?:by|courtesy of|credit)\b.{0,200}$",
    r"^(?:©|\(c\)|copyright\b).{0,200}$",
    r"^(?:disclosure|full disclosure|editor'?s note)\s*:.{0,300}$",
    r"^(?:share|tweet|email|print|pin|save)(?: (?:this|it))?(?: (?:article|story|post|page))?(?: (?:on|via|with) .{1,40})?[:.!]?$",
    r"^(?:follow|like|join) us on .{1,80}$",
    r"^(?:sign up|subscribe) (?:for|to) (?:our|the) .{1,120}$",
    r"^(?:related|see also|more from .{1,40}|previously on .{1,40}|read also|also read)\s*:?$",
    r"^(?:related|see also|read also|also read|more on this (?:story|topic))\s*:.{1,300}$",
    r"^(?:click|tap) here\b.{0,120}$",
    r"^.{0,80}\b(?:click|tap) here\.?$",
    r"^to (?:read|see|view) (?:this|the) (?:full )?(?:article|story|post)(?: in full)?\b.{0,60}$",
)), re.IGNORECASE)
# A byline standing alone: "By Jane Doe and John Roe", "Por Matt Spetalnick e Jason Szep".
_NAME = r"[A-ZÀ-Þ][\w.'’-]*"
_BYLINE = re.compile(rf"^(?:[Bb]y|[Pp]or|[Vv]on|[Pp]ar|[Dd]i)\s+{_NAME}(?:\s+{_NAME}){{0,3}}"
                     rf"(?:(?:,|\s+(?:and|e|y|und|et))\s+{_NAME}(?:\s+{_NAME}){{0,3}})*\s*$")
# Tails of a paragraph that are not the article: the text before them is kept. Each is searched for only
# where the paragraph's end can hold it (`_could_end`): searching a whole paragraph for a tail costs a
# try at every character, and almost no paragraph has one.
_TAILS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"\s*the post .{1,400} appeared first on .{1,200}$",
    rf"\s*[\[(]?{_MORE}{_ARROWS}[\])]?$",
    r"\s*[\[(](?:…|\.{3}|&hellip;)[\])]$",
)]
# What ends a paragraph that has each tail: "appeared first on" in its last 220 characters; a "read more"
# word once the arrows and brackets after it are stripped; a closing bracket.
_APPEARED = re.compile(r"appeared first on ", re.IGNORECASE)
_MORE_END = re.compile(r"(?:reading|more|story|article|post)$", re.IGNORECASE)
_AFTER_MORE = "])….»›→>"
# A paragraph ending in an ellipsis was cut by the feed (an author's closing "..." is rare in news and
# the sentence is dropped all the same: a teaser must never end mid-word).
_CUT = re.compile(r"(?:\.{3}|…|&hellip;)[\])]?$")
_CUT_ENDS = ".…;])"  # the last character of a paragraph _CUT finds
_CUT_TAIL = re.compile(r"\s*[\[(]?(?:\.{3}|…|&hellip;)[\])]?$")
_READ_MORE = re.compile(rf"^[\[(]?{_MORE}{_ARROWS}[\])]?$", re.IGNORECASE)
# A full stop glued to the next sentence: "sectors.Since" (not "U.S." or "e.g.", which have no lower
# case letters on both sides, nor a URL or a number).
# (The stop is matched first, so the search skips straight to the stops.)
_GLUED = re.compile(r"([.!?])(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")


class ArticleText(NamedTuple):
    paragraphs: list[str]
    truncated: bool  # the source cut the text short; what was cut off is gone


def is_boilerplate(paragraph: str) -> bool:
    """True for a paragraph that is feed furniture, never the article."""
    text = paragraph.strip()
    return bool(_BYLINE.match(text) or _DROP.match(text))


def article_text(paragraphs: list[str]) -> ArticleText:
    """The article's paragraphs without boilerplate or a cut-off last sentence."""
    kept: list[str] = []
    truncated = False
    for raw in paragraphs:
        text = _GLUED.sub(r"\1 ", raw.strip())
        if _READ_MORE.match(text):
            truncated = True  # "Continue reading…": what came before is an excerpt, perhaps cut mid-sentence
            if kept and not ends_sentence(kept[-1]):
                kept[-1] = _drop_cut_sentence(kept[-1])
                kept = [paragraph for paragraph in kept if paragraph]
            continue
        if is_boilerplate(text):
            continue
        cut = _cut(text)
        before = text
        for tail in _TAILS:
            if _could_end(tail, text):
                text = tail.sub("", text).rstrip()
        truncated = truncated or cut or text != before
        if cut and (_cut(text) or not ends_sentence(text)):
            text = _drop_cut_sentence(text)
        if text and (text == before or not is_boilerplate(text)):  # `before` was found not to be boilerplate
            kept.append(text)
    return ArticleText(kept, truncated)


def _cut(text: str) -> bool:
    # A cut is at most ten characters long ("&hellip;)"), at the end.
    return bool(text) and text[-1] in _CUT_ENDS and _CUT.search(text, max(0, len(text) - 10)) is not None


def _could_end(tail: re.Pattern[str], text: str) -> bool:
    """Whether `text`'s end can hold `tail` (if not, `tail` is not in it): a cheap look at the end alone."""
    if tail is _TAILS[0]:
        return bool(_APPEARED.search(text, max(0, len(text) - 220)))
    if tail is _TAILS[1]:
        end = text
        while (stripped := end.rstrip().rstrip(_AFTER_MORE)) != end:
            end = stripped
        return bool(_MORE_END.search(end, max(0, len(end) - 7)))
    return text[-1:] in "])"


def _drop_cut_sentence(text: str) -> str:
    """`text` without its last sentence, which the feed cut off. When that sentence is all there is, it
    stays, ending at its last whole word with an ellipsis ("…decision to go public via …"): never mid-word."""
    sentences = split_sentences(text)
    if len(sentences) > 1:
        return " ".join(sentences[:-1])
    words = _CUT_TAIL.sub("", text).split()
    if words and not re.search(r"\s(?:\.{3}|…|&hellip;)[\])]?$", text):
        words = words[:-1]  # "…not the same dese..." was cut inside a word
    return f"{' '.join(words)} …" if len(words) >= 4 else ""

