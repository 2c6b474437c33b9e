"""A lighter run of bench/load.py in the suite: 5 concurrent API clients × 5 questions
against a real server — no errors, and every answer identical to the same question asked
alone. (`python -m bench.load` runs 20 × 25 and records p95.)"""

from __future__ import annotations

import pytest
from web_fixtures import Server, built_index

from app.settings import Settings
from bench.load import questions, run_load

pytestmark = pytest.mark.slow


def test_concurrent_clients_get_the_answers_one_client_gets():
    corpus, index_dir = built_index()
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as server:
        result = run_load(server.url, clients=5, asked=questions(5))
    assert result["errors"] == [] and result["mismatches"] == []
    assert result["answered"] == 25
    assert result["latency_s"]["p95"] is not None
