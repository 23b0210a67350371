"""TF-IDF vectors of the week's texts, centrality, and near-duplicate groups without all-pairs work.

Two sources rewriting one event share few exact phrases but the same distinctive terms (names,
figures, places), so candidates for "same story" are the pairs that share at least two of their
ten highest-weighted terms, found through an inverted index of those terms (a banded index in the
spirit of LSH). Terms that are top terms of too many texts are not distinctive and are skipped,
which keeps the candidate count, and the time, near-linear in the number of texts.

The vectors are packed (`Vectors`): the term ids and weights of every text end to end in two NumPy
arrays (a week of 10,000 texts held 143 MB as dicts of floats). NumPy does what IEEE arithmetic makes
exact whatever the order (products, quotients, and each term's sum over the texts, taken in text order);
every sum over a vector's terms is Python's own `sum` of the same numbers in the same order as the plain
formula, so rankings and thresholds see the same floats to the last bit, on any Python. NumPy's faster
sums only tell which pairs cannot reach a threshold, with a margin far wider than their rounding.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import pairwise

import numpy as np

from composer.forked import MANY, split_map
from composer.language import content_word_counts

Vector = dict[str, float]

_TOP_TERMS = 10
_SHARED_TOP_TERMS = 2
_MAX_POSTINGS = 50
# A sum of a few hundred products of unit vectors' weights rounds by less than 1e-13: a pair whose fast
# cosine is this far below a threshold is below it exactly.
_MARGIN = 1e-9


class Vectors:
    """Unit-length TF-IDF vectors, packed; indexing gives one as a dict (terms in the order the text
    names them), slicing gives the vectors of some texts, still packed."""

    def __init__(self, terms: list[str], ids: np.ndarray, weights: np.ndarray, starts: np.ndarray) -> None:
        self.terms = terms  # by id, in the order the texts first name them
        self.ids = ids  # every vector's term ids, end to end
        self.weights = weights
        self.starts = starts  # where each vector starts in ids and weights, and where the last one ends

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __iter__(self) -> Iterator[Vector]:
        return (self[index] for index in range(len(self)))

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("vectors are sliced in order")
            return Vectors(self.terms, self.ids, self.weights, self.starts[start:max(start, stop) + 1])
        start, end = self._span(index)
        return dict(zip(map(self.terms.__getitem__, self.ids[start:end].tolist()), self.weights[start:end].tolist(),
                        strict=True))

    def _span(self, index: int) -> tuple[int, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return int(self.starts[index]), int(self.starts[index + 1])

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and weights of these vectors, end to end."""
        start, end = int(self.starts[0]), int(self.starts[-1])
        return self.ids[start:end], self.weights[start:end]

    def _spans(self) -> Iterator[tuple[int, int]]:
        """Where each vector lies in `_all()`."""
        first = int(self.starts[0])
        return ((start - first, end - first) for start, end in pairwise(self.starts.tolist()))

    def chosen(self, indices: list[int]) -> Vectors:
        """The vectors at `indices`, packed anew."""
        lengths = np.diff(self.starts)[indices]
        ends = np.cumsum(lengths)
        positions = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(self.starts[indices] + lengths - ends, lengths)
        return Vectors(self.terms, self.ids[positions], self.weights[positions], np.concatenate(([0], ends)))

    def cosine(self, index: int, other: int) -> float:
        """`cosine(self[index], self[other])`, the same float, without building the dicts."""
        (start, end), (other_start, other_end) = self._span(index), self._span(other)
        if end - start > other_end - other_start:
            (start, end), (other_start, other_end) = (other_start, other_end), (start, end)
        dense = np.zeros(len(self.terms))
        dense[self.ids[other_start:other_end]] = self.weights[other_start:other_end]
        return sum((self.weights[start:end] * dense[self.ids[start:end]]).tolist())

    def might_reach(self, index: int, others: Vectors, threshold: float) -> list[bool]:
        """For each of `others` (of the same texts' vocabulary), False when its cosine with `self[index]`
        is surely below `threshold` (fast sums, with a margin)."""
        if not len(others):
            return []
        start, end = self._span(index)
        dense = np.zeros(len(self.terms))
        dense[self.ids[start:end]] = self.weights[start:end]
        ids, weights = others._all()
        products = np.append(dense[ids] * weights, 0.0)  # the 0.0 closes an empty last vector
        offsets = others.starts - others.starts[0]
        sums = np.add.reduceat(products, offsets[:-1]) * (offsets[1:] > offsets[:-1])  # an empty vector sums to 0
        return (sums >= threshold - _MARGIN).tolist()


Counted = tuple[tuple[str, ...], tuple[int, ...]]


