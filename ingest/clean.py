"""Pure text clean-up for text extracted from Swedish office PDFs and plain-text exports:
invisible characters, running headers, hyphenated line ends, glued tokens, re-flowed lines
and sentences cut by page breaks. Every function takes and returns plain values."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from ingest.models import Block

# Zero-width space/non-joiner/joiner, word joiner, BOM and the bidi marks that Word and
# web copy-paste leave behind; they break phrase search without being visible. Also the bidi
# embeddings, overrides and isolates (U+202A–E, U+2066–9: "Trojan Source" text that reads
# differently from how it displays), invisible operators, the Mongolian vowel separator,
# the combining grapheme joiner and the tag characters (U+E0000–E007F) that can smuggle
# hidden instructions into a passage.
_INVISIBLE = re.compile(
    "[\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\U000e0000-\U000e007f]"
)
# A soft hyphen at a line end marks a word broken across lines: the halves belong together.
_SOFT_HYPHEN_BREAK = re.compile("\u00ad[ \t]*\n[ \t]*")
# Latin ligatures (fi, fl, ...) come out of LaTeX and InDesign PDFs and hide words from search.
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
     "\ufb05": "st", "\ufb06": "st",
     # Word's Symbol and Wingdings bullets are private-use characters in the PDF's font.
     "\uf0b7": "•", "\uf0a7": "▪"}
)  # fmt: skip

_HAS_LIGATURE = re.compile("[\ufb00-\ufb06\uf0a7\uf0b7]")

TERMINAL_PUNCTUATION = ".!?:;…"
_LOWER = "a-zåäöéèüæøáàíóúß"
_UPPER = "A-ZÅÄÖÉÈÜÆØÁÀÍÓÚ"

# Suspended compounds ("vatten- och avloppsplan") keep their hyphen: the next word is a
# conjunction, not the rest of the broken word.
_SUSPENSION_WORDS = frozenset({"och", "eller", "samt", "respektive", "resp", "till", "som", "men"})


def strip_invisible(text: str) -> str:
    """Normalise line ends and Unicode (NFC), drop invisible characters, expand ligatures."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SOFT_HYPHEN_BREAK.sub("", text)
    text = text.replace("\u00ad", "")
    text = _INVISIBLE.sub("", text)
    if _HAS_LIGATURE.search(text):
        text = text.translate(_LIGATURES)
    return unicodedata.normalize("NFC", text)


# `**Till**` glued to the preceding token is a bold run that the PDF-to-text step marked up;
# in the seed it is the "Till" label of the recipient, so it belongs on its own line.
_GLUED_BOLD = re.compile(r"(?<=\S)\*\*([^*\n]+?)\*\*")
_BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")
# A long lowercase run glued to a capitalised word is two lines that lost their break
# ("FörvaltningschefAnn-Charlotte"). Requiring six lowercase letters spares brand names such
# as PowerPoint, YouTube and LinkedIn.
_GLUED_WORDS = re.compile(rf"(?<=[{_LOWER}]{{6}})(?=[{_UPPER}][{_LOWER}])")


def split_glued_tokens(text: str) -> str:
    """Separate tokens that extraction glued together.

    `08-508 264 01**Till**` becomes two lines, "08-508 264 01" and "Till";
    "FörvaltningschefAnn-Charlotte" becomes "Förvaltningschef Ann-Charlotte".
    """

    def own_line(match: re.Match[str]) -> str:
        end = match.end()
        after = "" if end >= len(text) or text[end] == "\n" else "\n"
        return "\n" + match.group(1).strip() + after

    text = _GLUED_BOLD.sub(own_line, text)
    text = _BOLD.sub(r"\1", text)
    return _GLUED_WORDS.sub(" ", text)


_PAGE_NUMBER_LINE = re.compile(
    r"^(?:"
    r"(?:sida|sid|s\.|page)\s*\d+\s*(?:\(\s*\d+\s*\)|(?:av|/|of)\s*\d+)?"
    r"|\d+\s*(?:\(\s*\d+\s*\)|(?:av|/)\s*\d+)"
    r"|[-–—]?\s*\d{1,3}\s*[-–—]?"
    r")$",
    re.IGNORECASE,
)
_EDGE_LINES = 3
# Running headers are short labels; a long line or a finished sentence is body text even when
# it happens to recur (a short last page can repeat a sentence that differs only in digits).
_MAX_HEADER_CHARS = 100


def is_page_number_line(line: str) -> bool:
    """True for page-number-only lines: "Sida 2 (7)", "Sida 2 av 7", "2 (7)", "- 3 -", "12"."""
    return bool(_PAGE_NUMBER_LINE.match(line.strip()))


