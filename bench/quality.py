"""Headline quality: our headlines for the 19 titled seed articles, titles hidden, scored against the real titles.

Side by side in one run: (a) the first sentence cut at 90 characters, (b) the top LexRank and TextRank
sentence (sumy, with a regex tokenizer that needs no downloaded data), (c) `weekly`'s headline.
Scores are ROUGE-1/2/L F1 (rouge-score, Porter stemmer), averaged over the articles.

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
from composer.language import split_sentences  # noqa: E402
from composer.summarise.headline import headline  # noqa: E402


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


def main() -> None:
    articles = [item for item in load_items([ROOT / "seeds"]).items if item.title]
    systems = {
        "first sentence cut at 90 chars": lambda item: split_sentences(item.paragraphs[0])[0][:90],
        "LexRank top sentence (sumy)": lambda item: _top_sentence(LexRankSummarizer, "\n\n".join(item.paragraphs)),
        "TextRank top sentence (sumy)": lambda item: _top_sentence(TextRankSummarizer, "\n\n".join(item.paragraphs)),
        "weekly headline": lambda item: headline(split_sentences(item.paragraphs[0])[0]),
    }
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    print(f"{len(articles)} titled seed articles, titles hidden; mean ROUGE F1 against the real titles\n")
    print("| system | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | mean length |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, system in systems.items():
        outputs = [system(item) for item in articles]
        scores = [scorer.score(item.title, output) for item, output in zip(articles, outputs, strict=True)]
        means = [statistics.mean(score[key].fmeasure for score in scores) for key in ("rouge1", "rouge2", "rougeL")]
        length = statistics.mean(len(output) for output in outputs)
        print(f"| {name} | {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} | {length:.0f} |")


if __name__ == "__main__":
    main()
