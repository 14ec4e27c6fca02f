"""Text similarity that works in any script, with no language model: character n-grams
weighted by TF-IDF.

Words are NFKC-normalized and casefolded as the warehouse's features are. A word in a
script written with spaces gives its 3- to 5-grams with a space on each side (so word
starts and ends count); a run of a script written without spaces (Chinese, Japanese,
Thai…) gives its 2- and 3-grams, which is what a word segmenter would otherwise be needed
for. `containment` says how much of a term (a hashtag such as ``derbyday``) a text holds,
across the ways people write it (``derby day``, ``Derby-Day``, ``derbydays``): both are
"squeezed" (spaces and punctuation removed) before comparing.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

import regex

URL = regex.compile(r"https?://\S+")
MENTION = regex.compile(r"(?<![\w.])@[\p{L}\p{M}\p{N}_]+")
WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
DENSE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")
SPACED_SIZES = (3, 4, 5)
DENSE_SIZES = (2, 3)

Vector = dict[str, float]


def words(text: str) -> list[str]:
    """The text's words, normalized; links and @mentions dropped, hashtags kept as words."""
    text = MENTION.sub(" ", URL.sub(" ", text))
    return WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _word_grams(word: str, padded: bool) -> Iterable[str]:
    dense = DENSE.search(word) is not None
    sizes = DENSE_SIZES if dense else SPACED_SIZES
    shown = f" {word} " if padded and not dense else word
    for size in sizes:
        for start in range(max(1, len(shown) - size + 1)):
            gram = shown[start : start + size]
            if gram.strip():
                yield gram


def grams(text: str) -> Counter[str]:
    """Character n-gram counts of a text."""
    counts: Counter[str] = Counter()
    for word in words(text):
        counts.update(_word_grams(word, padded=True))
    return counts


def squeezed(text: str) -> str:
    return "".join(words(text))


def squeezed_grams(text: str) -> set[str]:
    """The n-grams of the text with its words run together (no boundaries)."""
    return set(_word_grams(squeezed(text), padded=False))


class Vectorizer:
    """TF-IDF over a corpus of n-gram counts: sublinear term frequency, smoothed IDF,
    unit length (so a dot product is the cosine)."""

    def __init__(self, documents: Iterable[Counter[str]]) -> None:
        frequency: Counter[str] = Counter()
        self.size = 0
        for document in documents:
            frequency.update(document.keys())
            self.size += 1
        self.frequency = frequency

    def idf(self, gram: str) -> float:
        return math.log((1 + self.size) / (1 + self.frequency.get(gram, 0))) + 1

    def vector(self, counts: Counter[str]) -> Vector:
        weights = {g: (1 + math.log(n)) * self.idf(g) for g, n in counts.items() if n > 0}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {g: w / norm for g, w in weights.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(gram, 0.0) for gram, weight in a.items())


def centroid(vectors: Iterable[Vector]) -> Vector:
    """The unit-length mean direction of some vectors."""
    total: dict[str, float] = {}
    for vector in vectors:
        for gram, weight in vector.items():
            total[gram] = total.get(gram, 0.0) + weight
    norm = math.sqrt(sum(w * w for w in total.values()))
    return {g: w / norm for g, w in total.items()} if norm else {}


def contrast(target: Vector, background: Vector) -> Vector:
    """What sets `target` apart from `background` (Rocchio): their difference, negative
    weights dropped, unit length."""
    kept = {g: w - background.get(g, 0.0) for g, w in target.items()}
    kept = {g: w for g, w in kept.items() if w > 0}
    norm = math.sqrt(sum(w * w for w in kept.values()))
    return {g: w / norm for g, w in kept.items()} if norm else {}


def containment(term: str, text: str, vectorizer: Vectorizer) -> float:
    """How much of `term` the text holds: 1 if the squeezed term is in the squeezed text,
    else the IDF-weighted share of the term's n-grams found in it."""
    term_squeezed, text_squeezed = squeezed(term), squeezed(text)
    if not term_squeezed:
        return 0.0
    if term_squeezed in text_squeezed:
        return 1.0
    wanted = set(_word_grams(term_squeezed, padded=False))
    found = squeezed_grams(text)
    total = sum(vectorizer.idf(g) for g in wanted)
    return sum(vectorizer.idf(g) for g in wanted if g in found) / total if total else 0.0
