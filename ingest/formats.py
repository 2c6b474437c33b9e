"""Readers for each supported file format: bytes in, cleaned blocks out. Every failure a
file can cause becomes an `IngestError` with a Swedish reason; nothing else escapes."""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ingest.clean import (
    TERMINAL_PUNCTUATION,
    is_page_number_line,
    join_cut_sentences,
    reflow_paragraphs,
    rejoin_hyphenated,
    remove_running_headers,
    split_glued_tokens,
    strip_invisible,
    typical_line_length,
)
from ingest.layout import PageLines, lay_out, read_page_lines
from ingest.models import Block, IngestError
from ingest.ocr import OcrOptions, OcrUnavailable, current_options, ocr_pages
from ingest.structure import (
    build_blocks,
    is_strong_heading,
    looks_like_heading,
    normalise_heading,
)

ENCRYPTED_PDF = "krypterad PDF (lösenordsskyddad) – spara en olåst kopia och lägg in den igen"
SCANNED_PDF = "PDF:en saknar textlager (inskannad bild) – kör OCR och lägg in den igen"
OCR_MISSING = (
    "PDF:en saknar textlager (inskannad bild) och OCR-programmet Tesseract med svensk modell "
    "är inte installerat – installera tesseract-ocr-swe (make ocr-deps) och indexera igen"
)
EMPTY_FILE = "filen är tom"
UNDECODABLE = (
    "texten kunde inte avkodas (filen verkar vara binär eller har en okänd teckenkodning) – "
    "spara den som UTF-8-text och lägg in den igen"
)


@dataclass(frozen=True)
class Extracted:
    """What a reader found in one file, before metadata: blocks in reading order, the title
    where the format or the layout names one, and what the metadata step may still need."""

    blocks: tuple[Block, ...]
    title: str | None = None
    title_hint: str | None = None
    running_headers: tuple[str, ...] = ()
    page_count: int | None = None
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- text decoding

# Characters that cp1252 text from a Swedish office file plausibly contains beyond ASCII.
_MIN_COHERENCE = 0.05
_SWEDISH_LETTERS = frozenset("åäöÅÄÖé")
_CP1252_EXPECTED = set("åäöÅÄÖéÉèüÜáàæøÆØ–—‘’“”…•€§°½¼¾±×´«»\u00a0\u00ad")


