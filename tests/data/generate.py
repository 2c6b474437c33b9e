"""Regenerates the small committed test files in this folder (run once; the outputs are
committed so tests also read real files that no test code produced):

    .venv/bin/python tests/data/generate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CP1252_TEXT = "Förslag till beslut: nämnden ställer sig positiv till åtgärden.\n"
UTF8_BOM_TEXT = (
    "Yttrande över remiss\n\nÅtgärderna i förslaget är välkomna för både små och stora\nnämnder.\n"
)


def write_docx(path: Path) -> None:
    from docx import Document

    document = Document()
    document.core_properties.title = "Riktlinje för tjänsteresor"
    document.add_paragraph("Riktlinje för tjänsteresor", style="Title")
    document.add_paragraph("Denna riktlinje gäller alla anställda i förvaltningen.")
    document.add_heading("Bakgrund", level=1)
    document.add_paragraph("Nämnden beslutade den 17 oktober 2016 att minska flygresorna.")
    document.add_heading("Resor inom Sverige", level=2)
    document.add_paragraph("Resor under 50 mil görs med tåg när det är möjligt.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Färdsätt"
    table.cell(0, 1).text = "Krav"
    table.cell(1, 0).text = "Flyg"
    table.cell(1, 1).text = "Godkänns av förvaltningschef"
    document.add_heading("Uppföljning", level=1)
    document.add_paragraph("Riktlinjen följs upp årligen i verksamhetsberättelsen.")
    document.save(path)


def main() -> None:
    from pdf_fixtures import LABELS_FROM_3, TWO_PAGE_REMISSVAR, make_pdf

    (HERE / "cp1252.txt").write_bytes(CP1252_TEXT.encode("cp1252"))
    (HERE / "utf8-bom.txt").write_bytes(b"\xef\xbb\xbf" + UTF8_BOM_TEXT.encode("utf-8"))
    (HERE / "tjansteutlatande-tva-sidor.pdf").write_bytes(
        make_pdf(TWO_PAGE_REMISSVAR, LABELS_FROM_3)
    )
    write_docx(HERE / "riktlinje.docx")


if __name__ == "__main__":
    main()
