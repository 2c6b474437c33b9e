"""The index in PostgreSQL with pgvector, for a city: passages and metadata in tables, vectors
in a `halfvec` column with an HNSW (cosine) index, and BM25 computed from term statistics
kept in tables by the same Swedish analysis as the folder index (index/lexical.py), so both
backends rank alike. Publishing is one transaction under an advisory lock; every search
reads one snapshot (REPEATABLE READ), so it sees the old index or the new one, never a mix."""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import json
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

import ingest
from ingest.models import Chunk, IngestError

from .build import (
    PREFIX_TOKENS,
    BuildReport,
    IndexBusy,
    IndexConfig,
    _chunking_fingerprint,
    _embedded,
    _Entry,
    _ingest,
    _library_versions,
    dense_texts,
    lead_keys,
    lexical_text,
)
from .embedder import Embedder
from .lexical import ANALYZER_VERSION, LEXICON_MIN_COUNT, PART_MIN_CHARS, Analyzer, words
from .manifest import IndexUnavailable
from .pg_schema import MIGRATIONS, SCHEMA_VERSION
from .store import (
    CHUNK_COLUMNS,
    Failure,
    Filters,
    StoredDocument,
    chunk_from_row,
    document_from_row,
    fold,
    packed_leads,
    unpacked_leads,
    year_of,
)

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - the folder index needs none of it
    psycopg = None

T = TypeVar("T")

BM25_K1 = 1.5
BM25_B = 0.75
"""The folder index's bm25s defaults ("lucene" method), so the two backends score alike."""
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 400
"""Candidates the HNSW walk keeps (above the 100 that hybrid fusion asks for): recall@10
0.97 at a million vectors shaped like the corpus's, where 200 gave 0.945, for 3 ms more
per search at the whole corpus (README, `python -m bench.database hnsw`)."""
WRITER_LOCK = 0x5374_7261_7465
"""pg_advisory_lock key held by the one process that may publish (b"Strate")."""
POOL_SIZE = 8
READ_RETRIES = 5
"""Tries of a search whose connection broke (a restarted server, a dropped connection)."""
CONNECT_TIMEOUT_S = 10

BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
READ_STATE = "SELECT version, manifest, chunk_count, total_length FROM index_state"
"""Sent together (with a search's first queries, see _Prefetch) in one round trip."""

Statement = tuple[str, Any, bool]
"""A query, its parameters, and whether its results come back in binary."""


@dataclass
class _Snapshot:
    """One read: its connection, the published state it sees, the results of the queries
    sent with its start, and the term postings looked up so far (a search asks for the
    same terms twice)."""

    conn: Any
    state: tuple | None
    prefetched: list[list[tuple]] = field(default_factory=list)
    terms: dict[str, _TermPostings | None] = field(default_factory=dict)
    nearest: tuple[tuple[bytes, int], list[tuple[int, float]]] | None = None
    """The dense ranking read with the snapshot's start: ((query vector, k), rows)."""
    commit_with_chunks: bool = False
    """The read's passage query is its last: it commits in the same round trip."""
    committed: bool = False


class _Committed:
    """Stands in for a read's connection once its transaction has committed: a query
    after that would not see the read's snapshot, so it fails loudly instead."""

    def __getattr__(self, name):
        raise AssertionError("a read queried the database after its snapshot had ended")


_CURRENT: contextvars.ContextVar[_Snapshot | None] = contextvars.ContextVar(
    "pg_snapshot", default=None
)
_LAST_READ: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "pg_last_read", default=None
)
"""The published version that the latest read in this context saw (PgStore.lead_sentences
serves only the passages of that version)."""


def _require_driver() -> None:
    if psycopg is None:
        raise IndexUnavailable(
            "Databasstödet är inte installerat: pip install 'psycopg[binary]' psycopg-pool "
            "(eller pip install 'strategisok[postgres]')."
        )


