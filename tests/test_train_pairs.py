"""Training pairs for the embedding model: deterministic, never from held-out documents,
Swedish text with å/ä/ö intact; and (slow) the shipped model loads offline and ranks Swedish
meaning sensibly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from train import pairs as pairs_module
from train.pairs import build_pairs, iter_training_documents, read_pairs, write_pairs

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "models" / "strategisok-sv-static"

DOCUMENTS = [
    {
        "path": "regeringsuppdrag/2020/01/uppdrag-om-nämndens-budget.md",
        "title": "Uppdrag om nämndens budget för år 2021",
        "text": (
            "# Uppdrag om nämndens budget för år 2021\n\n"
            "Regeringen ger Länsstyrelsen i Västra Götalands län i uppdrag att se över "
            "nämndens budget och föreslå förändringar för att öka effektiviteten.\n\n"
            "Uppdraget ska redovisas till Finansdepartementet senast den 1 oktober 2021. "
            "Länsstyrelsen ska samråda med Ekonomistyrningsverket under arbetet med "
            "översynen. För mer information kontakta pressekreteraren.\n\n"
            "## Bakgrund\n\n"
            "Nämndens kostnader har ökat under flera år och återrapporteringen har varit "
            "bristfällig. Därför behövs en översyn av hur medlen används i verksamheten.\n"
        ),
    },
    {
        "path": "pressmeddelanden/2021/05/åtgärder-för-järnvägen.md",
        "title": "Åtgärder för järnvägen i norra Sverige",
        "text": (
            "# Åtgärder för järnvägen i norra Sverige\n\n"
            "Regeringen föreslår att Trafikverket får 500 miljoner kronor för underhåll av "
            "järnvägen mellan Luleå och Kiruna under de kommande två åren.\n\n"
            "Satsningen ska förbättra punktligheten för gods- och persontåg. Malmtrafiken "
            "är viktig för hela Sveriges ekonomi och för sysselsättningen i regionen. "
            "För mer information kontakta pressekreteraren.\n"
        ),
    },
    {
        "path": "remisser/2019/03/boilerplate.md",
        "title": "Remiss av promemorian om avgifter",
        "text": "# Remiss av promemorian om avgifter\n\nFör mer information kontakta "
        "pressekreteraren.\n",
    },
]


def test_pairs_are_deterministic_and_round_trip(tmp_path):
    first = build_pairs(DOCUMENTS, seed=7)
    second = build_pairs(list(reversed(DOCUMENTS)), seed=7)
    assert first, "no pairs built"
    # Each document draws from its own generator: order of reading does not matter.
    assert sorted(map(repr, first)) == sorted(map(repr, second))
    assert build_pairs(DOCUMENTS, seed=8) != first or len(first) < 3

    path = tmp_path / "pairs.jsonl.gz"
    write_pairs(first, path)
    data = path.read_bytes()
    write_pairs(build_pairs(DOCUMENTS, seed=7), path)
    assert path.read_bytes() == data, "the compressed file is not byte-for-byte reproducible"
    assert read_pairs(path) == first


def test_pairs_are_swedish_text_with_aao_kept():
    built = build_pairs(DOCUMENTS, seed=7)
    kinds = {p.kind for p in built}
    assert {"title", "ict", "question"} <= kinds
    for pair in built:
        assert pair.anchor.strip() and pair.positive.strip()
        assert pair.anchor != pair.positive
    text = " ".join(p.anchor + " " + p.positive for p in built)
    for letter in "åäöÅ":
        assert letter in text, f"{letter} lost"
    title_pair = next(p for p in built if p.kind == "title" and "nämndens" in p.anchor)
    assert title_pair.anchor == "Uppdrag om nämndens budget för år 2021"
    # The index's format: the "title – section" line opens a sentence-anchored positive.
    ict = next(p for p in built if p.kind == "ict" and "Bakgrund" in p.positive)
    assert ict.positive.startswith("Uppdrag om nämndens budget för år 2021 – Bakgrund\n")


def test_boilerplate_sentences_are_never_anchors():
    built = build_pairs(DOCUMENTS, seed=7)
    assert not [p for p in built if "För mer information" in p.anchor and p.kind == "ict"]
    # The document that is nothing but boilerplate gives no pairs.
    assert not [p for p in built if p.doc == "remisser/2019/03/boilerplate.md"]


def test_held_out_documents_are_never_read(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        for document in DOCUMENTS:
            f.write(json.dumps(document, ensure_ascii=False) + "\n")
    held_out = {DOCUMENTS[1]["path"]}
    documents = list(iter_training_documents(corpus, excluded=held_out))
    assert [d["path"] for d in documents] == [DOCUMENTS[0]["path"], DOCUMENTS[2]["path"]]
    assert all(p.doc not in held_out for p in build_pairs(documents))


@pytest.mark.slow
def test_real_exclusions_cover_heldout_and_dev_corpus():
    if not pairs_module.HELDOUT_PATHS.exists() or not pairs_module.DEV_CORPUS_PATHS.exists():
        pytest.skip("../shared saknas")
    excluded = pairs_module.excluded_paths()
    held_out = json.loads(pairs_module.HELDOUT_PATHS.read_text(encoding="utf-8"))
    dev = json.loads(pairs_module.DEV_CORPUS_PATHS.read_text(encoding="utf-8"))
    assert set(held_out) <= excluded and set(dev) <= excluded
    for document in iter_training_documents(limit=2000):
        assert document["path"] not in excluded


@pytest.mark.slow
def test_shipped_model_loads_offline_and_ranks_swedish_meaning(monkeypatch):
    if not SHIPPED_MODEL.exists():
        pytest.skip(f"{SHIPPED_MODEL} finns inte")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(SHIPPED_MODEL), device="cpu")
    budget, economy, trains = model.encode(
        ["nämndens budget", "nämndens ekonomi och pengar", "järnvägsstationens tåg"],
        normalize_embeddings=True,
    )
    assert np.allclose(np.linalg.norm([budget, economy, trains], axis=1), 1.0, atol=1e-2)
    assert float(budget @ economy) > float(budget @ trains) + 0.05
