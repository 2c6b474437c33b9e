"""`strategisok index` killed with SIGKILL at 20 seeded random moments of a build: each time
the published index still loads, verifies and answers fixed questions exactly as before (or,
killed after publishing, is the new build, whole), no PDF worker outlives the build, and the
next run completes. The real bundled model and the real command are used; every round adds
new documents so that each build has real reading and embedding work to be killed in."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from index import SearchIndex
from index.manifest import BUILDS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))
PDF = ROOT / "tests" / "data" / "tjansteutlatande-tva-sidor.pdf"
QUESTIONS = (
    "Har kontoret något att erinra mot strategin?",
    "Vad säger remissvaret om Norra Djurgårdsstaden?",
    "Hur ska det internationella arbetet följas upp?",
)
KILLS = 20
COMPLETE_EVERY = 5


def _env(mark: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    env["CRASH_TEST_MARK"] = mark  # inherited by the PDF worker, so orphans can be found
    env["HF_HUB_OFFLINE"] = "1"
    # Crash safety does not depend on the model, and 24 builds that each embed new documents
    # with the default transformer (e5, ~1,500 tokens/s on two cores) take many minutes.
    env["STRATEGISOK_MODEL"] = "strategisok-sv-static"
    return env


def _start(corpus: Path, index_dir: Path, mark: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "index", str(corpus), "--index-dir", str(index_dir)],
        cwd=ROOT,
        env=_env(mark),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _complete(corpus: Path, index_dir: Path, mark: str) -> float:
    started = time.monotonic()
    process = _start(corpus, index_dir, mark)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - started


def _add_documents(corpus: Path, rng: random.Random, count: int, round_: int) -> None:
    """New documents made of the seed's sentences in a new order, each with its own words,
    so nothing of them is in the embedding cache yet."""
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


def _answers(index_dir: Path) -> tuple[str, list, str | None]:
    index = SearchIndex.open(index_dir)
    found = [
        [(h.chunk.chunk_id, h.chunk.text, h.score) for h in index.search(q, k=3, mode=mode)]
        for q in QUESTIONS
        for mode in ("hybrid", "lexical")
    ]
    found.append(sorted(d.source for d in index.documents()))
    return index.build_dir.name, found, index.warning


def _orphan_workers(mark: str) -> list[int]:
    orphans = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"CRASH_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            orphans.append(int(proc.name))
    return orphans


def test_killed_builds_never_damage_the_published_index(tmp_path):
    rng = random.Random(2024)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    shutil.copy(PDF, corpus / "tjansteutlatande.pdf")
    mark = uuid.uuid4().hex
    _complete(corpus, index_dir, mark)  # cold: fills the embedding cache with the seed
    _add_documents(corpus, rng, 6, 0)
    duration = _complete(corpus, index_dir, mark)  # a build with real work in it
    reference = _answers(index_dir)
    assert reference[2] is None

    outcomes = {"killed": 0, "finished first": 0, "published before kill": 0}
    for round_ in range(1, KILLS + 1):
        _add_documents(corpus, rng, 4, round_)
        (corpus / f"remissvar-{round_ - 1:02d}-00.md").unlink(missing_ok=True)  # and a removal
        delay = rng.uniform(0.1, duration * 1.1)
        process = _start(corpus, index_dir, mark)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        finished = process.returncode == 0
        process.stderr.close()

        build, found, warning = _answers(index_dir)
        assert warning is None, f"round {round_}, killed after {delay:.2f} s: {warning}"
        if finished:
            outcomes["finished first"] += 1
        elif build == reference[0]:
            outcomes["killed"] += 1
            assert found == reference[1], f"round {round_}: answers changed ({delay:.2f} s)"
        else:
            # Killed after CURRENT was switched: the new build is whole (it verified) and
            # holds exactly the corpus as it was.
            outcomes["published before kill"] += 1
        if build != reference[0]:
            assert found[-1] == sorted(p.name for p in corpus.iterdir()), round_
            reference = (build, found, warning)
        deadline = time.monotonic() + 10
        while _orphan_workers(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _orphan_workers(mark), f"round {round_}: a PDF worker outlived its build"

        if round_ % COMPLETE_EVERY == 0:  # the next run completes, whatever was killed
            _complete(corpus, index_dir, mark)
            reference = _answers(index_dir)
            assert reference[2] is None

    _complete(corpus, index_dir, mark)
    build, found, warning = _answers(index_dir)
    assert warning is None and found[-1] == sorted(p.name for p in corpus.iterdir())
    assert not list((index_dir / BUILDS).glob(".staging-*"))
    assert len([p for p in (index_dir / BUILDS).iterdir()]) <= 2
    with sqlite3.connect(index_dir / "cache" / "embeddings.sqlite") as cache:
        assert cache.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    print(f"\nbuild {duration:.1f} s; {outcomes}")
    assert outcomes["killed"] >= KILLS // 2