def display_url(url: str) -> str:
    """The URL without its password, for messages and `docs`."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def explain_connection_error(exc: Exception, where: str) -> str:
    """A plain Swedish sentence for why a connection to `where` failed, and what to do."""
    text = str(exc).strip()
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"Inloggningen till databasen {where} misslyckades: fel användarnamn eller lösenord. "
            "Rätta adressen i --database eller STRATEGISOK_DATABASE_URL."
        )
    if "does not exist" in lowered and "database" in lowered:
        return (
            f"Databasen i {where} finns inte. Be databasadministratören skapa den "
            "(createdb), eller rätta adressen i --database."
        )
    if "role" in lowered and "does not exist" in lowered:
        return f"Användaren i {where} finns inte i databasservern. Rätta adressen i --database."
    if any(
        s in lowered
        for s in ("connection refused", "could not connect", "timeout", "timed out", "resolve")
    ):
        return (
            f"Det går inte att nå databasservern för {where}: {text.splitlines()[-1]}. "
            "Kontrollera att PostgreSQL kör och att värd och port i --database stämmer."
        )
    return f"Databasen {where} kan inte användas: {text.splitlines()[0] if text else exc}."


def _connect(url: str, where: str, **kwargs) -> psycopg.Connection:
    _require_driver()
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, **kwargs)
    except psycopg.ProgrammingError as exc:  # an unparsable URL
        raise IndexUnavailable(
            f"Databasadressen {where} går inte att tolka ({exc}). Skriv den som "
            "postgresql://ANVÄNDARE:LÖSENORD@VÄRD:PORT/DATABAS."
        ) from exc
    except psycopg.OperationalError as exc:
        raise IndexUnavailable(explain_connection_error(exc, where)) from exc


def _schema_version(conn: psycopg.Connection) -> int:
    exists = conn.execute("SELECT to_regclass('strategisok_schema') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM strategisok_schema").fetchone()[0]


def _refuse_newer(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise IndexUnavailable(
            f"Databasen {where} har schemaversion {version}, men den här versionen av "
            f"Strategisök känner bara till version {SCHEMA_VERSION}. Uppgradera Strategisök "
            "på den här datorn (eller använd en annan databas)."
        )


def _has_vector(conn: psycopg.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    return found is not None


def migrate(conn: psycopg.Connection, where: str) -> int:
    """Apply the migrations the database lacks, in order, each in its own transaction;
    returns the schema version. Creates the `vector` extension where it is missing and the
    role may; otherwise says what the administrator must run."""
    if not _has_vector(conn):
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            raise IndexUnavailable(
                f"Tillägget vector (pgvector) saknas i databasen {where} och kan inte skapas "
                f"av den här användaren ({str(exc).splitlines()[0]}). Be databasadministratören "
                "installera pgvector och köra: CREATE EXTENSION vector;"
            ) from exc
    version = _schema_version(conn)
    _refuse_newer(version, where)
    for number in sorted(n for n in MIGRATIONS if n > version):
        with conn.transaction():
            conn.execute(MIGRATIONS[number])
            conn.execute("INSERT INTO strategisok_schema (version) VALUES (%s)", (number,))
        version = number
    return version


class Database:
    """One PostgreSQL database: a connection pool for readers, whose every call runs in one
    read-only REPEATABLE READ transaction and is retried when the connection broke."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        _require_driver()
        self.url = url
        self.where = display_url(url)
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Connect once, directly, so a wrong URL, password or a missing extension or index
        is reported with the server's reason (a pool would only time out)."""
        with _connect(self.url, self.where, autocommit=True) as conn:
            if not _has_vector(conn):
                raise IndexUnavailable(
                    f"Tillägget vector (pgvector) saknas i databasen {self.where}. Be "
                    "databasadministratören installera pgvector och köra: CREATE EXTENSION "
                    "vector; och bygg sedan indexet med strategisok index --database …"
                )
            version = _schema_version(conn)
            _refuse_newer(version, self.where)
            if version < SCHEMA_VERSION:
                raise IndexUnavailable(
                    f"Databasen {self.where} har inget index i den här versionens format "
                    f"(schemaversion {version}, behöver {SCHEMA_VERSION}). Bygg eller "
                    "uppgradera det med: strategisok index [KORPUSMAPP] --database …"
                )

    def _get_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
                    configure=_configure_reader,
                    timeout=CONNECT_TIMEOUT_S,
                    name="strategisok",
                    open=True,
                )
            return self._pool

    def run(self, fn: Callable[[psycopg.Connection], T], prefetch: Iterable[Statement] = ()) -> T:
        """`fn(connection)` inside one read-only REPEATABLE READ transaction; calls of `run`
        made inside `fn` share it. The `prefetch` statements are sent with the transaction's
        start, in the same round trip, and their rows left in the snapshot's `prefetched`.
        A broken connection (a dropped one, a restarted server) is replaced and `fn` run
        again: reads can be repeated."""
        if (snapshot := _CURRENT.get()) is not None:
            return fn(snapshot.conn)
        delay = 0.2
        prefetch = list(prefetch)
        for attempt in range(READ_RETRIES):
            try:
                with self._get_pool().connection() as conn:
                    token = None
                    try:
                        with conn.pipeline():
                            conn.execute(BEGIN_SNAPSHOT)
                            state = conn.execute(READ_STATE)
                            sent = [conn.execute(q, p, binary=b) for q, p, b in prefetch]
                        snapshot = _Snapshot(
                            conn, state.fetchone(), [cursor.fetchall() for cursor in sent]
                        )
                        token = _CURRENT.set(snapshot)
                        _LAST_READ.set(snapshot.state[0] if snapshot.state else None)
                        result = fn(conn)
                    except BaseException:
                        if not conn.broken:
                            conn.execute("ROLLBACK")
                        raise
                    finally:
                        if token is not None:
                            _CURRENT.reset(token)
                    if not snapshot.committed:
                        conn.execute("COMMIT")
                    return result
            except (psycopg.OperationalError, PoolTimeout) as exc:
                # Connections that broke while idle in the pool (a restarted server) are
                # found and replaced before the next try.
                with contextlib.suppress(Exception):
                    self._get_pool().check()
                if attempt == READ_RETRIES - 1:
                    raise IndexUnavailable(
                        f"Databasen {self.where} svarar inte ({str(exc).splitlines()[0]}). "
                        "Försök igen om en stund, eller kontrollera att PostgreSQL kör."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 3.0)
        raise AssertionError("unreachable")

    @staticmethod
    def last(query: str, params: Any) -> list[tuple]:
        """The rows of `query` in the current read. Where the read said this is its last
        query, it commits in the same round trip, and the read can query no more."""
        snapshot = _CURRENT.get()
        conn = snapshot.conn
        if not snapshot.commit_with_chunks:
            return conn.execute(query, params).fetchall()
        with conn.pipeline():
            cursor = conn.execute(query, params)
            conn.execute("COMMIT")
        snapshot.committed = True
        snapshot.conn = _Committed()
        return cursor.fetchall()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


_SHARED: dict[str, Database] = {}
_SHARED_LOCK = threading.Lock()


def shared_database(url: str) -> Database:
    """The process's one Database (and pool) for `url`: reopening an index, as the web app
    does after an upload, reuses its connections instead of leaving a pool behind."""
    with _SHARED_LOCK:
        db = _SHARED.get(url)
        if db is None:
            db = _SHARED[url] = Database(url)
            if len(_SHARED) == 1:
                atexit.register(_close_shared)
        return db


def _close_shared() -> None:
    with _SHARED_LOCK:
        for db in _SHARED.values():
            db.close()
        _SHARED.clear()


def _configure_reader(conn: psycopg.Connection) -> None:
    # Autocommit: each read opens its own transaction together with its first query.
    conn.autocommit = True
    conn.execute(f"SET hnsw.ef_search = {int(HNSW_EF_SEARCH)}")
    # A filtered vector search walks on until it has enough rows, in exact order.
    conn.execute("SET hnsw.iterative_scan = strict_order")


# -- reading --------------------------------------------------------------------------------

_DOCUMENT_COLUMNS = (
    "source, content_hash, title, doc_type, organisation, date, diarienummer, page_count, "
    "running_headers, warnings, chunk_count"
)


def _rows(values: Iterable[int]) -> list[int]:
    return [int(v) for v in values]