def decode_text(data: bytes) -> str:
    """Decode the bytes of a text file: UTF-8 (BOM stripped), UTF-16 with BOM, Swedish cp1252,
    else whatever charset-normalizer finds. Raises ValueError for binary or undecodable data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _plausible(data.decode("utf-16"))
    if b"\x00" in data:
        raise ValueError("NUL bytes")
    try:
        return _plausible(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    try:
        # Short Swedish texts fool statistical detectors (a cp1252 letter read as Mac Roman
        # gives "fˆr", "st‰rka"); when every non-ASCII character is one that a Swedish cp1252
        # document would contain, or most of them are å, ä and ö, cp1252 is the answer.
        text = data.decode("cp1252")
        beyond_ascii = [c for c in text if ord(c) > 127]
        if set(beyond_ascii) <= _CP1252_EXPECTED or (
            sum(c in _SWEDISH_LETTERS for c in beyond_ascii) >= 0.5 * len(beyond_ascii)
        ):
            return _plausible(text)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    # Random bytes "decode" as some CJK code page without any language behind them; a real
    # text in an unusual code page (cp850, mac_roman) shows coherent language.
    if best is None or best.coherence < _MIN_COHERENCE:
        raise ValueError("no charset matched")
    return _plausible(str(best))


def _plausible(text: str) -> str:
    # Each distinct character is classified once (a text uses a few hundred at most).
    odd = sum(
        count
        for c, count in Counter(text).items()
        if c == "\ufffd"
        or (unicodedata.category(c) in ("Cc", "Co", "Cn") and c not in "\t\n\r\f\v")
    )
    if odd > max(2, len(text) // 200):
        raise ValueError("control characters")
    return text


def _decode_or_fail(data: bytes, source: str) -> str:
    try:
        text = decode_text(data)
    except ValueError as exc:
        raise IngestError(source, UNDECODABLE) from exc
    if not strip_invisible(text).strip():
        raise IngestError(source, EMPTY_FILE)
    return text


# ---------------------------------------------------------------------- paged plain text


def blocks_from_pages(
    pages: Sequence[str],
    numbered: bool = True,
    labels: Sequence[str | None] | None = None,
    outline: dict[str, int] | None = None,
    footnotes: Sequence[Sequence[str]] | None = None,
    typographic_headings: dict[str, int] | None = None,
    title: str | None = None,
    line_lengths: Sequence[int | None] | None = None,
) -> tuple[list[Block], str | None, tuple[str, ...]]:
    """Clean the page texts of a PDF or a text file and find their structure.

    Returns the blocks, the title found among the opening lines (or None) and the running
    headers removed from the pages. With `numbered` false (plain text without form feeds)
    blocks carry no page number. A PDF's layout adds `footnotes` per page (kept as
    paragraphs after the passage their page ends in, never inside a sentence),
    `typographic_headings` (normalised text → level; when given, only these, the outline's
    and the known headings are headings, so a body line never becomes one) and its `title`.
    """
    cleaned = [split_glued_tokens(strip_invisible(page)) for page in pages]
    without_headers, running_headers = remove_running_headers(cleaned)
    # A file whose only text repeats on every page (a label on each slide) is that text.
    if any(page.strip() for page in without_headers) or not running_headers:
        cleaned = without_headers
    else:
        running_headers = ()
    cleaned = [rejoin_hyphenated(page) for page in cleaned]
    typical = typical_line_length("\n".join(cleaned))
    known = dict(outline or {})
    if typographic_headings:
        for text, level in typographic_headings.items():
            known.setdefault(text, level)

    title_key = normalise_heading(title) if title else None

    def strong(line: str) -> bool:
        return is_strong_heading(line, known) or normalise_heading(line) == title_key

    def heading_test(line: str) -> bool:
        # With typography, a heading is set apart (or bookmarked), or is a standard heading
        # or numbered section ("Bakgrund", "2.1 Syfte") that the document set like body text.
        return normalise_heading(line) in known or is_strong_heading(line)

    def table_row(line: str) -> bool:
        # Only a PDF's layout marks table rows (with " | " between cells).
        return line_lengths is not None and " | " in line

    paragraphs: list[Block] = []
    full_last_line: set[int] = set()
    for index, page in enumerate(cleaned):
        number = index + 1 if numbered else None
        label = labels[index] if labels and index < len(labels) else None
        could_be = heading_test if typographic_headings else looks_like_heading
        column = line_lengths[index] if line_lengths and index < len(line_lengths) else None
        if number is not None and _ends_in_full_line(page, column or typical):
            full_last_line.add(number)
        for text in reflow_paragraphs(
            page, column or typical, strong, could_be, column is not None, table_row
        ):
            paragraphs.append(Block("paragraph", text, page=number, page_label=label))
    blocks, found_title = build_blocks(
        join_cut_sentences(
            paragraphs,
            full_last_line,
            heading_test
            if typographic_headings
            else lambda line: strong(line) or looks_like_heading(line),
        ),
        known,
        heading_test if typographic_headings else None,
        title,
    )
    if footnotes and any(footnotes):
        blocks = _with_footnotes(blocks, footnotes, labels)
    return blocks, title or found_title, running_headers


# A page's last line that fills most of the line width and ends without a full stop is a
# sentence running on to the next page.
_FULL_LAST_LINE = 0.75


def _ends_in_full_line(page: str, typical: int) -> bool:
    last = next((line.strip() for line in reversed(page.split("\n")) if line.strip()), "")
    return (
        bool(last)
        and typical > 0
        and len(last) >= _FULL_LAST_LINE * typical
        and last[-1] not in TERMINAL_PUNCTUATION
        and " | " not in last
    )


def _with_footnotes(
    blocks: list[Block], footnotes: Sequence[Sequence[str]], labels: Sequence[str | None] | None
) -> list[Block]:
    # A page's footnotes follow the block that page ends in (a sentence joined over the page
    # break keeps them after it, not between its halves).
    result = list(blocks)
    for index in range(len(footnotes) - 1, -1, -1):
        notes = footnotes[index]
        if not notes:
            continue
        page = index + 1
        position = len(result)
        for i, block in enumerate(result):
            if block.page is not None and block.page > page:
                position = i
                break
        label = labels[index] if labels and index < len(labels) else None
        new = [
            Block("paragraph", strip_invisible(note), page=page, page_label=label)
            for note in notes
            if note.strip()
        ]
        result[position:position] = new
    return result


def read_plain_text(data: bytes, source: str) -> Extracted:
    """A .txt file: a form feed marks a page break, and pages are then numbered 1..n."""
    text = _decode_or_fail(data, source)
    if "\f" in text:
        pages = text.split("\f")
        if not pages[-1].strip():
            pages.pop()
        blocks, title, headers = blocks_from_pages(pages)
        return Extracted(tuple(blocks), title, None, headers, len(pages))
    blocks, title, headers = blocks_from_pages([text], numbered=False)
    return Extracted(tuple(blocks), title, None, headers)


# -------------------------------------------------------------------------------- markdown

_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
_RULE = re.compile(r"^(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_LIST_ITEM = re.compile(r"^\s{0,3}([*+-]|\d{1,3}[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")

_MARKUP_CHARACTERS = re.compile(r"[\[\]*_`<\\]")
_INLINE_RULES = [
    (re.compile(r"!\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),
]


def strip_markdown_inline(text: str) -> str:
    """Displayed text of a markdown line: links keep their text, emphasis and code marks go."""
    if not _MARKUP_CHARACTERS.search(text):
        return text
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text


def blocks_from_markdown(text: str) -> tuple[list[Block], str | None]:
    """Parse markdown into heading and paragraph blocks.

    Blank lines, list items, headings and rules separate paragraphs; soft-wrapped lines are
    joined with a space. The first heading, when it opens the document (regeringen.se's
    "# Title"), is the title: it stays a paragraph so that section paths start below it.
    Returns the blocks and that title (or None).
    """
    blocks: list[Block] = []
    lines_in_paragraph: list[str] = []
    in_fence = False

    def flush() -> None:
        if lines_in_paragraph:
            joined = ""
            for line in lines_in_paragraph:
                hard_break = joined.endswith(("  ", "\\")) or line.startswith("|")
                joined = joined.rstrip(" \\") + ("\n" if hard_break else " ") + line.strip()
            paragraph = strip_markdown_inline(joined.strip())
            if paragraph.strip():
                blocks.append(Block("paragraph", paragraph.strip()))
            lines_in_paragraph.clear()

    for raw in strip_invisible(text).split("\n"):
        line = raw.rstrip("\n")
        if _FENCE.match(line):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            if line.strip():
                blocks.append(Block("paragraph", line.rstrip()))
            continue
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        heading = _ATX_HEADING.match(stripped)
        if heading:
            flush()
            heading_text = strip_markdown_inline(heading.group(2)).strip()
            if heading_text:
                blocks.append(Block("heading", heading_text, level=len(heading.group(1))))
            continue
        if _SETEXT_UNDERLINE.match(stripped) and len(lines_in_paragraph) == 1:
            heading_text = strip_markdown_inline(lines_in_paragraph[0]).strip()
            lines_in_paragraph.clear()
            blocks.append(Block("heading", heading_text, level=1 if "=" in stripped else 2))
            continue
        if _RULE.match(stripped) or _TABLE_SEPARATOR.match(stripped):
            if _RULE.match(stripped):
                flush()
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            marker = item.group(1)
            bullet = "•" if marker in "*+-" else marker
            lines_in_paragraph.append(f"{bullet} {item.group(2)}")
            continue
        if stripped.startswith(">"):
            stripped = stripped.lstrip("> ").strip()
        if stripped.startswith("|"):
            cells = [cell.strip() for cell in stripped.strip("|").split("|")]
            stripped = "| " + " | ".join(cell for cell in cells if cell) + " |"
        lines_in_paragraph.append(stripped)
    flush()

    return _leading_heading_as_title(blocks)


def _leading_heading_as_title(blocks: list[Block]) -> tuple[list[Block], str | None]:
    # A heading that opens the document names the document, not a section: keep it as text
    # (so it is searchable and shown) and return it as the title.
    if blocks and blocks[0].kind == "heading":
        blocks[0] = replace(blocks[0], kind="paragraph", level=1)
        return blocks, blocks[0].text
    return blocks, None


def read_markdown(data: bytes, source: str) -> Extracted:
    blocks, title = blocks_from_markdown(_decode_or_fail(data, source))
    if not blocks:
        raise IngestError(source, EMPTY_FILE)
    return Extracted(tuple(blocks), title)


# ------------------------------------------------------------------------------------ HTML

_HTML_NOISE = "nav, header, footer, script, style, aside, noscript, form, template, svg"
_HTML_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, td, th, dt, dd, figcaption"


def _decode_html(data: bytes, source: str) -> str:
    declared = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", data[:4096], re.IGNORECASE)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return _decode_or_fail(data, source)


def read_html(data: bytes, source: str) -> Extracted:
    """Main text of a web page: trafilatura's extraction (as markdown, so that h1–h6 survive),
    else every text block outside navigation, header, footer and scripts."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    html = _decode_html(data, source)
    tree = HTMLParser(html)
    page_title = None
    h1 = tree.css_first("h1")
    title_node = tree.css_first("title")
    for node in (h1, title_node):
        if node is not None and node.text(strip=True):
            page_title = " ".join(node.text(strip=True).split())
            break

    blocks: list[Block] = []
    title = None
    try:
        import trafilatura

        markdown = trafilatura.extract(
            html,
            output_format="markdown",
            include_tables=True,
            include_links=False,
            include_images=False,
            favor_recall=True,
        )
    except Exception:  # a trafilatura failure only means we fall back to plain extraction
        markdown = None
    if markdown and markdown.strip():
        blocks, title = blocks_from_markdown(markdown)
    if not blocks:
        blocks, title = _leading_heading_as_title(_html_blocks(tree))
    if not blocks:
        raise IngestError(
            source, "hittade ingen text i HTML-filen – kontrollera att den inte är tom"
        )
    return Extracted(tuple(blocks), title or page_title)


