"""Passage texts and document metadata in SQLite, where filters can reach them. A chunk's
`row` is its position in the dense and lexical indexes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.models import Chunk, DocumentMetadata

SCHEMA = """
CREATE TABLE documents (
    source TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    organisation TEXT,
    date TEXT,
    year INTEGER,
    diarienummer TEXT,
    page_count INTEGER,
    running_headers TEXT NOT NULL,
    warnings TEXT NOT NULL,
    chunk_count INTEGER NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL REFERENCES documents(source),
    ordinal INTEGER NOT NULL,
    section_path TEXT NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    page_label TEXT,
    text TEXT NOT NULL,
    folded TEXT NOT NULL,
    embed_key TEXT NOT NULL
);
CREATE INDEX chunks_by_source ON chunks(source, ordinal);
CREATE TABLE lead_sentences (
    row INTEGER PRIMARY KEY REFERENCES chunks(row),
    spans BLOB NOT NULL,
    vectors BLOB NOT NULL
);
CREATE TABLE failures (
    source TEXT PRIMARY KEY,
    content_hash TEXT,
    reason TEXT NOT NULL,
    kept_previous INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StoredDocument:
    source: str
    content_hash: str
    metadata: DocumentMetadata
    warnings: tuple[str, ...]
    chunk_count: int


@dataclass(frozen=True)
class Failure:
    source: str
    reason: str
    kept_previous: bool = False


@dataclass(frozen=True)
class Filters:
    """Restrictions on which passages a search may return; empty means no restriction."""

    doc_types: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def __bool__(self) -> bool:
        return bool(
            self.doc_types
            or self.organisations
            or self.sources
            or self.year_from is not None
            or self.year_to is not None
        )


def fold(text: str) -> str:
    """Whitespace- and case-folded text, the form in which phrases are matched."""
    return " ".join(text.split()).casefold()


def year_of(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None


class Store:
    def __init__(self, connection: sqlite3.Connection):
        self._db = connection

    @classmethod
    def create(cls, path: Path) -> Store:
        db = sqlite3.connect(path)
        db.executescript(SCHEMA)
        return cls(db)

    @classmethod
    def open(cls, path: Path) -> Store:
        # Read-only and shareable between the threads of a web server.
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return cls(db)

    def close(self) -> None:
        self._db.close()

    # -- writing (one build) --------------------------------------------------------------

    def add_document(
        self,
        source: str,
        content_hash: str,
        metadata: DocumentMetadata,
        warnings: tuple[str, ...],
        chunks: list[Chunk],
        embed_keys: list[str],
        first_row: int,
    ) -> None:
        self._db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                source,
                content_hash,
                metadata.title,
                metadata.doc_type,
                metadata.organisation,
                metadata.date,
                year_of(metadata.date),
                metadata.diarienummer,
                metadata.page_count,
                json.dumps(list(metadata.running_headers), ensure_ascii=False),
                json.dumps(list(warnings), ensure_ascii=False),
                len(chunks),
            ),
        )
        self._db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    first_row + i,
                    c.chunk_id,
                    c.source,
                    c.ordinal,
                    json.dumps(list(c.section_path), ensure_ascii=False),
                    c.page_start,
                    c.page_end,
                    c.page_label,
                    c.text,
                    fold(c.text),
                    key,
                )
                for i, (c, key) in enumerate(zip(chunks, embed_keys, strict=True))
            ],
        )

    def add_lead_sentences(
        self, rows: Iterable[tuple[int, list[tuple[int, int]], np.ndarray]]
    ) -> None:
        """Each chunk row's lead candidates ((start, end) in its text) with their vectors,
        kept in float16: a quarter of a million sentences take about 200 MB."""
        self._db.executemany(
            "INSERT INTO lead_sentences VALUES (?,?,?)",
            ((row, *packed_leads(spans, vectors)) for row, spans, vectors in rows),
        )

    def add_failure(self, failure: Failure, content_hash: str | None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?,?,?,?)",
            (failure.source, content_hash, failure.reason, int(failure.kept_previous)),
        )

    def commit(self) -> None:
        self._db.commit()

    # -- reading --------------------------------------------------------------------------

    def documents(self) -> list[StoredDocument]:
        rows = self._db.execute(
            "SELECT source, content_hash, title, doc_type, organisation, date, diarienummer,"
            " page_count, running_headers, warnings, chunk_count FROM documents ORDER BY source"
        )
        return [document_from_row(row) for row in rows]

    def document(self, source: str) -> StoredDocument | None:
        row = self._db.execute(
            "SELECT source, content_hash, title, doc_type, organisation, date, diarienummer,"
            " page_count, running_headers, warnings, chunk_count FROM documents WHERE source=?",
            (source,),
        ).fetchone()
        return document_from_row(row) if row else None

    def failures(self) -> list[Failure]:
        rows = self._db.execute("SELECT source, reason, kept_previous FROM failures ORDER BY 1")
        return [Failure(s, r, bool(k)) for s, r, k in rows]

    def chunks_of(self, source: str) -> list[tuple[Chunk, str]]:
        """A document's chunks in order, each with its embedding-cache key."""
        rows = self._db.execute(
            f"SELECT {CHUNK_COLUMNS}, embed_key FROM chunks WHERE source=? ORDER BY ordinal",
            (source,),
        )
        return [(chunk_from_row(row[:-1]), row[-1]) for row in rows]

    def chunks_by_rows(self, rows: Iterable[int]) -> dict[int, Chunk]:
        rows = list(rows)
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self._db.execute(
            f"SELECT row, {CHUNK_COLUMNS} FROM chunks WHERE row IN ({marks})", rows
        )
        return {r[0]: chunk_from_row(r[1:]) for r in found}

    def lead_sentences(self, chunk_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The stored lead candidates of these chunks: chunk_id → ((n, 2) int32 spans, (n, d)
        float32 vectors). Empty for an index built before they were stored."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        try:
            found = self._db.execute(
                "SELECT c.chunk_id, s.spans, s.vectors FROM chunks c "
                f"JOIN lead_sentences s ON s.row = c.row WHERE c.chunk_id IN ({marks})",
                chunk_ids,
            ).fetchall()
        except sqlite3.OperationalError:  # no such table: an older build
            return {}
        return unpacked_leads(found)

    def rows_containing(self, phrase: str) -> np.ndarray:
        """Rows whose passage contains `phrase` (whitespace- and case-folded), ascending."""
        rows = self._db.execute(
            "SELECT row FROM chunks WHERE instr(folded, ?) > 0 ORDER BY row", (fold(phrase),)
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def allowed_rows(self, filters: Filters) -> np.ndarray:
        """Row ids of the passages that `filters` lets through, ascending."""
        clauses, params = [], []
        for column, values in (
            ("d.doc_type", filters.doc_types),
            ("d.organisation", filters.organisations),
            ("d.source", filters.sources),
        ):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if filters.year_from is not None:
            clauses.append("d.year >= ?")
            params.append(filters.year_from)
        if filters.year_to is not None:
            clauses.append("d.year <= ?")
            params.append(filters.year_to)
        where = " AND ".join(clauses) or "1"
        rows = self._db.execute(
            f"SELECT c.row FROM chunks c JOIN documents d ON d.source = c.source WHERE {where}"
            " ORDER BY c.row",
            params,
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)


CHUNK_COLUMNS = "chunk_id, source, ordinal, section_path, page_start, page_end, page_label, text"


def packed_leads(spans, vectors: np.ndarray) -> tuple[bytes, bytes]:
    """A passage's lead candidates as stored (SQLite here, PostgreSQL in postgres.py): the
    (start, end) spans as little-endian int32 pairs, the vectors as little-endian float16."""
    return np.asarray(spans, "<i4").tobytes(), np.asarray(vectors, "<f2").tobytes()


def unpacked_leads(rows: Iterable[tuple]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(chunk_id, spans, vectors) rows of packed_leads → chunk_id → ((n, 2) int32 spans,
    (n, d) float32 vectors); a chunk without candidates is left out."""
    found = {}
    for chunk_id, spans, vectors in rows:
        pairs = np.frombuffer(spans, dtype="<i4").astype(np.int32).reshape(-1, 2)
        if len(pairs):
            matrix = np.frombuffer(vectors, dtype="<f2").astype(np.float32)
            found[chunk_id] = (pairs, matrix.reshape(len(pairs), -1))
    return found


def chunk_from_row(row: tuple) -> Chunk:
    """A Chunk from the CHUNK_COLUMNS of a row (SQLite here, PostgreSQL in postgres.py)."""
    chunk_id, source, ordinal, section_path, page_start, page_end, page_label, text = row
    return Chunk(
        chunk_id=chunk_id,
        source=source,
        ordinal=ordinal,
        section_path=tuple(json.loads(section_path)),
        page_start=page_start,
        page_end=page_end,
        page_label=page_label,
        text=text,
    )


def document_from_row(row: tuple) -> StoredDocument:
    """A StoredDocument from a `documents` row, in the order of the table's columns."""
    (
        source,
        content_hash,
        title,
        doc_type,
        organisation,
        date,
        dnr,
        pages,
        headers,
        warnings,
        chunk_count,
    ) = row
    metadata = DocumentMetadata(
        title=title,
        doc_type=doc_type,
        organisation=organisation,
        date=date,
        diarienummer=dnr,
        page_count=pages,
        running_headers=_json_tuple(headers),
    )
    return StoredDocument(source, content_hash, metadata, _json_tuple(warnings), chunk_count)


def _json_tuple(text: str) -> tuple:
    # Most documents have no running headers and no warnings; opening an index reads every
    # document, and skipping json.loads for "[]" halves that at 10,000 documents (make bench).
    return () if text == "[]" else tuple(json.loads(text))