class PgStore:
    """The folder index's Store interface over the `documents`, `chunks` and `failures`
    tables. A chunk's `row` is its `row_id`."""

    def __init__(self, db: Database):
        self._db = db

    def documents(self) -> list[StoredDocument]:
        return self._db.run(
            lambda c: [
                document_from_row(r)
                for r in c.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents ORDER BY source")
            ]
        )

    def document(self, source: str) -> StoredDocument | None:
        def read(c):
            row = c.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE source = %s", (source,)
            ).fetchone()
            return document_from_row(row) if row else None

        return self._db.run(read)

    def failures(self) -> list[Failure]:
        return self._db.run(
            lambda c: [
                Failure(s, r, bool(k))
                for s, r, k in c.execute(
                    "SELECT source, reason, kept_previous FROM failures ORDER BY source"
                )
            ]
        )

    def chunks_of(self, source: str) -> list[tuple[Chunk, str]]:
        return self._db.run(
            lambda c: [
                (chunk_from_row(r[:-1]), r[-1])
                for r in c.execute(
                    f"SELECT {CHUNK_COLUMNS}, embed_key FROM chunks WHERE source = %s "
                    "ORDER BY ordinal",
                    (source,),
                )
            ]
        )

    def chunks_by_rows(self, rows: Iterable[int]) -> dict[int, Chunk]:
        rows = _rows(rows)
        if not rows:
            return {}
        return self._db.run(
            lambda c: {
                r[0]: chunk_from_row(r[1:])
                for r in self._db.last(
                    f"SELECT row_id, {CHUNK_COLUMNS} FROM chunks WHERE row_id = ANY(%s)", (rows,)
                )
            }
        )

    def lead_sentences(self, chunk_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The stored lead candidates of these chunks, as Store.lead_sentences: chunk_id →
        ((n, 2) int32 spans, (n, d) float32 vectors); a chunk without them is left out.

        The answer stage asks for the sentences of the passages a search has just read, in
        a read of its own. Where a publish came in between, that read sees another version,
        whose vectors may not be those passages' (another title, another model): then
        nothing is returned, and the answer stage embeds the candidates itself."""
        if not chunk_ids:
            return {}
        statement = (
            "SELECT c.chunk_id, l.spans, l.vectors FROM chunks c "
            "JOIN lead_sentences l ON l.row_id = c.row_id WHERE c.chunk_id = ANY(%s)",
            (list(chunk_ids),),
            True,
        )
        if _CURRENT.get() is not None:  # inside a read: its passages are of its snapshot
            rows = self._db.run(lambda c: c.execute(*statement[:2], binary=True).fetchall())
        else:
            passages_version = _LAST_READ.get()
            # The rows come in the round trip that opens the snapshot.
            state, rows = self._db.run(
                lambda c: (_CURRENT.get().state, _CURRENT.get().prefetched[0]), [statement]
            )
            if passages_version is not None and (state is None or state[0] != passages_version):
                return {}
        return unpacked_leads(rows)

    def rows_containing(self, phrase: str) -> np.ndarray:
        found = self._db.run(
            lambda c: c.execute(
                "SELECT row_id FROM chunks WHERE strpos(folded, %s) > 0 ORDER BY row_id",
                (fold(phrase),),
            ).fetchall()
        )
        return np.fromiter((r[0] for r in found), dtype=np.int64)

    def allowed_rows(self, filters: Filters) -> np.ndarray:
        clauses, params = [], []
        for column, values in (
            ("d.doc_type", filters.doc_types),
            ("d.organisation", filters.organisations),
            ("d.source", filters.sources),
        ):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(list(values))
        if filters.year_from is not None:
            clauses.append("d.year >= %s")
            params.append(filters.year_from)
        if filters.year_to is not None:
            clauses.append("d.year <= %s")
            params.append(filters.year_to)
        where = " AND ".join(clauses) or "true"
        found = self._db.run(
            lambda c: c.execute(
                "SELECT c.row_id FROM chunks c JOIN documents d ON d.source = c.source "
                f"WHERE {where} ORDER BY c.row_id",
                params,
            ).fetchall()
        )
        return np.fromiter((r[0] for r in found), dtype=np.int64)


@dataclass(frozen=True)
class _View:
    """What a SearchIndex caches of one published version: documents, the lexicon's
    analyzer and the BM25 statistics. Each read uses the view of the version its snapshot
    sees, so a search that began before a publish finishes on the old index throughout."""

    version: int
    manifest: dict
    documents: dict[str, StoredDocument]
    analyzer: Analyzer
    chunk_count: int
    total_length: int
    postings: _PostingsCache = field(default_factory=lambda: _PostingsCache())
    """Terms' postings read under this version (they cannot change within it)."""

    @property
    def average_length(self) -> float:
        return self.total_length / self.chunk_count if self.chunk_count else 1.0


POSTINGS_CACHE_BYTES = 64 << 20
"""Postings kept in memory per published version: a common term's postings are hundreds of
kilobytes, and shipping them for every query was most of a database search's time."""


class _PostingsCache:
    """Terms' postings of one version, the oldest dropped past POSTINGS_CACHE_BYTES."""

    def __init__(self):
        self._items: dict[str, _TermPostings | None] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, term: str):
        return self._items.get(term, _MISSING)

    def put(self, term: str, postings: _TermPostings | None) -> None:
        size = 0 if postings is None else postings.nbytes
        with self._lock:
            if term in self._items:
                return
            self._items[term] = postings
            self._bytes += size
            while self._bytes > POSTINGS_CACHE_BYTES and self._items:
                oldest = next(iter(self._items))
                dropped = self._items.pop(oldest)
                self._bytes -= 0 if dropped is None else dropped.nbytes


_MISSING = object()


_VIEW: contextvars.ContextVar[_View | None] = contextvars.ContextVar("pg_view", default=None)


class _Views:
    """The views of the newest versions read (two: a publish leaves searches on the one
    before for a moment); `current` is the read's own, else the newest."""

    KEEP = 2

    def __init__(self):
        self.by_version: dict[int, _View] = {}
        self.newest: _View | None = None

    @property
    def current(self) -> _View:
        view = _VIEW.get() or self.newest
        if view is None:
            raise IndexUnavailable("Indexet i databasen är inte inläst än.")
        return view

    def add(self, view: _View) -> None:
        self.by_version[view.version] = view
        if self.newest is None or view.version > self.newest.version:
            self.newest = view
        for old in sorted(self.by_version)[: -self.KEEP]:
            del self.by_version[old]


class _Documents(Mapping):
    """SearchIndex's document cache for the database: the current read's view of it."""

    def __init__(self, views: _Views):
        self._views = views

    def __getitem__(self, source: str) -> StoredDocument:
        return self._views.current.documents[source]

    def __iter__(self):
        return iter(self._views.current.documents)

    def __len__(self) -> int:
        return len(self._views.current.documents)


