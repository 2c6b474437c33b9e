"""Whether the documents answer a question at all: lexical evidence (the share of the
question's rare-word weight that the best passages contain) and semantic evidence (how
close in meaning the best sentence is) together, so a question in other words than the
documents use is still answered and a question about something they never mention is not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    relevance: float
    """Best share of the question's rare-word weight in one of the top passages (0–1)."""
    similarity: float
    """Best cosine of a candidate lead sentence to the question."""
    lead_overlap: float
    """Best share of the question's rare-word weight in one candidate sentence (0–1)."""
    rare_covered: float = 1.0
    """Share of the question's two rarest known words that one top passage contains."""
    unknown: float = 0.0
    """Share of the question's rare-word weight in words no passage uses (English, local
    names)."""
    kind_held: float = 1.0
    """How clearly a candidate sentence holds what the question asks for (lead.holds)."""
    missing_rare: float = 0.0
    """The rarest known word of the question (relative IDF) that the lead's passage lacks:
    a near miss names something specific that the passage does not mention."""


@dataclass(frozen=True)
class FoundThresholds:
    """Calibrated with `make eval` (bench/calibrate.py) on the dev and seed questions and
    tests/data/unanswerable_questions.jsonl."""

    relevance: float = 0.35
    similarity: float = 1.0
    """A sentence this close in meaning answers even when the words differ (synonyms)."""


def is_found(evidence: Evidence, thresholds: FoundThresholds | None = None) -> bool:
    t = thresholds or FoundThresholds()
    return evidence.relevance >= t.relevance or evidence.similarity >= t.similarity
