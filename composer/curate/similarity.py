"""TF-IDF vectors of the week's texts, centrality, and near-duplicate groups without all-pairs work.

Two sources rewriting one event share few exact phrases but the same distinctive terms (names,
figures, places), so candidates for "same story" are the pairs that share at least two of their
ten highest-weighted terms, found through an inverted index of those terms (a banded index in the
spirit of LSH). Terms that are top terms of too many texts are not distinctive and are skipped,
which keeps the candidate count, and the time, near-linear in the number of texts.

Every sum adds the same numbers in the same order as the plain formula (terms of a vector in its order,
vectors in theirs), leaving out only zeros: rankings and thresholds see the very same floats.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from operator import mul

from composer.language import content_words

Vector = dict[str, float]

_TOP_TERMS = 10
_SHARED_TOP_TERMS = 2
_MAX_POSTINGS = 50


def tfidf(texts: list[str]) -> list[Vector]:
    """Unit-length TF-IDF vectors (sublinear tf, smoothed idf) of `texts`."""
    counts = [Counter(content_words(text)) for text in texts]
    document_frequency: Counter[str] = Counter()
    for count in counts:
        document_frequency.update(count.keys())
    total = len(texts)
    idf = {term: 1 + math.log((1 + total) / (1 + frequency)) for term, frequency in document_frequency.items()}
    vectors = []
    for number, count in enumerate(counts):
        vectors.append(_unit({term: (1 + math.log(tf)) * idf[term] for term, tf in count.items()}))
        counts[number] = Counter()  # its memory goes as its vector comes
    return vectors


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    if not a:
        return 0
    shared = [term for term in a if term in b]
    return sum(map(mul, map(a.__getitem__, shared), map(b.__getitem__, shared)), 0.0)


def centrality(vectors: list[Vector]) -> list[float]:
    """How close each text is to the week as a whole: cosine with the centroid, in [0, 1]."""
    centroid: Counter = Counter()
    for vector in vectors:
        centroid.update(vector)
    centroid_unit = _unit(dict(centroid))
    return [cosine(vector, centroid_unit) for vector in vectors]


def duplicate_groups(vectors: list[Vector], threshold: float) -> list[list[int]]:
    """Groups of indices whose texts are about the same story (cosine >= threshold), in index order."""
    postings: dict[str, list[int]] = defaultdict(list)
    tops = []
    for index, vector in enumerate(vectors):
        top = _top_terms(vector)
        tops.append(top)
        for term in top:
            postings[term].append(index)
    parent = list(range(len(vectors)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for index, top in enumerate(tops):
        shared: Counter = Counter()
        for term in top:
            members = postings[term]
            if len(members) <= _MAX_POSTINGS:
                shared.update(other for other in members if other > index)
        for other, count in shared.items():
            if count >= _SHARED_TOP_TERMS and cosine(vectors[index], vectors[other]) >= threshold:
                parent[root(other)] = root(index)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(vectors)):
        groups[root(index)].append(index)
    return sorted(groups.values())


def _top_terms(vector: Vector) -> list[str]:
    """The `_TOP_TERMS` highest-weighted terms, ties in alphabetical order."""
    terms = list(vector)
    if len(terms) > _TOP_TERMS:  # sort only the terms that weigh at least the tenth weight
        least = heapq.nlargest(_TOP_TERMS, vector.values())[-1]
        terms = [term for term, weight in vector.items() if weight >= least]
    return sorted(terms, key=lambda term: (-vector[term], term))[:_TOP_TERMS]


def _unit(vector: Vector) -> Vector:
    weights = list(vector.values())
    norm = math.sqrt(sum(map(mul, weights, weights))) or 1.0
    return {term: weight / norm for term, weight in vector.items()}
