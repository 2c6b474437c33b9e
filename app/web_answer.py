"""What the chat says, as pure functions over hits: the verbatim lead sentence(s), follow-up
questions read in context, and every piece of document text made safe to show as markdown
or HTML. No Gradio here, so tests can feed hand-made hits."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from bm25s.stopwords import STOPWORDS_SWEDISH

from index import RELEVANCE_THRESHOLD, Hit
from index.lexical import analyze

from .results import citation, match_spans

MAX_QUESTION_CHARS = 1000
"""Longer questions are cut here: no passage answers a whole page, and the model reads
only its first few hundred words anyway."""

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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no topic of their own in a question (on top of the index's stop words).
_QUESTION_WORDS = _words(
    """vad hur vilka vilken vilket varför när var finns fanns gäller gälla säger står
    skriver sägs enligt ska skall får bör kan måste finns något några någon mer mera
    också även bara då så sen sedan om"""
)
_STOPWORDS = frozenset(STOPWORDS_SWEDISH) | _QUESTION_WORDS
_FOLLOW_UP_OPENERS = ("och ", "men ", "samt ", "även ", "också ", "än ", "plus ")
_FOLLOW_UP_PHRASES = ("vad gäller", "hur är det med", "när det gäller", "vad händer med")
_REFERRING_WORDS = _words("den det de dem denna detta dessa deras dess där dit därför dom samma")
_WORD = re.compile(r"\w[\w-]*", re.UNICODE)
_ABBREVIATIONS = _words(
    "t.ex bl.a s.k m.m dvs osv ca nr kap jfr resp fr.o.m t.o.m p.g.a enl st s.a.s o.s.v "
    "d.v.s m.fl f.d prop sek kr milj mdr"
)
_SENTENCE_END = re.compile(r"[.!?](?=[\"”»)]*\s+[\"”«(–-]*[A-ZÅÄÖ0-9])")


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


# -- questions in context ------------------------------------------------------------------


def content_words(question: str) -> list[str]:
    """The question's topic words in their written form, in order, without repeats."""
    seen, words = set(), []
    for word in _WORD.findall(question):
        low = word.lower()
        if low in _STOPWORDS or len(low) < 3 or low.isdigit() or low in seen:
            continue
        seen.add(low)
        words.append(word)
    return words


def is_follow_up(question: str) -> bool:
    """Does the question lean on the one before ("Och vad gäller för bolagen?", "Vad
    kostar det?")? Short questions, questions opening with och/men/vad gäller … and ones
    that point back with a pronoun do."""
    low = " ".join(question.lower().split())
    if low.startswith(_FOLLOW_UP_OPENERS) or any(p in low for p in _FOLLOW_UP_PHRASES):
        return True
    words = _WORD.findall(low)
    if len(content_words(question)) <= 1:
        return True
    return bool(words) and (words[0] in _REFERRING_WORDS or len(words) <= 4)


@dataclass(frozen=True)
class ReadQuestion:
    """A question as the chat searches for it."""

    asked: str
    """What the user typed (cut at MAX_QUESTION_CHARS)."""
    search: str
    """What is searched: the question, plus the topic of the previous one for a follow-up."""
    topic: tuple[str, ...]
    """Topic words to carry over to the next question."""
    carried: tuple[str, ...] = ()
    """Words taken from the previous question; empty when the question stands alone."""
    truncated: bool = False


def read_question(question: str, previous_topic: tuple[str, ...] = ()) -> ReadQuestion:
    """Prepare `question` for search, combining a follow-up with `previous_topic`."""
    text = " ".join(question.split())
    truncated = len(text) > MAX_QUESTION_CHARS
    if truncated:
        text = text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0]
    own = tuple(content_words(text))
    if previous_topic and text and is_follow_up(text):
        own_lower = {w.lower() for w in own}
        carried = tuple(w for w in previous_topic if w.lower() not in own_lower)
        if carried:
            topic = (own + carried)[:8]
            return ReadQuestion(text, f"{text} {' '.join(carried)}", topic, carried, truncated)
    return ReadQuestion(text, text, own[:8], (), truncated)


