"""Answers `search(query, k, mode, filters)` over a published build: BM25 and dense
rankings, fused for hybrid, restricted by metadata filters, returned as `Hit`s."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np

from ingest.models import Chunk, DocumentMetadata

from .dense import DenseIndex
from .embedder import E5_SMALL, SWEDISH_STATIC, Embedder
from .fusion import collapse_near_duplicates, score_fusion
from .lexical import LexicalIndex
from .location import is_database_url
from .manifest import IndexUnavailable, choose_build
from .store import Filters, Store, StoredDocument

T = TypeVar("T")
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "dense")


@dataclass(frozen=True)
class FusionWeights:
    """How hybrid mode combines the two rankings: a convex combination of their normalised
    scores (BM25 divided by the best score, cosine min-max over the candidates)."""

    # Tuned for the static model on ../shared/eval with `make eval` (README, "Retrieval
    # quality"): its dense ranking breaks near-ties of BM25 and lifts paraphrases, but never
    # outvotes a clear lexical match. Other models without tuned weights get these too.
    lexical: float = 0.85
    dense: float = 0.15
    depth: int = 100
    """How many candidates each retriever hands to fusion."""

    @classmethod
    def for_model(cls, model_id: str | None) -> FusionWeights:
        """The weights tuned for `model_id` on the dev set, else the defaults."""
        lexical, dense = TUNED_WEIGHTS.get(model_id, (cls.lexical, cls.dense))
        return cls(lexical=lexical, dense=dense)


# BM25 and dense weights per model, from `make eval` over the dev set (README, "Retrieval
# quality"): e5 reads the passage and earns the larger say; 0.45 is the middle of the
# plateau (0.4–0.5 all within one question), and the first weight at which hybrid is at
# least as good as each half on every figure.
TUNED_WEIGHTS: dict[str, tuple[float, float]] = {
    SWEDISH_STATIC: (0.85, 0.15),
    E5_SMALL: (0.45, 0.55),
}


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    document: DocumentMetadata
    score: float
    retriever: str
    relevance: float = 0.0
    """Share (0–1) of the question's rare-word weight that the passage contains; the chat
    says "nothing found" below RELEVANCE_THRESHOLD."""


# Calibrated with `make eval` (bench/calibrate.py): keeps 93% of the dev and seed questions
# and turns away 87% of tests/data/unanswerable_questions.jsonl (README, "Retrieval quality").
RELEVANCE_THRESHOLD = 0.35
MAX_QUERY_CHARS = 1000
"""Only this much of a query is searched (the CLI and the chat say so): the model reads a few
hundred words at most, and analysing a page-long query only costs time."""
DUPLICATE_SPARES = 3

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|”([^”]+)”|«([^»]+)»')


def quoted_phrases(query: str) -> list[str]:
    """Phrases the user put in quotes, which a passage must contain word for word."""
    return [next(g for g in m.groups() if g).strip() for m in _QUOTED.finditer(query)]


@dataclass(frozen=True)
class SearchPlan:
    """What a search will read, known before its read begins: a database backend sends its
    first queries together with the start of the read's snapshot instead of one by one."""

    query: str
    mode: Mode
    depth: int
    """Candidates each retriever hands to fusion."""
    filtered: bool
    """Filters or quoted phrases restrict the rows."""
    vector: np.ndarray | None
    """The query's embedding (None in lexical mode), by the model `model_id`."""
    model_id: str | None


