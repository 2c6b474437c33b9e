"""What the chat shows, as pure functions: an `Answer` (from the answer stage) laid out as
markdown, and every piece of document text made safe to show as markdown or HTML. No Gradio
here, so tests can feed hand-made answers."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from answer import MAX_QUESTION_CHARS, Answer
from index import Hit

from .results import citation, match_spans

DOC_TYPE_LABELS = {
    "strategi": "Strategi",
    "remissvar": "Remissvar/tjänsteutlåtande",
    "remiss": "Remiss",
    "policy": "Policy/riktlinje",
    "annat": "Annat",
}

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
    doc, chunk = hit.document, hit.chunk
    page = chunk.page_label or chunk.page_start
    return [
        x
        for x in (
            doc.organisation,
            DOC_TYPE_LABELS.get(doc.doc_type or "", doc.doc_type),
            doc.date,
            chunk.section and f"avsnitt: {chunk.section}",
            page and f"s. {page}",
        )
        if x
    ]


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


def answer_markdown(answer: Answer, filtered: bool = False) -> str:
    """The assistant's message: how the question was read, the verbatim lead and the passage
    it came from, then numbered sources with their passages and the question's words
    highlighted. Every piece of document text is escaped; only the structure around it is
    markdown."""
    notes = []
    if answer.truncated:
        notes.append(f"*Frågan var lång och kortades till {MAX_QUESTION_CHARS} tecken.*")
    if answer.carried:
        notes.append(
            "*Tolkad tillsammans med föregående fråga: ”" + md_text(answer.interpreted_as) + "”.*"
        )
    if not answer.found:
        return "\n\n".join([*notes, not_found_answer(answer, filtered)])

    number, best = next(
        (n, h)
        for n, h in enumerate(answer.sources, 1)
        if h.chunk.chunk_id == answer.answer_chunk_id
    )
    lead = " ".join((answer.lead or "").split())
    parts = [
        *notes,
        f"> {md_text(lead)}",
        f"— ur källa {number}: {md_text(citation(best))}",
        f"**Källor ({len(answer.sources)})**",
    ]
    for number, hit in enumerate(answer.sources, 1):
        page = hit.chunk.page_start
        links = [f"[Visa i sammanhang]({context_link(hit, answer.interpreted_as)})"]
        links.append(
            f"[Öppna originalet{f' (s. {page})' if page else ''}]"
            f"({file_link(hit.chunk.source, page)})"
        )
        parts.append(
            f"**{number}. {md_text(hit.document.title)}**  \n"
            f"{md_text(' · '.join(doc_facts(hit)))}  \n"
            f"{marked(hit.chunk.text, answer.interpreted_as)}  \n" + " · ".join(links)
        )
    return "\n\n".join(parts)
