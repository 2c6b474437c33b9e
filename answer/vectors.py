"""Sentence and question vectors for the answer stage, memoised per model: a conversation
repeats its questions and the same passages come back, so each text is embedded once."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from index import Embedder
from index.embedder import TextKind

CACHE_SIZE = 50_000
"""Texts kept (about 20 MB of 384-d float32 vectors)."""

_cache: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached vector (the benchmark measures answers without the cache)."""
    with _lock:
        _cache.clear()


def embed_cached(embedder: Embedder, texts: list[str], kind: TextKind) -> np.ndarray:
    """`embedder.embed(texts, kind)`, from the cache where a text was embedded before; the
    missing ones are embedded in one batch."""
    keys = [(embedder.model_id, kind, t) for t in texts]
    with _lock:
        known = {k: _cache[k] for k in keys if k in _cache}
        for k in known:
            _cache.move_to_end(k)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        with _lock:  # one model, many web threads: encode one batch at a time
            vectors = embedder.embed([k[2] for k in missing], kind)
            for k, v in zip(missing, vectors, strict=True):
                _cache[k] = known[k] = v
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if not keys:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([known[k] for k in keys])