@dataclass(frozen=True)
class _TermPostings:
    df: int
    rows: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray
    bm25: np.ndarray
    """Each posting's BM25 score for the term once in a query: the same for every query
    of the version (its passage count and average length), so computed once."""

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes + self.tfs.nbytes + self.lengths.nbytes + self.bm25.nbytes


class PgLexical:
    """The folder LexicalIndex's interface (analyzer, top, idf, coverage) over the `terms`
    table, with bm25s's "lucene" BM25: a query's terms and their packed postings are read
    in one query and scored with NumPy."""

    def __init__(self, db: Database, views: _Views):
        self._db = db
        self._views = views

    @property
    def analyzer(self) -> Analyzer:
        return self._views.current.analyzer

    def _terms(self, terms: Iterable[str]) -> dict[str, _TermPostings | None]:
        """Each term's postings, None for a term no passage has; read once per read."""
        wanted = _storable(dict.fromkeys(terms))

        def lookup(conn) -> dict[str, _TermPostings | None]:
            known = _CURRENT.get().terms
            cache = self._views.current.postings
            for term in wanted:
                if term not in known and (cached := cache.get(term)) is not _MISSING:
                    known[term] = cached
            missing = [t for t in wanted if t not in known]
            if missing:
                query, params, binary = self.postings_query(missing)
                rows = conn.execute(query, params, binary=binary).fetchall()
                self.keep_postings(missing, rows, known, self._views.current)
            return {t: known[t] for t in wanted}

        return self._db.run(lookup)

    @staticmethod
    def postings_query(terms: list[str]) -> Statement:
        return (
            "SELECT term, df, rows, tfs, lengths FROM terms WHERE term = ANY(%s)",
            (terms,),
            True,
        )

    @classmethod
    def keep_postings(cls, terms: list[str], rows: list[tuple], known: dict, view: _View) -> None:
        """Record the postings `rows` (of postings_query) of `terms` in the read's `known`
        and the cache of `view`, None for a term no passage has."""
        a = BM25_K1 * (1 - BM25_B)
        c = BM25_K1 * BM25_B / view.average_length
        found = {}
        for term, df, packed_rows, packed_tfs, packed_lengths in rows:
            tfs, lengths = _unpacked(packed_tfs), _unpacked(packed_lengths)
            as_float = tfs.astype(np.float32)
            bm25 = cls._weight(df, view) * as_float / (as_float + a + c * lengths)
            found[term] = _TermPostings(df, _unpacked(packed_rows), tfs, lengths, bm25)
        for term in terms:
            known[term] = found.get(term)
            view.postings.put(term, known[term])

    @staticmethod
    def _weight(df: int, view: _View) -> float:
        n = view.chunk_count
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def top(
        self, query_terms: list[str], depth: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """The `depth` best rows by BM25 for `query_terms` (a repeated term counts as often
        as it occurs, as in bm25s), restricted to `allowed`; ties by row."""

        def read(conn) -> list[tuple[int, float]]:
            info = self._terms(query_terms)
            counts = Counter(t for t in _storable(query_terms) if info.get(t))
            if not counts:
                return []
            rows, contributions = [], []
            for term, n in counts.items():
                p = info[term]
                contributions.append(p.bm25 * n if n > 1 else p.bm25)
                rows.append(p.rows)
            rows_all = np.concatenate(rows)
            scores = np.bincount(rows_all, weights=np.concatenate(contributions))
            if allowed is not None:
                mask = np.zeros(len(scores), dtype=bool)
                inside = np.asarray(allowed)
                mask[inside[inside < len(scores)]] = True
                scores = np.where(mask, scores, 0.0)
            candidates = np.flatnonzero(scores > 0)
            if len(candidates) > depth:
                candidates = candidates[np.argpartition(-scores[candidates], depth - 1)[:depth]]
            order = candidates[np.lexsort((candidates, -scores[candidates]))]
            return [(int(r), float(scores[r])) for r in order]

        return self._db.run(read)

    def idf(self, terms: list[str]) -> dict[str, float]:
        """As LexicalIndex.idf: a term no passage contains is the rarest of all."""

        def read(conn) -> dict[str, float]:
            view = self._views.current
            info = self._terms(terms)
            return {
                t: self._weight(info[t].df if info.get(t) else 0, view)
                for t in dict.fromkeys(terms)
            }

        return self._db.run(read)

    def coverage(self, weights: dict[str, float], rows: list[int]) -> np.ndarray:
        """For each of `rows`, the share of the terms' total weight its passage contains,
        read from the postings."""
        total = sum(weights.values())
        found = np.zeros(len(rows))
        if total <= 0 or not rows:
            return found
        info = self._db.run(lambda conn: self._terms(weights))
        wanted = np.asarray(rows)
        for term, weight in weights.items():
            p = info.get(term)
            if p is not None and len(p.rows):
                at = np.minimum(np.searchsorted(p.rows, wanted), len(p.rows) - 1)
                found += weight * (p.rows[at] == wanted)
        return found / total


def _storable(terms: Iterable[str]) -> list[str]:
    """The terms a text column can hold: PostgreSQL text never contains NUL, so a term with
    one is in no passage."""
    return [t for t in terms if "\x00" not in t]


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


class PgDense:
    """The folder DenseIndex's `search` over the `embedding` column and its HNSW index."""

    def __init__(self, db: Database, dimension: int):
        self._db = db
        self.dimension = dimension
        self.kind = "hnsw"

    def search(
        self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top `k` rows by cosine, restricted to the row ids in `allowed` if given."""
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        snapshot = _CURRENT.get()
        if allowed is None and snapshot is not None and snapshot.nearest is not None:
            (vector, depth), found = snapshot.nearest
            if depth == k and vector == _vector_key(query_vector):
                return found
        query, params, _ = self.nearest_query(self.dimension, query_vector, k, allowed)
        found = self._db.run(lambda c: c.execute(query, params).fetchall())
        return [(int(r), float(s)) for r, s in found]

    @staticmethod
    def nearest_query(
        dimension: int, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> Statement:
        dims = int(dimension)
        restrict = "AND row_id = ANY(%(allowed)s)" if allowed is not None else ""
        distance = f"(embedding::halfvec({dims})) <=> %(q)s::halfvec({dims})"
        query = (
            f"SELECT row_id, 1 - ({distance}) FROM chunks WHERE dims = {dims} {restrict} "
            f"ORDER BY {distance} LIMIT %(k)s"
        )
        params = {
            "q": _vector_literal(query_vector),
            "k": k,
            "allowed": _rows(allowed) if allowed is not None else None,
        }
        return query, params, False


def _vector_key(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class PgSnapshots:
    """Runs each read of a SearchIndex in one snapshot, with the view of the version that
    snapshot sees (loaded from the same snapshot the first time it is seen)."""

    def __init__(self, db: Database, views: _Views):
        self.db = db
        self.views = views
        self._lock = threading.Lock()

    def __call__(self, index, fn: Callable[[], T], plan=None) -> T:
        # A read inside another read shares its snapshot, already begun: nothing to send.
        inside = _CURRENT.get() is not None
        prefetch = None if inside else _Prefetch.of(plan, self.views.newest)

        def read(conn):
            snapshot = _CURRENT.get()
            state = snapshot.state
            if state is None:
                raise IndexUnavailable(
                    f"Det finns inget index i databasen {self.db.where} än. Bygg det först: "
                    "strategisok index [KORPUSMAPP] --database …"
                )
            view = self.views.by_version.get(state[0])
            if view is None:
                with self._lock:
                    view = self.views.by_version.get(state[0]) or self._load(conn, state)
                    self._adopt(index, view)
            if prefetch is not None and prefetch.view is view:
                prefetch.absorb(snapshot)
            token = _VIEW.set(view)
            try:
                return fn()
            finally:
                _VIEW.reset(token)

        return self.db.run(read, prefetch.statements if prefetch else ())

    def _load(self, conn, state) -> _View:
        version, manifest, chunk_count, total_length = state
        stems = conn.execute(
            "SELECT stem FROM stems WHERE count >= %s AND length(stem) >= %s",
            (LEXICON_MIN_COUNT, PART_MIN_CHARS),
        ).fetchall()
        documents = {
            d.source: d
            for d in (
                document_from_row(r)
                for r in conn.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents ORDER BY source")
            )
        }
        view = _View(
            version,
            manifest,
            documents,
            Analyzer(s for (s,) in stems),
            chunk_count,
            total_length,
        )
        self.views.add(view)
        return view

    def _adopt(self, index, view: _View) -> None:
        """Point the index's model settings at the newest version (a new model is loaded
        when a rebuild changed it)."""
        newest = self.views.newest
        model = newest.manifest["model"]
        if index.embedder is None or index.embedder.model_id != model["id"]:
            index.embedder = Embedder(model["id"], index.device)
        index.dense.dimension = model["dimension"]
        index.manifest = newest.manifest


@dataclass
class _Prefetch:
    """The queries a search sends with the start of its snapshot: the postings of its terms
    that the version's cache lacks, and (unfiltered) its nearest passages. Planned with the
    newest view read so far; used only if the snapshot sees that same version, which is
    what it sees unless a publish came in between (then the search reads as usual)."""

    view: _View
    terms: list[str]
    cached: dict[str, _TermPostings | None]
    nearest: tuple[bytes, int] | None
    statements: list[Statement]

    @classmethod
    def of(cls, plan, view: _View | None) -> _Prefetch | None:
        if plan is None or view is None:
            return None
        wanted = _storable(dict.fromkeys(view.analyzer.query_terms(plan.query)))
        cached = {t: p for t in wanted if (p := view.postings.get(t)) is not _MISSING}
        missing = [t for t in wanted if t not in cached]
        statements = [PgLexical.postings_query(missing)] if missing else []
        nearest = None
        model = view.manifest["model"]
        if plan.vector is not None and not plan.filtered and plan.model_id == model["id"]:
            nearest = (_vector_key(plan.vector), plan.depth)
            statements.append(PgDense.nearest_query(model["dimension"], plan.vector, plan.depth))
        return cls(view, missing, cached, nearest, statements)

    def absorb(self, snapshot: _Snapshot) -> None:
        """Hand the prefetched rows to the snapshot, where the search's own reads find them:
        every term it will look up is then known, so its passage query is its last."""
        results = iter(snapshot.prefetched)
        snapshot.terms.update(self.cached)
        if self.terms:
            PgLexical.keep_postings(self.terms, next(results), snapshot.terms, self.view)
        if self.nearest is not None:
            snapshot.nearest = (self.nearest, [(int(r), float(s)) for r, s in next(results)])
        snapshot.commit_with_chunks = True


def open_database_index(url: str, device: str = "cpu", weights=None):
    """A SearchIndex over the index published in the database at `url`. Raises
    IndexUnavailable with a sentence that says what to do when it cannot be used."""
    from .search import SearchIndex

    db = shared_database(url)
    db.check()
    views = _Views()
    index = SearchIndex(
        build_dir=db.where,
        manifest={},
        store=PgStore(db),
        dense=PgDense(db, 0),
        lexical=PgLexical(db, views),
        embedder=None,
        weights=weights,  # None: tuned for the model in the manifest (SearchIndex)
        _documents=_Documents(views),
        device=device,
        reader=PgSnapshots(db, views),
    )
    index.documents()  # loads the published state, or raises when there is none
    return index


# -- writing --------------------------------------------------------------------------------


@dataclass
class _Fresh:
    """A document read in this run, to be written with its passages."""

    source: str
    entry: _Entry
    vectors: np.ndarray | None = None
    terms: list[list[str]] = field(default_factory=list)
    leads: list[_Leads | None] = field(default_factory=list)
    """Each passage's lead candidates, None for one without."""


@dataclass(frozen=True)
class _Leads:
    """One passage's lead candidates as the `lead_sentences` table holds them."""

    spans: list[tuple[int, int]]
    keys: list[str]
    vectors: np.ndarray

    def row(self, row_id: int) -> tuple:
        spans, vectors = packed_leads(self.spans, self.vectors)
        return row_id, spans, self.keys, vectors


class _StoredLeadVectors:
    """The vectors of lead candidates already in the database, by embedding key: what the
    embedding cache is to the folder index, so that a sentence is embedded only once."""

    def __init__(self, conn, dimension: int):
        self._conn = conn
        self._dimension = dimension

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 5000):
            part = keys[start : start + 5000]
            wanted = set(part)
            rows = self._conn.execute(
                "SELECT keys, vectors FROM lead_sentences WHERE keys && %s::text[]",
                (part,),
                binary=True,
            )
            for row_keys, packed in rows:
                matrix = np.frombuffer(packed, dtype="<f2").reshape(len(row_keys), -1)
                if matrix.shape[1] != self._dimension:
                    continue
                for key, vector in zip(row_keys, matrix, strict=True):
                    if key in wanted:
                        found[key] = vector.astype(np.float32)
        return found

    def put_many(self, keys: list[str], vectors: np.ndarray) -> None:
        """Nothing: new vectors are written with their passages when the build publishes."""


