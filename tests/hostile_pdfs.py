"""Generated hostile PDFs, each built to hurt a PDF parser in one known way: a decompression
bomb of nested Flate streams, a cross-reference chain that loops, a stream claiming a huge
length, a content stream that takes minutes to interpret, a truncated file and a text file
dressed up as a PDF — plus seeded random byte mutations of real PDFs."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

from pdf_fixtures import TWO_PAGE_REMISSVAR, make_pdf

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def assemble(objects: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF from object bodies numbered 1..n (1 is the catalog), with a classic xref."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R ".encode() + trailer_extra
    out += f">>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _page_with_contents(contents: bytes) -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents " + contents + b" >>",
        _FONT,
    ]


def _stream(data: bytes, filters: str = "") -> bytes:
    head = f"<< /Length {len(data)}{' /Filter ' + filters if filters else ''} >>"
    return head.encode() + b"\nstream\n" + data + b"\nendstream"


def nested_flate_bomb(streams: int = 40, inflated_mb: int = 70) -> bytes:
    """Page content made of `streams` streams, each Flate-compressed twice: a few hundred
    bytes on disk, `inflated_mb` MB each once decoded (under pypdf's per-stream limit of
    75 MB, so only a memory limit on the whole process stops it)."""
    inner = zlib.compress(b"\x00" * (inflated_mb * 1_000_000), 9)
    twice = zlib.compress(inner, 9)
    objects = _page_with_contents(
        b"[" + b" ".join(f"{5 + i} 0 R".encode() for i in range(streams)) + b"]"
    )
    objects += [_stream(twice, "[/FlateDecode /FlateDecode]") for _ in range(streams)]
    return assemble(objects)


def circular_prev_chain() -> bytes:
    """Two cross-reference sections whose trailers name each other as /Prev."""
    body = make_pdf([["Cirkulär korsreferens"]])
    cut = body.rindex(b"xref")
    head = body[:cut]
    first = len(head)
    table = body[cut : body.rindex(b"trailer")]
    second = first + 200  # where the second section will sit, padded to this offset
    section_1 = table + f"trailer\n<< /Size 6 /Root 1 0 R /Prev {second} >>\n".encode()
    section_1 = section_1.ljust(second - first, b" ")
    section_2 = table + f"trailer\n<< /Size 6 /Root 1 0 R /Prev {first} >>\n".encode()
    return head + section_1 + section_2 + f"startxref\n{first}\n%%EOF\n".encode()


def huge_length() -> bytes:
    """A content stream that claims to be 10^15 bytes long."""
    content = b"BT /F1 12 Tf 72 720 Td (Hej) Tj ET"
    stream = b"<< /Length 999999999999999 >>\nstream\n" + content + b"\nendstream"
    return assemble(_page_with_contents(b"5 0 R") + [stream])


def slow_content(operators: int = 2_000_000) -> bytes:
    """A page whose (compressed, small) content stream holds millions of text operators: a
    valid file that takes a pure-Python parser minutes to read."""
    ops = b"BT /F1 1 Tf " + b"(a) Tj " * operators + b"ET"
    return assemble(
        _page_with_contents(b"5 0 R") + [_stream(zlib.compress(ops, 9), "/FlateDecode")]
    )


def truncated() -> bytes:
    whole = make_pdf(TWO_PAGE_REMISSVAR)
    return whole[: len(whole) // 3]


def pdf_looking_text() -> bytes:
    return (
        "%PDF-1.7\nDet här är ingen PDF utan en vanlig textfil som börjar som en PDF.\n"
        "Remissvaret finns i ett annat dokument.\n"
    ).encode()


HOSTILE = {
    "dekomprimeringsbomb.pdf": nested_flate_bomb,
    "cirkular-prev.pdf": circular_prev_chain,
    "enorm-length.pdf": huge_length,
    "langsam.pdf": slow_content,
    "avkortad.pdf": truncated,
    "text-som-pdf.pdf": pdf_looking_text,
}


def mutations(originals: Sequence[bytes], count: int, seed: int) -> list[bytes]:
    """`count` copies of the `originals`, each with a few random bytes overwritten, a
    range deleted or duplicated, or cut short — the same list for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(originals))
        kind = rng.choice(("flip", "flip", "overwrite", "delete", "duplicate", "cut"))
        if kind == "flip":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == "overwrite":
            at = rng.randrange(len(data))
            data[at : at + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
        elif kind == "delete":
            at = rng.randrange(len(data))
            del data[at : at + rng.randint(1, 512)]
        elif kind == "duplicate":
            at = rng.randrange(len(data))
            data[at:at] = data[at : at + rng.randint(1, 512)]
        else:
            data = data[: rng.randrange(1, len(data))]
        out.append(bytes(data))
    return out