def counted(text: str) -> Counted:
    """`text`'s content words (`content_word_counts`) and how often it names each, in two tuples: a third of
    the memory of the Counter."""
    count = content_word_counts(text)
    return tuple(count), tuple(count.values())


def tfidf(texts: Iterable[str | Counted]) -> Vectors:
    """Unit-length TF-IDF vectors (sublinear tf, smoothed idf) of `texts` (read once, one at a time), each
    given as it is or `counted`."""
    index: dict[str, int] = {}
    ids, tfs = array("i"), array("i")  # compact: 1.5 million terms in a week of 10,000 items
    starts = [0]
    for text in texts:
        terms, tallies = counted(text) if isinstance(text, str) else text
        new = [term for term in terms if term not in index]
        index.update(zip(new, range(len(index), len(index) + len(new)), strict=True))
        ids.extend(map(index.__getitem__, terms))
        tfs.extend(tallies)
        starts.append(len(ids))
    id_array, tf_array = np.frombuffer(ids, dtype=np.intc), np.frombuffer(tfs, dtype=np.intc)
    total = len(starts) - 1
    frequency = np.bincount(id_array, minlength=len(index)).tolist()  # texts naming each term
    idf = np.array([1 + math.log((1 + total) / (1 + texts_with)) for texts_with in frequency])
    tf_weight = np.array([0.0, *(1 + math.log(tf) for tf in range(1, max(tfs, default=0) + 1))])
    weights = tf_weight[tf_array]
    weights *= idf[id_array]
    norms = [math.sqrt(sum((weights[start:end] * weights[start:end]).tolist())) or 1.0
             for start, end in pairwise(starts)]
    weights /= np.repeat(norms, np.diff(starts))
    return Vectors(list(index), id_array, weights, np.array(starts, dtype=np.intp))


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


def centrality(vectors: Vectors) -> list[float]:
    """How close each text is to the week as a whole: cosine with the centroid, in [0, 1]."""
    ids, weights = vectors._all()
    # The centroid's terms in the order the texts first name them, each summed over the texts in order.
    present, first = np.unique(ids, return_index=True)
    present = present[np.argsort(first)]
    sums = np.bincount(ids, weights, minlength=len(vectors.terms))[present]
    norm = math.sqrt(sum((sums * sums).tolist())) or 1.0
    centroid = np.zeros(len(vectors.terms))
    centroid[present] = sums / norm
    products = weights * centroid[ids]
    return [sum(products[start:end].tolist()) for start, end in vectors._spans()]


def duplicate_groups(vectors: Vectors, threshold: float) -> list[list[int]]:
    """Groups of indices whose texts are about the same story (cosine >= threshold), in index order."""
    # Each text's top terms, and then its near duplicates, are its own: found on two cores in a big week.
    # The groups are the connected parts of "near", whatever order its pairs are joined in.
    tops = split_map(partial(_top_terms, vectors), range(len(vectors)), MANY)
    postings: dict[str, list[int]] = defaultdict(list)
    for index, top in enumerate(tops):
        for term in top:
            postings[term].append(index)
    parent = list(range(len(vectors)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    near = split_map(partial(_near_after, vectors, tops, postings, threshold), range(len(vectors)), MANY)
    for index, others in enumerate(near):
        for other in others:
            parent[root(other)] = root(index)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(vectors)):
        groups[root(index)].append(index)
    return sorted(groups.values())


def _near_after(vectors: Vectors, tops: list[list[str]], postings: dict[str, list[int]], threshold: float,
                index: int) -> list[int]:
    """The texts after `index` sharing enough of its top terms whose cosine with it reaches `threshold`."""
    shared: Counter = Counter()
    for term in tops[index]:
        members = postings[term]
        if len(members) <= _MAX_POSTINGS:
            shared.update(other for other in members if other > index)
    candidates = [other for other, count in shared.items() if count >= _SHARED_TOP_TERMS]
    near = vectors.might_reach(index, vectors.chosen(candidates), threshold) if candidates else []
    return [other for other, close in zip(candidates, near, strict=True)
            if close and vectors.cosine(index, other) >= threshold]


def _top_terms(vectors: Vectors, index: int) -> list[str]:
    """The vector's `_TOP_TERMS` highest-weighted terms, ties in alphabetical order."""
    start, end = vectors._span(index)
    weight_list = vectors.weights[start:end].tolist()
    pairs = list(zip(weight_list, vectors.ids[start:end].tolist(), strict=True))
    if len(pairs) > _TOP_TERMS:  # sort only the terms that weigh at least the tenth weight
        least = heapq.nlargest(_TOP_TERMS, weight_list)[-1]
        pairs = [pair for pair in pairs if pair[0] >= least]
    terms = vectors.terms
    ranked = sorted((-weight, terms[term]) for weight, term in pairs)
    return [term for _, term in ranked[:_TOP_TERMS]]
