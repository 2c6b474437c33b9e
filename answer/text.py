"""Text pieces the answer stage works with: a question's own topic words and a passage's
sentences, as plain functions over strings."""

from __future__ import annotations

import re

from bm25s.stopwords import STOPWORDS_SWEDISH

MAX_QUESTION_CHARS = 1000
"""Longer questions are cut here: no passage answers a whole page, and the model reads
only its first few hundred words anyway."""


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`."""
    return frozenset(text.split())


# Words that carry no topic of their own in a question (on top of the index's stop words).
QUESTION_WORDS = word_set(
    """vad hur vilka vilken vilket varför när var finns fanns gäller gälla säger står
    skriver sägs enligt ska skall får bör kan måste finns något några någon mer mera
    också även bara då så sen sedan om och men samt plus"""
)
STOPWORDS = frozenset(STOPWORDS_SWEDISH) | QUESTION_WORDS
WORD = re.compile(r"\w[\w-]*", re.UNICODE)
_ABBREVIATIONS = word_set(
    "t.ex bl.a s.k m.m dvs osv ca nr kap jfr resp fr.o.m t.o.m p.g.a enl st s.a.s o.s.v "
    "d.v.s m.fl f.d prop sek kr milj mdr"
)
_SENTENCE_END = re.compile(r"[.!?](?=[\"”»)]*\s+[\"”«(–-]*[A-ZÅÄÖ0-9])")


def clean_question(question: str) -> tuple[str, bool]:
    """The question with runs of whitespace made one space, cut at MAX_QUESTION_CHARS at a
    word boundary, and whether it was cut."""
    text = " ".join(question.split())
    if len(text) <= MAX_QUESTION_CHARS:
        return text, False
    return text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0], True


def content_words(question: str) -> list[str]:
    """The question's topic words in their written form, in order, without repeats."""
    seen, found = set(), []
    for word in WORD.findall(question):
        low = word.lower()
        if low in STOPWORDS or len(low) < 3 or low.isdigit() or low in seen:
            continue
        seen.add(low)
        found.append(word)
    return found


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
