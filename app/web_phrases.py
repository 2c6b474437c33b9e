""" "Hitta formuleringar": every passage that contains a phrase, grouped by document, with
near-identical passages from different documents shown once, and the HTML that lists them
with a copy button per passage (passage + citation line)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index import Hit
from index.fusion import jaccard, shingles
from index.search import quoted_phrases

from .results import citation, page_text
from .web_answer import copy_button, doc_facts, file_link, html_text

NEAR_IDENTICAL = 0.85
"""Share of shared word triples above which two passages count as the same wording."""

MAX_SHOWN = 200


def phrase_of(text: str) -> str:
    """The phrase to look for: the first quoted part of `text`, else all of it."""
    quoted = quoted_phrases(text)
    phrase = quoted[0] if quoted else text
    return " ".join(phrase.strip().strip("\"'”“«»").split())


@dataclass
class Passage:
    hit: Hit
    also_in: list[Hit] = field(default_factory=list)
    """Near-identical passages in other documents, shown once with this one."""


@dataclass
class DocumentGroup:
    source: str
    hits: list[Passage] = field(default_factory=list)


def group_passages(hits: list[Hit], threshold: float = NEAR_IDENTICAL) -> list[DocumentGroup]:
    """Hits grouped by document in the order they come; a passage near-identical to one
    already kept from another document is attached to that one instead of repeated."""
    groups: dict[str, DocumentGroup] = {}
    kept: list[tuple[frozenset, Passage]] = []
    for hit in hits:
        fingerprint = shingles(hit.chunk.text)
        twin = next(
            (
                p
                for s, p in kept
                if p.hit.chunk.source != hit.chunk.source and jaccard(s, fingerprint) >= threshold
            ),
            None,
        )
        if twin is not None:
            twin.also_in.append(hit)
            continue
        passage = Passage(hit)
        kept.append((fingerprint, passage))
        groups.setdefault(hit.chunk.source, DocumentGroup(hit.chunk.source)).hits.append(passage)
    return list(groups.values())


def copy_text(hit: Hit) -> str:
    """What a copy button copies: the passage, then its citation line."""
    return f"{hit.chunk.text.strip()}\n\n{citation(hit)}"


def _highlight(text: str, phrase: str) -> str:
    words = [re.escape(w) for w in phrase.split()]
    if not words:
        return html_text(text)
    pattern = re.compile(r"\s+".join(words), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [html_text(text[last : match.start()]), "<mark>", html_text(match.group())]
        out.append("</mark>")
        last = match.end()
    out.append(html_text(text[last:]))
    return "".join(out)


def phrases_html(phrase: str, hits: list[Hit]) -> str:
    """The result list for `phrase`, all document text escaped."""
    if not phrase:
        return (
            '<p class="sok-info">Skriv en formulering, gärna inom citattecken, t.ex. '
            "”inget att erinra”.</p>"
        )
    if not hits:
        return (
            f'<p class="sok-info">Formuleringen ”{html_text(phrase)}” finns inte i dokumenten'
            " (med de filter som är valda). Prova en kortare del av den.</p>"
        )
    groups = group_passages(hits[:MAX_SHOWN])
    documents = {h.chunk.source for h in hits}
    out = [
        f'<p class="sok-info">”{html_text(phrase)}” finns i {len(hits)} avsnitt i '
        f"{len(documents)} dokument.</p>"
    ]
    if len(hits) > MAX_SHOWN:
        out.append(f'<p class="sok-info">De första {MAX_SHOWN} visas.</p>')
    for group in groups:
        first = group.hits[0].hit
        out.append('<section class="sok-doc">')
        out.append(f"<h3>{html_text(first.document.title)}</h3>")
        for passage in group.hits:
            hit = passage.hit
            out.append('<div class="sok-passage">')
            out.append(f"<blockquote>{_highlight(hit.chunk.text.strip(), phrase)}</blockquote>")
            page = page_text(hit.chunk)
            out.append(
                f'<p class="sok-cite">{html_text(" · ".join(doc_facts(hit)))} · '
                f'<a href="{html_text(file_link(hit.chunk.source, hit.chunk.page_start))}" '
                f'target="_blank" rel="noopener">Öppna originalet{f" ({page})" if page else ""}'
                "</a></p>"
            )
            if passage.also_in:
                others = "; ".join(citation(h) for h in passage.also_in)
                out.append(
                    '<p class="sok-also">Samma formulering även i: ' + html_text(others) + "</p>"
                )
            out.append(copy_button(copy_text(hit), "Kopiera med källhänvisning"))
            out.append("</div>")
        out.append("</section>")
    return "\n".join(out)