def _html_blocks(tree) -> list[Block]:
    for node in tree.css(_HTML_NOISE):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return []
    blocks = []
    for node in root.css(_HTML_BLOCKS):
        # Nested matches (a <p> inside an <li>) would repeat text: keep the innermost only.
        # (lexbor's css() includes the node itself, hence "more than one".)
        if len(node.css(_HTML_BLOCKS)) > 1:
            continue
        text = " ".join(strip_invisible(node.text(separator=" ")).split())
        if not text:
            continue
        if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            blocks.append(Block("heading", text, level=int(node.tag[1])))
        else:
            blocks.append(Block("paragraph", text))
    return blocks


# ------------------------------------------------------------------------------------ DOCX

_DOCX_HEADING = re.compile(r"^(?:heading|rubrik)\s*(\d)$", re.IGNORECASE)
_DOCX_TITLE = re.compile(r"^(?:title|rubrik|titel)$", re.IGNORECASE)


def read_docx(data: bytes, source: str) -> Extracted:
    """A Word document: headings from paragraph styles ("Heading 2"/"Rubrik 2" → level 2,
    "Title"/"Rubrik" → title), table rows as paragraphs with every cell, footnotes as
    paragraphs after the paragraph that refers to them, and the page header and footer as
    running headers (where metadata finds the office and "Dnr …"). Without any heading
    styles the layout heuristics for plain text find the structure instead."""
    try:
        from docx import Document as open_docx
        from docx.table import Table

        document = open_docx(io.BytesIO(data))
        items = list(document.iter_inner_content())
        hint = (document.core_properties.title or "").strip() or None
        notes = _docx_footnotes(document)
        furniture = _docx_headers_and_footers(document)
    except Exception as exc:
        raise IngestError(
            source,
            f"trasig DOCX-fil ({_detail(exc)}) – öppna den i Word, spara om och lägg in den igen",
        ) from exc

    blocks: list[Block] = []
    title = None
    styled = False
    for item in items:
        if isinstance(item, Table):
            blocks.extend(_docx_table_rows(item))
            continue
        text = strip_invisible(item.text).strip()
        references = [notes[n] for n in _footnote_ids(item) if n in notes]
        if not text:
            blocks.extend(Block("paragraph", note) for note in references)
            continue
        style = _style_name(item)
        heading = _DOCX_HEADING.match(style)
        if heading and "\n" not in text:
            styled = True
            blocks.append(Block("heading", text, level=int(heading.group(1))))
        elif _DOCX_TITLE.match(style) and title is None:
            styled = True
            title = " ".join(text.split())
            blocks.append(Block("paragraph", text))
        else:
            blocks.append(Block("paragraph", text))
        blocks.extend(Block("paragraph", note) for note in references)
    if not blocks:
        raise IngestError(source, EMPTY_FILE)
    if not styled:
        heuristic, found = build_blocks(blocks)
        return Extracted(tuple(heuristic), found, hint, furniture)
    return Extracted(tuple(blocks), title, hint, furniture)