def _halfvec_binary(vector: np.ndarray) -> bytes:
    """pgvector's binary halfvec: dimension and a reserved 0 (uint16 each), then float16
    values, big-endian."""
    values = np.asarray(vector, dtype=">f2")
    return struct.pack(">HH", len(values), 0) + values.tobytes()


def _stem_counts(text_words: list[str]) -> Counter:
    """Stem counts of one passage's words, as Analyzer.from_words counts them."""
    counts = Counter(w for w in text_words if w.isalpha())
    stems: Counter = Counter()
    for word, n in counts.items():
        stems[_stem(word)] += n
    return stems


def _stem(word: str) -> str:
    from .lexical import _stemmer

    return _stemmer.stemWord(word)


def build_database_index(
    corpus_dir: Path, url: str, config: IndexConfig, progress: bool = True
) -> BuildReport:
    """Index `corpus_dir` into the database at `url` and publish it in one transaction.
    Unchanged files (same content hash) are left as they are. Raises IndexBusy when another
    writer holds the lock, IndexUnavailable when the database cannot be used, and
    ModelLoadError when the model cannot be loaded."""
    started = time.perf_counter()
    where = display_url(url)
    with _connect(url, where, autocommit=True) as conn:
        locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]
        if not locked:
            raise IndexBusy(
                f"Ett annat indexeringskommando skriver redan till databasen {where}; vänta "
                "tills det är klart och försök igen."
            )
        try:
            migrate(conn, where)
            report = _write(conn, corpus_dir, where, config, progress)
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as exc:
            raise IndexUnavailable(
                f"Användaren i {where} får inte skriva indexet ({str(exc).splitlines()[0]}). "
                "Indexera med den roll som äger Strategisöks tabeller; appservrarnas "
                "läsroll kan bara söka."
            ) from exc
        except psycopg.OperationalError as exc:
            raise IndexUnavailable(
                f"Förbindelsen med databasen {where} bröts under indexeringen "
                f"({str(exc).splitlines()[0]}); inget av det nya publicerades och det "
                "tidigare indexet gäller. Kör kommandot igen."
            ) from exc
    report.seconds = time.perf_counter() - started
    return report


