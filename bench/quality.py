"""Headline quality: our headlines with the real titles hidden, scored against those titles.

First, the editorial judgement counts (tests/editorial_metrics.py) and the headline defect rate over the
seeds and ../shared/corpus. Then two sets: the 19 titled seed articles (the set the headline rules were written on) and a held-out set of
real English articles with real titles from ../shared/corpus (feeds nobody here wrote, never looked at
while writing the rules). Side by side in one run: (a) the lead sentence cut at 90 characters at a word
boundary, (b) the top LexRank and TextRank sentence (sumy, with a regex tokenizer that needs no
downloaded data), (c) `weekly`'s headline. Scores are ROUGE-1/2/L F1 (rouge-score, Porter stemmer),
averaged over the articles, and the number of grammatical defects (summarise.headline.defects: ending on
a function word, a participle awaiting its object or an open clause, a lone letter, an unclosed quote).

    pip install -e '.[bench]' && python bench/quality.py
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.ingest import load_items  # noqa: E402
from composer.language import guess_language, split_sentences  # noqa: E402
from composer.summarise.headline import _has_verb, defects, headline  # noqa: E402


class RegexTokenizer:
    """sumy's tokenizer interface without NLTK's punkt download."""

    language = "english"

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph)

    def to_words(self, sentence: str) -> list[str]:
        return re.findall(r"[\w’'-]+", sentence)


def _top_sentence(summarizer_class, text: str) -> str:
    summarizer = summarizer_class(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    parser = PlaintextParser.from_string(text, RegexTokenizer())
    return str(summarizer(parser.document, 1)[0])


HELD_OUT_SIZE = 60


def held_out() -> list:
    """The first titled English articles of each corpus feed, in turn, whose lead is a real sentence."""
    corpus = ROOT.parent / "shared" / "corpus" / "feeds"
    per_file = []
    for path in sorted(corpus.iterdir()):
        if path.name == "README.md":
            continue
        items = [item for item in load_items([path]).items
                 if item.title and guess_language(" ".join(item.paragraphs)) == "en"
                 and len(split_sentences(item.paragraphs[0])[0]) >= 60]
        per_file.append(items)
    chosen = []
    while len(chosen) < HELD_OUT_SIZE and any(per_file):
        for items in per_file:
            if items and len(chosen) < HELD_OUT_SIZE:
                chosen.append(items.pop(0))
    return chosen


def _lead_cut(item) -> str:
    lead = split_sentences(item.paragraphs[0])[0]
    return lead if len(lead) <= 90 else lead[:91].rsplit(" ", 1)[0]


def _table(title: str, articles: list) -> None:
    systems = {
        "lead sentence cut at 90 chars": _lead_cut,
        "LexRank top sentence (sumy)": lambda item: _top_sentence(LexRankSummarizer, "\n\n".join(item.paragraphs)),
        "TextRank top sentence (sumy)": lambda item: _top_sentence(TextRankSummarizer, "\n\n".join(item.paragraphs)),
        "weekly headline": lambda item: headline(split_sentences(item.paragraphs[0])[0]),
    }
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    print(f"{title}: {len(articles)} articles, titles hidden; mean ROUGE F1 against the real titles\n")
    print("| system | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | mean length | defects |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, system in systems.items():
        outputs = [system(item) for item in articles]
        scores = [scorer.score(item.title, output) for item, output in zip(articles, outputs, strict=True)]
        means = [statistics.mean(score[key].fmeasure for score in scores) for key in ("rouge1", "rouge2", "rougeL")]
        length = statistics.mean(len(output) for output in outputs)
        broken = sum(bool(defects(output)) for output in outputs)
        print(f"| {name} | {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} | {length:.0f} | {broken} |")
    print()


def editorial_judgement() -> None:
    """What an editor corrects in the composed issues of the seeds and each corpus feed (one week each),
    counted by tests/editorial_metrics.py (the same counts tests/test_judgement.py holds at 0), and the
    headline defect rate of every English article's lead, seeds + corpus."""
    sys.path.insert(0, str(ROOT / "tests"))
    from editorial_metrics import CORPUS, findings, weeks

    found = [findings(week) for week in weeks()]
    print(f"Editorial judgement: the seeds and {len(found) - 1} corpus feeds, each composed as a week\n")
    print("| finding | count |\n| --- | ---: |")
    for label, field in (("teaser sentences leaning on context", "teaser_leaning"),
                         ("editorial sentences leaning on context", "editorial_leaning"),
                         ("false transitions", "false_transitions"), ("titles pasted as sentences", "titles_as_sentences"),
                         ("capitals left after a transition", "false_capitals"), ("promotional sentences", "promotional")):
        print(f"| {label} | {sum(len(getattr(week, field)) for week in found)} |")
    themed = [week.theme for week in found if week.theme[0]]
    print(f"| opening themes shared by fewer Radar stories than the largest basket | "
          f"{sum(shared < largest for _, shared, largest in themed)} of {len(themed)} |\n")
    leads = [split_sentences(item.paragraphs[0])[0]
             for path in [ROOT / "seeds", *sorted(p for p in CORPUS.iterdir() if p.name != "README.md")]
             for item in load_items([path]).items if guess_language(" ".join(item.paragraphs)) == "en"]
    print("Headline defects, every English article of the seeds and the corpus (its lead; titles hidden)\n")
    print("| leads | count | weekly headline | lead cut at 90 chars |\n| --- | ---: | ---: | ---: |")
    # A lead with no verb of its own ("Josh Centers, writing for TidBITS:", a link post's byline) gives no
    # headline by cutting; the rate over leads that are sentences is the one the rules answer for.
    sentences = [lead for lead in leads if _has_verb(lead.rstrip(".:").split())]
    for label, chosen in (("all", leads), ("with a verb", sentences)):
        ours = sum(bool(defects(headline(lead))) for lead in chosen)
        cut = sum(bool(defects(lead if len(lead) <= 90 else lead[:91].rsplit(" ", 1)[0])) for lead in chosen)
        print(f"| {label} | {len(chosen)} | {ours} ({ours / len(chosen):.1%}) | {cut} ({cut / len(chosen):.1%}) |")
    print()