def _docx_table_rows(table) -> list[Block]:
    rows: list[Block] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A cell merged over several grid columns comes back once per column: show it
            # once. Equal values in different cells are different cells and all stay.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(strip_invisible(cell.text).split())
            if text:
                cells.append(text)
        if cells:
            rows.append(Block("paragraph", " | ".join(cells)))
    return rows


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _footnote_ids(paragraph) -> list[str]:
    try:
        return list(paragraph._p.xpath(".//w:footnoteReference/@w:id"))
    except Exception:  # a paragraph without the usual XML only loses its footnotes
        return []


def _docx_footnotes(document) -> dict[str, str]:
    """Footnote id → "number text" for the document's real footnotes (Word numbers them in
    order of reference; separators and continuation notices are left out)."""
    from lxml import etree

    part = next(
        (
            rel.target_part
            for rel in document.part.rels.values()
            if rel.reltype.endswith("/footnotes") and not rel.is_external
        ),
        None,
    )
    if part is None:
        return {}
    root = etree.fromstring(part.blob)
    order: list[str] = []
    for paragraph in document.element.body.iter(f"{_W}footnoteReference"):
        order.append(paragraph.get(f"{_W}id"))
    numbers = {note_id: str(n) for n, note_id in enumerate(dict.fromkeys(order), start=1)}
    notes: dict[str, str] = {}
    for note in root.iter(f"{_W}footnote"):
        note_id = note.get(f"{_W}id")
        if note.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
            continue
        text = " ".join(strip_invisible("".join(t.text or "" for t in note.iter(f"{_W}t"))).split())
        if text and note_id in numbers:
            notes[note_id] = f"{numbers[note_id]} {text}"
    return notes