# -- the answer ------------------------------------------------------------------------------


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: split at paragraph breaks and at . ! ?
    followed by a capital or a digit, but not after an abbreviation such as "t.ex."."""
    spans: list[tuple[int, int]] = []
    for paragraph in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        start = paragraph.start()
        for end_mark in _SENTENCE_END.finditer(paragraph.group()):
            end = paragraph.start() + end_mark.end()
            before = text[start:end].split()
            last_word = before[-1].lower().rstrip(".!?") if before else ""
            if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
                continue
            spans.append((start, end))
            start = end
            while start < paragraph.end() and text[start].isspace():
                start += 1
        if start < paragraph.end():
            spans.append((start, paragraph.end()))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def lead_sentences(text: str, query: str, max_chars: int = 600) -> str:
    """The sentence(s) of `text` that match most of the question's terms, verbatim (a
    substring of `text`). A short best sentence takes the next one along."""
    terms = set(analyze(query))
    spans = sentence_spans(text)
    if not spans:
        return text.strip()[:max_chars]

    def score(span: tuple[int, int]) -> int:
        sentence = text[span[0] : span[1]]
        return len({analyze(sentence[s:e])[0] for s, e in match_spans(sentence, query)} & terms)

    scores = [score(s) for s in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    start, end = spans[best]
    if end - start < 80 and best + 1 < len(spans):
        following_end = spans[best + 1][1]
        if following_end - start <= max_chars:
            end = following_end
    if end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
        return text[start:end] + " …"
    return text[start:end]


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


def relevant(hits: list[Hit]) -> list[Hit]:
    """The hits relevant enough to be shown as answers, in rank order; weaker ones are left
    out rather than shown as if they answered."""
    return [h for h in hits if h.relevance >= RELEVANCE_THRESHOLD]


def not_found_answer(question: ReadQuestion, filtered: bool) -> str:
    shown = question.asked if len(question.asked) <= 200 else question.asked[:200] + " …"
    text = f"Jag hittade inget i dokumenten om ”{md_text(shown)}”."
    if filtered:
        text += " Sökningen var avgränsad med filter."
    return f"{text}\n\n{REPHRASE_TIPS}"


def empty_question_answer() -> str:
    return (
        "Skriv en fråga om strategierna eller remissvaren, till exempel "
        "”Vilka inriktningar har den internationella strategin?”."
    )


def answer_markdown(question: ReadQuestion, hits: list[Hit], filtered: bool = False) -> str:
    """The assistant's message: verbatim lead from the best passage, then numbered sources
    with their passages and the question's words highlighted. Every piece of document text
    is escaped; only the structure around it is markdown."""
    notes = []
    if question.truncated:
        notes.append(f"*Frågan var lång och kortades till {MAX_QUESTION_CHARS} tecken.*")
    if question.carried:
        notes.append(
            "*Tolkad tillsammans med föregående fråga: "
            + md_text(", ".join(question.carried))
            + ".*"
        )
    answering = relevant(hits)
    if not answering:
        return "\n\n".join([*notes, not_found_answer(question, filtered)])

    best = answering[0]
    lead = " ".join(lead_sentences(best.chunk.text, question.search).split())
    parts = [
        *notes,
        f"> {md_text(lead)}",
        f"— ur källa 1: {md_text(citation(best))}",
        f"**Källor ({len(answering)})**",
    ]
    for number, hit in enumerate(answering, 1):
        page = hit.chunk.page_start
        links = [f"[Visa i sammanhang]({context_link(hit, question.search)})"]
        links.append(
            f"[Öppna originalet{f' (s. {page})' if page else ''}]"
            f"({file_link(hit.chunk.source, page)})"
        )
        parts.append(
            f"**{number}. {md_text(hit.document.title)}**  \n"
            f"{md_text(' · '.join(doc_facts(hit)))}  \n"
            f"{marked(hit.chunk.text, question.search)}  \n" + " · ".join(links)
        )
    return "\n\n".join(parts)
