from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import DATA_DIR
from pdf_fixtures import TWO_PAGE_REMISSVAR, make_pdf

from ingest import IngestError, load_document
from ingest.formats import blocks_from_markdown, decode_text, strip_markdown_inline

PDF_SOURCE = "tjansteutlatande-tva-sidor.pdf"


def _write(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return name


def _reason(folder: Path, source: str) -> str:
    with pytest.raises(IngestError) as caught:
        load_document(folder, source)
    assert caught.value.source == source
    return caught.value.reason


# ----------------------------------------------------------------------------------- PDF


def test_committed_two_page_pdf_has_pages_labels_and_clean_text():
    doc = load_document(DATA_DIR, PDF_SOURCE)
    assert doc.metadata.page_count == 2
    assert doc.metadata.running_headers == ("Exploateringskontoret", "Dnr 171-482/2016")
    text = "\n".join(block.text for block in doc.blocks)
    assert "Sida 1 (2)" not in text and "Dnr 171-482/2016" not in text
    assert "arbetar med stadsutveckling och markanvisning" in text
    assert "vatten- och avloppsplaner" in text
    assert "EU-kommissionens meddelanden" in text
    assert "vatten- och avloppsplanering" in text

    cut = next(b for b in doc.blocks if "ansvar för markanvisning och exploatering" in b.text)
    assert (cut.page, cut.page_end, cut.page_label) == (1, 2, "3")
    headings = [(b.text, b.level, b.page, b.page_label) for b in doc.blocks if b.kind == "heading"]
    assert headings == [
        ("Förslag till beslut", 1, 1, "3"),
        ("1 Bakgrund", 1, 1, "3"),
        ("2.1 Kontorets synpunkter", 2, 2, "4"),
    ]


def test_generated_pdf_with_roman_labels_and_no_labels(tmp_path):
    roman = make_pdf(TWO_PAGE_REMISSVAR, "/Nums [0 << /S /r >>]")
    doc = load_document(tmp_path, _write(tmp_path, "roman.pdf", roman))
    assert {b.page_label for b in doc.blocks} == {"i", "ii"}
    plain = make_pdf(TWO_PAGE_REMISSVAR)
    doc = load_document(tmp_path, _write(tmp_path, "plain.pdf", plain))
    assert {b.page_label for b in doc.blocks} == {None}
    assert {b.page for b in doc.blocks} == {1, 2}


def test_partly_empty_pdf_loads_with_a_warning(tmp_path):
    data = make_pdf([TWO_PAGE_REMISSVAR[0], []])
    doc = load_document(tmp_path, _write(tmp_path, "delvis.pdf", data))
    assert doc.blocks
    assert any("sida 2" in warning for warning in doc.warnings)


def test_encrypted_pdf_is_reported(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(TWO_PAGE_REMISSVAR))))
    writer.encrypt(user_password="hemligt", owner_password="ägare", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    reason = _reason(tmp_path, _write(tmp_path, "låst.pdf", out.getvalue()))
    assert reason.startswith("krypterad PDF (lösenordsskyddad)")


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(TWO_PAGE_REMISSVAR))))
    writer.encrypt(user_password="", owner_password="ägare", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    doc = load_document(tmp_path, _write(tmp_path, "skyddad.pdf", out.getvalue()))
    assert doc.metadata.diarienummer == "171-482/2016"


def test_scanned_pdf_without_text_is_reported(tmp_path):
    reason = _reason(tmp_path, _write(tmp_path, "skannad.pdf", make_pdf([[], []])))
    assert reason == "PDF:en saknar textlager (inskannad bild) – kör OCR och lägg in den igen"


def test_truncated_pdf_is_reported(tmp_path):
    data = (DATA_DIR / PDF_SOURCE).read_bytes()
    reason = _reason(tmp_path, _write(tmp_path, "avkortad.pdf", data[: len(data) // 3]))
    assert reason.startswith("trasig eller avkortad PDF")


def test_garbage_with_pdf_extension_is_reported(tmp_path):
    reason = _reason(tmp_path, _write(tmp_path, "skräp.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 4))
    assert reason.startswith("trasig eller avkortad PDF") or reason.startswith("PDF:en saknar")


# ------------------------------------------------------------------------- text encodings


def test_cp1252_file_decodes_swedish_letters():
    doc = load_document(DATA_DIR, "cp1252.txt")
    assert doc.blocks[0].text == "Förslag till beslut: nämnden ställer sig positiv till åtgärden."
    assert doc.blocks[0].page is None


def test_utf8_bom_file_drops_the_bom():
    doc = load_document(DATA_DIR, "utf8-bom.txt")
    assert [b.text for b in doc.blocks] == [
        "Yttrande över remiss",
        "Åtgärderna i förslaget är välkomna för både små och stora nämnder.",
    ]


@pytest.mark.parametrize(
    "text",
    ["Åtgärd för miljö", "Yttrande över förslag", "Förslag: ja", "Än så länge – inget.", "ö"],
)
def test_short_swedish_cp1252_is_not_misdetected(text):
    assert decode_text(text.encode("cp1252")) == text


def test_utf16_with_bom_decodes():
    assert decode_text("Nämnden beslutar".encode("utf-16")) == "Nämnden beslutar"


def test_binary_garbage_txt_is_reported(tmp_path):
    import random

    noise = bytes(random.Random(7).randrange(256) for _ in range(4000))
    assert "kunde inte avkodas" in _reason(tmp_path, _write(tmp_path, "brus.txt", noise))
    no_nul = bytes(b for b in noise if b)
    assert "kunde inte avkodas" in _reason(tmp_path, _write(tmp_path, "brus2.txt", no_nul))


def test_form_feeds_number_the_pages(tmp_path):
    text = "Första sidans text.\n\fAndra sidans text.\n\fTredje sidans text.\n"
    doc = load_document(tmp_path, _write(tmp_path, "sidor.txt", text.encode()))
    assert [(b.text, b.page) for b in doc.blocks] == [
        ("Första sidans text.", 1),
        ("Andra sidans text.", 2),
        ("Tredje sidans text.", 3),
    ]
    assert doc.metadata.page_count == 3


# ------------------------------------------------------------------------------ empty / type


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf\n"])
def test_empty_files_are_reported(tmp_path, content):
    assert _reason(tmp_path, _write(tmp_path, "tom.txt", content)) == "filen är tom"


def test_empty_pdf_file_is_reported(tmp_path):
    assert _reason(tmp_path, _write(tmp_path, "tom.pdf", b"")) == "filen är tom"


def test_unknown_extension_is_reported(tmp_path):
    reason = _reason(tmp_path, _write(tmp_path, "kalkyl.xyz", b"data"))
    assert reason == "okänd filtyp .xyz – stödda format är PDF, DOCX, TXT, MD och HTML"


def test_missing_file_is_reported(tmp_path):
    assert "finns inte längre" in _reason(tmp_path, "finns-inte.txt")


# ----------------------------------------------------------------------------------- DOCX


def test_committed_docx_headings_title_and_table():
    doc = load_document(DATA_DIR, "riktlinje.docx")
    assert doc.metadata.title == "Riktlinje för tjänsteresor"
    assert doc.metadata.doc_type == "policy"
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("Bakgrund", 1), ("Resor inom Sverige", 2), ("Uppföljning", 1)]
    assert any(b.text == "Flyg | Godkänns av förvaltningschef" for b in doc.blocks)
    assert all(b.page is None for b in doc.blocks)


def test_docx_round_trip_with_swedish_style_names(tmp_path):
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE

    document = Document()
    rubrik = document.styles.add_style("Rubrik 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Inledande text om strategin.")
    document.add_paragraph("Mål för 2030", style=rubrik)
    document.add_paragraph("Utsläppen ska halveras.")
    document.save(tmp_path / "strategi.docx")
    doc = load_document(tmp_path, "strategi.docx")
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("paragraph", "Inledande text om strategin.", 1),
        ("heading", "Mål för 2030", 2),
        ("paragraph", "Utsläppen ska halveras.", 1),
    ]


def test_corrupt_docx_is_reported(tmp_path):
    assert "trasig DOCX-fil" in _reason(tmp_path, _write(tmp_path, "trasig.docx", b"PK\x03\x04xx"))


# ------------------------------------------------------------------------------- markdown


def test_markdown_headings_lists_and_inline_syntax():
    text = (
        "# Strategi för Sveriges samarbete med Kenya\n\n"
        "Strategin gäller **2021–2025** och [omfattar](https://example.se/a) 3 miljarder.\n\n"
        "## Hållbar utveckling\n\n"
        "### Med fokus på klimat\n\n"
        "* Minskade utsläpp\n* Ökad _motståndskraft_\n\n"
        "Löptext som\nfortsätter på nästa rad.\n"
    )
    blocks, title = blocks_from_markdown(text)
    assert title == "Strategi för Sveriges samarbete med Kenya"
    assert [(b.kind, b.level, b.text) for b in blocks] == [
        ("paragraph", 1, "Strategi för Sveriges samarbete med Kenya"),
        ("paragraph", 1, "Strategin gäller 2021–2025 och omfattar 3 miljarder."),
        ("heading", 2, "Hållbar utveckling"),
        ("heading", 3, "Med fokus på klimat"),
        ("paragraph", 1, "• Minskade utsläpp"),
        ("paragraph", 1, "• Ökad motståndskraft"),
        ("paragraph", 1, "Löptext som fortsätter på nästa rad."),
    ]


def test_markdown_inline_keeps_words_with_underscores_and_link_text():
    assert strip_markdown_inline("fil_namn_här och [länk](http://x.se/(a))") == (
        "fil_namn_här och länk"
    )
    assert strip_markdown_inline(r"a \* b och `kod`") == "a * b och kod"


# ----------------------------------------------------------------------------------- HTML


HTML_PAGE = """<!doctype html><html lang="sv"><head><meta charset="utf-8">
<title>Riktlinje för resor – Kommunen</title></head><body>
<nav><ul><li><a href="/">Startsida</a></li><li><a href="/om">Om kommunen</a></li></ul></nav>
<header><p>Kommunens webbplats – sidhuvud</p></header>
<main><h1>Riktlinje för resor</h1>
<p>Denna riktlinje gäller alla anställda i kommunen och beskriver hur tjänsteresor planeras.</p>
<h2>Bakgrund</h2>
<p>Kommunfullmäktige har beslutat att minska klimatpåverkan från tjänsteresor till 2030.</p>
<h3>Undantag</h3><p>Undantag får beslutas av förvaltningschef efter särskild prövning.</p>
</main>
<footer><p>Kontakta oss: kommunen@example.se | Cookies | Tillgänglighetsredogörelse</p></footer>
<script>var tracking = "spårning";</script></body></html>"""


def test_html_main_text_without_navigation_noise(tmp_path):
    doc = load_document(tmp_path, _write(tmp_path, "resor.html", HTML_PAGE.encode()))
    text = "\n".join(b.text for b in doc.blocks)
    assert doc.metadata.title == "Riktlinje för resor"
    assert doc.metadata.doc_type == "policy"
    assert "Kommunfullmäktige har beslutat" in text
    for noise in ("Startsida", "sidhuvud", "Cookies", "spårning"):
        assert noise not in text
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("Bakgrund", 2), ("Undantag", 3)]


def test_html_fallback_without_trafilatura_result(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: None)
    doc = load_document(tmp_path, _write(tmp_path, "resor.htm", HTML_PAGE.encode("utf-8")))
    text = "\n".join(b.text for b in doc.blocks)
    assert "Undantag får beslutas" in text
    assert "Startsida" not in text and "Cookies" not in text
    assert doc.metadata.title == "Riktlinje för resor"
    assert [b.text for b in doc.blocks if b.kind == "heading"] == ["Bakgrund", "Undantag"]


def test_pdf_whose_only_text_repeats_on_every_page_keeps_it(tmp_path):
    data = make_pdf([["Bildspel om strategin"]] * 3)
    doc = load_document(tmp_path, _write(tmp_path, "bildspel.pdf", data))
    assert [b.text for b in doc.blocks] == ["Bildspel om strategin"] * 3


def test_cp1252_with_soft_hyphens_is_not_read_as_mac_roman():
    text = "Förvaltningen vill stärka arbetet med matav\u00adfall och återvinnings\u00adcentraler."
    assert decode_text(text.encode("cp1252")) == text


def test_docx_keeps_every_table_cell_and_merged_cells_once(tmp_path):
    from docx import Document as new_docx

    document = new_docx()
    table = document.add_table(rows=2, cols=3)
    for column, value in enumerate(("Dp 1994-07734", "1995", "1995")):
        table.cell(0, column).text = value
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Sammanslagen"
    table.cell(1, 2).text = "Kontor"
    document.sections[0].header.paragraphs[0].text = "Kulturförvaltningen\tDnr KUF 2020/118"
    document.save(tmp_path / "tabell.docx")
    doc = load_document(tmp_path, "tabell.docx")
    assert [b.text for b in doc.blocks] == [
        "Dp 1994-07734 | 1995 | 1995",
        "Sammanslagen | Kontor",
    ]
    assert doc.metadata.diarienummer == "KUF 2020/118"
    assert doc.metadata.organisation == "Kulturförvaltningen"


def test_without_ocr_a_scan_is_reported_and_a_scanned_page_warned_of():
    from ingest.formats import read_pdf
    from ingest.ocr import OcrOptions

    office = DATA_DIR / "office"
    off = OcrOptions(enabled=False)
    with pytest.raises(IngestError, match="saknar textlager"):
        read_pdf((office / "inskannat-brev.pdf").read_bytes(), "inskannat-brev.pdf", off)
    mixed = (office / "strategi-kulturforvaltningen-med-inskannad-bilaga.pdf").read_bytes()
    extracted = read_pdf(mixed, "blandad.pdf", off)
    assert extracted.warnings == (
        "sida 3 saknar text (inskannad bild?) (OCR är avstängt) och kommer inte med i sökningen",
    )
    assert all(block.page in (1, 2) for block in extracted.blocks)
