"""Swedish lexical search: an analyzer that turns text into stemmed terms — numbers and dates
in one written form, compounds split into their parts — and a BM25 index over those terms
(bm25s), saved as plain NumPy and JSON files and memory-mapped on load."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_SWEDISH
from bm25s.tokenization import Tokenized

ANALYZER_VERSION = "sv-snowball-decompound-1"
LEXICON_FILE = "lexicon.json"

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(STOPWORDS_SWEDISH)
# Words that make a sentence a question but say nothing about its subject ("Vad säger
# strategin om …", "Vilka regler ska gälla …"). Removed from queries only.
_QUESTION_FILLER = frozenset(
    ("säger", "säga", "står", "skriver", "finns", "ska", "skall", "får", "fick", "få", "måste",
     "behöver", "gör", "görs", "göra", "ha", "hade", "blir", "bli", "många")
)  # fmt: skip
# "4 000" and "4000" are the same number; thin and no-break spaces group digits too.
_DIGIT = re.compile(r"\d")
_DIGIT_GROUP = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
         "september", "oktober", "november", "december"),
        start=1,
    )
}  # fmt: skip
_SWEDISH_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# Compound splitting: only words this long are tried, into parts at least this long, each
# a word the corpus itself uses on its own (at least LEXICON_MIN_COUNT times).
COMPOUND_MIN_CHARS = 8
PART_MIN_CHARS = 4
LEXICON_MIN_COUNT = 2

_stemmer = Stemmer.Stemmer("swedish")


def _normalise(text: str) -> str:
    """Lower-case text with digit groups joined and each date followed by a YYYYMMDD term."""
    text = text.lower()
    if not _DIGIT.search(text):
        return text  # most passages of prose: no number or date to rewrite
    text = _DIGIT_GROUP.sub("", text)

    def swedish(m: re.Match) -> str:
        return f"{m.group(0)} d{m.group(3)}{_MONTHS[m.group(2)]:02d}{int(m.group(1)):02d}"

    text = _SWEDISH_DATE.sub(swedish, text)
    return _ISO_DATE.sub(lambda m: f"{m.group(0)} d{m.group(1)}{m.group(2)}{m.group(3)}", text)


def words(text: str) -> list[str]:
    """The normalised words of `text`, stop words removed."""
    return [w for w in _WORD.findall(_normalise(text)) if w not in _STOPWORDS and w != "_"]


def analyze(text: str) -> list[str]:
    """Snowball stems of the words of `text`, without compound splitting.

    å, ä and ö are letters like any other (``\\w``), so "nämnd" never becomes "n mnd".
    """
    return _stemmer.stemWords(words(text))


def _in_lexicon(word: str, lexicon: frozenset[str]) -> bool:
    # Snowball leaves the definite neuter "-et(s)" on ("projektet"), so try without it too.
    if _stemmer.stemWord(word) in lexicon:
        return True
    for ending in ("ets", "et"):
        if word.endswith(ending) and len(word) - len(ending) >= PART_MIN_CHARS:
            return _stemmer.stemWord(word[: -len(ending)]) in lexicon
    return False


def split_compound(word: str, lexicon: frozenset[str]) -> list[str]:
    """Parts of a Swedish compound whose stems are in `lexicon` (a set of stems), head last,
    or [] if none.

    "stadsutvecklingsprojektet" → ["stad", "utveckling", "projektet"]: the longest head that
    is a word in any inflection, and a modifier that is a word or a compound itself, with or
    without the linking "s" ("stads-", "utvecklings-").
    """
    if len(word) < COMPOUND_MIN_CHARS or not word.isalpha():
        return []
    for cut in range(PART_MIN_CHARS, len(word) - PART_MIN_CHARS + 1):
        head = word[cut:]
        if not _in_lexicon(head, lexicon):
            continue
        modifier = word[:cut]
        candidates = [modifier]
        if modifier.endswith("s") and len(modifier) > PART_MIN_CHARS:
            candidates.append(modifier[:-1])
        for candidate in candidates:
            if _stemmer.stemWord(candidate) in lexicon:
                return [candidate, *(split_compound(head, lexicon) or [head])]
            parts = split_compound(candidate, lexicon)
            if parts:
                return [*parts, *(split_compound(head, lexicon) or [head])]
    return []


class Analyzer:
    """Text → BM25 terms: stems of the words, plus the stems of a compound's parts, so that
    "projekt" finds "stadsutvecklingsprojekt" and "stadsutveckling" finds "utveckling av
    staden". The lexicon is the stems of the indexed corpus's own words, saved with the
    index."""

    def __init__(self, lexicon: Iterable[str] = ()):
        self.lexicon = frozenset(lexicon)
        self._terms: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_words(cls, word_lists: Iterable[list[str]]) -> Analyzer:
        """An analyzer whose lexicon is the stems of the words that passages (given as their
        `words`) use on their own."""
        counts = Counter(w for found in word_lists for w in found if w.isalpha())
        stems = Counter()
        for word, count in counts.items():
            stems[_stemmer.stemWord(word)] += count
        return cls(
            s for s, n in stems.items() if n >= LEXICON_MIN_COUNT and len(s) >= PART_MIN_CHARS
        )

    def terms(self, text: str) -> list[str]:
        return self.terms_of_words(words(text))

    def terms_of_words(self, found: list[str]) -> list[str]:
        """`terms` for text already split by `words` (an index build splits each passage
        once, for the lexicon and the terms)."""
        return [term for word in found for term in self.word_terms(word)]

    def word_terms(self, word: str) -> tuple[str, ...]:
        """The terms of one word: its stem, then the stems of its compound parts. Memoised:
        a corpus repeats its words, so each distinct word is split and stemmed once."""
        terms = self._terms.get(word)
        if terms is None:
            parts = [p for p in split_compound(word, self.lexicon) if p not in _STOPWORDS]
            terms = self._terms[word] = tuple(_stemmer.stemWords([word, *parts]))
        return terms

    def query_terms(self, query: str) -> list[str]:
        """Terms of a question: like `terms`, without the words that only make it a question."""
        kept = " ".join(w for w in _WORD.findall(query) if w.lower() not in _QUESTION_FILLER)
        return self.terms(kept)

    def save(self, directory: Path) -> None:
        (directory / LEXICON_FILE).write_text(
            json.dumps(sorted(self.lexicon), ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> Analyzer:
        return cls(json.loads((directory / LEXICON_FILE).read_text(encoding="utf-8")))


class LexicalIndex:
    """BM25 over analysed passages; row i of the index is passage i."""

    def __init__(self, bm25: bm25s.BM25, analyzer: Analyzer):
        self._bm25 = bm25
        self.analyzer = analyzer

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        word_lists = [words(t) for t in texts]
        analyzer = Analyzer.from_words(word_lists)
        # Term ids straight from the memoised analysis of each distinct word: bm25s would
        # otherwise look every token of the corpus up again in Python.
        vocabulary: dict[str, int] = {}
        word_ids: dict[str, list[int]] = {}
        corpus_ids = []
        for found in word_lists:
            ids: list[int] = []
            for word in found:
                known = word_ids.get(word)
                if known is None:
                    terms = analyzer.word_terms(word)
                    known = word_ids[word] = [
                        vocabulary.setdefault(t, len(vocabulary)) for t in terms
                    ]
                ids.extend(known)
            corpus_ids.append(ids)
        bm25 = bm25s.BM25()
        # bm25s adds an empty-token column so that a passage without terms keeps its row.
        bm25.index(Tokenized(ids=corpus_ids, vocab=vocabulary), show_progress=False)
        return cls(bm25, analyzer)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False, show_progress=False)
        self.analyzer.save(directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), mmap=True, allow_pickle=False, show_progress=False)
        return cls(bm25, Analyzer.load(directory))

    def idf(self, terms: list[str]) -> dict[str, float]:
        """Inverse document frequency of each term; a term no passage contains is the rarest
        of all (and the clearest sign that the corpus may not answer the question)."""
        indptr = self._bm25.scores["indptr"]
        total = self._bm25.scores["num_docs"]
        weights = {}
        for term in terms:
            column = self._bm25.vocab_dict.get(term)
            known = column is not None and column + 1 < len(indptr)
            frequency = int(indptr[column + 1] - indptr[column]) if known else 0
            weights[term] = float(np.log(1 + (total - frequency + 0.5) / (frequency + 0.5)))
        return weights

    def coverage(self, weights: dict[str, float], rows: list[int]) -> np.ndarray:
        """For each of `rows`, the share of the terms' total weight that its passage contains,
        read from the BM25 postings (a term's column lists the rows that contain it, in
        order) instead of analysing the passages again."""
        total = sum(weights.values())
        found = np.zeros(len(rows))
        if total <= 0 or not rows:
            return found
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        wanted = np.asarray(rows)
        for term, weight in weights.items():
            column = self._bm25.vocab_dict.get(term)
            if column is None or column + 1 >= len(indptr):
                continue
            postings = indices[indptr[column] : indptr[column + 1]]
            if not len(postings):
                continue
            at = np.minimum(np.searchsorted(postings, wanted), len(postings) - 1)
            found += weight * (postings[at] == wanted)
        return found / total

    def top(
        self, query_terms: list[str], depth: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """The `depth` best (row, BM25 score) pairs for `query_terms`, best first, restricted
        to the rows in `allowed` if given; passages without a matching term are left out."""
        scores = self.scores(query_terms)
        if allowed is not None:
            mask = np.zeros_like(scores, dtype=bool)
            mask[allowed] = True
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > depth:
            candidates = candidates[np.argpartition(-scores[candidates], depth - 1)[:depth]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(r), float(scores[r])) for r in order]

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for `query_terms` (zeros where no term matches)."""
        known = [t for t in query_terms if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return self._bm25.get_scores(known)
