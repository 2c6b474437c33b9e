"""The answer stage: a question and the questions before it become an `Answer` — how the
question was read, whether the corpus answers it, the verbatim lead and the passage it came
from, and the sources. Pure over a `SearchIndex`; the chat, the CLI and the API lay it out."""

from __future__ import annotations

from ingest.sentences import sentence_spans

from .answer import Answer, answer_question
from .followup import Reading, read_conversation
from .lead import asks_for, choose_lead
from .text import MAX_QUESTION_CHARS, content_words

__all__ = [
    "MAX_QUESTION_CHARS",
    "Answer",
    "Reading",
    "answer_question",
    "asks_for",
    "choose_lead",
    "content_words",
    "read_conversation",
    "sentence_spans",
]
