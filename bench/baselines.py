"""What a user would assemble from the same parts, to measure Strategisök against: fixed
1,000-character chunks (800-character stride), BM25 with the Swedish Snowball stemmer and stop
words (bm25s), and all-MiniLM-L6-v2 dense search over the same chunks (`model.encode`, FAISS
`IndexFlatIP`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
import Stemmer

CHUNK_CHARS = 1000
STRIDE_CHARS = 800


@dataclass(frozen=True)
class FixedChunk:
    source: str
    text: str


def fixed_chunks(source: str, text: str) -> list[FixedChunk]:
    starts = range(0, max(len(text) - CHUNK_CHARS, 0) + STRIDE_CHARS, STRIDE_CHARS)
    return [FixedChunk(source, text[s : s + CHUNK_CHARS]) for s in starts if text[s:].strip()]


def read_corpus(corpus_dir: Path) -> list[FixedChunk]:
    chunks = []
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        chunks.extend(fixed_chunks(path.relative_to(corpus_dir).as_posix(), text))
    return chunks


class BM25Baseline:
    def __init__(self, chunks: list[FixedChunk]):
        self.chunks = chunks
        self._stemmer = Stemmer.Stemmer("swedish")
        tokens = bm25s.tokenize(
            [c.text for c in chunks], stopwords="sv", stemmer=self._stemmer, show_progress=False
        )
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokens, show_progress=False)

    def search(self, query: str, k: int) -> list[FixedChunk]:
        tokens = bm25s.tokenize([query], stopwords="sv", stemmer=self._stemmer, show_progress=False)
        if not tokens.ids[0]:
            return []
        rows, _ = self._bm25.retrieve(tokens, k=min(k, len(self.chunks)), show_progress=False)
        return [self.chunks[i] for i in rows[0]]


class DenseBaseline:
    def __init__(self, chunks: list[FixedChunk], model, cache_dir: Path | None = None):
        self.chunks = chunks
        self._model = model
        texts = [c.text for c in chunks]
        vectors = None
        cache = None
        if cache_dir is not None:
            digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
            cache = cache_dir / f"baseline-dense-{digest}.npy"
            if cache.exists():
                vectors = np.load(cache, allow_pickle=False)
        if vectors is None:
            vectors = model.encode(
                texts,
                normalize_embeddings=True,
                batch_size=64,
                show_progress_bar=True,
                convert_to_numpy=True,
            )
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.save(cache, vectors, allow_pickle=False)
        self._index = faiss.IndexFlatIP(vectors.shape[1])
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, query: str, k: int) -> list[FixedChunk]:
        vector = self._model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        _, rows = self._index.search(np.asarray(vector, dtype=np.float32), k)
        return [self.chunks[i] for i in rows[0] if i >= 0]
