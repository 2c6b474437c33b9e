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
