"""The PostgreSQL backend's own guarantees, against a real PostgreSQL 18 + pgvector: plain
messages and DESIGN.md's exit codes for a wrong URL, password, database or a missing
`vector` extension; schema versions; one writer at a time; readers that never wait for a
writer; and searches that survive a dropped connection and a restarted server."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psycopg
import pytest

from app.cli import main
from index import IndexBusy, IndexConfig, IndexUnavailable, SearchIndex, build_index
from index.pg_schema import SCHEMA_VERSION
from index.postgres import WRITER_LOCK

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))
QUESTION = "Har kontoret något att erinra mot strategin?"


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


def _built(tmp_path: Path, url: str) -> Path:
    corpus = _corpus(tmp_path)
    build_index(corpus, url, IndexConfig(), progress=False)
    return corpus


def _with(url: str, **parts: str) -> str:
    """`url` with its password, port or database replaced."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info.update(parts)
    return (
        f"postgresql://{info['user']}:{info['password']}@{info['host']}:{info['port']}/"
        f"{info['dbname']}"
    )


def test_cli_indexes_and_searches_a_database_with_the_same_json(tmp_path, pg_url, capsys):
    corpus = _corpus(tmp_path)
    assert main(["index", str(corpus), "--database", pg_url, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Index publicerat i postgresql://" in out and ":strategisok@" not in out
    assert main(["search", QUESTION, "--database", pg_url, "--json", "-k", "2"]) == 0
    from_db = capsys.readouterr().out
    assert main(["index", str(corpus), "--index-dir", str(tmp_path / "idx"), "--quiet"]) == 0
    capsys.readouterr()
    assert (
        main(["search", QUESTION, "--index-dir", str(tmp_path / "idx"), "--json", "-k", "2"]) == 0
    )
    from_folder = capsys.readouterr().out
    import json

    a, b = json.loads(from_db), json.loads(from_folder)
    for r in (*a["results"], *b["results"]):
        r["score"] = round(r["score"], 2)
    assert a == b
    assert main(["docs", "--database", pg_url]) == 0
    assert SEED.name in capsys.readouterr().out


def test_the_database_url_comes_from_the_environment_too(tmp_path, pg_url, capsys, monkeypatch):
    _built(tmp_path, pg_url)
    monkeypatch.setenv("STRATEGISOK_DATABASE_URL", pg_url)
    assert main(["search", QUESTION, "--json"]) == 0
    assert '"results": [{' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"password": "fel-lösenord"}, "fel användarnamn eller lösenord"),
        ({"dbname": "finns_inte"}, "finns inte"),
        ({"port": "1"}, "Det går inte att nå databasservern"),
    ],
)
def test_a_wrong_password_database_or_port_gets_a_plain_message(
    pg_server, change, expected, capsys
):
    url = _with(pg_server.url, **change)
    for argv in (["search", QUESTION], ["index", str(ROOT / "corpus"), "--quiet"], ["docs"]):
        assert main([*argv, "--database", url]) == 1
        err = capsys.readouterr().err
        assert expected in err, err
        assert "Traceback" not in err and "fel-lösenord" not in err


def test_a_url_that_is_not_postgresql_is_a_usage_error(capsys):
    assert main(["search", QUESTION, "--database", "mysql://anna:hemligt@host/db"]) == 2
    err = capsys.readouterr().err
    assert "postgresql://ANVÄNDARE:LÖSENORD@VÄRD:PORT/DATABAS" in err and "hemligt" not in err


def test_an_empty_database_says_to_build_the_index_first(pg_url, capsys):
    assert main(["search", QUESTION, "--database", pg_url]) == 1
    assert "strategisok index" in capsys.readouterr().err


