"""The answer function that the chat, `strategisok ask` and the `/svara` endpoint share:
question + earlier questions + a SearchIndex → an `Answer`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import Filters, Hit, Mode, SearchIndex

from .followup import Reading, read_conversation
from .found import Evidence, is_found
from .lead import LEAD_PASSAGES, Candidate, asks_for, candidates, choose_lead
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


def _overlap(index: SearchIndex, query: str, texts: list[str]) -> np.ndarray:
    """Share of the question's rare-word (IDF) weight that each text contains."""
    analyzer = index.lexical.analyzer
    weights = index.lexical.idf(analyzer.query_terms(query))
    total = sum(weights.values())
    if total <= 0:
        return np.zeros(len(texts))
    return (
        np.array([sum(weights[t] for t in set(analyzer.terms(x)) & weights.keys()) for x in texts])
        / total
    )


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
    if not hits:
        return _not_found(reading, kind)
    top = hits[:LEAD_PASSAGES]
    found = candidates([h.chunk.text for h in top])
    if not found:
        return _not_found(reading, kind)
    titled = [f"{top[c.passage].document.title}: {c.text}" for c in found]
    query_vector = embed_cached(index.embedder, [reading.interpreted_as], "query")[0]
    similarity = embed_cached(index.embedder, titled, "passage") @ query_vector
    overlap = _overlap(index, reading.interpreted_as, [c.text for c in found])
    best: Candidate = found[choose_lead(reading.asked, kind, found, similarity, overlap)]
    evidence = Evidence(
        relevance=max(h.relevance for h in top),
        similarity=float(similarity.max()),
        lead_overlap=float(overlap.max()),
    )
    if not is_found(evidence):
        return _not_found(reading, kind)
    lead_hit = top[best.passage]
    sources = [h for h in hits[:k] if h is lead_hit or h.relevance >= evidence.relevance / 2]
    if lead_hit not in sources:
        sources = [lead_hit, *sources[: k - 1]]
    return Answer(
        reading.asked,
        reading.interpreted_as,
        True,
        best.text,
        lead_hit.chunk.chunk_id,
        tuple(sources),
        reading.carried,
        reading.truncated,
        kind,
    )


def _not_found(reading: Reading, kind: str) -> Answer:
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
    )
