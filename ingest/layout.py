"""Page layout of a PDF read as a person reads it: which lines are page furniture (running
headers and footers, found by their place at the top or bottom of the page and by repeating
across pages, whatever their length), which are footnotes, which are headings and the title
(by type size and weight, joined over line breaks), and which are the body.

`read_page_lines` turns a pypdf page into positioned `Line`s; `lay_out` is a pure function
over those lines, so tests can feed it hand-made pages."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

# The top and bottom 12 % of a page hold headers and footers (Word and LibreOffice put them
# within 2.5 cm of the edge of an A4 page: 8.4 %).
_BAND = 0.12
# A line at least this much larger than the body text, or bold at nearly its size, is set as
# a heading; one this much smaller below all body text is a footnote.
_HEADING_SIZE = 1.12
_BOLD_HEADING_SIZE = 0.9
_FOOTNOTE_SIZE = 0.85
_SUPERSCRIPT_SIZE = 0.8
_MAX_HEADING_CHARS = 220
_MAX_HEADING_LINES = 3
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_REFERENCE = re.compile(r"^\d{1,3}$")
# "1Jfr artikel 36": a footnote's number glued to its first word.
_FOOTNOTE_NUMBER = re.compile(r"^(\d{1,3})(?=[A-ZÅÄÖ])")
_FOOTNOTE_START = re.compile(r"^(\d{1,3}) (?=[^\d\s])")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:sida|sid|s\.|page)\s*\d+\s*(?:\(\s*\d+\s*\)|(?:av|/|of)\s*\d+)?"
    r"|\d+\s*(?:\(\s*\d+\s*\)|(?:av|/)\s*\d+)|[-–—]?\s*\d{1,3}\s*[-–—]?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    """One line of a page as pypdf lays it out: its text, the baseline height of its first
    run (PDF units from the page's bottom), the type size most of its characters have, and
    whether most of them are bold. `references` are the spans (start, end, number) of small
    digits glued to a word: footnote references, or exponents."""

    text: str
    y: float
    size: float
    bold: bool = False
    references: tuple[tuple[int, int, str], ...] = ()
    x: float = 0.0
    cells: tuple[tuple[float, str], ...] = ()
    """Where pypdf put a gap between runs (a lone space run), the line's parts and their
    left edges: cells, when the lines around it share those edges."""


@dataclass(frozen=True)
class PageLines:
    lines: tuple[Line, ...]
    bottom: float = 0.0
    height: float = 842.0


@dataclass(frozen=True)
class Layout:
    """What `lay_out` found: per page the body text (lines joined by newlines, headings
    joined over their line breaks) and the footnotes; the headings with their levels; the
    title; the furniture lines (first-seen form)."""

    pages: tuple[str, ...]
    footnotes: tuple[tuple[str, ...], ...]
    headings: dict[str, int] = field(default_factory=dict)
    title: str | None = None
    furniture: tuple[str, ...] = ()
    line_lengths: tuple[int | None, ...] = ()
    """Per page, the length of a full line where the page is set in columns (else None)."""


def read_page_lines(page) -> tuple[str, PageLines]:
    """The text pypdf extracts from `page` (unchanged) and the same text as positioned lines;
    raises what pypdf raises."""
    runs: list[tuple[str, float, float, bool, float]] = []
    append = runs.append
    bold_fonts: dict[int, bool] = {}

    def visit(text, cm, tm, font, size) -> None:
        # Called for every run of text on the page: only what the layout needs is kept
        # (the baseline and left edge in page space, the type size, bold or not).
        if not text:
            return
        key = id(font)
        bold = bold_fonts.get(key)
        if bold is None:
            name = str(font.get("/BaseFont", "")) if font else ""
            bold = bold_fonts[key] = bool(_BOLD_FONT.search(name))
        t2, t3, t4, t5 = tm[2], tm[3], tm[4], tm[5]
        c0, c1, c2, c3 = cm[0], cm[1], cm[2], cm[3]
        a, b = t2 * c0 + t3 * c2, t2 * c1 + t3 * c3
        scale = (a * a + b * b) ** 0.5 or 1.0
        append(
            (
                text,
                t4 * c1 + t5 * c3 + cm[5],
                float(size or 0) * scale,
                bold,
                t4 * c0 + t5 * c2 + cm[4],
            )
        )

    text = page.extract_text(visitor_text=visit) or ""
    box = page.mediabox
    bottom, height = float(box.bottom), float(box.height)
    return text, PageLines(tuple(_lines_from_runs(runs)), bottom, height)


def _lines_from_runs(runs: Sequence[tuple[str, float, float, bool, float]]) -> list[Line]:
    lines: list[Line] = []
    pieces: list[tuple[str, float, float, bool, float]] = []

    def finish() -> None:
        if len(pieces) == 1:  # most lines are one run: nothing to weigh
            piece, y, size, bold, x = pieces[0]
            pieces.clear()
            if piece.strip():
                lines.append(Line(piece.rstrip("\n"), y, round(size, 1), bold, (), x))
            elif not lines or lines[-1].text:
                lines.append(Line("", 0.0, 0.0))
            return
        text = "".join(piece[0] for piece in pieces)
        if not text.strip():
            pieces.clear()
            if text or not lines or lines[-1].text:
                lines.append(Line("", 0.0, 0.0))
            return
        sizes: dict[float, int] = {}
        bold = total = 0
        for piece, _, size, is_bold, _ in pieces:
            weight = len(piece.strip())
            key = round(size, 1)
            sizes[key] = sizes.get(key, 0) + weight
            total += weight
            bold += weight if is_bold else 0
        dominant = max(sizes, key=sizes.__getitem__) if sizes else 0.0
        first = next(p for p in pieces if p[0].strip())
        # Small digits glued to the end of a word may be a footnote reference ("planen2."):
        # their place is kept, and `lay_out` drops them where the page has that footnote
        # (elsewhere they are exponents and units: "km2", "r2").
        references: list[tuple[int, int, str]] = []
        offset = 0
        small = _SUPERSCRIPT_SIZE * dominant
        for index, (piece, _, size, _, _) in enumerate(pieces):
            if size < small and index and _REFERENCE.match(piece.strip()):
                before = text[offset - 1] if offset else " "
                if not before.isspace():
                    start = offset + piece.index(piece.strip())
                    references.append((start, start + len(piece.strip()), piece.strip()))
            offset += len(piece)
        lines.append(
            Line(
                text.rstrip("\n"),
                first[1],
                dominant,
                bold * 2 > (total or 1),
                tuple(references),
                first[4],
                _cells(pieces) if len(pieces) >= 3 else (),
            )
        )
        pieces.clear()

    for run in runs:
        text = run[0]
        while "\n" in text:
            before, _, text = text.partition("\n")
            if before:
                pieces.append((before, *run[1:]))
            finish()
        if text:
            pieces.append((text, *run[1:]))
    if pieces:
        finish()
    return lines


def _cells(pieces: Sequence[tuple[str, float, float, bool, float]]) -> tuple:
    cells: list[tuple[float, str]] = []
    current: list[str] = []
    start = pieces[0][4] if pieces else 0.0
    for piece, _, _, _, x in pieces:
        if piece and not piece.strip() and current:
            cells.append((start, "".join(current)))
            current, start = [], x
            continue
        if not current:
            start = x
        current.append(piece)
    if current:
        cells.append((start, "".join(current)))
    cells = [(x, " ".join(text.split())) for x, text in cells if text.strip()]
    return tuple(cells) if len(cells) >= 2 else ()


_MAX_CELL_CHARS = 40


def _table_rows(lines: list[Line]) -> list[Line]:
    """Lines whose cells start at the same left edges as a neighbouring line's are rows of a
    table: their cells are joined with " | " so that a row reads as one."""

    def edges(line: Line) -> tuple[float, ...] | None:
        if not line.cells or any(len(text) > _MAX_CELL_CHARS for _, text in line.cells):
            return None
        return tuple(x for x, _ in line.cells[1:])

    def same(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
        return (
            a is not None and b is not None and len(a) == len(b)
            and all(abs(p - q) < 1.5 for p, q in zip(a, b, strict=True))
        )  # fmt: skip

    marks = [edges(line) for line in lines]
    result = []
    for i, line in enumerate(lines):
        neighbours = [marks[j] for j in (i - 1, i + 1) if 0 <= j < len(lines)]
        if marks[i] is not None and any(same(marks[i], other) for other in neighbours):
            line = replace(line, text=" | ".join(text for _, text in line.cells), references=())
        result.append(line)
    return result


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split())).casefold()


def _body_size(pages: Sequence[PageLines]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            if line.text.strip():
                sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _in_band(line: Line, page: PageLines) -> bool:
    if not page.height:
        return False
    position = (line.y - page.bottom) / page.height
    return position >= 1 - _BAND or position <= _BAND


def _has_positions(page: PageLines) -> bool:
    return len({round(line.y) for line in page.lines if line.text.strip()}) >= 2


def find_furniture(pages: Sequence[PageLines], body_size: float = 0.0) -> list[set[int]]:
    """Per page, the indexes of its furniture lines: lines in the top or bottom band that
    recur (digits aside) in that band on at least half of the pages, and at least two;
    page-number lines in the band; and the small print at the very edge of a page (a
    first page's own address footer, a one-page letter's header), see `_edge_print`."""
    counts: Counter[str] = Counter()
    for page in pages:
        if _has_positions(page):
            counts.update(
                {
                    _key(line.text)
                    for line in page.lines
                    if line.text.strip() and _in_band(line, page)
                }
            )
    threshold = max(2, (len(pages) + 1) // 2)
    found: list[set[int]] = []
    for page in pages:
        drop: set[int] = set()
        if _has_positions(page):
            for i, line in enumerate(page.lines):
                if not line.text.strip() or not _in_band(line, page):
                    continue
                if counts[_key(line.text)] >= threshold or _PAGE_NUMBER.match(line.text.strip()):
                    drop.add(i)
            if body_size:
                drop |= _edge_print(page, body_size)
        found.append(drop)
    return found


_EDGE = 0.08


def _edge_print(page: PageLines, body_size: float) -> set[int]:
    """Lines set smaller than the body in the outer 8 % of the page, contiguous from the
    edge inwards: a footer or header. A footnote (a small number opening it) and the lines
    that continue one are never among them."""
    filled = [(i, line) for i, line in enumerate(page.lines) if line.text.strip()]
    small = _FOOTNOTE_SIZE * body_size
    found: set[int] = set()
    upwards = sorted(filled, key=lambda item: item[1].y)
    for position, (i, line) in enumerate(upwards):
        if (line.y - page.bottom) > _EDGE * page.height or line.size > small:
            break
        if _starts_footnote(line.text):
            break
        above = upwards[position + 1][1] if position + 1 < len(upwards) else None
        if (
            above is not None
            and _starts_footnote(above.text)
            and above.y - line.y <= 1.6 * max(line.size, 1.0)
        ):
            break  # the second line of a footnote
        found.add(i)
    top = page.bottom + page.height
    for i, line in sorted(filled, key=lambda item: -item[1].y):
        if (top - line.y) > _EDGE * page.height or line.size > small:
            break
        found.add(i)
    return found


def _starts_footnote(text: str) -> bool:
    return bool(_FOOTNOTE_START.match(text.strip()) or _FOOTNOTE_NUMBER.match(text.strip()))


def _can_be_heading(text: str) -> bool:
    """Large or bold text that reads as a heading: words, not a formula or a lead-in."""
    letters = sum(c.isalpha() for c in text)
    return letters >= 3 and letters * 2 >= len(text.replace(" ", "")) and text[-1] not in ".,;:"


def _without_references(line: Line, numbers: set[str]) -> Line:
    """The line without the footnote references whose footnotes are on its page."""
    spans = [(start, end) for start, end, number in line.references if number in numbers]
    if not spans:
        return line
    text = line.text
    for start, end in reversed(spans):
        text = text[:start] + text[end:]
    return replace(line, text=text, references=())


def _flush_group(
    group: list[Line], page: int, groups: list[tuple[int, int, str, float, bool]], out: list[str]
) -> None:
    """Emit a run of heading-styled lines as one line (a heading wrapped over line breaks)."""
    if not group:
        return
    text = " ".join(" ".join(line.text.split()) for line in group)
    groups.append((page, len(groups), text, group[0].size, group[0].bold))
    out.append(text)
    group.clear()


def lay_out(pages: Sequence[PageLines], outline: dict[str, int] | None = None) -> Layout:
    """Separate furniture, footnotes, headings and the title from the body of each page.

    Typographic headings are found only where the document sets some lines apart by size or
    weight; `outline` (normalised heading text → level, from PDF bookmarks) gives levels
    where it names a heading. Returns a `Layout`.
    """
    body_size = _body_size(pages)
    furniture_indexes = find_furniture(pages, body_size)
    furniture: dict[str, str] = {}
    page_texts: list[str] = []
    page_footnotes: list[tuple[str, ...]] = []
    groups: list[tuple[int, int, str, float, bool]] = []

    def is_heading_style(line: Line) -> bool:
        if not body_size or not line.text.strip() or len(line.text) > _MAX_HEADING_CHARS:
            return False
        if line.size >= _HEADING_SIZE * body_size:
            return True
        return line.bold and line.size >= _BOLD_HEADING_SIZE * body_size

    for number, (page, drop) in enumerate(zip(pages, furniture_indexes, strict=True)):
        for i in drop:
            text = " ".join(page.lines[i].text.split())
            if not _PAGE_NUMBER.match(text):
                furniture.setdefault(_key(text), text)
        lines = [line for i, line in enumerate(page.lines) if i not in drop]
        body_lines = [
            line for line in lines if line.text.strip() and line.size >= _FOOTNOTE_SIZE * body_size
        ]
        lowest_body = min((line.y for line in body_lines), default=None)
        notes: list[str] = []
        kept: list[Line] = []
        for line in lines:
            small = line.text.strip() and body_size and line.size < _FOOTNOTE_SIZE * body_size
            below = lowest_body is not None and line.y < lowest_body and _has_positions(page)
            if small and below:
                text = _FOOTNOTE_NUMBER.sub(r"\1 ", " ".join(line.text.split()), count=1)
                if _FOOTNOTE_START.match(text) or not notes:
                    notes.append(text)
                else:
                    notes[-1] += " " + text
                continue
            kept.append(line)
        page_footnotes.append(tuple(notes))
        numbers = {m.group(1) for m in map(_FOOTNOTE_START.match, notes) if m}
        kept = _table_rows([_without_references(line, numbers) for line in kept])

        out: list[str] = []
        group: list[Line] = []

        # Bold cells of a table row share their baseline with the row's other cells; a
        # heading stands alone on its line (in columns, the other column may share it).
        baselines = Counter(round(line.y) for line in kept if line.text.strip())
        columns = _column_line_length(page, body_size) is not None
        for line in kept:
            if is_heading_style(line) and (columns or baselines[round(line.y)] == 1):
                previous = group[-1] if group else None
                continues = (
                    previous is not None
                    and abs(previous.size - line.size) < 0.2
                    and previous.bold == line.bold
                    and 0 < previous.y - line.y <= 1.8 * line.size
                    and len(group) < _MAX_HEADING_LINES
                    and previous.text.rstrip()[-1:] not in ".:;!?"
                )
                if not continues:
                    _flush_group(group, number, groups, out)
                group.append(line)
                continue
            _flush_group(group, number, groups, out)
            out.append(line.text)
        _flush_group(group, number, groups, out)
        page_texts.append("\n".join(out))

    # The title is the first line group of the first page when it is set larger than every
    # heading after it.
    title: str | None = None
    if groups and groups[0][0] == 0 and len(groups[0][2].split()) >= 2:
        first_size = groups[0][3]
        if first_size >= _HEADING_SIZE * body_size and all(
            size < first_size - 0.5 for _, _, _, size, _ in groups[1:]
        ):
            title = groups[0][2]
            groups = groups[1:]
    headings: dict[str, int] = {}
    groups = [group for group in groups if _can_be_heading(group[2])]
    sizes = sorted({(round(size, 1), bold) for _, _, _, size, bold in groups}, reverse=True)
    for _, _, text, size, bold in groups:
        key = " ".join(text.split()).casefold()
        level = (outline or {}).get(key) or sizes.index((round(size, 1), bold)) + 1
        headings.setdefault(key, level)
    return Layout(
        tuple(page_texts),
        tuple(page_footnotes),
        headings,
        title,
        tuple(furniture.values()),
        tuple(_column_line_length(page, body_size) for page in pages),
    )


_COLUMN_MIN_LINES = 5
_COLUMN_GAP = 100.0


def _column_line_length(page: PageLines, body_size: float) -> int | None:
    """For a page set in two or more columns (body lines starting at two left edges far
    apart, each with several lines), the length of a full column line; else None."""
    starts: Counter[int] = Counter()
    lengths: dict[int, list[int]] = {}
    for line in page.lines:
        if line.text.strip() and abs(line.size - body_size) < 0.5:
            edge = round(line.x / 5) * 5
            starts[edge] += 1
            lengths.setdefault(edge, []).append(len(line.text.strip()))
    edges = sorted(edge for edge, count in starts.items() if count >= _COLUMN_MIN_LINES)
    if len(edges) < 2 or edges[-1] - edges[0] < _COLUMN_GAP:
        return None
    column = sorted(n for edge in edges for n in lengths[edge])
    return column[min(len(column) - 1, int(len(column) * 0.8))]
