"""Whether the documents answer a question at all: lexical evidence (the share of the
question's rare-word weight that the best passages contain) and semantic evidence (how
close in meaning the best sentence is) together, so a question in other words than the
documents use is still answered and a question about something they never mention is not."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path


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


CALIBRATION = Path(__file__).with_name("calibration.json")
"""Thresholds per embedding model, written by `python -m bench.calibrate --write`."""


@dataclass(frozen=True)
class FoundThresholds:
    """When the documents answer a question: its rare words are covered and few of them are
    words the corpus never uses — or a sentence is close enough in meaning that the words
    do not matter (a synonym is never a reason to refuse). Similarity is on the model's own
    cosine scale, so it is calibrated per model (bench/calibrate.py); a model without a
    calibration decides on the words alone."""

    relevance: float = 0.35
    """Least share of the question's rare-word weight that one top passage contains."""
    similarity: float | None = None
    """Cosine of the best candidate sentence at which the words no longer matter."""
    unknown: float = 1.0
    """Largest share of the question's rare-word weight in words no passage uses."""
    missing_rare: float = 1.0
    """Largest relative IDF of a known question word that the lead's passage lacks."""
    wordless_margin: float = 0.0
    """How much closer in meaning (cosine) the best sentence must be where the passages hold
    almost none (under WORDLESS) of the question's rare-word weight: meaning alone, with no
    word in common, has to be clearer ("Varför ska staden bevaka omvärlden?" about
    "omvärldsbevakning" is, "Får nämnden delta i EU-projekt?" about a remiss answer is not)."""

    @classmethod
    def for_model(cls, model_id: str, passages: int | None = None) -> FoundThresholds:
        """The thresholds calibrated for `model_id` on a corpus nearest `passages` in size.

        Size matters both ways: in a small corpus an ordinary word of the question is often
        missing by chance (so words no passage uses say little), and the best of a few
        sentences lies less close to an unrelated question than the best of many. So
        bench/calibrate.py calibrates on corpora of several sizes ("found_by_size", each
        with its median passage count); an index uses the one nearest its own size on a log
        scale, and "found" (the whole dev corpus) where no size is given."""
        stored = calibration(model_id)
        by_size = stored.get("found_by_size") or []
        if passages is not None and by_size:
            nearest = min(
                by_size, key=lambda e: abs(math.log(e["passages"]) - math.log(passages or 1))
            )
            names = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in nearest.items() if k in names})
        found = stored.get("found")
        return cls(**found) if found else cls()


@functools.cache
def _calibration() -> dict[str, dict]:
    try:
        return json.loads(CALIBRATION.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def calibration(model_id: str) -> dict[str, dict]:
    """What answer/calibration.json holds for `model_id`: {"found": …, "follow_up": …}."""
    return _calibration().get(model_id, {})


WORDLESS = 0.05
"""Below this share of the question's rare-word weight a passage shares no word with it."""


def found_where(relevance, similarity, unknown, missing_rare, t: FoundThresholds):
    """is_found over evidence given field by field, as numbers or as NumPy arrays (the
    calibration grid decides a whole question set at once)."""
    lexical = (relevance >= t.relevance) & (unknown <= t.unknown) & (missing_rare <= t.missing_rare)
    if t.similarity is None:
        return lexical
    needed = t.similarity + t.wordless_margin * (relevance < WORDLESS)
    return lexical | (similarity >= needed)


def is_found(evidence: Evidence, thresholds: FoundThresholds | None = None) -> bool:
    e = evidence
    t = thresholds or FoundThresholds()
    return bool(found_where(e.relevance, e.similarity, e.unknown, e.missing_rare, t))