def _docx_headers_and_footers(document) -> tuple[str, ...]:
    lines: dict[str, None] = {}
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.footer):
            if part.is_linked_to_previous and part is not section.header:
                continue
            for paragraph in part.paragraphs:
                for line in strip_invisible(paragraph.text).replace("\t", "  ").split("\n"):
                    line = " ".join(line.split())
                    if line:
                        lines.setdefault(line, None)
    return tuple(lines)


def _style_name(paragraph) -> str:
    try:
        return (paragraph.style.name or "").strip() if paragraph.style is not None else ""
    except Exception:  # a broken style reference only costs us the heading level
        return ""


# ------------------------------------------------------------------------------------- PDF


def read_pdf(
    data: bytes,
    source: str,
    ocr: OcrOptions | None = None,
    progress: Callable[[], None] | None = None,
) -> Extracted:
    """A PDF through pypdf: each page's text with its 1-based number and printed label;
    pages without a text layer are read by OCR (`ocr`, default this process's options),
    calling `progress` before each such page (the worker's sign of life).

    Raises IngestError for an encrypted PDF that an empty password does not open, for one
    without any text layer that OCR cannot read, and for anything pypdf cannot parse (its
    exceptions are many: PdfReadError, ValueError, KeyError, RecursionError ...).
    """
    # pypdf logs every quirk of a file (missing fontTools, rebuilt xref tables) as a warning;
    # none of it is something the user can act on, and a big file logs thousands of lines.
    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR)
    try:
        return _read_pdf(data, source, ocr or current_options(), progress)
    except (IngestError, MemoryError):
        raise  # running out of memory is the caller's to report (see ingest.isolation)
    except Exception as exc:
        raise IngestError(source, f"trasig eller avkortad PDF: {_detail(exc)}") from exc
    finally:
        pypdf_logger.setLevel(level)


