"""Sentences of a passage as (start, end) spans: where a quoted lead may begin and end.
Plain functions over strings, shared by the index (which embeds lead candidates when it
is built) and the answer stage (which quotes them)."""

from __future__ import annotations

import re

_ABBREVIATION_LIST = (
    "t.ex bl.a s.k m.m dvs osv ca nr kap jfr resp fr.o.m t.o.m p.g.a enl st s.a.s o.s.v "
    "d.v.s m.fl f.d prop sek kr milj mdr"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_SENTENCE_END = re.compile(r"[.!?](?=[\"”»)]*\s+[\"”«(–-]*[A-ZÅÄÖ0-9])")


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


SHORT_SENTENCE = 80
"""A sentence shorter than this takes the next one along in a lead candidate."""
MAX_LEAD_CHARS = 600
"""The longest lead candidate; a longer sentence is cut at a word."""


def lead_spans(text: str, max_chars: int = MAX_LEAD_CHARS) -> list[tuple[int, int]]:
    """(start, end) of each lead candidate of a passage: every sentence, verbatim; a short
    one (a heading, "Ja.") or one that opens a list ("… indelad i tre delar:") is joined
    with the next, so that a lead can stand on its own (at most two sentences). The index
    embeds these spans when it is built, and the answer stage quotes them."""
    spans = sentence_spans(text)
    found = []
    for i, (start, end) in enumerate(spans):
        joined = spans[i + 1][1] if i + 1 < len(spans) else end
        opens = end - start < SHORT_SENTENCE or text[start:end].rstrip().endswith(":")
        if opens and joined - start <= max_chars:
            end = joined
        if end - start > max_chars:
            cut = text.rfind(" ", start, start + max_chars)
            end = cut if cut > start else start + max_chars
        found.append((start, end))
    return found