def _previous_state(conn) -> dict | None:
    row = conn.execute("SELECT version, manifest FROM index_state").fetchone()
    return {"version": row[0], **row[1]} if row else None


def _write(conn, corpus_dir: Path, where: str, config: IndexConfig, progress: bool):
    embedder = Embedder(config.model, config.device, config.batch_size)
    max_tokens = min(
        config.chunk_tokens or embedder.max_tokens, embedder.max_tokens - PREFIX_TOKENS
    )
    fingerprint = _chunking_fingerprint(config, max_tokens)
    previous = _previous_state(conn)
    reusable = (
        previous is not None
        and previous["chunking"]["fingerprint"] == fingerprint
        and previous["model"]["dimension"] == embedder.dimension
    )
    rows = conn.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents")
    prev_docs = {d.source: d for d in map(document_from_row, rows)}
    report = BuildReport(build_dir=where)  # type: ignore[arg-type]
    fresh: list[_Fresh] = []
    kept: set[str] = set()
    failures: list[tuple[Failure, str]] = []

    files = ingest.scan_corpus(corpus_dir)
    pdf_limits = ingest.ParseLimits(config.pdf_timeout_s, config.pdf_memory_mb)
    for file in tqdm(files, desc="Läser dokument", unit="fil", disable=not progress):
        before = prev_docs.get(file.source)
        if reusable and before and before.content_hash == file.content_hash:
            kept.add(file.source)
            report.unchanged += 1
            continue
        try:
            entry = _ingest(
                corpus_dir, file, embedder, max_tokens, config.overlap_tokens, pdf_limits
            )
        except IngestError as exc:
            keep = reusable and before is not None and getattr(exc, "keep_previous", True)
            failure = Failure(file.source, exc.reason, kept_previous=keep)
            report.failures.append(failure)
            failures.append((failure, file.content_hash))
            if keep:
                kept.add(file.source)
            continue
        (report.updated if before else report.added).append(file.source)
        fresh.append(_Fresh(file.source, entry))

    seen = {f.source for f in files}
    report.removed = sorted(s for s in prev_docs if s not in seen)
    dropped = [s for s in prev_docs if s not in kept]  # everything not kept as it is
    report.documents = len(kept) + len(fresh)

    _embed(conn, fresh, embedder, report, progress)
    backfill = _embed_leads(
        conn, fresh, sorted(kept) if reusable else [], embedder, report, progress
    )
    stems = _updated_stems(conn, fresh, dropped, reusable)
    analyzer = Analyzer(
        s for s, n in stems.items() if n >= LEXICON_MIN_COUNT and len(s) >= PART_MIN_CHARS
    )
    for doc in fresh:
        title = doc.entry.metadata.title
        doc.terms = [
            analyzer.terms_of_words(words(lexical_text(title, c))) for c in doc.entry.chunks
        ]

    version = (previous or {}).get("version", 0) + 1
    manifest = {
        "format_version": SCHEMA_VERSION,
        "build_id": f"v{version}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}",
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_dir": str(corpus_dir.resolve()),
        "model": {
            "id": embedder.model_id,
            "dimension": embedder.dimension,
            "max_tokens": embedder.max_tokens,
            "prompts": embedder.prompts,
        },
        "chunking": {
            "ingest_version": ingest.INGEST_VERSION,
            "max_tokens": max_tokens,
            "overlap_tokens": config.overlap_tokens,
            "fingerprint": fingerprint,
        },
        "lexical": {
            "analyzer": ANALYZER_VERSION,
            "method": "lucene",
            "k1": BM25_K1,
            "b": BM25_B,
            "store": "postgresql",
        },
        "dense": {
            "kind": "hnsw",
            "metric": "cosine",
            "type": "halfvec",
            "m": HNSW_M,
            "ef_construction": HNSW_EF_CONSTRUCTION,
        },
        "libraries": _library_versions(),
    }
    if progress:
        print("Publicerar i databasen …", flush=True)
    with conn.transaction():
        _publish(conn, fresh, dropped, stems, failures, reusable, embedder.dimension, backfill)
        chunk_count, total_length = conn.execute(
            "SELECT count(*), coalesce(sum(length), 0) FROM chunks"
        ).fetchone()
        report.chunks = chunk_count
        manifest["counts"] = {
            "documents": report.documents,
            "chunks": chunk_count,
            "failures": len(failures),
        }
        conn.execute(
            "INSERT INTO index_state (id, version, manifest, chunk_count, total_length) "
            "VALUES (true, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET version = "
            "EXCLUDED.version, manifest = EXCLUDED.manifest, chunk_count = "
            "EXCLUDED.chunk_count, total_length = EXCLUDED.total_length",
            (version, json.dumps(manifest, ensure_ascii=False), chunk_count, total_length),
        )
    if not reusable or len(fresh) + len(dropped) > max(100, len(prev_docs) // 10):
        # Fresh planner statistics after a large change; autovacuum does the same for small
        # ones in its own time.
        for table in ("terms", "chunks", "lead_sentences", "documents"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return report


def _embed(conn, fresh: list[_Fresh], embedder: Embedder, report: BuildReport, progress):
    """Vectors for the fresh passages: copied from rows that already have them (same
    model and text), the rest embedded."""
    keys = sorted({k for doc in fresh for k in doc.entry.keys})
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(keys), 5000):
        part = keys[start : start + 5000]
        rows = conn.execute(
            "SELECT DISTINCT ON (embed_key) embed_key, embedding::real[] FROM chunks "
            "WHERE embed_key = ANY(%s) AND dims = %s",
            (part, embedder.dimension),
        ).fetchall()
        found.update((k, np.asarray(v, dtype=np.float32)) for k, v in rows)
    missing: dict[str, str] = {}
    for doc in fresh:
        title = doc.entry.metadata.title
        for chunk, key in zip(doc.entry.chunks, doc.entry.keys, strict=True):
            if key not in found and key not in missing:
                missing[key] = doc.entry.texts.get(key) or dense_texts(title, [chunk], embedder)[0]
    if missing:
        if progress:
            print(f"Bäddar in {len(missing)} nya textavsnitt …", flush=True)
        pending = list(missing.items())
        bar = tqdm(total=len(pending), unit="avsnitt", disable=not progress)
        for start in range(0, len(pending), 512):
            part = pending[start : start + 512]
            vectors = embedder.embed([text for _, text in part], "passage")
            found.update(zip((key for key, _ in part), vectors, strict=True))
            bar.update(len(part))
        bar.close()
        report.embedded = len(missing)
    for doc in fresh:
        if doc.entry.keys:
            doc.vectors = np.stack([found[k] for k in doc.entry.keys])


def _embed_leads(
    conn, fresh: list[_Fresh], kept: list[str], embedder: Embedder, report: BuildReport, progress
) -> list[tuple[int, _Leads]]:
    """The lead candidates of the fresh passages (set on each document), and of the kept
    passages of `kept` documents that have none (a database published before they were
    stored), returned with their rows. Vectors come from the stored candidates where the
    same sentence (same title, same model) was embedded before, the rest are embedded."""
    titled = [(doc.entry.metadata.title, c) for doc in fresh for c in doc.entry.chunks]
    missing_rows: list[int] = []
    if kept:
        found = conn.execute(
            "SELECT row_id, (SELECT title FROM documents d WHERE d.source = c.source), "
            f"{CHUNK_COLUMNS} FROM chunks c WHERE c.source = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM lead_sentences l WHERE l.row_id = c.row_id) ORDER BY row_id",
            (kept,),
        ).fetchall()
        missing_rows = [r[0] for r in found]
        titled += [(r[1], chunk_from_row(r[2:])) for r in found]
    spans, keys, texts = lead_keys(titled, embedder)
    stored = _StoredLeadVectors(conn, embedder.dimension)
    vectors, report.lead_sentences = _embedded(
        list(texts), texts.__getitem__, embedder, stored, "meningar", progress
    )
    leads = [
        _Leads(s, k, np.stack([vectors[key] for key in k])) if s else None
        for s, k in zip(spans, keys, strict=True)
    ]
    at = 0
    for doc in fresh:
        doc.leads = leads[at : at + len(doc.entry.chunks)]
        at += len(doc.entry.chunks)
    return [(row, lead) for row, lead in zip(missing_rows, leads[at:], strict=True) if lead]


def _updated_stems(conn, fresh: list[_Fresh], dropped: list[str], reusable: bool) -> Counter:
    """The stem counts after this build: the stored ones, less the dropped documents'
    passages, plus the fresh ones'."""
    stems: Counter = Counter()
    if reusable:
        stems.update(dict(conn.execute("SELECT stem, count FROM stems").fetchall()))
        if dropped:
            old = conn.execute(
                "SELECT d.title, c.section_path, c.text FROM chunks c JOIN documents d "
                "ON d.source = c.source WHERE c.source = ANY(%s)",
                (dropped,),
            )
            for title, section_path, text in old:
                chunk = Chunk("", "", 0, tuple(json.loads(section_path)), None, None, None, text)
                stems.subtract(_stem_counts(words(lexical_text(title, chunk))))
    for doc in fresh:
        title = doc.entry.metadata.title
        for chunk in doc.entry.chunks:
            stems.update(_stem_counts(words(lexical_text(title, chunk))))
    return Counter({s: n for s, n in stems.items() if n > 0})


def _packed(values) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


def _unpacked(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i4")


@dataclass
class _Postings:
    """One term's postings while a publish edits them."""

    term_id: int
    rows: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray


def _publish(conn, fresh, dropped, stems, failures, reusable, dimension, backfill) -> None:
    """Every change of one build, inside the caller's transaction; `backfill` holds the
    lead candidates of kept passages that had none."""
    dropped_rows = np.zeros(0, dtype=np.int64)
    touched_ids: set[int] = set()
    if not reusable:
        # DELETE, not TRUNCATE: TRUNCATE would lock readers out until the commit.
        for table in ("lead_sentences", "chunks", "documents", "terms", "stems"):
            conn.execute(f"DELETE FROM {table}")
    elif dropped:
        old = conn.execute(
            "SELECT row_id, terms FROM chunks WHERE source = ANY(%s)", (dropped,), binary=True
        ).fetchall()
        dropped_rows = np.asarray(sorted(r for r, _ in old), dtype=np.int64)
        for _, packed in old:
            touched_ids.update(_unpacked(packed).tolist())
        conn.execute("DELETE FROM documents WHERE source = ANY(%s)", (dropped,))

    conn.execute("DELETE FROM stems")
    with conn.cursor().copy("COPY stems (stem, count) FROM STDIN") as copy:
        for stem, count in stems.items():
            copy.write_row((stem, count))

    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO documents VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [_document_row(doc) for doc in fresh],
        )
    total = sum(len(doc.entry.chunks) for doc in fresh)
    first = conn.execute("SELECT nextval('chunk_rows')").fetchone()[0]
    if total:
        conn.execute("SELECT setval('chunk_rows', %s)", (first + total,))

    # The postings of every term that a dropped or a fresh passage has: read, edited, and
    # written back whole.
    fresh_terms = {t for doc in fresh for terms in doc.terms for t in terms}
    touched: dict[str, _Postings] = {}
    if touched_ids or fresh_terms:
        found = conn.execute(
            "SELECT term, term_id, rows, tfs, lengths FROM terms "
            "WHERE term_id = ANY(%s) OR term = ANY(%s)",
            (sorted(touched_ids), sorted(fresh_terms)),
            binary=True,
        )
        for term, term_id, rows, tfs, lengths in found:
            touched[term] = _Postings(term_id, _unpacked(rows), _unpacked(tfs), _unpacked(lengths))
    next_id = conn.execute("SELECT coalesce(max(term_id), 0) + 1 FROM terms").fetchone()[0]
    if len(dropped_rows):
        for postings in touched.values():
            keep = ~np.isin(postings.rows, dropped_rows, assume_unique=True)
            postings.rows, postings.tfs = postings.rows[keep], postings.tfs[keep]
            postings.lengths = postings.lengths[keep]

    additions: dict[str, tuple[list[int], list[int], list[int]]] = {}
    row = first
    chunk_rows = []
    for doc in fresh:
        for i, chunk in enumerate(doc.entry.chunks):
            terms = doc.terms[i]
            length = len(terms)
            ids = []
            for term, tf in Counter(terms).items():
                postings = touched.get(term)
                if postings is None:
                    empty = np.zeros(0, dtype="<i4")
                    postings = touched[term] = _Postings(next_id, empty, empty, empty)
                    next_id += 1
                ids.append(postings.term_id)
                rows, tfs, lengths = additions.setdefault(term, ([], [], []))
                rows.append(row)
                tfs.append(tf)
                lengths.append(length)
            chunk_rows.append((row, chunk, doc.entry.keys[i], length, _packed(ids), doc, i))
            row += 1
    for term, (rows, tfs, lengths) in additions.items():
        postings = touched[term]
        # New rows come from the sequence, above every stored one: order is kept.
        postings.rows = np.concatenate([postings.rows, np.asarray(rows, dtype="<i4")])
        postings.tfs = np.concatenate([postings.tfs, np.asarray(tfs, dtype="<i4")])
        postings.lengths = np.concatenate([postings.lengths, np.asarray(lengths, dtype="<i4")])

    if touched:
        conn.execute(
            "DELETE FROM terms WHERE term_id = ANY(%s)", ([p.term_id for p in touched.values()],)
        )
        with conn.cursor().copy(
            "COPY terms (term_id, term, df, rows, tfs, lengths) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "text", "int4", "bytea", "bytea", "bytea"])
            for term, p in touched.items():
                if len(p.rows):
                    copy.write_row(
                        (p.term_id, term, len(p.rows), _packed(p.rows), _packed(p.tfs),
                         _packed(p.lengths))
                    )  # fmt: skip

    chunk_types = ["int4", "text", "text", "int4", "text", "int4", "int4", "text", "text"]
    chunk_types += ["text", "text", "int4", "bytea", "int4", "bytea"]
    with conn.cursor().copy(
        "COPY chunks (row_id, chunk_id, source, ordinal, section_path, page_start, page_end, "
        "page_label, text, folded, embed_key, length, terms, dims, embedding) FROM STDIN "
        "(FORMAT BINARY)"
    ) as copy:
        copy.set_types(chunk_types)
        for row, chunk, key, length, term_ids, doc, i in chunk_rows:
            copy.write_row(
                (
                    row,
                    chunk.chunk_id,
                    chunk.source,
                    chunk.ordinal,
                    json.dumps(list(chunk.section_path), ensure_ascii=False),
                    chunk.page_start,
                    chunk.page_end,
                    chunk.page_label,
                    chunk.text,
                    fold(chunk.text),
                    key,
                    length,
                    term_ids,
                    dimension,
                    _halfvec_binary(doc.vectors[i]),
                )
            )
    with conn.cursor().copy(
        "COPY lead_sentences (row_id, spans, keys, vectors) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int4", "bytea", "text[]", "bytea"])
        for row, _, _, _, _, doc, i in chunk_rows:
            if doc.leads[i] is not None:
                copy.write_row(doc.leads[i].row(row))
        for row, leads in backfill:
            copy.write_row(leads.row(row))

    conn.execute("DELETE FROM failures")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO failures VALUES (%s, %s, %s, %s)",
            [(f.source, h, f.reason, f.kept_previous) for f, h in failures],
        )
    dims = int(dimension)
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON chunks USING hnsw "
            f"((embedding::halfvec({dims})) halfvec_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE dims = {dims}"
        ).format(name=sql.Identifier(f"chunks_embedding_hnsw_{dims}"))
    )


def _document_row(doc: _Fresh) -> tuple:
    m = doc.entry.metadata
    return (
        doc.source,
        doc.entry.content_hash,
        m.title,
        m.doc_type,
        m.organisation,
        m.date,
        year_of(m.date),
        m.diarienummer,
        m.page_count,
        json.dumps(list(m.running_headers), ensure_ascii=False),
        json.dumps(list(doc.entry.warnings), ensure_ascii=False),
        len(doc.entry.chunks),
    )