def _read_pdf(
    data: bytes, source: str, ocr: OcrOptions, progress: Callable[[], None] | None
) -> Extracted:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:  # e.g. AES without a crypto library: we cannot open it either way
            opened = False
        if not opened:
            raise IngestError(source, ENCRYPTED_PDF)
    try:
        pages = list(reader.pages)
    except FileNotDecryptedError as exc:
        raise IngestError(source, ENCRYPTED_PDF) from exc

    texts: list[str] = []
    page_lines: list[PageLines] = []
    failed: list[int] = []
    for number, page in enumerate(pages, start=1):
        try:
            text, lines = read_page_lines(page)
        except FileNotDecryptedError as exc:
            raise IngestError(source, ENCRYPTED_PDF) from exc
        except MemoryError:
            raise
        except Exception:  # one unreadable page should not cost the rest of the document
            text, lines = "", PageLines(())
            failed.append(number)
        texts.append(text)
        page_lines.append(lines)
    if not pages:
        raise IngestError(source, "trasig eller avkortad PDF: inga sidor")
    if len(failed) == len(pages):
        raise IngestError(source, "trasig eller avkortad PDF: ingen sida gick att läsa")
    outline = _pdf_outline(reader)
    layout = lay_out(page_lines, outline)
    # A page without a text layer, or with nothing but its header and footer over an image,
    # is a scan: OCR reads it.
    raw_empty = [n for n, text in enumerate(texts, start=1) if not text.strip() and n not in failed]
    scans = [
        n
        for n, text in enumerate(layout.pages, start=1)
        if n not in failed and not text.strip() and (n in raw_empty or _has_image(pages[n - 1]))
    ]
    try:
        scanned = _ocr_or_none(
            data, scans, ocr, progress, len(raw_empty) + len(failed) == len(pages)
        )
    except OcrUnavailable:
        raise IngestError(source, OCR_MISSING) from None
    if len([n for n in raw_empty if n not in scanned]) + len(failed) == len(pages):
        raise IngestError(source, SCANNED_PDF)
    empty = sorted(n for n in {*raw_empty, *scans} if n not in scanned)

    warnings = []
    if scanned:
        warnings.append(
            f"{_pages_phrase(sorted(scanned))} är inskannad och lästes med OCR – texten kan "
            "innehålla lästfel"
        )
    if empty:
        off = " (OCR är avstängt)" if not ocr.enabled else ""
        warnings.append(
            f"{_pages_phrase(empty)} saknar text (inskannad bild?){off} och kommer inte med i "
            "sökningen"
        )
    if failed:
        warnings.append(f"{_pages_phrase(failed)} gick inte att läsa och kommer inte med")
    page_texts = [
        _without_furniture(scanned[n], layout.furniture) if n in scanned else page
        for n, page in enumerate(layout.pages, start=1)
    ]
    blocks, title, headers = blocks_from_pages(
        [_tidy_pdf_spacing(page) for page in page_texts],
        True,
        _pdf_labels(reader),
        outline,
        footnotes=layout.footnotes,
        typographic_headings=layout.headings,
        title=layout.title,
        line_lengths=layout.line_lengths,
    )
    if not blocks:
        raise IngestError(source, SCANNED_PDF)
    headers = tuple(dict.fromkeys([*layout.furniture, *headers]))
    return Extracted(tuple(blocks), title, _pdf_title(reader), headers, len(pages), tuple(warnings))