def _header_key(line: str) -> str:
    # Digits vary from page to page ("Sida 2 (7)", dates), the words around them do not.
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def _edge_indexes(lines: Sequence[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    head, tail = filled[:_EDGE_LINES], filled[-_EDGE_LINES:]
    return sorted(set(head) | set(tail))


def _may_be_header(line: str) -> bool:
    line = line.strip()
    return len(line) <= _MAX_HEADER_CHARS and line[-1] not in TERMINAL_PUNCTUATION


def remove_running_headers(pages: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """Remove running headers and footers from page texts.

    A line among the first or last three non-blank lines of a page is a running header when
    (with digits normalised) it recurs at the edge of at least half of the pages, and at least
    two. Page-number lines at a page edge are always dropped. Returns the cleaned pages and
    the distinct running headers in first-seen form (page numbers excluded), so that
    metadata can still read a diarienummer or date from them.
    """
    page_lines = [page.split("\n") for page in pages]
    seen_on = Counter()
    for lines in page_lines:
        seen_on.update(
            {_header_key(lines[i]) for i in _edge_indexes(lines) if _may_be_header(lines[i])}
        )
    threshold = max(2, (len(pages) + 1) // 2)
    repeating = {key for key, count in seen_on.items() if count >= threshold}

    kept_headers: dict[str, str] = {}
    cleaned: list[str] = []
    for lines in page_lines:
        drop: set[int] = set()
        for i in _edge_indexes(lines):
            line = lines[i].strip()
            if is_page_number_line(line):
                drop.add(i)
            elif _header_key(line) in repeating:
                drop.add(i)
                kept_headers.setdefault(_header_key(line), " ".join(line.split()))
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned, tuple(kept_headers.values())


_HYPHEN_BREAK = re.compile(rf"(\w)[-\u2010]\n[ \t]*([\w{_UPPER}])")
_WORD_BEFORE = re.compile(r"\w+$")
# Zipf frequency (log10 per billion words) from which a joined form counts as a Swedish
# word, and from which a compound of the first half with the tail of the word after the
# conjunction shows a suspended compound ("hälso- samt miljöeffekterna": hälsoeffekterna).
_WORD_ZIPF = 2.0
_COMPOUND_ZIPF = 1.0


@functools.cache
def swedish_zipf() -> Callable[[str], float] | None:
    """Frequency of a word in Swedish (wordfreq's list), or None when wordfreq is missing."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # without the lexicon the conjunction rule alone decides
        return None

    @functools.lru_cache(maxsize=65536)
    def zipf(word: str) -> float:
        return zipf_frequency(word, "sv")

    return zipf


def _is_suspended_compound(first: str, conjunction: str, after: str) -> bool:
    """Whether "first-" + line break + conjunction is a suspended compound ("vatten- och
    avloppsplan") rather than one word broken at its hyphen ("ra-\\nmen", "här-\\ntill")."""
    zipf = swedish_zipf()
    if zipf is None or zipf((first + conjunction).casefold()) < _WORD_ZIPF:
        return True
    # "hälso- samt miljöeffekterna" is a suspension although "hälsosamt" is a word:
    # the first half joins the tail of the word that follows.
    after = after.casefold()
    return any(
        zipf(first.casefold() + after[i:]) >= _COMPOUND_ZIPF for i in range(1, len(after) - 2)
    )


def rejoin_hyphenated(text: str) -> str:
    """Rejoin words hyphenated at a line end.

    "stads-\\nutveckling" → "stadsutveckling"; a suspended compound keeps its hyphen
    ("vatten-\\noch avloppsplan" → "vatten- och avloppsplan"), decided with a Swedish lexicon
    where the conjunction could also end the word ("ra-\\nmen" → "ramen", "här-\\ntill
    kommer" → "härtill kommer"); so does a hyphen after an uppercase letter, a digit or a
    one-letter prefix ("EU-\\nkommissionen", "e-\\ntjänster").
    """

    def join(match: re.Match[str]) -> str:
        before, first = match.group(1), match.group(2)
        following = re.match(r"(\w+)\W*(\w*)", text[match.start(2) :])
        word = following.group(1) if following else ""
        first_half = _WORD_BEFORE.search(text, 0, match.start(1) + 1)
        half = first_half.group(0) if first_half else before
        if word.casefold() in _SUSPENSION_WORDS and _is_suspended_compound(
            half, word, following.group(2) if following else ""
        ):
            return f"{before}- {first}"
        if before.isupper() or before.isdigit() or not first.islower() or len(half) == 1:
            return f"{before}-{first}"
        return before + first

    return _DASH_BREAK.sub(r"\1\2\3", _HYPHEN_BREAK.sub(join, text))


# "2021–\n2027": a range of years or pages broken after its dash.
_DASH_BREAK = re.compile(r"(\d)([–—])\n[ \t]*(\d)")


_LIST_ITEM = re.compile(r"^(?:[•·▪‣◦*–-]\s|\d{1,2}[.)]\s|[a-z][.)]\s)")
# A line at 60 % of the typical width or more was wrapped (ragged-right text varies that
# much); one ending a sentence below 85 % of it is a paragraph's last line.
_WRAP_FACTOR = 0.6
_LAST_LINE_FACTOR = 0.85
# Pages of nothing but short lines (lists, letterheads) have no meaningful line width.
_MIN_TYPICAL_LENGTH = 50
_MIN_COLUMN_LENGTH = 20
# Lines much longer than a printed line mean the text was never hard-wrapped (one line per
# paragraph, as in the seed): then a full line is a whole paragraph, never a wrapped one.
_UNWRAPPED_LENGTH = 150


def typical_line_length(text: str) -> int:
    """The length of a full line of body text: the 80th percentile of non-blank lines."""
    lengths = sorted(len(line.strip()) for line in text.split("\n") if line.strip())
    if not lengths:
        return 0
    return lengths[min(len(lengths) - 1, int(len(lengths) * 0.8))]


def reflow_paragraphs(
    text: str,
    typical_length: int | None = None,
    is_heading_line: Callable[[str], bool] = lambda line: False,
    could_be_heading: Callable[[str], bool] = lambda line: False,
    narrow_columns: bool = False,
    is_table_row: Callable[[str], bool] = lambda line: False,
) -> list[str]:
    """Re-flow one page of extracted lines into paragraphs.

    Blank lines separate paragraphs. Without them, layout decides: a full-width line wraps
    into the next one; a clearly shorter line ending in terminal punctuation ends its
    paragraph; a short line without it (an address, a signature) stays a line of its own
    within the paragraph. A line for which `is_heading_line` is true always stands alone; so
    does a line for which `could_be_heading` is true when it opens a paragraph and a
    full-width line of body text follows it. With `narrow_columns` the typical length is a
    measured column width and is trusted however short. Lines for which `is_table_row` is
    true (a PDF table's rows) form a paragraph of their own, one row per line.
    """
    typical = typical_length if typical_length is not None else typical_line_length(text)
    typical = max(typical, _MIN_COLUMN_LENGTH if narrow_columns else _MIN_TYPICAL_LENGTH)
    unwrapped = typical > _UNWRAPPED_LENGTH
    paragraphs: list[str] = []
    current = ""

    def flush() -> None:
        nonlocal current
        if current.strip():
            paragraphs.append(current.strip())
        current = ""

    lines = [line.strip() for line in text.split("\n")]
    in_table = False
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not line:
            flush()
            in_table = False
            continue
        if is_table_row(line):
            if not in_table:
                flush()
            current = f"{current}\n{line}" if current else line
            in_table = True
            continue
        if in_table:
            flush()
            in_table = False
        standalone = is_heading_line(line) or (
            not current
            and not _is_full_line(line, typical)
            and _is_full_line(following, typical)
            and could_be_heading(line)
        )
        if standalone:
            flush()
            paragraphs.append(line)
            continue
        if current:
            current += _line_separator(current, typical, unwrapped)
        current += line
        if following and _ends_paragraph(line, following, typical, unwrapped):
            flush()
    flush()
    return paragraphs


def _is_full_line(line: str, typical: int) -> bool:
    return len(line) >= _WRAP_FACTOR * typical


def _ends_paragraph(line: str, following: str, typical: int, unwrapped: bool) -> bool:
    finished = line[-1] in TERMINAL_PUNCTUATION
    if unwrapped:
        return finished or _is_full_line(line, typical)
    if len(line) >= _LAST_LINE_FACTOR * typical:
        return finished and bool(_LIST_ITEM.match(following))
    return finished


def _line_separator(current: str, typical: int, unwrapped: bool) -> str:
    previous_line = current.rsplit("\n", 1)[-1]
    if _is_full_line(previous_line, typical) and not unwrapped:
        return " "
    return "\n"


def join_cut_sentences(
    blocks: Sequence[Block],
    full_last_line: Collection[int] = (),
    is_heading: Callable[[str], bool] = lambda line: False,
) -> list[Block]:
    """Join paragraphs that a page break (or extraction) cut mid-sentence.

    A paragraph that ends without terminal punctuation, followed by one that starts with a
    lowercase letter, is one sentence: they are joined with a space (or without one when the
    first ends in a word broken by a hyphen). So is one that ends a page in `full_last_line`
    (pages whose last line runs the full width without ending a sentence) followed by the
    next page's first paragraph starting with a capital ("samverkan med" / "Trafikverket"),
    unless that paragraph is a heading. Headings are never joined.
    """
    joined: list[Block] = []
    for block in blocks:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and previous.kind == "paragraph"
            and block.kind == "paragraph"
            and previous.text[-1] not in TERMINAL_PUNCTUATION
            and (
                block.text[0].islower()
                or _continues_over_page(previous, block, full_last_line, is_heading)
            )
        ):
            if previous.text[-1] in "-\u2010":
                text = rejoin_hyphenated(previous.text + "\n" + block.text)
            else:
                text = previous.text + " " + block.text
            page_end = block.page_end or block.page or previous.page_end
            joined[-1] = replace(previous, text=text, page_end=page_end)
        else:
            joined.append(block)
    return joined


def _continues_over_page(
    previous: Block, block: Block, full_last_line: Collection[int], is_heading
) -> bool:
    last_page = previous.page_end or previous.page
    return (
        last_page is not None
        and last_page in full_last_line
        and block.page == last_page + 1
        and block.text[0].isupper()
        and (previous.text[-1].isalnum() or previous.text[-1] == ",")
        and not is_heading(block.text.split("\n", 1)[0])
    )
