"""Our static model runs on NumPy alone: the same vectors as sentence-transformers computes
for it, and neither a build nor a search with it (or with e5, in its own engine) imports
torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from index.build import PREFIX_TOKENS, dense_texts
from index.embedder import (
    E5_SMALL,
    MINILM,
    SWEDISH_STATIC,
    Embedder,
    ModelLoadError,
    StaticModel,
    resolve_model,
)
from ingest.models import Chunk
from tests.conftest import CORPUS_DIR

TEXTS = [
    "Får nämnden delta i EU-projekt?",
    "Hur har vi formulerat att vi inte har något att erinra?",
    "Exploateringskontoret ställer sig positivt till förslaget. " * 80,
    "x",
]


@pytest.mark.slow
def test_numpy_static_model_gives_sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    path = resolve_model(SWEDISH_STATIC)
    ours = StaticModel.open(path).encode(["", *TEXTS], batch_size=2)
    theirs = SentenceTransformer(path, device="cpu").encode(TEXTS, convert_to_numpy=True)
    theirs = theirs.astype(np.float32)  # the model is float16
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.all(np.sum(ours[1:] * theirs, axis=1) > 0.9999)
    assert not ours[0].any()  # an empty text is the zero vector, not NaN


def test_only_a_plain_static_model_takes_the_numpy_path(tmp_path):
    assert StaticModel.open(resolve_model(MINILM)) is None  # a transformer
    assert StaticModel.open(str(tmp_path)) is None  # no modules.json
    (tmp_path / "modules.json").write_text(json.dumps([{"type": "x.StaticEmbedding"}]))
    assert StaticModel.open(str(tmp_path)) is None  # no weights


@pytest.mark.parametrize("model", [SWEDISH_STATIC, E5_SMALL])
def test_build_and_search_never_import_torch(tmp_path, model):
    code = f"""
import sys
from pathlib import Path
from index import IndexConfig, SearchIndex, build_index
config = IndexConfig(model={model!r})
build_index(Path({str(CORPUS_DIR)!r}), Path({str(tmp_path)!r}), config, progress=False)
hits = SearchIndex.open(Path({str(tmp_path)!r})).search("Har nämnden något att erinra?")
assert hits, "no hits"
print("torch" in sys.modules, "sentence_transformers" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_a_damaged_static_model_is_a_clear_load_error(tmp_path):
    folder = tmp_path / "trasig"
    shutil.copytree(resolve_model(SWEDISH_STATIC), folder)
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    with pytest.raises(ModelLoadError, match="trasig"):
        Embedder(str(folder)).embed(["Får nämnden delta i EU-projekt?"], "query")


def test_title_line_shortcut_decides_as_the_exact_count_does():
    embedder = Embedder(SWEDISH_STATIC)
    assert embedder.additive_counts
    chunk_tokens = embedder.max_tokens - PREFIX_TOKENS
    long_text = " ".join(["förslaget"] * (chunk_tokens - 2))
    assert embedder.count_tokens(long_text) <= chunk_tokens

    def chunk(text: str, section: tuple[str, ...] = ()) -> Chunk:
        return Chunk("id", "a.txt", 0, section, None, None, None, text)

    chunks = [chunk("Kort text."), chunk(long_text), chunk(long_text, ("Bakgrund",))]
    for title in ("Remissvar", " ".join(["Internationell strategi"] * 30)):
        exact = dense_texts(title, chunks, embedder)
        assert dense_texts(title, chunks, embedder, chunk_tokens) == exact
        assert exact[0].startswith(title)  # room for any title beside a short passage
    short, long_ = "Remissvar", " ".join(["Internationell strategi"] * 30)
    assert dense_texts(short, chunks, embedder, chunk_tokens)[1].startswith(short)
    assert dense_texts(long_, chunks, embedder, chunk_tokens)[1] == long_text  # no room
