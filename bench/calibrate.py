"""The relevance threshold below which the chat says "nothing found", calibrated on
questions the corpus answers (the dev and seed questions) and questions it does not
(tests/data/unanswerable_questions.jsonl)."""

from __future__ import annotations

from index import SearchIndex


def best_relevance(index: SearchIndex, question: str, k: int = 5) -> float:
    return max((hit.relevance for hit in index.search(question, k)), default=0.0)


def calibrate(
    index: SearchIndex, answerable: list[str], unanswerable: list[str], keep: float = 0.9
) -> dict[str, float]:
    """The highest threshold that still keeps `keep` of the answerable questions, and what
    share of each kind it keeps and rejects."""
    yes = sorted((best_relevance(index, q) for q in answerable), reverse=True)
    no = [best_relevance(index, q) for q in unanswerable]
    threshold = yes[max(int(len(yes) * keep + 0.9999) - 1, 0)] if yes else 0.0
    return {
        "threshold": round(threshold, 4),
        "answerable_kept": sum(r >= threshold for r in yes) / (len(yes) or 1),
        "unanswerable_rejected": sum(r < threshold for r in no) / (len(no) or 1),
    }


def rates_at(
    index: SearchIndex, answerable: list[str], unanswerable: list[str], threshold: float
) -> dict[str, float]:
    yes = [best_relevance(index, q) for q in answerable]
    no = [best_relevance(index, q) for q in unanswerable]
    return {
        "threshold": threshold,
        "answerable_kept": sum(r >= threshold for r in yes) / (len(yes) or 1),
        "unanswerable_rejected": sum(r < threshold for r in no) / (len(no) or 1),
    }