# Justified text comes out of pypdf with runs of spaces between words.
_SPACE_RUN = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")


# "2021– 2027": pypdf puts a space after a dash that ends a run.
_DASH_SPACE = re.compile(r"(?<=\d)([–—]) (?=\d)")


def _tidy_pdf_spacing(text: str) -> str:
    return _DASH_SPACE.sub(r"\1", _SPACE_RUN.sub(" ", text))


def _without_furniture(text: str, furniture: Sequence[str]) -> str:
    """An OCR'd page without the header and footer lines that the text pages carry (a scan
    inserted into a document gets them stamped on, and OCR reads them too)."""
    if not furniture:
        return text
    keys = sorted({_furniture_key(line) for line in furniture}, key=len, reverse=True)

    def is_furniture(line: str) -> bool:
        # OCR reads a header's pieces on one line ("Kulturförvaltningen Dnr KUF 2020/118 Sida 3").
        rest = _furniture_key(line)
        for key in keys:
            rest = rest.replace(key, " ")
        return not rest.strip() or is_page_number_line(rest.replace("#", "1"))

    return "\n".join(
        line for line in text.split("\n") if not line.strip() or not is_furniture(line)
    )


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def _has_image(page) -> bool:
    try:
        objects = page["/Resources"]["/XObject"]
        return any(objects[name].get("/Subtype") == "/Image" for name in objects)
    except Exception:  # no resources, or broken ones: no image we could read either
        return False


def _ocr_or_none(
    data: bytes,
    empty: list[int],
    options: OcrOptions,
    progress: Callable[[], None] | None,
    nothing_else: bool,
) -> dict[int, str]:
    """OCR text of the pages without a text layer (those OCR found text on). Raises
    OcrUnavailable when Tesseract is missing and the document has no other text."""
    if not empty or not options.enabled:
        return {}
    try:
        found = ocr_pages(data, empty, options, progress)
    except OcrUnavailable:
        if nothing_else:
            raise
        return {}
    except MemoryError:
        raise
    except Exception:  # a page PDFium cannot render stays a page without text
        return {}
    return {n: text for n, text in found.items() if text.strip()}


def _pages_phrase(numbers: list[int]) -> str:
    listed = ", ".join(str(n) for n in numbers[:10]) + (" …" if len(numbers) > 10 else "")
    return f"sida {listed}" if len(numbers) == 1 else f"sidorna {listed}"


def _pdf_labels(reader) -> list[str | None] | None:
    try:
        if "/PageLabels" not in reader.root_object:
            return None
        return [str(label) for label in reader.page_labels]
    except Exception:  # labels are a nicety; a broken number tree must not fail the file
        return None


def _pdf_outline(reader) -> dict[str, int]:
    titles: dict[str, int] = {}

    def walk(items, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                title = getattr(item, "title", None)
                if isinstance(title, str) and title.strip():
                    titles.setdefault(normalise_heading(strip_invisible(title)), depth)

    try:
        walk(reader.outline, 1)
    except Exception:  # an outline is optional; a broken one only loses heading levels
        return {}
    return titles


_JUNK_TITLE = re.compile(r"(?:^microsoft \w+ - |\.(?:docx?|pdf|odt|rtf|txt)$|^untitled$)", re.I)


def _pdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # unreadable metadata (pdf-samples 017) must not fail the file
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(strip_invisible(title).split())
    return title if title and not _JUNK_TITLE.search(title) else None


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
