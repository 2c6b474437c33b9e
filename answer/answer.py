"""The answer function that the chat, `strategisok ask` and the `/svara` endpoint share:
question + earlier questions + a SearchIndex → an `Answer`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import Filters, Hit, Mode, SearchIndex
from index.build import lead_text

from .followup import Reading, read_conversation
from .found import Evidence, FoundThresholds, is_found
from .lead import (
    LEAD_PASSAGES,
    Candidate,
    asks_for,
    candidates,
    choose_lead,
    holds,
    prescore,
    shortlist,
    weight_share,
    word_overlap,
)
from .vectors import embed_cached


@dataclass(frozen=True)
class Answer:
    """What the assistant answers to one question."""

    question: str
    """The question as asked (whitespace folded, cut at MAX_QUESTION_CHARS)."""
    interpreted_as: str
    """What was searched: the question, with the carried words of a follow-up."""
    found: bool
    """Whether the documents answer it; when not, `lead` is None and `sources` empty."""
    lead: str | None
    """The verbatim lead: a substring of the text of the passage `answer_chunk_id`."""
    answer_chunk_id: str | None
    sources: tuple[Hit, ...]
    """The passages that answer, best first (the lead's among them)."""
    carried: tuple[str, ...] = ()
    """Words taken from earlier questions (empty when the question stands alone)."""
    truncated: bool = False
    asks_for: str = "any"
    """What kind of fact the question asks for (see lead.asks_for)."""
    evidence: Evidence | None = None
    """What the found/not found decision was made from (None when nothing was searched)."""


@dataclass(frozen=True)
class _Terms:
    """The question's BM25 terms with their IDF weights, and which are unknown to the index."""

    weights: dict[str, float]
    unknown: frozenset[str]
    never: float
    """The IDF of a term no passage contains (the largest there is)."""

    @classmethod
    def of(cls, index: SearchIndex, query: str) -> _Terms:
        weights = index.lexical.idf(index.lexical.analyzer.query_terms(query))
        never = max(index.lexical.idf(["\x00never-a-term"]).values())
        unknown = frozenset(t for t, w in weights.items() if w >= never - 1e-9)
        return cls(weights, unknown, never)

    def share(self, terms: set[str]) -> float:
        """Share of the question's IDF weight among `terms`."""
        return weight_share(self.weights, terms)

    def rarest_known(self, count: int = 2) -> list[str]:
        known = [t for t in self.weights if t not in self.unknown]
        return sorted(known, key=lambda t: -self.weights[t])[:count]


def answer_question(
    index: SearchIndex,
    question: str,
    previous: list[str] | tuple[str, ...] = (),
    k: int = 5,
    filters: Filters | None = None,
    mode: Mode = "hybrid",
) -> Answer:
    """Answer `question`, asked after the earlier questions `previous` (oldest first), with
    at most `k` sources. Never raises for odd input: an empty question finds nothing."""
    reading = read_conversation(
        index, question, previous, lambda texts: embed_cached(index.embedder, texts, "query")
    )
    kind = asks_for(reading.asked)
    if not reading.asked:
        return _not_found(reading, kind)
    hits = index.search(reading.interpreted_as, k=max(k, LEAD_PASSAGES), mode=mode, filters=filters)
    top = hits[:LEAD_PASSAGES]
    query_vector = embed_cached(index.embedder, [reading.interpreted_as], "query")[0]
    found, similarity = _lead_candidates(index, top, query_vector)
    if not found:
        return _not_found(reading, kind)
    analyzer = index.lexical.analyzer
    terms = _Terms.of(index, reading.interpreted_as)
    sentence_terms = [set(analyzer.terms(c.text)) for c in found]
    passage_terms = [set(analyzer.terms(h.chunk.text)) for h in top]
    # The lead is chosen for the words of the question itself: the words a follow-up
    # carries in found the passages, and would otherwise drown what it asks.
    own_terms = _Terms.of(index, reading.asked)
    title_terms = [set(analyzer.terms(h.document.title)) for h in top]
    overlap = np.array(
        [
            word_overlap(own_terms.weights, t, title_terms[c.passage])
            for c, t in zip(found, sentence_terms, strict=True)
        ]
    )
    if similarity is None:
        # Only the likeliest candidates are embedded (an encoder costs milliseconds a
        # sentence); the others keep NaN and are not chosen.
        chosen = shortlist(prescore(reading.asked, kind, found, overlap))
        titled = [lead_text(top[found[i].passage].document.title, found[i].text) for i in chosen]
        similarity = np.full(len(found), np.nan)
        similarity[chosen] = embed_cached(index.embedder, titled, "passage") @ query_vector
    best = choose_lead(reading.asked, kind, found, similarity, overlap)
    rarest = terms.rarest_known()
    lead = found[best]
    missing = [
        terms.weights[t] / terms.never
        for t in terms.weights
        if t not in terms.unknown and t not in passage_terms[lead.passage]
    ]
    evidence = Evidence(
        relevance=max(h.relevance for h in top),
        similarity=float(np.nanmax(similarity)),
        lead_overlap=max(own_terms.share(t) for t in sentence_terms),
        rare_covered=max((len(set(rarest) & t) / len(rarest) for t in passage_terms), default=0.0)
        if rarest
        else 0.0,
        unknown=terms.share(set(terms.unknown)),
        kind_held=1.0 if kind == "any" else max(holds(kind, c.text, reading.asked) for c in found),
        missing_rare=max(missing, default=0.0),
    )
    passages = index.manifest.get("counts", {}).get("chunks")
    if not is_found(evidence, FoundThresholds.for_model(index.embedder.model_id, passages)):
        return _not_found(reading, kind, evidence)
    lead_hit = top[lead.passage]
    sources = [h for h in hits[:k] if h is lead_hit or h.relevance >= evidence.relevance / 2]
    if lead_hit not in sources:
        sources = [lead_hit, *sources[: k - 1]]
    return Answer(
        reading.asked,
        reading.interpreted_as,
        True,
        lead.text,
        lead_hit.chunk.chunk_id,
        tuple(sources),
        reading.carried,
        reading.truncated,
        kind,
        evidence,
    )


def _lead_candidates(
    index: SearchIndex, top: list[Hit], query_vector: np.ndarray
) -> tuple[list[Candidate], np.ndarray | None]:
    """The lead candidates of the best passages, and their cosines to the question where
    the index holds their vectors (None where it does not: they are embedded here)."""
    stored = index.store.lead_sentences([h.chunk.chunk_id for h in top])
    if not all(h.chunk.chunk_id in stored for h in top):
        return candidates([h.chunk.text for h in top]), None
    found, vectors = [], []
    for rank, hit in enumerate(top):
        spans, matrix = stored[hit.chunk.chunk_id]
        text = hit.chunk.text
        found += [Candidate(rank, int(a), int(b), text[a:b]) for a, b in spans]
        vectors.append(matrix)
    return found, np.concatenate(vectors) @ query_vector if found else None


def _not_found(reading: Reading, kind: str, evidence: Evidence | None = None) -> Answer:
    return Answer(
        reading.asked,
        reading.interpreted_as,
        False,
        None,
        None,
        (),
        reading.carried,
        reading.truncated,
        kind,
        evidence,
    )
