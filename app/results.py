"""Hits as people and other tools see them: the JSON contract of DESIGN.md, a citation line,
and which words of a passage match the question (for highlighting)."""

from __future__ import annotations

import re

from answer import Answer
from index import Hit
from index.lexical import analyze
from ingest import Chunk

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


DOC_TYPE_LABELS = {
    "strategi": "Strategi",
    "remissvar": "Remissvar/tjänsteutlåtande",
    "remiss": "Remiss",
    "policy": "Policy/riktlinje",
    "annat": "Annat",
}


def page_text(chunk: Chunk) -> str | None:
    """The page as people cite it: the printed label ("s. 4"), with the PDF's own page
    number after it where the two differ ("s. iv (PDF-sida 6)"); None when unknown."""
    label, physical = chunk.page_label, chunk.page_start
    if label and physical and label != str(physical):
        return f"s. {label} (PDF-sida {physical})"
    return f"s. {label or physical}" if (label or physical) else None


def citation(hit: Hit) -> str:
    """The full reference of a passage: title, organisation, type, date, section, page, e.g.
    "Internationell strategi för Stockholms stad. Svar på remiss. Exploateringsnämnden,
    remissvar/tjänsteutlåtande, 2016-09-22, avsnitt ”Bakgrund”, s. 2"."""
    doc, chunk = hit.document, hit.chunk
    kind = DOC_TYPE_LABELS.get(doc.doc_type or "", doc.doc_type)
    facts = [
        doc.organisation,
        kind and kind.lower(),
        doc.date,
        chunk.section and f"avsnitt ”{chunk.section}”",
        page_text(chunk),
    ]
    title = doc.title.rstrip(" .")
    return f"{title}. " + ", ".join(f for f in facts if f)


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
