from __future__ import annotations

import hashlib
import re

import pytest
from conftest import CORPUS_DIR, SEED_SOURCE

from ingest import Block, Document, DocumentMetadata, chunk_document, load_document
from ingest.chunking import sentence_spans


def count_words(text: str) -> int:
    """A whitespace tokenizer with two special tokens, like [CLS] and [SEP]."""
    return len(text.split()) + 2


def _doc(*blocks: Block, source: str = "doc.txt") -> Document:
    return Document(source, "hash", DocumentMetadata(title="T"), tuple(blocks))


def _sentences(n: int, words: int = 8, start: int = 0) -> str:
    return " ".join(
        f"Mening {i} " + " ".join(f"ord{i}x{j}" for j in range(words - 3)) + " slut."
        for i in range(start, start + n)
    )


def test_chunks_never_span_sections_and_carry_their_path():
    doc = _doc(
        Block("paragraph", "Inledning före första rubriken."),
        Block("heading", "Bakgrund", level=1),
        Block("paragraph", "Första stycket om bakgrunden."),
        Block("heading", "Detaljer", level=2),
        Block("paragraph", "Stycke i underavsnittet."),
        Block("heading", "Tomt avsnitt", level=1),
        Block("heading", "Synpunkter", level=1),
        Block("paragraph", "Kontoret har inget att erinra."),
    )
    chunks = chunk_document(doc, count_words, max_tokens=100)
    assert [(c.section_path, c.text) for c in chunks] == [
        ((), "Inledning före första rubriken."),
        (("Bakgrund",), "Första stycket om bakgrunden."),
        (("Bakgrund", "Detaljer"), "Stycke i underavsnittet."),
        (("Synpunkter",), "Kontoret har inget att erinra."),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]
    assert chunks[2].section == "Bakgrund > Detaljer"


def test_paragraphs_are_packed_and_joined_with_blank_lines():
    doc = _doc(*(Block("paragraph", f"Stycke {i} har fem ord.") for i in range(6)))
    chunks = chunk_document(doc, count_words, max_tokens=2 + 15, overlap_tokens=0)
    assert [c.text.count("\n\n") + 1 for c in chunks] == [3, 3]
    assert (
        chunks[0].text == "Stycke 0 har fem ord.\n\nStycke 1 har fem ord.\n\nStycke 2 har fem ord."
    )


def test_page_ranges_and_labels():
    doc = _doc(
        Block("paragraph", _sentences(2), page=3, page_label="iii"),
        Block("paragraph", _sentences(2, start=2), page=3, page_label="iii", page_end=4),
        Block("paragraph", _sentences(2, start=4), page=4, page_label="iv"),
        Block("paragraph", _sentences(2, start=6), page=5, page_label="v"),
    )
    chunks = chunk_document(doc, count_words, max_tokens=2 + 32, overlap_tokens=0)
    assert [(c.page_start, c.page_end, c.page_label) for c in chunks] == [
        (3, 4, "iii"),
        (4, 5, "iv"),
    ]


def test_unpaged_documents_have_no_pages():
    chunk = chunk_document(_doc(Block("paragraph", "Text.")), count_words, 50)[0]
    assert (chunk.page_start, chunk.page_end, chunk.page_label) == (None, None, None)


def test_consecutive_chunks_overlap_by_whole_trailing_sentences():
    doc = _doc(Block("paragraph", _sentences(12)))
    chunks = chunk_document(doc, count_words, max_tokens=2 + 40, overlap_tokens=8)
    assert len(chunks) > 2
    for previous, following in zip(chunks, chunks[1:], strict=False):
        last_sentence = sentence_spans(previous.text)[-1]
        assert following.text.startswith(previous.text[last_sentence[0] : last_sentence[1]])
    no_overlap = chunk_document(doc, count_words, max_tokens=2 + 40, overlap_tokens=0)
    assert " ".join(c.text for c in no_overlap) == doc.blocks[0].text


def test_overlap_never_crosses_a_section():
    doc = _doc(
        Block("heading", "A"),
        Block("paragraph", _sentences(3)),
        Block("heading", "B"),
        Block("paragraph", _sentences(3, start=10)),
    )
    chunks = chunk_document(doc, count_words, max_tokens=2 + 40, overlap_tokens=8)
    assert [c.text for c in chunks] == [_sentences(3), _sentences(3, start=10)]