@dataclass
class SearchIndex:
    """A loaded build. Safe to share between threads: reads only.

    The storage seam: `store`, `dense` and `lexical` are the folder index's SQLite, FAISS
    and bm25s parts, or the PostgreSQL backend's tables (index/postgres.py) behind the same
    methods; `reader`, when set, runs each read in one database snapshot."""

    build_dir: Path | str
    manifest: dict
    store: Store
    dense: DenseIndex
    lexical: LexicalIndex
    embedder: Embedder | None
    weights: FusionWeights | None = None
    """Hybrid fusion weights; None means the ones tuned for the manifest's model (read when
    searching: a database index learns its manifest on loading)."""
    _documents: dict[str, StoredDocument] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    warning: str | None = None
    """Set when the published build was damaged and an older one is served instead."""
    device: str = "cpu"
    reader: Callable[..., T] | None = None
    """`reader(index, fn, plan)` runs one read (a search, a document list) as a unit, `plan`
    being a search's SearchPlan or None; None reads directly."""

    @classmethod
    def open(
        cls, index_dir: Path | str, device: str = "cpu", weights: FusionWeights | None = None
    ) -> SearchIndex:
        """Load the published build of `index_dir` (or, when it is damaged, the previous one
        that verifies, with `warning` set); raises IndexUnavailable with a sentence that says
        what to do when there is none or none verifies. A postgresql:// URL opens the index
        in that database instead."""
        if is_database_url(index_dir):
            from .postgres import open_database_index

            return open_database_index(index_dir, device, weights)
        index_dir = Path(index_dir)
        chosen = choose_build(index_dir)
        if chosen is None:
            raise IndexUnavailable(
                f"Det finns inget index i {index_dir}. Bygg det först: strategisok index "
                "[KORPUSMAPP] --index-dir " + str(index_dir)
            )
        build, manifest, warning = chosen
        store = Store.open(build / "chunks.sqlite")
        dense = DenseIndex.load(build / "dense.faiss", manifest["dense"]["kind"])
        lexical = LexicalIndex.load(build / "lexical")
        # The model loads on the first dense query, so lexical search starts fast.
        embedder = Embedder(manifest["model"]["id"], device)
        documents = {d.source: d for d in store.documents()}
        return cls(
            build,
            manifest,
            store,
            dense,
            lexical,
            embedder,
            weights,
            documents,
            warning=warning,
            device=device,
        )

    @property
    def fusion_weights(self) -> FusionWeights:
        """`weights`, or those tuned for the index's model."""
        return self.weights or FusionWeights.for_model(self.manifest.get("model", {}).get("id"))

    @property
    def corpus_dir(self) -> Path:
        return Path(self.manifest["corpus_dir"])

    def _read(self, fn: Callable[[], T], plan: SearchPlan | None = None) -> T:
        return self.reader(self, fn, plan) if self.reader else fn()

    def _metadata(self, source: str) -> DocumentMetadata:
        document = self._documents.get(source) or self.store.document(source)
        return document.metadata

    def documents(self) -> list[StoredDocument]:
        return self._read(lambda: list(self._documents.values()))

    def document(self, source: str) -> StoredDocument | None:
        """The indexed document `source`, or None."""
        return self._read(lambda: self._documents.get(source) or self.store.document(source))

    def search(
        self, query: str, k: int = 5, mode: Mode = "hybrid", filters: Filters | None = None
    ) -> list[Hit]:
        """The `k` best passages for `query` (its first MAX_QUERY_CHARS characters), best
        first. An empty query finds nothing."""
        # A lone surrogate (undecodable bytes on the command line, "\udcff" in JSON) would
        # make the tokenizer raise; it stands for no character, so it matches nothing.
        query = _LONE_SURROGATE.sub("\ufffd", query[:MAX_QUERY_CHARS])
        if not query.strip() or k <= 0:
            return []
        # The query is embedded before the read begins, so that a database read can ask
        # for its nearest passages in the same round trip that opens its snapshot.
        vector = self._query_vector(query) if mode != "lexical" else None
        plan = SearchPlan(
            query,
            mode,
            max(self.fusion_weights.depth, k),
            bool(filters) or bool(quoted_phrases(query)),
            vector,
            self.embedder.model_id if vector is not None else None,
        )
        return self._read(lambda: self._search(query, k, mode, filters, plan), plan)

    def _search(
        self, query: str, k: int, mode: Mode, filters: Filters | None, plan: SearchPlan
    ) -> list[Hit]:
        allowed = self.store.allowed_rows(filters) if filters else None
        for phrase in quoted_phrases(query):
            containing = self.store.rows_containing(phrase)
            allowed = containing if allowed is None else np.intersect1d(allowed, containing)
        if allowed is not None and not len(allowed):
            return []
        fusion = self.fusion_weights
        depth = max(fusion.depth, k)
        query_terms = self.lexical.analyzer.query_terms(query)  # for BM25 and relevance
        rankings: dict[str, list[tuple[int, float]]] = {}
        if mode in ("lexical", "hybrid"):
            rankings["lexical"] = self._lexical(query_terms, depth, allowed)
        if mode in ("dense", "hybrid"):
            vector = plan.vector if plan.model_id == self.embedder.model_id else None
            rankings["dense"] = self._dense(query, depth, allowed, vector)
        if mode == "hybrid":
            weights = {"lexical": fusion.lexical, "dense": fusion.dense}
            ranked = score_fusion(rankings, weights, floors={"lexical": 0.0, "dense": None})
        else:
            ranked = rankings[mode]
        # Fetch a few spares so that collapsing near-duplicates still leaves k passages.
        candidates = ranked[: k * DUPLICATE_SPARES]
        chunks = self.store.chunks_by_rows(row for row, _ in candidates)
        distinct = set(collapse_near_duplicates([(row, chunks[row].text) for row, _ in candidates]))
        top = [(row, score) for row, score in candidates if row in distinct][:k]
        coverage = self.lexical.coverage(self.lexical.idf(query_terms), [r for r, _ in top])
        return [
            Hit(chunks[row], self._metadata(chunks[row].source), score, mode, float(c))
            for (row, score), c in zip(top, coverage, strict=True)
        ]

    def find_phrase(self, phrase: str, filters: Filters | None = None) -> list[Hit]:
        """Every passage containing `phrase` (whitespace- and case-folded), in document
        order."""
        return self._read(lambda: self._find_phrase(phrase, filters))

    def _find_phrase(self, phrase: str, filters: Filters | None) -> list[Hit]:
        if not phrase.strip():
            return []
        rows = self.store.rows_containing(phrase)
        if filters:
            rows = np.intersect1d(rows, self.store.allowed_rows(filters))
        chunks = self.store.chunks_by_rows(int(r) for r in rows)
        return [
            Hit(chunks[r], self._metadata(chunks[r].source), 1.0, "phrase", 1.0)
            for r in sorted(chunks)
        ]

    def neighbours(self, chunk: Chunk, before: int = 1, after: int = 1) -> list[Chunk]:
        """`chunk` with up to `before` and `after` passages around it in its document."""
        chunks = [c for c, _ in self._read(lambda: self.store.chunks_of(chunk.source))]
        return [c for c in chunks if chunk.ordinal - before <= c.ordinal <= chunk.ordinal + after]

    def _lexical(self, query_terms: list[str], depth: int, allowed: np.ndarray | None):
        return self.lexical.top(query_terms, depth, allowed)

    def _query_vector(self, query: str) -> np.ndarray:
        with self._lock:  # one model, many web threads: encode one query at a time
            return self.embedder.embed([query], "query")[0]

    def _dense(
        self,
        query: str,
        depth: int,
        allowed: np.ndarray | None,
        vector: np.ndarray | None = None,
    ):
        """The `depth` nearest rows to `query` (embedded here unless `vector` is given)."""
        if vector is None:
            vector = self._query_vector(query)
        return self.dense.search(vector, depth, allowed)
