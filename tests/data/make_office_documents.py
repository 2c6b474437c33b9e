"""Lays out the office test documents of `office_texts.py` the way offices make them, and
writes them into tests/data/office/ (committed; run again only when the texts change):

    apt-get install -y libreoffice-writer-nogui hyphen-sv fonts-dejavu
    .venv/bin/pip install reportlab
    .venv/bin/python tests/data/make_office_documents.py

- Word-style letters (header with office, "Dnr …" and "Sida X (Y)", an address footer,
  justified text with automatic Swedish hyphenation, footnotes, a table, a wrapped title and
  a heading wrapped over two lines) written as flat ODF and exported by LibreOffice to PDF
  with bookmarks, to PDF without them (as print-to-PDF gives) and to DOCX;
- the department's remiss in two columns;
- a reportlab strategy with a drawn header and footer and no outline, and the same with its
  last page scanned;
- a scanned letter (text rendered to a 300 dpi image, wrapped in a PDF).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
OUT = HERE / "office"
sys.path.insert(0, str(HERE))

from office_texts import (  # noqa: E402
    CP1252_LETTER,
    DEPARTEMENTET,
    KULTUR,
    LETTERS,
    SCANNED_LAST_PAGE,
    SCANNED_LETTER,
    STADSBYGGNAD,
    Letter,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"

# ------------------------------------------------------------------------- flat ODF letters

_FODT_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>{title}</dc:title></office:meta>
<office:font-face-decls>
 <style:font-face style:name="DejaVu Serif" svg:font-family="'DejaVu Serif'"
  xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/>
 <style:font-face style:name="DejaVu Sans" svg:font-family="'DejaVu Sans'"
  xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/>
</office:font-face-decls>
<office:styles>
 <style:default-style style:family="paragraph">
  <style:paragraph-properties fo:hyphenation-ladder-count="no-limit"/>
  <style:text-properties style:font-name="DejaVu Serif" fo:font-size="12.5pt"
   fo:language="sv" fo:country="SE" fo:hyphenate="true"
   fo:hyphenation-remain-char-count="3" fo:hyphenation-push-char-count="3"/>
 </style:default-style>
 <style:style style:name="Standard" style:family="paragraph"/>
 <style:style style:name="Text_20_body" style:display-name="Text body" style:family="paragraph"
  style:parent-style-name="Standard">
  <style:paragraph-properties fo:text-align="justify" fo:margin-bottom="0.2cm"/>
 </style:style>
 <style:style style:name="Letterhead" style:family="paragraph" style:parent-style-name="Standard">
  <style:text-properties fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Title" style:family="paragraph" style:parent-style-name="Standard">
  <style:paragraph-properties fo:margin-top="0.6cm" fo:margin-bottom="0.4cm"/>
  <style:text-properties style:font-name="DejaVu Sans" fo:font-size="16pt" fo:font-weight="bold"
   fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph"
  style:parent-style-name="Standard" style:default-outline-level="1">
  <style:paragraph-properties fo:margin-top="0.4cm" fo:margin-bottom="0.2cm"
   fo:keep-with-next="always"/>
  <style:text-properties style:font-name="DejaVu Sans" fo:font-size="13pt" fo:font-weight="bold"
   fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph"
  style:parent-style-name="Standard" style:default-outline-level="2">
  <style:paragraph-properties fo:margin-top="0.3cm" fo:margin-bottom="0.15cm"
   fo:keep-with-next="always"/>
  <style:text-properties style:font-name="DejaVu Sans" fo:font-size="11.5pt"
   fo:font-weight="bold" fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Header" style:family="paragraph" style:parent-style-name="Standard">
  <style:paragraph-properties>
   <style:tab-stops>
    <style:tab-stop style:position="8cm" style:type="center"/>
    <style:tab-stop style:position="16cm" style:type="right"/>
   </style:tab-stops>
  </style:paragraph-properties>
  <style:text-properties fo:font-size="9pt" fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Footer" style:family="paragraph" style:parent-style-name="Standard">
  <style:paragraph-properties fo:text-align="center"/>
  <style:text-properties fo:font-size="7.5pt" fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Footnote" style:family="paragraph" style:parent-style-name="Standard">
  <style:text-properties fo:font-size="8pt"/>
 </style:style>
 <style:style style:name="Table_20_Contents" style:display-name="Table Contents"
  style:family="paragraph" style:parent-style-name="Standard">
  <style:text-properties fo:font-size="9.5pt" fo:hyphenate="false"/>
 </style:style>
</office:styles>
<office:automatic-styles>
 <style:page-layout style:name="pm1">
  <style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"
   fo:margin-top="1.2cm" fo:margin-bottom="1.2cm" fo:margin-left="3cm"
   fo:margin-right="3cm"/>
  <style:header-style><style:header-footer-properties fo:min-height="0cm"
   fo:margin-bottom="0.8cm"/></style:header-style>
  <style:footer-style><style:header-footer-properties fo:min-height="0cm"
   fo:margin-top="0.6cm"/></style:footer-style>
 </style:page-layout>
 <style:style style:name="Columns" style:family="section">
  <style:section-properties>
   <style:columns fo:column-count="2" fo:column-gap="0.8cm"/>
  </style:section-properties>
 </style:style>
</office:automatic-styles>
<office:master-styles>
 <style:master-page style:name="Standard" style:page-layout-name="pm1">
  <style:header>{header}</style:header>
  <style:footer>{footer}</style:footer>
 </style:master-page>
</office:master-styles>
<office:body><office:text>
"""
_FODT_TAIL = "</office:text></office:body></office:document>\n"


