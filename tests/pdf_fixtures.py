"""A tiny PDF writer for tests (no PDF library is installed): pages of Helvetica text lines
in WinAnsiEncoding, so å, ä and ö survive, with optional /PageLabels."""

from __future__ import annotations

from collections.abc import Sequence


def _pdf_string(text: str) -> bytes:
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += f"\\{byte:03o}".encode("ascii")
    return bytes(out + b")")


def _content_stream(lines: Sequence[str]) -> bytes:
    if not lines:
        # A page with only a drawn rectangle: what a scanned page looks like to a text reader.
        return b"0.5 g 72 600 450 150 re f"
    parts = [b"BT /F1 10 Tf 13 TL 56 790 Td"]
    for line in lines:
        parts.append(_pdf_string(line) + b" Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


def make_pdf(pages: Sequence[Sequence[str]], page_labels: str | None = None) -> bytes:
    """A PDF with one page per entry of `pages`, each a list of text lines (an empty list
    makes a page without text). `page_labels` is a raw /PageLabels number-tree dictionary
    body, e.g. "/Nums [0 << /S /D /St 3 >>]" for pages labelled 3, 4, ..."""
    objects: list[bytes] = []
    n = len(pages)
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if page_labels:
        catalog += b" /PageLabels << " + page_labels.encode("ascii") + b" >>"
    objects.append(catalog + b" >>")
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode("ascii"))
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for i, lines in enumerate(pages):
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
            ).encode("ascii")
        )
        stream = _content_stream(lines)
        objects.append(
            f"<< /Length {len(stream)} >>\nstream\n".encode("ascii") + stream + b"\nendstream"
        )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode("ascii")
    return bytes(out)


# A two-page tjänsteutlåtande: running header (office, Dnr, "Sida n (2)"), a word hyphenated
# at a line end, a suspended compound split over a line end, "EU-" + "kommissionens", and a
# sentence that the page break cuts.
TWO_PAGE_REMISSVAR = [
    [
        "Exploateringskontoret",
        "Dnr 171-482/2016",
        "Sida 1 (2)",
        "Handläggare",
        "Anna Svensson",
        "Till",
        "Exploateringsnämnden",
        "2016-10-03",
        "Riktlinjer för markanvisning i Stockholms stad. Svar på remiss",
        "Förslag till beslut",
        "Exploateringsnämnden ställer sig positiv till förslaget om nya riktlinjer för",
        "markanvisning och översänder kontorets tjänsteutlåtande som svar på remissen.",
        "1 Bakgrund",
        "Kommunstyrelsen har remitterat förslaget till riktlinjer för markanvisning till",
        "exploateringsnämnden. Riktlinjerna beskriver hur staden arbetar med stads-",
        "utveckling och markanvisning, bland annat vid arbetet med vatten- och avlopps-",
        "planer och med hänsyn till de regler om statsstöd som gäller enligt EU-",
        "kommissionens meddelanden. Kontoret har granskat förslaget i sin helhet och",
        "lämnar här sina synpunkter på de delar som rör kontorets ansvar för",
    ],
    [
        "Exploateringskontoret",
        "Dnr 171-482/2016",
        "Sida 2 (2)",
        "markanvisning och exploatering i hela staden.",
        "2.1 Kontorets synpunkter",
        "Kontoret anser att riktlinjerna är tydliga och att de ger goda förutsättningar",
        "för en effektiv och transparent markanvisning i staden. Kontoret föreslår att",
        "riktlinjerna kompletteras med en beskrivning av hur frågor om vatten-",
        "och avloppsplanering ska hanteras redan i tidiga skeden av planeringen.",
    ],
]
LABELS_FROM_3 = "/Nums [0 << /S /D /St 3 >>]"