def main() -> None:
    editorial_judgement()
    _table("Seeds", [item for item in load_items([ROOT / "seeds"]).items if item.title])
    _table("Held out (../shared/corpus)", held_out())


def relevance_and_baskets() -> None:
    """Relevance and baskets on the hand-labelled set (tests/data/labelled), off-topic stories in the Radar,
    and items unaccounted for: `python bench/quality.py relevance` (needs no bench extras but this module's)."""
    from datetime import date, timedelta

    sys.path.insert(0, str(ROOT / "tests"))
    from labelled_set import figures, labelled_set, sources

    from composer.config import load_taxonomy
    from composer.curate import CurateRules, curate
    from composer.models import Ingested

    labelled = labelled_set()
    result = figures(labelled)
    print(f"Labelled set: {len(labelled)} items, {result.on_beat} on the beat\n")
    print("| figure | value |\n| --- | ---: |")
    print(f"| false rejects (on the beat, judged off it) | {len(result.false_rejects)} of {result.on_beat} |")
    print(f"| false accepts (off the beat, judged on it) | {len(result.false_accepts)} of {result.off_beat} |")
    print(f"| baskets right | {result.basket_right} of {result.on_beat} ({result.basket_accuracy:.0%}) |")
    on_beat = {entry.item.id: entry.on_beat for entry in labelled}
    taxonomy = load_taxonomy()

    def off_topic(items, week_start) -> tuple[int, int]:
        selection = curate(Ingested(items=tuple(items)), CurateRules(taxonomy=taxonomy, issue_number=210,
                                                                    week_start=week_start))
        return (sum(not on_beat[pick.item.id] for pick in selection.radar),
                sum(not on_beat[pick.item.id] for pick in selection.reading_corner))

    week = off_topic([entry.item.model_copy(update={"published": None}) for entry in labelled], date(2025, 4, 25))
    print(f"| off-topic in the Radar / Reading Corner, the whole set as one week | {week[0]} / {week[1]} |")
    per_file = [0, 0]
    for path in sources():
        items = load_items([path]).items
        dates = [item.published.date() for item in items if item.published]
        found = off_topic(items, max(dates) - timedelta(days=6) if dates else date(2025, 4, 25))
        per_file = [per_file[0] + found[0], per_file[1] + found[1]]
    print(f"| off-topic in the Radar / Reading Corner, each input file as its own week | {per_file[0]} / {per_file[1]} |")
    print("\nFalse rejects: " + "; ".join((entry.item.title or entry.item.paragraphs[0])[:70]
                                          for entry in result.false_rejects))
    print("\nFalse accepts: " + "; ".join((entry.item.title or entry.item.paragraphs[0])[:70]
                                          for entry in result.false_accepts))
    print("\n| labelled basket | filed as | stories |\n| --- | --- | ---: |")
    for (truth, guess), count in result.confusions.most_common():
        print(f"| {truth} | {guess} | {count} |")


if __name__ == "__main__":
    relevance_and_baskets() if sys.argv[1:] == ["relevance"] else main()
