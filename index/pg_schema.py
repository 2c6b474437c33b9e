"""The PostgreSQL backend's schema as numbered migrations, applied in order by the writer and
recorded in `strategisok_schema`; a database newer than this code is refused."""

from __future__ import annotations

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE strategisok_schema (
    version integer PRIMARY KEY,
    applied timestamptz NOT NULL DEFAULT now()
);
-- One row: the published index. Its version grows by one with every publish; readers
-- reload their cached document list and lexicon when it changes.
CREATE TABLE index_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL,
    manifest jsonb NOT NULL,
    chunk_count bigint NOT NULL,
    total_length bigint NOT NULL
);
CREATE TABLE documents (
    source text PRIMARY KEY,
    content_hash text NOT NULL,
    title text NOT NULL,
    doc_type text NOT NULL,
    organisation text,
    date text,
    year integer,
    diarienummer text,
    page_count integer,
    running_headers text NOT NULL,
    warnings text NOT NULL,
    chunk_count integer NOT NULL
);
CREATE INDEX documents_by_doc_type ON documents (doc_type);
CREATE INDEX documents_by_organisation ON documents (organisation);
CREATE INDEX documents_by_year ON documents (year);
CREATE SEQUENCE chunk_rows;
-- `embedding` has no fixed dimension so that a model change needs no ALTER TABLE (which
-- would lock readers out); each dimension gets its own partial HNSW index over a cast.
CREATE TABLE chunks (
    row_id integer PRIMARY KEY,
    chunk_id text NOT NULL UNIQUE,
    source text NOT NULL REFERENCES documents (source) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    section_path text NOT NULL,
    page_start integer,
    page_end integer,
    page_label text,
    text text NOT NULL,
    folded text NOT NULL,
    embed_key text NOT NULL,
    length integer NOT NULL,
    terms bytea NOT NULL,
    dims integer NOT NULL,
    embedding halfvec NOT NULL
);
CREATE INDEX chunks_by_source ON chunks (source, ordinal);
CREATE INDEX chunks_by_embed_key ON chunks (embed_key);
-- BM25 term statistics: per term its document frequency and its postings packed as
-- little-endian int32 arrays (passage row ids ascending, the term's frequency in each, each
-- passage's length in terms), read whole and scored with NumPy as bm25s does; one row per
-- (term, passage) would make a common term cost tens of milliseconds of executor time.
-- `chunks.terms` lists each passage's term ids, so a publish knows which terms to rewrite.
CREATE TABLE terms (
    term_id integer PRIMARY KEY,
    term text NOT NULL UNIQUE,
    df integer NOT NULL,
    rows bytea NOT NULL,
    tfs bytea NOT NULL,
    lengths bytea NOT NULL
);
-- How often each word stem occurs in the indexed text: the lexicon of compound splitting.
CREATE TABLE stems (
    stem text PRIMARY KEY,
    count bigint NOT NULL
);
CREATE TABLE failures (
    source text PRIMARY KEY,
    content_hash text,
    reason text NOT NULL,
    kept_previous boolean NOT NULL
);
""",
    2: """
-- Each passage's lead candidates (ingest.lead_spans), embedded when the index is built so
-- that answering a question embeds only the question: their (start, end) in the passage's
-- text as little-endian int32 pairs, each one's embedding key, and their vectors as
-- little-endian float16, one after another. Read by passage; `keys` lets a build find a
-- sentence embedded before (in any passage) instead of embedding it again. A passage
-- without a row (published before this table, or with no sentence) is answered by
-- embedding its candidates while answering.
CREATE TABLE lead_sentences (
    row_id integer PRIMARY KEY REFERENCES chunks (row_id) ON DELETE CASCADE,
    spans bytea NOT NULL,
    keys text[] NOT NULL,
    vectors bytea NOT NULL
);
CREATE INDEX lead_sentences_by_key ON lead_sentences USING gin (keys);
""",
}

SCHEMA_VERSION = max(MIGRATIONS)
