"""Embeds, stores and searches passages: FAISS for vectors, bm25s for Swedish terms, SQLite
for texts and metadata, published atomically as one build per run."""

from __future__ import annotations

from .build import BuildReport, IndexBusy, IndexConfig, build_index
from .embedder import DEFAULT_MODEL, Embedder, ModelLoadError
from .manifest import IndexUnavailable
from .search import MODES, RELEVANCE_THRESHOLD, FusionWeights, Hit, Mode, SearchIndex
from .store import Failure, Filters, StoredDocument

__all__ = [
    "DEFAULT_MODEL",
    "MODES",
    "RELEVANCE_THRESHOLD",
    "BuildReport",
    "Embedder",
    "Failure",
    "Filters",
    "FusionWeights",
    "Hit",
    "IndexBusy",
    "IndexConfig",
    "IndexUnavailable",
    "Mode",
    "ModelLoadError",
    "SearchIndex",
    "StoredDocument",
    "build_index",
]
