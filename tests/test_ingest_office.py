"""How faithfully ingest reads office documents made the way offices make them
(tests/data/office/, laid out by tests/data/make_office_documents.py from the texts in
tests/data/office_texts.py): sentences verbatim, header and footer text left in passages,
sentences cut by a page break read whole, headings found with and without PDF bookmarks,
title, diarienummer and organisation. `python tests/test_ingest_office.py` prints the figures.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

from office_texts import (  # noqa: E402
    CP1252_SENTENCES,
    DEPARTEMENTET,
    KULTUR,
    SCANNED_LAST_PAGE,
    SCANNED_LETTER,
    STADSBYGGNAD,
    footnotes,
    letter_headings,
    letter_sentences,
    sentences,
)

from ingest import chunk_document, load_document  # noqa: E402

OFFICE = Path(__file__).resolve().parent / "data" / "office"
MAX_WORDS = 180

# Text-layer PDFs and the letter each lays out.
PDFS = {
    f"{STADSBYGGNAD.name}.pdf": STADSBYGGNAD,
    f"{STADSBYGGNAD.name}-utan-bokmarken.pdf": STADSBYGGNAD,
    f"{DEPARTEMENTET.name}.pdf": DEPARTEMENTET,
    f"{DEPARTEMENTET.name}-utan-bokmarken.pdf": DEPARTEMENTET,
    f"{KULTUR.name}.pdf": KULTUR,
}


def _fold(text: str) -> str:
    return " ".join(text.split())


def _chunks(source: str):
    doc = load_document(OFFICE, source, pdf_limits=None)
    return doc, chunk_document(doc, lambda text: len(text.split()), MAX_WORDS)


def _furniture_patterns(letter) -> list[re.Pattern[str]]:
    patterns = [re.compile(r"\bSida \d"), re.compile(re.escape("Dnr " + letter.diarienummer))]
    for line in letter.footer:
        patterns.append(re.compile(re.escape(_fold(line)[:25])))
    if letter is DEPARTEMENTET:
        patterns.append(re.compile("Regeringskansliet Remiss"))
    return patterns


def _page_break_sentences(source: str, letter) -> list[str]:
    """Sentences that the PDF lays out across a page break: their start is on one page and
    their end on the next (as pypdf reads the raw pages, hyphens joined)."""
    from pypdf import PdfReader

    pages = [
        _fold(re.sub(r"-\n", "", page.extract_text())) for page in PdfReader(OFFICE / source).pages
    ]
    cut = []
    for sentence in letter_sentences(letter):
        head, tail = sentence[:5], sentence[-10:]
        for page, following in zip(pages, pages[1:], strict=False):
            if sentence in page or sentence in following:
                continue
            if head in page[-400:] and tail in following[:400]:
                cut.append(sentence)
                break
    return cut


def measure() -> dict:
    """The figures of this module over the committed office documents."""
    sentences_total = sentences_verbatim = 0
    passages_total = passages_with_furniture = 0
    cut_total = cut_whole = 0
    headings_total = {"med bokmärken": 0, "utan bokmärken": 0}
    headings_found = {"med bokmärken": 0, "utan bokmärken": 0}
    false_headings: list[str] = []
    footnotes_total = footnotes_kept = 0
    metadata_right = {"title": 0, "diarienummer": 0, "organisation": 0, "date": 0}
    documents = 0
    missed: list[str] = []
    for source, letter in PDFS.items():
        doc, chunks = _chunks(source)
        texts = [_fold(chunk.text) for chunk in chunks]
        everything = "\n".join(texts)
        for sentence in letter_sentences(letter):
            sentences_total += 1
            if any(sentence in text for text in texts):
                sentences_verbatim += 1
            else:
                missed.append(f"{source}: {sentence}")
        patterns = _furniture_patterns(letter)
        passages_total += len(texts)
        passages_with_furniture += sum(1 for text in texts if any(p.search(text) for p in patterns))
        for sentence in _page_break_sentences(source, letter):
            cut_total += 1
            cut_whole += any(sentence in text for text in texts)
        kind = (
            "utan bokmärken" if "utan-bokmarken" in source or letter is KULTUR else "med bokmärken"
        )
        found = {_fold(b.text) for b in doc.blocks if b.kind == "heading"}
        expected = set(letter_headings(letter))
        headings_total[kind] += len(expected)
        headings_found[kind] += len(expected & found)
        false_headings += [f"{source}: {h}" for h in sorted(found - expected)]
        for section in letter.sections:
            for item in section.content:
                if isinstance(item, str):
                    for note in footnotes(item):
                        footnotes_total += 1
                        footnotes_kept += _fold(note) in everything
        documents += 1
        metadata = doc.metadata
        metadata_right["title"] += _fold(metadata.title) == letter.title
        metadata_right["diarienummer"] += metadata.diarienummer == letter.diarienummer
        metadata_right["organisation"] += metadata.organisation == letter.organisation
        metadata_right["date"] += metadata.date == letter.date
    return {
        "sentences_verbatim": sentences_verbatim / sentences_total,
        "passages_with_furniture": passages_with_furniture / passages_total,
        "page_break_sentences_whole": cut_whole / max(1, cut_total),
        "page_break_sentences": cut_total,
        "headings_found": {k: headings_found[k] / headings_total[k] for k in headings_total},
        "false_headings": false_headings,
        "footnotes_kept": footnotes_kept / max(1, footnotes_total),
        "metadata_right": {k: v / documents for k, v in metadata_right.items()},
        "missed_sentences": missed,
    }


@pytest.fixture(scope="module")
def figures() -> dict:
    return measure()


def test_text_layer_pdfs_read_sentences_verbatim(figures):
    assert figures["sentences_verbatim"] >= 0.99, figures["missed_sentences"]


def test_header_and_footer_text_stays_out_of_passages(figures):
    assert figures["passages_with_furniture"] <= 0.02


def test_sentences_cut_by_a_page_break_read_whole(figures):
    assert figures["page_break_sentences"] >= 3  # the documents do cut sentences
    assert figures["page_break_sentences_whole"] >= 0.85


def test_headings_found_with_and_without_bookmarks(figures):
    assert min(figures["headings_found"].values()) >= 0.9, figures["headings_found"]
    assert not figures["false_headings"]


def test_footnotes_are_kept(figures):
    assert figures["footnotes_kept"] == 1.0


def test_title_diarienummer_organisation_and_date(figures):
    assert min(figures["metadata_right"].values()) >= 0.9, figures["metadata_right"]


def test_cp1252_text_with_soft_hyphens():
    doc, chunks = _chunks("yttrande-avfallsplan-cp1252.txt")
    texts = [_fold(chunk.text) for chunk in chunks]
    assert all(any(s in t for t in texts) for s in CP1252_SENTENCES)
    assert doc.metadata.organisation == "Miljöförvaltningen"


def test_docx_header_footnotes_and_every_table_cell():
    doc, chunks = _chunks(f"{STADSBYGGNAD.name}.docx")
    text = "\n".join(chunk.text for chunk in chunks)
    for sentence in letter_sentences(STADSBYGGNAD):
        assert sentence in _fold(text)
    assert "Dp 1994-07734 | 1995 | 1995 | Industri" in text
    for paragraph in (p for s in STADSBYGGNAD.sections for p in s.content if isinstance(p, str)):
        for note in footnotes(paragraph):
            assert note in text
    assert doc.metadata.diarienummer == STADSBYGGNAD.diarienummer
    assert doc.metadata.organisation == STADSBYGGNAD.organisation
    assert _fold(doc.metadata.title) == STADSBYGGNAD.title


def _ocr_available() -> bool:
    from ingest.ocr import ocr_available

    return ocr_available()


def _verbatim_share(expected: list[str], texts: list[str]) -> float:
    return sum(any(s in t for t in texts) for s in expected) / len(expected)


@pytest.mark.slow
def test_scanned_letter_is_read_by_ocr(tmp_path):
    if not _ocr_available():
        pytest.skip("Tesseract med svensk modell saknas (make ocr-deps installerar den)")
    shutil.copy(OFFICE / "inskannat-brev.pdf", tmp_path)
    doc = load_document(tmp_path, "inskannat-brev.pdf")
    texts = [_fold(b.text) for b in doc.blocks]
    expected = [s for line in SCANNED_LETTER for s in sentences(line) if s.endswith(".")]
    assert _verbatim_share(expected, texts) >= 0.9, texts
    assert any("OCR" in warning for warning in doc.warnings)


@pytest.mark.slow
def test_scanned_last_page_of_a_mixed_pdf_is_read_by_ocr(tmp_path):
    if not _ocr_available():
        pytest.skip("Tesseract med svensk modell saknas (make ocr-deps installerar den)")
    source = f"{KULTUR.name}-med-inskannad-bilaga.pdf"
    shutil.copy(OFFICE / source, tmp_path)
    doc = load_document(tmp_path, source)
    last = [_fold(b.text) for b in doc.blocks if b.page == 3]
    expected = [s for line in SCANNED_LAST_PAGE for s in sentences(line) if s.endswith(".")]
    assert _verbatim_share(expected, last) >= 0.9, last
    text_pages = [_fold(b.text) for b in doc.blocks if b.page in (1, 2)]
    assert _verbatim_share(letter_sentences(KULTUR), text_pages) >= 0.99
    assert any("OCR" in warning and "3" in warning for warning in doc.warnings)


if __name__ == "__main__":
    result = measure()
    print(json.dumps(result, ensure_ascii=False, indent=1))


@pytest.mark.slow
def test_index_and_docs_show_ocr_and_missing_pages(tmp_path, capsys, monkeypatch):
    from app.cli import main
    from ingest import ocr

    # `index` configures OCR for its process; the tests share one.
    monkeypatch.setattr(ocr, "_options", ocr.current_options())

    if not _ocr_available():
        pytest.skip("Tesseract med svensk modell saknas (make ocr-deps installerar den)")
    corpus = tmp_path / "dokument"
    corpus.mkdir()
    shutil.copy(OFFICE / "inskannat-brev.pdf", corpus)
    shutil.copy(OFFICE / f"{KULTUR.name}-med-inskannad-bilaga.pdf", corpus)
    index_dir = tmp_path / "index"
    assert main(["index", str(corpus), "--index-dir", str(index_dir), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "inskannat-brev.pdf: sida 1 är inskannad och lästes med OCR" in summary
    assert main(["docs", "--index-dir", str(index_dir)]) == 0
    assert "obs: sida 3 är inskannad och lästes med OCR" in capsys.readouterr().out
    assert list((index_dir / "cache" / "ocr").rglob("*.txt"))  # cached by content hash

    off = tmp_path / "utan-ocr"
    assert main(["index", str(corpus), "--index-dir", str(off), "--quiet", "--no-ocr"]) == 0
    summary = capsys.readouterr().out
    assert "inskannat-brev.pdf: PDF:en saknar textlager" in summary
    assert "sida 3 saknar text (inskannad bild?) (OCR är avstängt)" in summary