def test_a_missing_vector_extension_gets_a_plain_message(tmp_path, pg_server, capsys):
    """A role that may not create extensions, in a database without pgvector: the index
    command says what the administrator must run."""
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS utan_vector WITH (FORCE)")
        admin.execute("DROP ROLE IF EXISTS vanlig")
        admin.execute("CREATE ROLE vanlig LOGIN PASSWORD 'vanlig'")
        admin.execute("CREATE DATABASE utan_vector OWNER vanlig")
    url = _with(pg_server.url, user="vanlig", password="vanlig", dbname="utan_vector")
    try:
        assert main(["index", str(_corpus(tmp_path)), "--database", url, "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "CREATE EXTENSION vector" in err and "Traceback" not in err
        assert main(["search", QUESTION, "--database", url]) == 1
        assert "CREATE EXTENSION vector" in capsys.readouterr().err
    finally:
        with psycopg.connect(pg_server.url, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS utan_vector WITH (FORCE)")
            admin.execute("DROP ROLE IF EXISTS vanlig")


def test_a_schema_newer_than_the_code_is_refused(tmp_path, pg_url, capsys):
    corpus = _built(tmp_path, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT max(version) FROM strategisok_schema").fetchone() == (
            SCHEMA_VERSION,
        )
        conn.execute("INSERT INTO strategisok_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    for argv in (["search", QUESTION], ["index", str(corpus), "--quiet"]):
        assert main([*argv, "--database", pg_url]) == 1
        err = capsys.readouterr().err
        assert f"schemaversion {SCHEMA_VERSION + 1}" in err and "Uppgradera Strategisök" in err


def test_a_database_of_the_schema_before_lead_candidates_is_upgraded(
    tmp_path, pg_url, capsys, monkeypatch
):
    """A database published before the lead candidates were stored (schema version 1):
    readers are told to run `index`, which migrates it and embeds the candidates of the
    passages it keeps; between the migration and that build it answers by embedding its
    candidates while answering (a shortlist: the lead may differ)."""
    from answer.answer import answer_question
    from answer.vectors import clear_cache
    from index.embedder import Embedder
    from index.postgres import migrate

    assert SCHEMA_VERSION == 2
    corpus = _built(tmp_path, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE lead_sentences")  # migration 2 adds only this table
        conn.execute("DELETE FROM strategisok_schema WHERE version = 2")
    assert main(["search", QUESTION, "--database", pg_url]) == 1
    err = capsys.readouterr().err
    assert "schemaversion 1, behöver 2" in err and "strategisok index" in err

    embedded: list[str] = []
    real = Embedder._embed_batch

    def counting(self, texts, kind, show_progress):
        embedded.extend(kind for _ in texts)
        return real(self, texts, kind, show_progress)

    def ask(index):
        clear_cache()
        index.embedder.forget_queries()
        embedded.clear()
        return answer_question(index, QUESTION)

    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate(conn, "testdatabasen") == SCHEMA_VERSION
    index = SearchIndex.open(pg_url)
    ids = [h.chunk.chunk_id for h in index.search(QUESTION, 3)]
    assert index.store.lead_sentences(ids) == {}
    monkeypatch.setattr(Embedder, "_embed_batch", counting)
    before = ask(index)
    assert before.found and "passage" in embedded  # the fallback: embedded while answering

    report = build_index(corpus, pg_url, IndexConfig(), progress=False)
    assert report.unchanged == 1 and report.embedded == 0 and report.lead_sentences > 0
    index = SearchIndex.open(pg_url)
    assert set(index.store.lead_sentences(ids)) == set(ids)
    after = ask(index)
    assert after.found and after.lead in next(
        h.chunk.text for h in after.sources if h.chunk.chunk_id == after.answer_chunk_id
    )
    assert embedded == ["query"]
    assert build_index(corpus, pg_url, IndexConfig(), progress=False).lead_sentences == 0


def test_lead_candidates_are_served_only_for_the_version_the_passages_came_from(tmp_path, pg_url):
    corpus = _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    ids = [h.chunk.chunk_id for h in index.search(QUESTION, 3)]
    assert set(index.store.lead_sentences(ids)) == set(ids)
    (corpus / "annat.md").write_text("# Annat\n\nEn helt annan text om parker.\n", "utf-8")
    build_index(corpus, pg_url, IndexConfig(), progress=False)
    # A publish came between the search and this read: its vectors might not be those of
    # the passages searched (the answer stage then embeds the candidates itself).
    assert index.store.lead_sentences(ids) == {}
    ids = [h.chunk.chunk_id for h in index.search(QUESTION, 3)]  # the new version's
    assert set(index.store.lead_sentences(ids)) == set(ids)


def test_a_second_writer_is_told_to_wait(tmp_path, pg_url, capsys):
    corpus = _built(tmp_path, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        with pytest.raises(IndexBusy, match="skriver redan till databasen"):
            build_index(corpus, pg_url, IndexConfig(), progress=False)
        assert main(["index", str(corpus), "--database", pg_url, "--quiet"]) == 1
        assert "vänta tills det är klart" in capsys.readouterr().err
    assert build_index(corpus, pg_url, IndexConfig(), progress=False).unchanged == 1


def test_readers_never_wait_for_a_writer(tmp_path, pg_url):
    """A publish in progress (every row deleted, not yet committed) neither blocks a search
    nor shows through; after the rollback nothing has changed."""
    _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    before = [h.chunk.chunk_id for h in index.search(QUESTION, 3)]
    with psycopg.connect(pg_url) as writer:
        for table in ("chunks", "documents", "terms", "stems"):
            writer.execute(f"DELETE FROM {table}")
        writer.execute("UPDATE index_state SET version = version + 1")
        started = time.monotonic()
        during = [h.chunk.chunk_id for h in index.search(QUESTION, 3)]
        assert time.monotonic() - started < 5
        assert [d.source for d in index.documents()] == [SEED.name]
        writer.rollback()
    assert during == before
    assert [h.chunk.chunk_id for h in index.search(QUESTION, 3)] == before


def test_a_dropped_connection_is_retried(tmp_path, pg_url, pg_server):
    _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    before = index.search(QUESTION, 3)
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (dbname,),
        ).fetchone()[0]
    assert killed >= 1
    assert index.search(QUESTION, 3) == before


def test_a_restarted_server_is_retried(tmp_path, pg_url, pg_server):
    _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    before = index.search(QUESTION, 3)
    pg_server.stop()
    restart = threading.Timer(1.5, pg_server.start)
    restart.start()
    try:
        assert index.search(QUESTION, 3) == before  # waits, retrying, while it restarts
    finally:
        restart.join()
    with pytest.raises(IndexUnavailable):
        SearchIndex.open(_with(pg_url, port="1"))


CITY_SETUP = """
CREATE ROLE strategisok_index LOGIN PASSWORD 'skriv';
CREATE ROLE strategisok_app LOGIN PASSWORD 'las';
ALTER ROLE strategisok_app SET default_transaction_read_only = on;
CREATE DATABASE strategisok_stad OWNER strategisok_index;
"""
CITY_DATABASE_SETUP = """
CREATE EXTENSION vector;
GRANT CONNECT ON DATABASE strategisok_stad TO strategisok_app;
GRANT USAGE ON SCHEMA public TO strategisok_app;
ALTER DEFAULT PRIVILEGES FOR ROLE strategisok_index IN SCHEMA public
    GRANT SELECT ON TABLES TO strategisok_app;
"""


def test_the_readme_roles_index_with_one_and_serve_read_only_with_the_other(
    tmp_path, pg_server, capsys
):
    """README's set-up for city IT, as written: an owner role that indexes and a read-only
    role for the app servers, which can search but not write."""

    def run_as_admin(script: str, dbname: str | None = None) -> None:
        url = _with(pg_server.url, dbname=dbname) if dbname else pg_server.url
        with psycopg.connect(url, autocommit=True) as admin:
            for statement in filter(str.strip, script.split(";")):
                admin.execute(statement)

    def drop() -> None:
        run_as_admin(
            "DROP DATABASE IF EXISTS strategisok_stad WITH (FORCE);"
            "DROP ROLE IF EXISTS strategisok_app; DROP ROLE IF EXISTS strategisok_index"
        )

    drop()
    run_as_admin(CITY_SETUP)
    run_as_admin(CITY_DATABASE_SETUP, "strategisok_stad")
    writer = _with(
        pg_server.url, user="strategisok_index", password="skriv", dbname="strategisok_stad"
    )
    reader = _with(pg_server.url, user="strategisok_app", password="las", dbname="strategisok_stad")
    try:
        corpus = _corpus(tmp_path)
        assert main(["index", str(corpus), "--database", writer, "--quiet"]) == 0
        capsys.readouterr()
        assert main(["search", QUESTION, "--database", reader, "--json"]) == 0
        assert SEED.name in capsys.readouterr().out
        assert main(["index", str(corpus), "--database", reader, "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "får inte skriva indexet" in err and "Traceback" not in err
    finally:
        drop()


def test_a_search_takes_two_round_trips_whatever_its_mode(tmp_path, pg_url, monkeypatch):
    """A search sends its first queries with the start of its snapshot and commits with its
    passage query: two waits on the server (each one costly on a busy machine), counted as
    the server's ReadyForQuery messages in libpq's protocol trace."""
    import index.postgres as pg

    trace = (tmp_path / "trace").open("w")
    traced: list[psycopg.Connection] = []
    configure = pg._configure_reader

    def tracing(conn):
        configure(conn)
        conn.pgconn.trace(trace.fileno())
        traced.append(conn)

    monkeypatch.setattr(pg, "_configure_reader", tracing)
    _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)

    def messages() -> int:
        for conn in traced:  # libpq buffers its trace; untrace flushes it
            conn.pgconn.untrace()
            conn.pgconn.trace(trace.fileno())
        return (tmp_path / "trace").read_text().count("ReadyForQuery")

    def round_trips(question: str, mode: str) -> int:
        before = messages()
        index.search(question, 3, mode)
        return messages() - before

    index.search(QUESTION, 3)  # the pool's first connection is configured
    for mode in ("hybrid", "lexical", "dense"):
        for question in (QUESTION, "ett ord som inget dokument har: zyxwvut"):
            assert round_trips(question, mode) == 2, (mode, question)


def test_a_search_planned_before_a_publish_reads_the_new_index(tmp_path, pg_url):
    """A search plans its first queries with the newest version it has read; when a publish
    came in between, its snapshot sees the new version and the search reads that one, words
    only the new version has included."""
    corpus = _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    assert index.search(QUESTION, 3)
    (corpus / "ny.md").write_text(
        "# Luftskepp\n\nNämnden utreder om zeppelinare kan frakta gods till hamnen.\n",
        encoding="utf-8",
    )
    build_index(corpus, pg_url, IndexConfig(), progress=False)
    for mode in ("hybrid", "lexical", "dense"):
        hits = index.search("zeppelinare som fraktar gods", 3, mode)
        assert hits and hits[0].chunk.source == "ny.md", mode
        assert hits[0].relevance > 0.5


def test_a_search_inside_another_read_shares_its_snapshot(tmp_path, pg_url):
    """Reads nest (a caller can run several as one unit): the inner search sends nothing
    with a snapshot already begun, and leaves it open for the reads after it."""
    _built(tmp_path, pg_url)
    index = SearchIndex.open(pg_url)
    alone = [h.chunk for h in index.search(QUESTION, 3)]
    inner, documents = index._read(lambda: (index.search(QUESTION, 3), index.documents()))
    assert [h.chunk for h in inner] == alone
    assert [d.source for d in documents] == [SEED.name]