def test_long_sentence_is_split_at_words_within_the_limit():
    words = [f"ord{i}" for i in range(95)]
    doc = _doc(Block("paragraph", " ".join(words)))
    chunks = chunk_document(doc, count_words, max_tokens=22, overlap_tokens=0)
    assert all(count_words(c.text) <= 22 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == words


def test_a_single_huge_token_is_split_too():
    doc = _doc(Block("paragraph", "x" * 500))

    def count_chars(text: str) -> int:
        return len(text) + 2

    chunks = chunk_document(doc, count_chars, max_tokens=102, overlap_tokens=0)
    assert all(count_chars(c.text) <= 102 for c in chunks)
    assert "".join(c.text for c in chunks) == "x" * 500


def test_chunk_ids_are_stable_and_follow_the_contract():
    doc = _doc(Block("paragraph", "Kontoret har inget att erinra."), source="mapp/a.txt")
    chunk = chunk_document(doc, count_words, 50)[0]
    expected = hashlib.sha1(b"mapp/a.txt\x000\x00Kontoret har inget att erinra.").hexdigest()
    assert chunk.chunk_id == expected[:16]
    assert chunk.source == "mapp/a.txt"
    assert chunk_document(doc, count_words, 50)[0].chunk_id == chunk.chunk_id


def test_empty_and_heading_only_documents_give_no_chunks():
    assert chunk_document(_doc(), count_words, 50) == []
    assert chunk_document(_doc(Block("heading", "Bara rubrik")), count_words, 50) == []


def test_max_tokens_without_room_is_rejected():
    with pytest.raises(ValueError):
        chunk_document(_doc(Block("paragraph", "Text.")), count_words, max_tokens=2)


def test_token_counts_are_per_piece_not_per_growing_string():
    doc = _doc(*(Block("paragraph", f"Stycke {i} med några ord i sig.") for i in range(300)))
    calls = 0

    def counting(text: str) -> int:
        nonlocal calls
        calls += 1
        return count_words(text)

    chunks = chunk_document(doc, counting, max_tokens=64)
    # One count per paragraph, and a few per chunk (overlap sentences, final check).
    assert calls <= 300 + 4 * len(chunks) + 1


def test_batch_counting_gives_the_same_chunks_in_few_single_calls():
    doc = _doc(
        *(Block("paragraph", _sentences(1 + i % 7, start=i)) for i in range(120)),
        Block("heading", "Lång"),
        Block("paragraph", _sentences(60)),  # over the budget: split at sentences
    )
    single = batched = 0

    def counting(text: str) -> int:
        nonlocal single
        single += 1
        return count_words(text)

    def count_many(texts: list[str]) -> list[int]:
        nonlocal batched
        batched += 1
        return [count_words(t) for t in texts]

    expected = chunk_document(doc, count_words, max_tokens=64, overlap_tokens=8)
    chunks = chunk_document(doc, counting, 64, overlap_tokens=8, count_many=count_many)
    assert chunks == expected
    assert batched == 2  # the paragraphs, then the packed chunks
    # What is left to count one by one: sentences of the over-long paragraph and overlaps.
    assert single < len(chunks) + 60 + 1


def test_sentence_spans_respect_swedish_abbreviations():
    text = (
        "Staden ska t.ex. bygga fler bostäder, bl.a. i Kista. "
        "Enligt 3 kap. 2 § gäller detta. Nästa."
    )
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Staden ska t.ex. bygga fler bostäder, bl.a. i Kista.",
        "Enligt 3 kap. 2 § gäller detta.",
        "Nästa.",
    ]


# ---------------------------------------------------------------- the real model tokenizer


def test_seed_chunks_fit_the_real_tokenizer(count_tokens):
    doc = load_document(CORPUS_DIR, SEED_SOURCE)
    # One over-long paragraph (the seed's body run together) and one 400-word sentence
    # without any punctuation force sentence and word splits.
    body = " ".join(b.text for b in doc.blocks if b.kind == "paragraph" and len(b.text) > 100)
    no_stops = re.sub(r"[.!?]", "", body)
    long_doc = _doc(
        *doc.blocks,
        Block("heading", "Sammanslaget"),
        Block("paragraph", body),
        Block("paragraph", no_stops),
    )
    assert count_tokens(body) > 3 * 256
    chunks = chunk_document(long_doc, count_tokens, max_tokens=256)
    # BERT's tokenizer splits at whitespace first: its counts add up, and trusting that
    # (no recount of finished chunks) cuts the same chunks.
    assert chunk_document(long_doc, count_tokens, max_tokens=256, additive=True) == chunks
    sizes = [count_tokens(c.text) for c in chunks]
    assert max(sizes) <= 256
    assert max(sizes) > 200  # packed, not one sentence per chunk
    assert all(c.text.strip() for c in chunks)

    seed_chunks = [c for c in chunks if c.section_path != ("Sammanslaget",)]
    assert {c.section_path for c in seed_chunks} == {
        (),
        ("Förslag till beslut",),
        ("Bakgrund",),
        ("Ärendets beredning",),
        ("Exploateringskontorets synpunkter",),
        ("Bilagor",),
    }
    assert any("inget att erinra" in c.text for c in seed_chunks)
    # Every word of the seed's body is in some chunk.
    seed_words = set(" ".join(b.text for b in doc.blocks if b.kind == "paragraph").split())
    assert seed_words <= set(" ".join(c.text for c in seed_chunks).split())