def _inline(paragraph: str) -> str:
    """Paragraph text with "[^…]" turned into ODF footnotes."""
    out, rest, number = [], paragraph, 0
    while "[^" in rest:
        before, _, after = rest.partition("[^")
        note, _, rest = after.partition("]")
        number += 1
        out.append(escape(before))
        out.append(
            '<text:note text:note-class="footnote"><text:note-citation>'
            f"{number}</text:note-citation><text:note-body>"
            f'<text:p text:style-name="Footnote">{escape(note)}</text:p>'
            "</text:note-body></text:note>"
        )
    out.append(escape(rest))
    return "".join(out)


def _table(rows: list[list[str]], index: int) -> str:
    cells = len(rows[0])
    xml = [f'<table:table table:name="Tabell{index}">']
    xml.append(f'<table:table-column table:number-columns-repeated="{cells}"/>')
    for row in rows:
        xml.append("<table:table-row>")
        for cell in row:
            xml.append(
                '<table:table-cell office:value-type="string">'
                f'<text:p text:style-name="Table_20_Contents">{escape(cell)}</text:p>'
                "</table:table-cell>"
            )
        xml.append("</table:table-row>")
    xml.append("</table:table>")
    return "".join(xml)


def letter_fodt(letter: Letter, header_lines: list[str]) -> str:
    header = "".join(f'<text:p text:style-name="Header">{line}</text:p>' for line in header_lines)
    footer = "".join(
        f'<text:p text:style-name="Footer">{escape(line)}</text:p>' for line in letter.footer
    )
    body = [_FODT_HEAD.format(title=escape(letter.title), header=header, footer=footer)]

    def p(style: str, text: str) -> None:
        body.append(f'<text:p text:style-name="{style}">{text}</text:p>')

    p("Letterhead", f"Handläggare: {escape(letter.handlaggare)}")
    if letter.recipient:
        p("Letterhead", f"Till {escape(letter.recipient)}")
    p("Letterhead", escape(letter.date))
    p("Title", escape(letter.title))
    for paragraph in letter.preamble:
        p("Text_20_body", _inline(paragraph))
    if letter.two_columns:
        body.append('<text:section text:style-name="Columns" text:name="Spalter">')
    tables = 0
    for section in letter.sections:
        body.append(
            f'<text:h text:style-name="Heading_20_{section.level}" '
            f'text:outline-level="{section.level}">{escape(section.heading)}</text:h>'
        )
        for item in section.content:
            if isinstance(item, str):
                p("Text_20_body", _inline(item))
            else:
                tables += 1
                body.append(_table(item, tables))
    if letter.two_columns:
        body.append("</text:section>")
    body.append(_FODT_TAIL)
    return "".join(body)


_PAGE = 'Sida <text:page-number text:select-page="current"/> (<text:page-count/>)'


def _header_lines(letter: Letter) -> list[str]:
    if letter is DEPARTEMENTET:
        return [
            f"Regeringskansliet<text:tab/>Remiss<text:tab/>{_PAGE}",
            f"{escape(letter.office)}<text:tab/>{letter.date}<text:tab/>"
            f"{escape(letter.diarienummer)}",
        ]
    return [
        f"{escape(letter.office)}<text:tab/>Dnr {escape(letter.diarienummer)}<text:tab/>{_PAGE}",
        "Planavdelningen",
    ]


_NO_BOOKMARKS = 'pdf:writer_pdf_Export:{"ExportBookmarks":{"type":"boolean","value":"false"}}'


