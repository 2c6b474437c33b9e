"""Swedish lexical search: an analyzer that turns text into stemmed terms, and a BM25 index
over those terms (bm25s), saved as plain NumPy and JSON files and memory-mapped on load."""

from __future__ import annotations

import re
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_SWEDISH

ANALYZER_VERSION = "sv-snowball-1"

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(STOPWORDS_SWEDISH)
_stemmer = Stemmer.Stemmer("swedish")


def analyze(text: str) -> list[str]:
    """Lower-case words of `text`, Swedish stop words removed, Snowball-stemmed.

    å, ä and ö are letters like any other (``\\w``), so "nämnd" never becomes "n mnd".
    """
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and w != "_"]
    return _stemmer.stemWords(words)


class LexicalIndex:
    """BM25 over analysed passages; row i of the index is passage i."""

    def __init__(self, bm25: bm25s.BM25):
        self._bm25 = bm25

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        # bm25s maps an empty passage to a placeholder token so rows stay aligned.
        bm25.index(token_lists, show_progress=False)
        return cls(bm25)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), mmap=True, allow_pickle=False, show_progress=False)
        return cls(bm25)

    def idf(self, terms: list[str]) -> dict[str, float]:
        """Inverse document frequency of each term (0 for terms no passage contains)."""
        indptr = self._bm25.scores["indptr"]
        total = self._bm25.scores["num_docs"]
        weights = {}
        for term in terms:
            column = self._bm25.vocab_dict.get(term)
            if column is None or column + 1 >= len(indptr):
                weights[term] = 0.0
                continue
            frequency = int(indptr[column + 1] - indptr[column])
            weights[term] = float(np.log(1 + (total - frequency + 0.5) / (frequency + 0.5)))
        return weights

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for `query_terms` (zeros where no term matches)."""
        known = [t for t in query_terms if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return self._bm25.get_scores(known)
