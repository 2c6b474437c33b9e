from __future__ import annotations

import json

import pytest

from app.evaluation import Question, QuestionFileError, first_hit_rank, read_questions, scores


def _hit(text: str, source: str = "a.md") -> tuple[str, str]:
    return source, text


def test_answer_phrase_is_matched_whitespace_and_case_folded():
    question = Question("?", answer="Inget att  erinra")
    hits = [_hit("Kontoret har synpunkter."), _hit("Kontoret har inget att\nerinra mot förslaget.")]
    assert first_hit_rank(question, hits) == 2


def test_source_only_question_matches_the_file():
    question = Question("?", source="b.md")
    assert first_hit_rank(question, [_hit("x", "a.md"), _hit("y", "b.md")]) == 2
    assert first_hit_rank(question, [_hit("x", "a.md")]) is None


def test_scores():
    m = scores([1, 3, None, 12])
    assert m["hit@1"] == 0.25
    assert m["hit@5"] == 0.5
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3) / 4)


def test_question_file_errors_name_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"q": "a", "answer": "b"}) + "\n{inte json\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="rad 2"):
        read_questions(path)
    path.write_text(json.dumps({"q": "utan facit"}) + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="answer"):
        read_questions(path)