def convert(source: Path, target_format: str, out_dir: Path) -> Path:
    subprocess.run(
        ["soffice", "--headless", "--convert-to", target_format, "--outdir", str(out_dir),
         str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )  # fmt: skip
    suffix = target_format.split(":", 1)[0]
    return out_dir / f"{source.stem}.{suffix}"


def write_letters(work: Path) -> None:
    for letter in (STADSBYGGNAD, DEPARTEMENTET):
        source = work / f"{letter.name}.fodt"
        source.write_text(letter_fodt(letter, _header_lines(letter)), encoding="utf-8")
        (OUT / f"{letter.name}.pdf").write_bytes(convert(source, "pdf", work).read_bytes())
        unmarked = work / "plain"
        unmarked.mkdir(exist_ok=True)
        (OUT / f"{letter.name}-utan-bokmarken.pdf").write_bytes(
            convert(source, _NO_BOOKMARKS, unmarked).read_bytes()
        )
    source = work / f"{STADSBYGGNAD.name}.fodt"
    (OUT / f"{STADSBYGGNAD.name}.docx").write_bytes(
        convert(source, "docx:MS Word 2007 XML", work).read_bytes()
    )


# --------------------------------------------------------------------- reportlab and scans


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("Serif", FONT))
    pdfmetrics.registerFont(TTFont("Serif-Bold", FONT_BOLD))


def reportlab_strategy(scanned_last_page: bool) -> bytes:
    """KULTUR as a reportlab document: header and footer drawn on every page, headings only
    by typography (bold, larger), no outline; optionally a scanned appendix page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Image as FlowImage
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    _register_fonts()
    letter = KULTUR
    body = ParagraphStyle("body", fontName="Serif", fontSize=12.5, leading=18, spaceAfter=8)
    heading = ParagraphStyle(
        "h", fontName="Serif-Bold", fontSize=13, leading=16, spaceBefore=10, spaceAfter=4
    )
    title = ParagraphStyle("t", fontName="Serif-Bold", fontSize=17, leading=21, spaceAfter=12)
    meta = ParagraphStyle("m", fontName="Serif", fontSize=10, leading=13)

    def furniture(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Serif", 8.5)
        width, height = A4
        canvas.drawString(2.5 * cm, height - 1.3 * cm, letter.office)
        canvas.drawCentredString(width / 2, height - 1.3 * cm, f"Dnr {letter.diarienummer}")
        canvas.drawRightString(width - 2.5 * cm, height - 1.3 * cm, f"Sida {document.page}")
        canvas.setFont("Serif", 7.5)
        canvas.drawCentredString(width / 2, 1.2 * cm, letter.footer[0])
        canvas.restoreState()

    story = [
        Paragraph(f"{letter.date}", meta),
        Paragraph(f"Handläggare: {letter.handlaggare}", meta),
        Paragraph(letter.title, title),
    ]
    for section in letter.sections:
        story.append(Paragraph(section.heading, heading))
        for item in section.content:
            story.append(Paragraph(item, body))
    if scanned_last_page:
        story.append(PageBreak())
        png = io.BytesIO()
        scan_image(SCANNED_LAST_PAGE, width_px=2100, height_px=800).save(png, "PNG")
        png.seek(0)
        story.append(FlowImage(png, width=16 * cm, height=16 * cm * 800 / 2100))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=3 * cm, rightMargin=3 * cm, topMargin=2.2 * cm,
        bottomMargin=2.2 * cm, title=letter.title,
        author=letter.office, invariant=1,
    )  # fmt: skip
    document.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return buffer.getvalue()


def scan_image(lines, width_px: int = 2480, height_px: int = 1400):
    """Lines of text rendered at 300 dpi (12 pt ≈ 50 px), slightly grey and rotated, as a
    flatbed scanner returns a printed page."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    image = Image.new("L", (width_px, height_px), 250)
    draw = ImageDraw.Draw(image)
    regular = ImageFont.truetype(FONT, 46)
    bold = ImageFont.truetype(FONT_BOLD, 54)
    y = 80
    for number, line in enumerate(lines):
        font = bold if number == 0 or line == "Förslag till beslut" else regular
        draw.text((120, y), line, font=font, fill=25)
        y += 90
    image = image.rotate(0.4, fillcolor=250, resample=Image.Resampling.BICUBIC)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def scanned_letter_pdf() -> bytes:
    buffer = io.BytesIO()
    scan_image(SCANNED_LETTER, height_px=900).save(buffer, "PDF", resolution=300.0)
    return buffer.getvalue()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        write_letters(Path(tmp))
    (OUT / f"{KULTUR.name}.pdf").write_bytes(reportlab_strategy(False))
    (OUT / f"{KULTUR.name}-med-inskannad-bilaga.pdf").write_bytes(reportlab_strategy(True))
    (OUT / "inskannat-brev.pdf").write_bytes(scanned_letter_pdf())
    (OUT / "yttrande-avfallsplan-cp1252.txt").write_bytes(CP1252_LETTER.encode("cp1252"))
    assert len(LETTERS) == 3


if __name__ == "__main__":
    main()
