"""Hits as people and other tools see them: the JSON contract of DESIGN.md, a citation line,
and which words of a passage match the question (for highlighting)."""

from __future__ import annotations

import re

from answer import Answer
from index import Hit
from index.lexical import analyze

_WORD = re.compile(r"\w+", re.UNICODE)


def hit_to_json(hit: Hit, rank: int) -> dict:
    chunk, doc = hit.chunk, hit.document
    return {
        "rank": rank,
        "score": round(float(hit.score), 6),
        "source": chunk.source,
        "title": doc.title,
        "page": chunk.page_start,
        "section": chunk.section,
        "text": chunk.text,
        "doc_type": doc.doc_type,
        "organisation": doc.organisation,
        "date": doc.date,
        "chunk_id": chunk.chunk_id,
    }


def query_to_json(query: str, hits: list[Hit]) -> dict:
    return {"query": query, "results": [hit_to_json(h, i) for i, h in enumerate(hits, 1)]}


def answer_to_json(query: str, answer: Answer | None) -> dict:
    """The JSON of `strategisok ask --json` and `/svara` (../shared/DESIGN.md); None (no
    index to ask) reads as nothing found."""
    if answer is None:
        return {
            "query": query,
            "interpreted_as": " ".join(query.split()),
            "found": False,
            "answer": None,
            "answer_chunk_id": None,
            "results": [],
        }
    return {
        "query": query,
        "interpreted_as": answer.interpreted_as,
        "found": answer.found,
        "answer": answer.lead,
        "answer_chunk_id": answer.answer_chunk_id,
        "results": [hit_to_json(h, i) for i, h in enumerate(answer.sources, 1)],
    }


def citation(hit: Hit) -> str:
    """E.g. "Exploateringsnämnden, remissvar 2016-09-22, s. 2"."""
    doc, chunk = hit.document, hit.chunk
    parts = [doc.organisation or doc.title, " ".join(p for p in (doc.doc_type, doc.date) if p)]
    if chunk.page_label or chunk.page_start:
        parts.append(f"s. {chunk.page_label or chunk.page_start}")
    return ", ".join(p for p in parts if p)


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of the words in `text` whose stem is one of the query's terms."""
    terms = set(analyze(query))
    if not terms:
        return []
    spans = []
    for match in _WORD.finditer(text):
        stemmed = analyze(match.group())
        if stemmed and stemmed[0] in terms:
            spans.append(match.span())
    return spans


def mark(text: str, query: str, before: str, after: str) -> str:
    """`text` with each matching word wrapped in `before` … `after`."""
    out, last = [], 0
    for start, end in match_spans(text, query):
        out += [text[last:start], before, text[start:end], after]
        last = end
    out.append(text[last:])
    return "".join(out)
