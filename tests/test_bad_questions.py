"""Odd questions — empty, blank, 100,000 characters, control characters, emoji, only stop
words, SQL- and HTML-looking text, unbalanced quotes — get a sensible answer and never a
traceback: through `SearchIndex.search`, the `strategisok search` command and `/sok`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from gradio_client import Client
from web_fixtures import ROOT, Server, built_index

from app.settings import Settings
from index import MODES, SearchIndex
from index.search import MAX_QUERY_CHARS

pytestmark = pytest.mark.slow

LONG_WORDS = ("Vad säger strategin om internationell samverkan och uppföljning? " * 1600)[:100_000]
BAD_QUESTIONS = [
    "",
    " ",
    "\t\n\r  \n",
    "x" * 100_000,
    LONG_WORDS,
    "\x00\x01\x02\x1b[2J\x1b]0;titel\x07\x7f\x9b",
    "strategi\x00samverkan",
    "🙂🚀🇸🇪👩‍👩‍👧 ❤️",
    "Vad säger strategin om 🌍 och 🤝?",
    "och att det som är för på i en",
    "är är är är",
    "'; DROP TABLE chunks; --",
    '" OR 1=1 --',
    "SELECT * FROM documents WHERE 1=1",
    "%' OR '%'='",
    "<script>alert(1)</script>",
    '<img src=x onerror=alert("x")> <a href="javascript:alert(1)">länk</a>',
    "%s %d {0} ${HOME} $(rm -rf /) `id`",
    '"',
    '""',
    '"inget att erinra',
    "«»",
    "\u202eerinra att inget\u202c",
    "inget\u200b att\u2060 erinra\U000e0041",
    "?" * 5000,
    "-" * 300,
    "a",
]


@pytest.fixture(scope="module")
def index():
    _, index_dir = built_index()
    return SearchIndex.open(index_dir)


@pytest.mark.parametrize("question", BAD_QUESTIONS, ids=range(len(BAD_QUESTIONS)))
def test_search_answers_every_odd_question_quickly(index, question):
    for mode in MODES:
        started = time.perf_counter()
        hits = index.search(question, k=5, mode=mode)
        assert time.perf_counter() - started < 10, (mode, len(question))
        assert len(hits) <= 5
        assert all(h.chunk.text.strip() for h in hits)
        if not question.strip():
            assert hits == []
    # The index is read-only and still answers a real question afterwards.
    assert index.search("inget att erinra", k=1, mode="lexical")


def test_a_lone_surrogate_and_an_empty_phrase_do_not_break_search(index):
    assert isinstance(index.search("\udcff strategi", k=3), list)
    assert index.find_phrase("") == [] and index.find_phrase("\x00") == []


def test_the_command_answers_every_odd_question(tmp_path):
    _, index_dir = built_index()
    questions = tmp_path / "fragor.jsonl"
    questions.write_text(
        "\n".join(json.dumps({"q": q}, ensure_ascii=False) for q in BAD_QUESTIONS) + "\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    command = [sys.executable, "-m", "app", "search", "--index-dir", str(index_dir)]
    batch = subprocess.run(
        [*command, "--batch", str(questions), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert "Traceback" not in batch.stderr
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [line["query"] for line in lines] == BAD_QUESTIONS
    assert all(isinstance(line["results"], list) for line in lines)
    assert f"bara de första {MAX_QUERY_CHARS} används" in batch.stderr
    # One odd question typed on the command line, shown to a person: no control characters
    # reach the terminal.
    single = subprocess.run(
        [*command, "strategi\x1b[2J\x07 samverkan"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert "\x1b" not in single.stdout and "\x07" not in single.stdout
    assert single.stdout.startswith("Fråga: strategi")
    empty = subprocess.run(
        [*command, ""], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert empty.returncode == 0 and "Inga träffar." in empty.stdout


def test_the_api_answers_every_odd_question():
    corpus, index_dir = built_index()
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as server:
        client = Client(server.url, verbose=False)
        for question in BAD_QUESTIONS:
            result = client.predict(question, api_name="/sok")
            assert result["query"] == question[:1000]  # echoed as far as it was searched
            assert isinstance(result["results"], list) and len(result["results"]) <= 5
