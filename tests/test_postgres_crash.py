"""`strategisok index --database` killed with SIGKILL at seeded random moments of a rebuild:
each time the database answers fixed questions exactly as before, or, killed after the
commit, holds the finished rebuild whole; never a mix. Every other kill lands within 0.3 s
of the command starting to publish, inside the transaction. The next run completes. The real
command, the static model and a real PostgreSQL; every round adds and removes documents so
each rebuild has real work to be killed in. `PG_CRASH_TRIES=20` runs the full twenty (the
suite runs five)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from index import SearchIndex
from index.postgres import WRITER_LOCK

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))
QUESTIONS = (
    "Har kontoret något att erinra mot strategin?",
    "Vad säger remissvaret om Norra Djurgårdsstaden?",
    "Hur ska det internationella arbetet följas upp?",
)
KILLS = int(os.environ.get("PG_CRASH_TRIES", "5"))
COMPLETE_EVERY = 5


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _start(corpus: Path, url: str, watch: bool = False) -> subprocess.Popen:
    """The index command; with `watch`, its progress lines on stdout (else silenced)."""
    quiet = [] if watch else ["--quiet"]
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "app", "index", str(corpus), "--database", url, *quiet),
            *("--model", "strategisok-sv-static"),  # crash safety does not depend on the model
        ],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE if watch else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if watch else subprocess.PIPE,
    )


def _kill_while_publishing(process: subprocess.Popen, rng: random.Random) -> float:
    """SIGKILL at a random moment within 0.3 s of the command saying it publishes, inside
    the publishing transaction or just after it; returns the delay."""
    for line in process.stdout:
        if line.startswith(b"Publicerar"):
            break
    delay = rng.uniform(0.0, 0.3)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    return delay


def _writer_gone(url: str, timeout: float = 120) -> None:
    """Wait until the killed writer's server process has rolled back and let go of the lock
    (it finishes the statement it was running before it notices the client is gone)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:
                conn.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
                return
            time.sleep(0.2)
    raise AssertionError("the killed writer still holds the lock")


def _complete(corpus: Path, url: str) -> float:
    started = time.monotonic()
    process = _start(corpus, url)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - started


def _add_documents(corpus: Path, rng: random.Random, count: int, round_: int) -> None:
    sentences = [s.strip() for s in SEED.read_text(encoding="utf-8").split(". ") if len(s) > 40]
    for number in range(count):
        parts = [f"# Remissvar {round_}-{number} om internationell samverkan\n"]
        for section in range(3):
            parts.append(f"\n## Avsnitt {section + 1}: ärende {rng.randrange(10**6)}\n")
            for _ in range(4):
                picked = rng.sample(sentences, 5)
                parts.append(" ".join(p.rstrip(".") + "." for p in picked) + "\n\n")
        (corpus / f"remissvar-{round_:02d}-{number:02d}.md").write_text(
            "".join(parts), encoding="utf-8"
        )


def _answers(url: str) -> tuple[str, list]:
    index = SearchIndex.open(url)
    found = [
        [(h.chunk.chunk_id, h.chunk.text, round(h.score, 6)) for h in index.search(q, 3, mode)]
        for q in QUESTIONS
        for mode in ("hybrid", "lexical", "dense")
    ]
    found.append(sorted(d.source for d in index.documents()))
    return index.manifest["build_id"], found


def _consistent(url: str) -> None:
    """The published tables agree with each other: no passage without its document, every
    document's passages all there, each with its lead candidates, BM25 statistics equal to a
    recount from the passages."""
    import numpy as np

    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM chunks), (SELECT coalesce(sum(chunk_count), 0) FROM "
            "documents), (SELECT chunk_count FROM index_state), (SELECT coalesce(sum(length), 0)"
            " FROM chunks), (SELECT total_length FROM index_state)"
        ).fetchone()
        assert counts[0] == counts[1] == counts[2] and counts[3] == counts[4], counts
        without_leads = conn.execute(
            "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
            "(SELECT 1 FROM lead_sentences l WHERE l.row_id = c.row_id)"
        ).fetchone()[0]
        assert without_leads == 0
        expected: dict[int, list[int]] = {}
        for row, terms in conn.execute("SELECT row_id, terms FROM chunks", binary=True):
            for term_id in np.frombuffer(terms, dtype="<i4").tolist():
                expected.setdefault(term_id, []).append(row)
        stored = {
            term_id: (df, np.frombuffer(rows, dtype="<i4").tolist())
            for term_id, df, rows in conn.execute(
                "SELECT term_id, df, rows FROM terms", binary=True
            )
        }
        assert set(stored) == set(expected)
        for term_id, (df, rows) in stored.items():
            assert df == len(rows) and rows == sorted(expected[term_id]), term_id


def test_killed_rebuilds_never_mix_the_published_index(tmp_path, pg_url):
    rng = random.Random(2025)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    _complete(corpus, pg_url)
    _add_documents(corpus, rng, 6, 0)
    duration = _complete(corpus, pg_url)
    reference = _answers(pg_url)

    outcomes = {"killed": 0, "finished first": 0, "published before kill": 0}
    for round_ in range(1, KILLS + 1):
        _add_documents(corpus, rng, 4, round_)
        (corpus / f"remissvar-{round_ - 1:02d}-00.md").unlink(missing_ok=True)
        if round_ % 2:  # anywhere in the run, from process start to after the commit
            delay = rng.uniform(0.1, duration * 1.1)
            process = _start(corpus, pg_url)
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
            process.stderr.close()
        else:  # while it writes the new rows
            process = _start(corpus, pg_url, watch=True)
            delay = _kill_while_publishing(process, rng)
        finished = process.returncode == 0
        _writer_gone(pg_url)

        build, found = _answers(pg_url)
        _consistent(pg_url)
        if finished:
            outcomes["finished first"] += 1
        elif build == reference[0]:
            outcomes["killed"] += 1
            assert found == reference[1], f"round {round_}: answers changed ({delay:.2f} s)"
        else:
            outcomes["published before kill"] += 1
        if build != reference[0]:
            # The rebuild committed: it holds exactly the corpus as it was.
            assert found[-1] == sorted(p.name for p in corpus.iterdir()), round_
            reference = (build, found)

        if round_ % COMPLETE_EVERY == 0:
            _complete(corpus, pg_url)
            reference = _answers(pg_url)

    _complete(corpus, pg_url)
    build, found = _answers(pg_url)
    _consistent(pg_url)
    assert found[-1] == sorted(p.name for p in corpus.iterdir())
    print(f"\nbuild {duration:.1f} s; {outcomes}")
    assert outcomes["killed"] >= KILLS // 2 - 1
