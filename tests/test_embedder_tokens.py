"""The embedder's token count, which sizes every passage, is the model tokenizer's own count,
also for text past the model's window and after the model has embedded something (encoding
turns truncation on in the shared tokenizer, which must not cut the count short)."""

from __future__ import annotations

import pytest

from index.embedder import MINILM, Embedder
from tests.conftest import CORPUS_DIR, SEED_SOURCE


@pytest.mark.slow
def test_count_tokens_matches_the_model_tokenizer_before_and_after_embedding(count_tokens):
    embedder = Embedder(MINILM)  # a transformer tokenizer, whose truncation the model shares
    seed = (CORPUS_DIR / SEED_SOURCE).read_text(encoding="utf-8")
    paragraphs = [p for p in seed.split("\n\n") if p.strip()][:40]
    texts = ["", "nämnd", "Exploateringskontoret ställer sig positivt.", seed[:6000], *paragraphs]
    assert count_tokens(seed[:6000]) > 2 * embedder.max_tokens

    before = [embedder.count_tokens(t) for t in texts]
    embedder.embed([seed[:6000]], "passage")  # sets truncation on the model's tokenizer
    after = [embedder.count_tokens(t) for t in texts]

    assert before == after == [count_tokens(t) for t in texts]
    assert embedder.count_tokens_many(texts) == after
