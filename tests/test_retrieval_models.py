"""One retrieval suite over every embedding model the index offers (our static model, e5
through its engine, MiniLM through sentence-transformers): whatever reads the passages, an
index built with it records the model, keeps every passage inside the model's window, finds
a passage by its own words in every mode, honours filters, and re-embeds only what changed.
What each model is good at is measured with `make eval`, not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import Filters, IndexConfig, SearchIndex, build_index
from index.build import dense_texts
from index.embedder import E5_SMALL, MINILM, SWEDISH_STATIC, Embedder
from index.manifest import current_build
from index.search import TUNED_WEIGHTS

DOCUMENTS = {
    "riktlinjer/resor.md": """# Riktlinjer för resor i tjänsten

## Val av färdmedel

Resor under 50 mil görs med tåg. Flyg får användas när tåget tar mer än fem timmar.

## Hotell

Hotell bokas genom stadens ramavtal. Nämnden betalar högst 1 500 kronor per natt.
""",
    "kultur.md": """# Kulturstrategi för Stockholms stad

## Bibliotek

Stadsbiblioteket ska vara öppet sju dagar i veckan och erbjuda läsfrämjande verksamhet för barn.

## Scenkonst

Staden stöder fria teatergrupper med lokaler och projektbidrag som söks två gånger om året.
""",
    "remiss/yttrande.txt": """Yttrande över förslag till klimatstrategi

Miljöförvaltningen har inget att erinra mot förslaget men vill att utsläppen från stadens
egna fordon redovisas varje år. Laddplatser för elbilar bör byggas vid alla förvaltningar.
""",
}

MODELS = [
    SWEDISH_STATIC,
    E5_SMALL,
    pytest.param(MINILM, marks=pytest.mark.slow),  # loads torch and transformers
]


@pytest.fixture(scope="module", params=MODELS)
def built(request, tmp_path_factory) -> tuple[str, Path, Path]:
    """(model, corpus, index folder) of the corpus above, built once per model."""
    model = request.param
    root = tmp_path_factory.mktemp("retrieval")
    corpus = root / "corpus"
    for source, text in DOCUMENTS.items():
        (corpus / source).parent.mkdir(parents=True, exist_ok=True)
        (corpus / source).write_text(text, encoding="utf-8")
    report = build_index(corpus, root / "idx", IndexConfig(model=model), progress=False)
    assert report.documents == 3 and not report.failures
    assert report.embedded == report.chunks
    return model, corpus, root / "idx"


def test_the_manifest_records_the_model_and_its_window(built):
    model, _, index_dir = built
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    embedder = Embedder(model)
    assert manifest["model"]["id"] == model
    assert manifest["model"]["dimension"] == embedder.dimension
    assert manifest["chunking"]["max_tokens"] < manifest["model"]["max_tokens"]
    # Hybrid search fuses with the weights tuned for this model (the defaults for MiniLM).
    weights = SearchIndex.open(index_dir).fusion_weights
    assert (weights.lexical, weights.dense) == TUNED_WEIGHTS.get(model, (0.85, 0.15))


def test_every_passage_fits_the_models_window(built):
    model, _, index_dir = built
    index = SearchIndex.open(index_dir)
    embedder = Embedder(model)
    for document in index.documents():
        chunks = [c for c, _ in index.store.chunks_of(document.source)]
        for text in dense_texts(document.metadata.title, chunks, embedder):
            assert embedder.count_tokens(text) <= embedder.max_tokens


@pytest.mark.parametrize("mode", ["dense", "hybrid", "lexical"])
def test_a_passage_is_found_by_its_own_words(built, mode):
    _, _, index_dir = built
    index = SearchIndex.open(index_dir)
    for source, words in [
        ("riktlinjer/resor.md", "Hotell bokas genom stadens ramavtal"),
        ("kultur.md", "fria teatergrupper med lokaler och projektbidrag"),
        ("remiss/yttrande.txt", "Laddplatser för elbilar vid alla förvaltningar"),
    ]:
        hits = index.search(words, k=3, mode=mode)
        assert hits[0].chunk.source == source, (mode, words, [h.chunk.source for h in hits])
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_filters_hold_in_every_mode(built, mode):
    _, _, index_dir = built
    index = SearchIndex.open(index_dir)
    only = index.search(
        "Hotell bokas genom stadens ramavtal", 5, mode, Filters(sources=("kultur.md",))
    )
    assert only and {h.chunk.source for h in only} == {"kultur.md"}


def test_a_changed_file_is_the_only_one_embedded_again(built):
    model, corpus, index_dir = built
    again = build_index(corpus, index_dir, IndexConfig(model=model), progress=False)
    assert again.embedded == 0 and again.unchanged == 3
    policy = corpus / "riktlinjer" / "resor.md"
    original = policy.read_text(encoding="utf-8")
    policy.write_text(original.replace("1 500", "1 800"), encoding="utf-8")
    try:
        changed = build_index(corpus, index_dir, IndexConfig(model=model), progress=False)
        assert changed.updated == ["riktlinjer/resor.md"] and changed.unchanged == 2
        assert 0 < changed.embedded < changed.chunks
        top = SearchIndex.open(index_dir).search("Högst 1 800 kronor per natt", 1, "dense")[0]
        assert "1 800" in top.chunk.text
    finally:
        policy.write_text(original, encoding="utf-8")
