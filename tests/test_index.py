"""Building, re-indexing and searching real indexes with the bundled model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index import Filters, IndexConfig, IndexUnavailable, SearchIndex, build_index
from index.embedder import DEFAULT_MODEL, MINILM
from index.manifest import BUILDS, CURRENT, current_build

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))

POLICY = """# Riktlinjer för resor i tjänsten

## Val av färdmedel

Resor under 50 mil görs med tåg. Flyg får användas när tåget tar mer än fem timmar.

## Hotell

Hotell bokas genom stadens ramavtal. Nämnden betalar högst 1 500 kronor per natt.
"""

CULTURE = """# Kulturstrategi för Stockholms stad

## Bibliotek

Stadsbiblioteket ska vara öppet sju dagar i veckan och erbjuda läsfrämjande verksamhet för barn.
"""


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "riktlinjer").mkdir()
    (corpus / "riktlinjer" / "resor.md").write_text(POLICY, encoding="utf-8")
    return corpus


def _build(corpus: Path, index_dir: Path):
    return build_index(corpus, index_dir, IndexConfig(), progress=False)


def test_seed_corpus_is_indexed_and_answers_with_citations(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    report = _build(corpus, index_dir)
    assert report.documents == 2 and report.chunks >= 4 and not report.failures

    index = SearchIndex.open(index_dir)
    hits = index.search("Vad tycker exploateringskontoret om förslaget?", k=3)
    top = hits[0]
    assert top.chunk.source == SEED.name
    assert "inget att erinra" in top.chunk.text
    assert top.chunk.section_path[-1] == "Exploateringskontorets synpunkter"
    assert top.document.organisation == "Exploateringsnämnden"
    assert top.document.date == "2016-09-22"

    for mode in ("lexical", "dense"):
        texts = [h.chunk.text for h in index.search("flyg eller tåg vid tjänsteresor", 2, mode)]
        assert any("tåg" in t for t in texts), mode


def test_manifest_records_model_settings_and_checksums(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    _build(corpus, index_dir)
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["model"]["id"] == DEFAULT_MODEL == "multilingual-e5-small"
    assert manifest["model"]["dimension"] == 384
    assert manifest["chunking"]["max_tokens"] <= manifest["model"]["max_tokens"]
    assert manifest["counts"]["documents"] == 2
    assert {"chunks.sqlite", "dense.faiss"} <= set(manifest["files"])
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())


def test_reindex_embeds_only_what_changed_and_drops_vanished_files(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    first = _build(corpus, index_dir)
    assert first.embedded == first.chunks

    again = _build(corpus, index_dir)
    assert again.unchanged == 2 and again.embedded == 0

    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    policy = corpus / "riktlinjer" / "resor.md"
    policy.write_text(POLICY.replace("1 500", "1 800"), encoding="utf-8")
    changed = _build(corpus, index_dir)
    assert changed.added == ["kultur.md"]
    assert changed.updated == ["riktlinjer/resor.md"]
    assert changed.unchanged == 1
    assert 0 < changed.embedded < changed.chunks

    index = SearchIndex.open(index_dir)
    assert "1 800" in index.search("hotell per natt", 1, "lexical")[0].chunk.text
    assert index.search("stadsbiblioteket öppet", 1, "lexical")[0].chunk.source == "kultur.md"

    policy.unlink()
    removed = _build(corpus, index_dir)
    assert removed.removed == ["riktlinjer/resor.md"]
    index = SearchIndex.open(index_dir)
    assert all(h.chunk.source != "riktlinjer/resor.md" for h in index.search("hotell", 5))


def test_a_file_that_breaks_keeps_what_the_index_held(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    _build(corpus, index_dir)
    (corpus / "riktlinjer" / "resor.md").write_bytes(b"\x00\x01\x02\xff\xfe" * 200)
    (corpus / "tom.txt").write_bytes(b"")
    report = _build(corpus, index_dir)
    reasons = {f.source: f for f in report.failures}
    assert set(reasons) == {"riktlinjer/resor.md", "tom.txt"}
    assert reasons["riktlinjer/resor.md"].kept_previous
    assert not reasons["tom.txt"].kept_previous
    hits = SearchIndex.open(index_dir).search("hotell per natt", 1, "lexical")
    assert hits[0].chunk.source == "riktlinjer/resor.md"


def test_publishing_switches_one_pointer_and_keeps_the_previous_build(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    _build(corpus, index_dir)
    first = current_build(index_dir)
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    _build(corpus, index_dir)
    second = current_build(index_dir)
    assert second != first and first.exists()
    assert (index_dir / CURRENT).read_text().strip() == second.name
    assert not list((index_dir / BUILDS).glob(".staging-*"))


def test_damaged_index_file_is_detected_and_named(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    _build(corpus, index_dir)
    damaged = current_build(index_dir) / "dense.faiss"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(IndexUnavailable, match="dense.faiss"):
        SearchIndex.open(index_dir)


def test_filters_narrow_results(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    _build(corpus, index_dir)
    index = SearchIndex.open(index_dir)
    query = "stadens strategi"
    everything = {h.chunk.source for h in index.search(query, 50)}
    assert len(everything) == 3
    only = index.search(query, 10, filters=Filters(sources=("kultur.md",)))
    assert {h.chunk.source for h in only} == {"kultur.md"}
    remissvar = index.search(query, 10, filters=Filters(doc_types=("remissvar",)))
    assert {h.chunk.source for h in remissvar} == {SEED.name}
    assert index.search(query, 10, filters=Filters(year_from=1990, year_to=1991)) == []


def test_any_sentence_transformers_model_works_through_the_model_setting(tmp_path):
    corpus, index_dir = _corpus(tmp_path), tmp_path / "idx"
    report = build_index(corpus, index_dir, IndexConfig(model=MINILM), progress=False)
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    assert manifest["model"]["id"] == MINILM and manifest["model"]["dimension"] == 384
    # The English model's window is 256 tokens: no passage may run past it.
    assert manifest["chunking"]["max_tokens"] <= 256 - 32
    hits = SearchIndex.open(index_dir).search("flyg eller tåg vid tjänsteresor", 2, "dense")
    assert report.chunks and any("tåg" in h.chunk.text for h in hits)
