"""What an editor checks in ingest's output on real feeds (../shared/corpus): boilerplate left in the text,
captions taken for the article, teasers cut mid-word, URLs with tracking left. The detectors here are
written apart from ingest's own patterns, so they can catch what ingest misses.

Run as a script for the table in docs/ingest.md: `.venv/bin/python tests/corpus_metrics.py`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[1]
# The copies in tests/data/corpus (byte for byte those of ../shared/corpus/feeds), so a fresh clone runs these tests.
CORPUS = ROOT / "tests" / "data" / "corpus"
sys.path.insert(0, str(ROOT))

from composer.ingest import load_items  # noqa: E402 (after the path, for the script form)
from composer.ingest._html import read_html  # noqa: E402
from composer.language import split_sentences  # noqa: E402
from composer.summarise.headline import headline  # noqa: E402
from composer.summarise.teaser import teaser  # noqa: E402

BOILERPLATE = re.compile(
    r"appeared first on|^(?:continue reading|read more|learn more)\b.{0,20}$|(?:continue reading|read more)\s*(?:…|"
    r"\.\.\.|»|→)$|\[(?:…|\.\.\.|&hellip;)\]$|^(?:photo|image|credit|photograph)s?\s*:|^share (?:this|on)\b|"
    r"^related\s*:|follow us on|click here\.?$|read this article in full", re.IGNORECASE)
TRACKING = re.compile(r"^(?:utm_|wt_mc|fbclid|gclid|mc_cid|mc_eid|ncid|cmpid)", re.IGNORECASE)
REDIRECTORS = re.compile(r"^(?:www\.google\.com|google\.com|feedproxy\.google\.com|feeds\.feedburner\.com)$")
COLUMNS = ("items", "undated", "truncated items", "boilerplate left", "captions as body", "teasers cut mid-word",
           "URLs with tracking")


def corpus_files() -> list[Path]:
    """The corpus feeds (none when the copies are missing: tests then skip, or fail in CI)."""
    if not CORPUS.is_dir():
        return []
    return sorted(path for path in CORPUS.iterdir() if path.is_file() and path.name != "README.md")


def metrics(path: Path) -> dict[str, int]:
    ingested = load_items([path])
    captions = _captions(path)
    counts = dict.fromkeys(COLUMNS, 0)
    counts["items"] = len(ingested.items)
    for item in ingested.items:
        counts["undated"] += item.published is None
        counts["truncated items"] += item.truncated
        counts["boilerplate left"] += any(BOILERPLATE.search(text) for text in (*item.paragraphs, item.title or ""))
        counts["captions as body"] += any(" ".join(text.split()).casefold() in captions for text in item.paragraphs)
        title = item.title or headline(split_sentences(item.paragraphs[0])[0])
        counts["teasers cut mid-word"] += cut_mid_word(teaser(item.paragraphs, title))
        counts["URLs with tracking"] += any(tracked(url) for url in (item.url, item.image_url) if url)
    return counts


def cut_mid_word(text: str) -> bool:
    """A teaser that stops without ending a sentence, or whose ellipsis is glued to a word ("dese...");
    an emoji after the stop is fine."""
    stripped = re.sub(r"[\s\u200d\ufe0f\u2600-\u27bf\U0001f000-\U0001faff]+$", "", text).rstrip("\"'’”)]")
    if re.search(r"\S(?:\.\.\.|…)$", stripped):
        return True
    return not re.search(r"[.!?]$|\s…$", stripped)


def tracked(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (REDIRECTORS.search(parts.hostname or "") and (
            parts.path in ("/url", "/") or "/~" in parts.path)):
        return True
    query = parse_qsl(parts.query, keep_blank_values=True)
    return (any(TRACKING.match(key) or (key.lower() == "src" and "rss" in value.lower()) for key, value in query)
            or parts.fragment.startswith("tk."))


def _captions(path: Path) -> set[str]:
    """Every image caption and alt text in the feed, as written there."""
    if path.suffix == ".json":
        return set()
    import feedparser

    captions = set()
    for entry in feedparser.parse(path.read_bytes()).entries:
        texts = [content.get("value") or "" for content in entry.get("content") or []] + [entry.get("summary") or ""]
        for text in texts:
            captions |= {" ".join(caption.split()).casefold() for caption in read_html(text).captions}
        captions |= {" ".join((media.get("description") or "").split()).casefold()
                     for media in entry.get("media_content") or [] if media.get("description")}
    captions.discard("")
    return captions


def table() -> str:
    lines = ["| file | " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * len(COLUMNS)]
    totals = dict.fromkeys(COLUMNS, 0)
    for path in corpus_files():
        counts = metrics(path)
        for column in COLUMNS:
            totals[column] += counts[column]
        lines.append(f"| {path.name} | " + " | ".join(str(counts[column]) for column in COLUMNS) + " |")
    lines.append("| **all** | " + " | ".join(f"**{totals[column]}**" for column in COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
