"""The "Dokument" tab and the start screen's example questions: what the corpus holds, found by
title, organisation or file name, sorted by title, date or type, a page at a time, with
counts per type. Pure functions over the index's document list, so tests can call them."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from index import SearchIndex

from .results import DOC_TYPE_LABELS
from .web_answer import html_text

PAGE_SIZE = 25
SORTS = {
    "titel": "Titel (A–Ö)",
    "datum": "Datum (nyast först)",
    "typ": "Dokumenttyp",
}
# Swedish alphabetical order puts å, ä, ö after z, in that order.
_SWEDISH_ORDER = str.maketrans({"å": "z\x01", "ä": "z\x02", "ö": "z\x03"})

# Section headings that say nothing about a document's subject.
_GENERIC_HEADINGS = frozenset(
    {
        "bakgrund",
        "sammanfattning",
        "inledning",
        "förslag till beslut",
        "beslut",
        "ärendet",
        "ärendets beredning",
        "bilagor",
        "innehåll",
        "innehållsförteckning",
        "syfte",
        "referenser",
    }
)


_NUMBERING = re.compile(r"^\d+(\.\d+)*\.?\s+")


def sort_key_title(title: str) -> str:
    return title.casefold().translate(_SWEDISH_ORDER)


@dataclass(frozen=True)
class DocumentPage:
    """One page of the document list: the documents on it, how many matched, which page."""

    documents: list
    matching: int
    page: int
    pages: int


def list_documents(documents: list, text: str = "", sort: str = "titel", page: int = 1):
    """The documents whose title, organisation or file name contains every word of `text`
    (case-insensitive), sorted by `sort` (a key of SORTS), page `page` of PAGE_SIZE."""
    words = text.casefold().split()

    def matches(d) -> bool:
        m = d.metadata
        haystack = " ".join(x for x in (m.title, m.organisation, d.source) if x).casefold()
        return all(w in haystack for w in words)

    chosen = [d for d in documents if matches(d)]
    by_title = sorted(chosen, key=lambda d: (sort_key_title(d.metadata.title), d.source))
    if sort == "datum":
        # newest first; documents without a date last, in title order
        dated = sorted((d for d in by_title if d.metadata.date), key=lambda d: d.metadata.date)
        chosen = dated[::-1] + [d for d in by_title if not d.metadata.date]
    elif sort == "typ":
        order = list(DOC_TYPE_LABELS)
        chosen = sorted(
            by_title,
            key=lambda d: (
                order.index(d.metadata.doc_type) if d.metadata.doc_type in order else len(order)
            ),
        )
    else:
        chosen = by_title
    pages = max(1, math.ceil(len(chosen) / PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    shown = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return DocumentPage(shown, len(chosen), page, pages)


# The types counted: (one, several).
_COUNTED = {
    "strategi": ("strategi", "strategier"),
    "remissvar": ("remissvar/tjänsteutlåtande", "remissvar/tjänsteutlåtanden"),
    "remiss": ("remiss", "remisser"),
    "policy": ("policy/riktlinje", "policyer/riktlinjer"),
    "annat": ("annat dokument", "andra dokument"),
}


def type_counts(documents: list) -> str:
    """E.g. "12 dokument i sökningen: 3 strategier, 7 remissvar/tjänsteutlåtanden, 2 utan
    typ"."""
    counts: dict[str, int] = {}
    for d in documents:
        counts[d.metadata.doc_type or ""] = counts.get(d.metadata.doc_type or "", 0) + 1
    parts = [f"{counts[t]} {_COUNTED[t][counts[t] > 1]}" for t in _COUNTED if counts.get(t)]
    if counts.get(""):
        parts.append(f"{counts['']} utan typ")
    total = f"{len(documents)} dokument i sökningen"
    return f"{total}: {', '.join(parts)}" if parts else total


def opening_paragraph(index: SearchIndex, source: str, limit: int = 400) -> str:
    """The first real paragraph of a document (skipping headings and address lines)."""
    chunks = index.store.chunks_of(source)
    for chunk, _ in chunks[:4]:
        for paragraph in chunk.text.split("\n\n"):
            text = " ".join(paragraph.split())
            if len(text) >= 80:
                return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
    return " ".join(chunks[0][0].text.split())[:limit] if chunks else ""


def documents_html(
    index: SearchIndex | None,
    problem: str | None = None,
    text: str = "",
    sort: str = "titel",
    page: int = 1,
) -> str:
    """The document list: counts per type, the page of documents matching `text`, and the
    files that could not be read. All document text is escaped."""
    if index is None:
        return f'<p class="sok-info">{html_text(problem or "")}</p>'
    documents = index.documents()
    return listing_html(index, documents, list_documents(documents, text, sort, page), text)


def listing_html(index: SearchIndex, documents: list, listing: DocumentPage, text: str) -> str:
    """The document list for `listing`, one page of `documents` (all of the index's)."""
    out = [f'<div class="sok-docs"><p class="sok-counts">{html_text(type_counts(documents))}.</p>']
    if index.warning:
        out.append(f'<p class="sok-info"><strong>Obs:</strong> {html_text(index.warning)}</p>')
    if text.strip():
        out.append(
            f'<p class="sok-info">{listing.matching} dokument innehåller ”{html_text(text)}”.</p>'
        )
    for d in listing.documents:
        m = d.metadata
        facts = [
            DOC_TYPE_LABELS.get(m.doc_type, m.doc_type),
            m.organisation,
            m.date,
            m.page_count and f"{m.page_count} sidor",
        ]
        link = "fil/" + html.escape(d.source.replace("%", "%25").replace("#", "%23"), quote=True)
        out.append(
            f"<article><h3>{html_text(m.title)}</h3>"
            f'<p class="facts">{html_text(" · ".join(str(f) for f in facts if f))} · '
            f'<a href="{link}" target="_blank" rel="noopener">Öppna originalet</a></p>'
            f'<p class="opening">{html_text(opening_paragraph(index, d.source))}</p></article>'
        )
    if listing.pages > 1:
        first = (listing.page - 1) * PAGE_SIZE + 1
        last = first + len(listing.documents) - 1
        out.append(
            f'<p class="sok-pager">Sida {listing.page} av {listing.pages} '
            f"(dokument {first}–{last} av {listing.matching}).</p>"
        )
    failures = index.store.failures()
    if failures and not text.strip():
        out.append("<h3>Filer som inte kunde läsas</h3><ul>")
        out += [f"<li>{html_text(f.source)}: {html_text(f.reason)}</li>" for f in failures]
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def candidate_questions(index: SearchIndex, limit: int = 12) -> list[str]:
    """Questions about what the corpus holds, newest documents first and one per document:
    about a telling section heading of it, or about the document itself."""
    documents = sorted(index.documents(), key=lambda d: d.metadata.date or "", reverse=True)
    questions = []
    for d in documents[:limit]:
        title = " ".join(d.metadata.title.split()).rstrip(" .")
        if len(title) > 70:
            title = title[:70].rsplit(" ", 1)[0] + " …"
        headings = [
            c.section_path[-1] for c, _ in index.store.chunks_of(d.source)[:12] if c.section_path
        ]
        telling = next(
            (
                h
                for h in headings
                if 3 <= len(h.split()) <= 8 and h.casefold().strip(" :.") not in _GENERIC_HEADINGS
            ),
            None,
        )
        if telling:
            telling = _NUMBERING.sub("", telling)
            questions.append(f"Vad står det om {telling[0].lower() + telling[1:]} i ”{title}”?")
        else:
            questions.append(f"Vad handlar ”{title}” om?")
    return questions
