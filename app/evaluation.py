"""Retrieval quality on a question file: hit@1, hit@5 and MRR@10, overall and per `kind`.
A hit is a passage containing the line's `answer` (whitespace- and case-folded) or, where a
line has only `source`, a passage from that file."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index import Mode, SearchIndex

DEPTH = 10


class QuestionFileError(Exception):
    pass


@dataclass(frozen=True)
class Question:
    q: str
    answer: str | None = None
    source: str | None = None
    kind: str = "all"
    previous: tuple[str, ...] = ()
    """Earlier questions of the conversation, oldest first (for `ask`)."""


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_questions(path: Path, need_target: bool = True) -> list[Question]:
    """Questions of a JSONL file; raises QuestionFileError naming the line that is wrong."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: kan inte läsas ({exc}).") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise QuestionFileError(f"{path}, rad {number}: ogiltig JSON ({exc}).") from exc
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise QuestionFileError(f'{path}, rad {number}: fältet "q" (frågan) saknas.')
        if need_target and not (item.get("answer") or item.get("source")):
            raise QuestionFileError(
                f'{path}, rad {number}: ange "answer" (en fras som rätt avsnitt innehåller) '
                'eller "source" (dokumentets sökväg).'
            )
        previous = item.get("previous", [])
        if not isinstance(previous, list) or not all(isinstance(p, str) for p in previous):
            raise QuestionFileError(
                f'{path}, rad {number}: "previous" ska vara en lista med tidigare frågor '
                "(text), äldst först."
            )
        questions.append(
            Question(
                item["q"],
                item.get("answer"),
                item.get("source"),
                item.get("kind", "all"),
                tuple(previous),
            )
        )
    return questions


def is_hit(question: Question, source: str, text: str) -> bool:
    if question.answer:
        return fold(question.answer) in fold(text)
    return source == question.source


def first_hit_rank(question: Question, passages: list[tuple[str, str]]) -> int | None:
    """1-based rank of the first (source, text) passage that answers `question`."""
    return next((i for i, (s, t) in enumerate(passages, 1) if is_hit(question, s, t)), None)


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": sum(r == 1 for r in ranks if r) / n,
        "hit@5": sum(r <= 5 for r in ranks if r) / n,
        "mrr@10": sum(1 / r for r in ranks if r and r <= DEPTH) / n,
        "n": len(ranks),
    }


Report = dict[str, dict[str, dict[str, float]]]


def evaluate_retriever(
    retrieve: Callable[[str], list[tuple[str, str]]], questions: list[Question]
) -> dict[str, dict[str, float]]:
    """{"all": metrics, kind: metrics, …} for a function from a question to its ranked
    (source, text) passages."""
    by_kind: dict[str, list[int | None]] = defaultdict(list)
    for question in questions:
        rank = first_hit_rank(question, retrieve(question.q)[:DEPTH])
        by_kind["all"].append(rank)
        if question.kind != "all":
            by_kind[question.kind].append(rank)
    return {kind: scores(ranks) for kind, ranks in sorted(by_kind.items())}


def evaluate(index: SearchIndex, questions: list[Question], modes: list[Mode]) -> Report:
    """{mode: {"all": metrics, kind: metrics, …}} over the first DEPTH passages."""

    def retriever(mode: Mode) -> Callable[[str], list[tuple[str, str]]]:
        def retrieve(query: str) -> list[tuple[str, str]]:
            return [(h.chunk.source, h.chunk.text) for h in index.search(query, DEPTH, mode)]

        return retrieve

    return {mode: evaluate_retriever(retriever(mode), questions) for mode in modes}


def format_table(report: Report) -> str:
    lines = [f"{'läge':<16} {'frågor':<12} {'n':>4} {'hit@1':>7} {'hit@5':>7} {'MRR@10':>7}"]
    for mode, kinds in report.items():
        for kind, m in kinds.items():
            label = "alla" if kind == "all" else kind
            lines.append(
                f"{mode:<16} {label:<12} {m['n']:>4} {m['hit@1']:>7.3f} {m['hit@5']:>7.3f} "
                f"{m['mrr@10']:>7.3f}"
            )
    return "\n".join(lines)


AnswerReport = dict[str, dict[str, float]]


def evaluate_answers(index: SearchIndex, questions: list[Question]) -> AnswerReport:
    """What the chat answers, overall and per `kind`: the share of questions answered at all
    ("answered"), whose lead contains the line's `answer` ("lead"; a line with only `source`
    counts when the lead's passage is from that file) and whose sources do ("top5"). A line's
    `previous` questions are asked first, in the same conversation."""
    from answer import answer_question

    by_kind: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for question in questions:
        answer = answer_question(index, question.q, list(question.previous), k=5)
        lead_source = next(
            (h.chunk.source for h in answer.sources if h.chunk.chunk_id == answer.answer_chunk_id),
            "",
        )
        outcome = (
            answer.found,
            answer.found and is_hit(question, lead_source, answer.lead or ""),
            any(is_hit(question, h.chunk.source, h.chunk.text) for h in answer.sources),
        )
        by_kind["all"].append(outcome)
        if question.kind != "all":
            by_kind[question.kind].append(outcome)
    return {
        kind: {
            "answered": sum(o[0] for o in outcomes) / len(outcomes),
            "lead": sum(o[1] for o in outcomes) / len(outcomes),
            "top5": sum(o[2] for o in outcomes) / len(outcomes),
            "n": len(outcomes),
        }
        for kind, outcomes in sorted(by_kind.items())
    }


def refused_share(index: SearchIndex, questions: list[Question]) -> AnswerReport:
    """Share of questions the corpus cannot answer that get "nothing found", overall and per
    `kind`."""
    from answer import answer_question

    by_kind: dict[str, list[bool]] = defaultdict(list)
    for question in questions:
        refused = not answer_question(index, question.q, list(question.previous)).found
        by_kind["all"].append(refused)
        if question.kind != "all":
            by_kind[question.kind].append(refused)
    return {kind: {"refused": sum(r) / len(r), "n": len(r)} for kind, r in sorted(by_kind.items())}


def format_answer_table(report: AnswerReport, refused: AnswerReport | None = None) -> str:
    lines = [f"{'svar':<16} {'frågor':<12} {'n':>4} {'besvarade':>9} {'citat':>7} {'topp 5':>7}"]
    for kind, m in report.items():
        label = "alla" if kind == "all" else kind
        lines.append(
            f"{'':<16} {label:<12} {m['n']:>4} {m['answered']:>9.3f} {m['lead']:>7.3f} "
            f"{m['top5']:>7.3f}"
        )
    for kind, m in (refused or {}).items():
        label = "alla" if kind == "all" else kind
        lines.append(f"{'obesvarbara':<16} {label:<12} {m['n']:>4} avvisade {m['refused']:.3f}")
    return "\n".join(lines)
