"""The `strategisok` command as other tools call it: the JSON contract of DESIGN.md, batch
mode, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))
RESULT_FIELDS = {
    "rank": int,
    "score": float,
    "source": str,
    "title": str,
    "page": (int, type(None)),
    "section": (str, type(None)),
    "text": str,
    "doc_type": (str, type(None)),
    "organisation": (str, type(None)),
    "date": (str, type(None)),
    "chunk_id": str,
}


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cli")
    corpus = base / "corpus"
    (corpus / "undermapp").mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "undermapp" / "resor.md").write_text(
        "# Riktlinjer för resor\n\nResor under 50 mil görs med tåg.\n", encoding="utf-8"
    )
    index_dir = base / "idx"
    done = run("index", str(corpus), "--index-dir", str(index_dir), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "2 dokument" in done.stdout
    return corpus, index_dir


def test_search_json_follows_the_contract(indexed):
    _, index_dir = indexed
    done = run("search", "Vad tycker kontoret om strategin?", "--json", "-k", "3",
               "--index-dir", str(index_dir))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["query"] == "Vad tycker kontoret om strategin?"
    assert [r["rank"] for r in result["results"]] == [1, 2, 3]
    for item in result["results"]:
        assert set(item) == set(RESULT_FIELDS)
        for key, kind in RESULT_FIELDS.items():
            assert isinstance(item[key], kind), key
    sources = {r["source"] for r in result["results"]}
    assert sources <= {SEED.name, "undermapp/resor.md"}
    # The passage is the document's own wording: only whitespace and extraction glue differ.
    seed = _squash(SEED.read_text(encoding="utf-8").replace("**", ""))
    assert all(_squash(r["text"]) in seed for r in result["results"] if r["source"] == SEED.name)


def test_batch_answers_one_line_per_question_in_order(indexed, tmp_path):
    _, index_dir = indexed
    questions = ["Resor med tåg", "Vem är förvaltningschef?", "Norra Djurgårdsstaden"]
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        "\n".join(json.dumps({"q": q, "kind": "x"}, ensure_ascii=False) for q in questions),
        encoding="utf-8",
    )
    done = run("search", "--batch", str(batch), "--json", "--mode", "lexical",
               "--index-dir", str(index_dir))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["query"] for line in lines] == questions
    assert lines[0]["results"][0]["source"] == "undermapp/resor.md"


def test_terminal_output_cites_document_section_and_marks_words(indexed):
    _, index_dir = indexed
    done = run("search", "inget att erinra", "--index-dir", str(index_dir), "-k", "1")
    assert done.returncode == 0, done.stderr
    assert "Exploateringskontorets synpunkter" in done.stdout
    assert "»erinra«" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["search"],
        ["search", "fråga", "--batch", "x.jsonl"],
        ["search", "fråga", "--filter", "färg=blå"],
        ["search", "fråga", "--mode", "magisk"],
        ["index", "/finns/inte"],
    ],
)
def test_usage_errors_exit_2_with_a_message(args):
    done = run(*args)
    assert done.returncode == 2
    assert done.stderr.strip()


def test_missing_index_exits_1_and_says_what_to_do(tmp_path):
    done = run("search", "fråga", "--index-dir", str(tmp_path / "inget"))
    assert done.returncode == 1
    assert "strategisok index" in done.stderr


def test_strict_fails_on_a_skipped_file_but_still_publishes(indexed, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(indexed[0], corpus)
    (corpus / "trasig.pdf").write_bytes(b"%PDF-1.4 inte en riktig pdf")
    index_dir = tmp_path / "idx"
    done = run("index", str(corpus), "--index-dir", str(index_dir), "--strict", "--quiet")
    assert done.returncode == 1
    assert "trasig.pdf" in done.stdout
    docs = run("docs", "--index-dir", str(index_dir))
    assert docs.returncode == 0
    assert "2 dokument" in docs.stdout and "trasig.pdf" in docs.stdout
