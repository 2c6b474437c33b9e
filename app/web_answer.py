"""What the chat shows, as pure functions: an `Answer` (from the answer stage) laid out as
markdown, and every piece of document text made safe to show as markdown or HTML. No Gradio
here, so tests can feed hand-made answers."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from answer import MAX_QUESTION_CHARS, Answer
from index import Hit
from ingest import DocumentMetadata

from .results import DOC_TYPE_LABELS, citation, match_spans, page_text

__all__ = ["DOC_TYPE_LABELS"]  # re-exported: the page's labels live with the citation

MODE_LABELS = {
    "hybrid": "Kombinerad (ord + betydelse)",
    "lexical": "Ordsökning",
    "dense": "Betydelse (semantisk)",
}

REPHRASE_TIPS = (
    "Prova att:\n"
    "- använda andra ord eller synonymer (t.ex. *samarbete* i stället för *samverkan*),\n"
    "- skriva en kortare fråga med bara de viktigaste orden,\n"
    "- ta bort filter under *Avgränsa*,\n"
    "- söka efter en exakt formulering i fliken *Hitta formuleringar*."
)

# Characters that markdown or the page's templates could read as syntax. Written as numeric
# entities they show as themselves and mean nothing: a document's "[x](javascript:…)",
# "<script>" or "# rubrik" stays text.
_MARKDOWN_SYNTAX = set("\\`*_{}[]()#+-.!|<>&~$\"'=:@%^")


# -- safe text ------------------------------------------------------------------------------


def md_text(text: str) -> str:
    """`text` with every character markdown or HTML could read as syntax written as a
    numeric entity, so it renders exactly as written and never as a link, tag or heading."""
    return "".join(f"&#{ord(c)};" if c in _MARKDOWN_SYNTAX else c for c in text)


def marked(text: str, query: str, escape=md_text) -> str:
    """`text` made safe with `escape`, the words that match the question in <mark>. Lines
    lose their indentation, which markdown would otherwise read as a code block."""
    text = "\n".join(line.strip() for line in text.splitlines())
    out, last = [], 0
    for start, end in match_spans(text, query):
        out += [escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>"]
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def html_text(text: str) -> str:
    """`text` escaped for an HTML page (quotes too, so it is safe in attributes)."""
    return html.escape(text, quote=True).replace("{", "&#123;").replace("$", "&#36;")


# -- the answer ------------------------------------------------------------------------------


def doc_facts(hit: Hit) -> list[str]:
    doc = hit.document
    return [
        x
        for x in (doc.organisation, DOC_TYPE_LABELS.get(doc.doc_type or "", doc.doc_type), doc.date)
        if x
    ] + where_facts(hit)


def where_facts(hit: Hit) -> list[str]:
    """Where in its document a passage is: its section and page."""
    chunk = hit.chunk
    return [x for x in (chunk.section and f"avsnitt: {chunk.section}", page_text(chunk)) if x]


def copy_button(text: str, label: str) -> str:
    """A button that copies `text` (plain text, no markup) to the clipboard; the page's one
    click handler (web.PAGE_JS) reads it from the button's value, which survives the chat's
    HTML sanitiser (data attributes do not) and means nothing outside a form. Every character
    markdown or HTML could read, and line breaks, are written as entities, so that the
    button stays one piece of inert text whatever the passage holds."""
    return (
        f'<button type="button" class="sok-copy" '
        f'value="{md_text(text).replace(chr(10), "&#10;")}">{html.escape(label)}</button>'
    )


def original_link(hit: Hit) -> str:
    """Markdown link to the original file, labelled with the page as it is cited and
    opening at that page (PDFs open at the physical page the label stands for)."""
    page = page_text(hit.chunk)
    label = f"Öppna originalet ({page})" if page else "Öppna originalet"
    return f"[{md_text(label)}]({file_link(hit.chunk.source, hit.chunk.page_start)})"


def context_link(hit: Hit, query: str) -> str:
    """Relative link to the passage shown among its neighbours (see web_files)."""
    params = {"dok": hit.chunk.source, "nr": hit.chunk.ordinal, "q": query[:300]}
    return "kalla?" + urlencode(params) + "#traff"


def file_link(source: str, page: int | None = None) -> str:
    """Relative link to the original file; a PDF opens at `page`."""
    link = "fil/" + quote(source)
    if page and source.lower().endswith(".pdf"):
        link += f"#page={page}"
    return link


def source_groups(hits: list[Hit]) -> list[tuple[DocumentMetadata, list[Hit]]]:
    """The sources grouped by document, documents in the order of their best passage."""
    groups: dict[str, tuple[DocumentMetadata, list[Hit]]] = {}
    for hit in hits:
        groups.setdefault(hit.chunk.source, (hit.document, []))[1].append(hit)
    return list(groups.values())


def not_found_answer(answer: Answer, filtered: bool) -> str:
    shown = answer.question if len(answer.question) <= 200 else answer.question[:200] + " …"
    text = f"Jag hittade inget i dokumenten om ”{md_text(shown)}”."
    if filtered:
        text += " Sökningen var avgränsad med filter."
    return f"{text}\n\n{REPHRASE_TIPS}"


def empty_question_answer() -> str:
    return (
        "Skriv en fråga om strategierna eller remissvaren, till exempel "
        "”Vilka inriktningar har den internationella strategin?”."
    )


def answer_markdown(
    answer: Answer, filtered: bool = False, read_by_ocr: dict[str, str] | None = None
) -> str:
    """The assistant's message: how the question was read, the verbatim lead and the passage
    it came from, then numbered sources with their passages and the question's words
    highlighted; `read_by_ocr` maps a source to the note that pages of it were read by OCR.
    Every piece of document text is escaped; only the structure around it is markdown."""
    notes = []
    if answer.truncated:
        notes.append(f"*Frågan var lång och kortades till {MAX_QUESTION_CHARS} tecken.*")
    if answer.carried:
        notes.append(
            "*Tolkad tillsammans med föregående fråga: ”" + md_text(answer.interpreted_as) + "”.*"
        )
    if not answer.found:
        return "\n\n".join([*notes, not_found_answer(answer, filtered)])

    groups = source_groups(answer.sources)
    number, best = next(
        (n, h)
        for n, (_, hits) in enumerate(groups, 1)
        for h in hits
        if h.chunk.chunk_id == answer.answer_chunk_id
    )
    lead = " ".join((answer.lead or "").split())
    reference = citation(best)
    parts = [
        *notes,
        f"> {md_text(lead)}",
        f"— ur källa {number}: {md_text(reference)}",
        copy_button(f"{lead}\n\n{reference}", "Kopiera svaret med källhänvisning"),
        f"**Källor ({len(groups)})**",
    ]
    for number, (document, hits) in enumerate(groups, 1):
        head = [f"**{number}. {md_text(document.title)}**"]
        facts = [
            x
            for x in (
                document.organisation,
                DOC_TYPE_LABELS.get(document.doc_type or "", document.doc_type),
                document.date,
            )
            if x
        ]
        if facts:
            head.append(md_text(" · ".join(facts)))
        source = hits[0].chunk.source
        if read_by_ocr and source in read_by_ocr:
            head.append(f"*Obs: {md_text(read_by_ocr[source])}.*")
        parts.append("  \n".join(head))
        for hit in hits:
            where = " · ".join(where_facts(hit))
            links = [
                f"[Visa i sammanhang]({context_link(hit, answer.interpreted_as)})",
                original_link(hit),
            ]
            parts.append(
                (f"*{md_text(where)}*  \n" if where else "")
                + f"{marked(hit.chunk.text, answer.interpreted_as)}  \n"
                + " · ".join(links)
                + "\n\n"
                + copy_button(
                    f"{hit.chunk.text.strip()}\n\n{citation(hit)}",
                    "Kopiera avsnittet med källhänvisning",
                )
            )
    return "\n\n".join(parts)
