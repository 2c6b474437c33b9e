"""Ingest: corpus files in, cleaned `Document`s and structure-aware `Chunk`s out. Knows
nothing of vectors or user interfaces."""

from __future__ import annotations

from ingest.chunking import chunk_document
from ingest.corpus import (
    DEFAULT_PDF_LIMITS,
    SUPPORTED_EXTENSIONS,
    SourceFile,
    load_document,
    scan_corpus,
)
from ingest.isolation import ParseLimits
from ingest.models import DOC_TYPES, Block, Chunk, Document, DocumentMetadata, IngestError
from ingest.sentences import lead_spans

INGEST_VERSION = "3"
"""Bumped when cleaning or chunking changes, so the next index run re-reads every file."""

__all__ = [
    "INGEST_VERSION",
    "DEFAULT_PDF_LIMITS",
    "DOC_TYPES",
    "SUPPORTED_EXTENSIONS",
    "Block",
    "Chunk",
    "Document",
    "DocumentMetadata",
    "IngestError",
    "ParseLimits",
    "SourceFile",
    "chunk_document",
    "lead_spans",
    "load_document",
    "scan_corpus",
]
