"""Document structure from plain paragraphs: which lines are headings (and at what level),
where the title and the letterhead are, for the formats that carry no markup (PDF, TXT)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from ingest.models import Block

# Headings of a Swedish tjänsteutlåtande, remiss or strategy; when such a line stands alone it
# is a heading even where the layout gives no hint.
_KNOWN_HEADINGS = re.compile(
    r"^(?:bakgrund|ärendet|ärendets beredning|beredning|förslag till beslut|beslut|"
    r"sammanfattning|sammanfattning av ärendet|bilagor|bilaga(?: \d+)?|yttrande|"
    r"inledning|syfte|syfte och mål|mål|uppdrag|uppdraget|ansvar|uppföljning|"
    r"konsekvenser|ekonomiska konsekvenser|slutsats(?:er)?|överväganden|bedömning|"
    r"beslutsunderlag|skäl för beslut|remissinstanser|synpunkter|"
    r"[\w-]*(?:kontorets|förvaltningens|nämndens|styrelsens) (?:synpunkter|bedömning|"
    r"förslag|yttrande|kommentarer|slutsatser))$",
    re.IGNORECASE,
)
# Short capitalised lines that are labels of a letterhead or an end marker, not headings.
_NOT_HEADINGS = re.compile(
    r"^(?:till|från|handläggare|datum|dnr|diarienummer|sida|slut|kopia|tel|telefon|e-post|"
    r"vår referens|er referens|tjänsteutlåtande|till nämnden|sekreterare|justeras)\b",
    re.IGNORECASE,
)
# Signature lines: a role such as "Förvaltningschef" ("... Ann-Charlotte Bergqvist" after it
# when extraction glued the next signature on).
_ROLE = re.compile(
    r"^(?:[\w-]*(?:chef|direktör|sekreterare|ordförande|handläggare|strateg|utredare|jurist|"
    r"controller|samordnare))\b",
    re.IGNORECASE,
)
_PERSON_NAME = re.compile(
    r"^[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ][a-zåäöéü]+)?(?: [A-ZÅÄÖÉ][\w-]+){1,2}$"
)
# "2.1 Bakgrund", "3 Konsekvenser", "2.1. Syfte"; "1. Text" is ambiguous with a list item.
_ORGANISATION_NAME = re.compile(
    r"^[A-ZÅÄÖ][\wåäö-]*(?:nämnden|förvaltningen|kontoret|departementet|styrelsen|kansliet)$"
)
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)(\.?)\s+(\S.*)$")
_DATE_OR_NUMBER = re.compile(r"^[\d\s\-/.:,()+]+$")
# "Stockholm den 22 september 2016" closes a letter; a dated line is never a heading.
_CONTAINS_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\b\d{1,2} (?:januari|februari|mars|april|maj|juni|juli|augusti|"
    r"september|oktober|november|december) \d{4}\b",
    re.IGNORECASE,
)
_MAX_HEADING_WORDS = 10
_MAX_HEADING_CHARS = 80
_TITLE_SEARCH_LINES = 15


def normalise_heading(text: str) -> str:
    """The form in which heading texts are compared (outline titles against lines)."""
    return " ".join(text.split()).casefold()


def section_number_level(line: str) -> int | None:
    """The depth of a section number that opens `line` ("2.1 Bakgrund" → 2), else None."""
    match = _SECTION_NUMBER.match(line)
    if not match:
        return None
    number, dot, rest = match.groups()
    depth = number.count(".") + 1
    if depth == 1 and dot and not _KNOWN_HEADINGS.match(rest):
        # "1. Internationell strategi för Stockholms stad" is a numbered list item.
        return None
    return depth


def is_strong_heading(line: str, outline: Mapping[str, int] | None = None) -> bool:
    """A line that is a heading wherever it stands: a known tjänsteutlåtande heading, a
    title from the PDF outline, or a short numbered section heading ("2.1 Bakgrund")."""
    line = line.strip()
    if outline and normalise_heading(line) in outline:
        return True
    if not _is_short_unpunctuated(line):
        return False
    if _KNOWN_HEADINGS.match(line):
        return True
    numbered = _SECTION_NUMBER.match(line)
    if numbered is None or section_number_level(line) is None:
        return False
    # "1 Bakgrund" and "2.1 Syfte": numbered known headings and numbered subsections.
    rest = numbered.group(3)
    return bool(_KNOWN_HEADINGS.match(rest)) or ("." in numbered.group(1) and rest[0].isupper())


def looks_like_heading(line: str) -> bool:
    """A short, capitalised line without terminal punctuation that is not a letterhead label,
    a signature, a date or a number: a heading when it stands alone."""
    line = line.strip()
    if not _is_short_unpunctuated(line) or _DATE_OR_NUMBER.match(line):
        return False
    if _CONTAINS_DATE.search(line):
        return False
    if _KNOWN_HEADINGS.match(line):
        return True
    if _NOT_HEADINGS.match(line) or _ROLE.match(line) or _PERSON_NAME.match(line):
        return False
    if _ORGANISATION_NAME.match(line):
        return False  # "Kulturförvaltningen" alone on a line is the letterhead's sender
    if section_number_level(line) is not None:
        return True
    return line[0].isupper() and any(c.isalpha() for c in line)


def _is_short_unpunctuated(line: str) -> bool:
    return (
        bool(line)
        and "\n" not in line
        and len(line) <= _MAX_HEADING_CHARS
        and len(line.split()) <= _MAX_HEADING_WORDS
        and line[-1] not in ".,;:"
    )


def heading_level(line: str, outline: Mapping[str, int] | None = None) -> int:
    """The level of a heading line: from the PDF outline, else its section number, else 1."""
    if outline and normalise_heading(line) in outline:
        return outline[normalise_heading(line)]
    return section_number_level(line) or 1


_LETTERHEAD_LABEL = re.compile(
    r"^(?:handläggare|till|från|datum|dnr|diarienummer|sida|tel|telefon|e-post|kopia|"
    r"vår referens|er referens|tjänsteutlåtande|bilaga|sid)\b",
    re.IGNORECASE,
)


# "Anders Hallberg Exploateringsnämnden": a letterhead row (handläggare and recipient).
_PERSON_AND_ORGANISATION = re.compile(
    r"^[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ][a-zåäöéü]+)? [A-ZÅÄÖÉ][\wåäö-]+ "
    r"[A-ZÅÄÖ][\wåäö-]*(?:nämnden|förvaltningen|kontoret|departementet|styrelsen)$"
)


def looks_like_title(line: str) -> bool:
    """A line that can be a document title: 3–25 words, capitalised, not ending in a comma,
    colon or semicolon, and not a letterhead line (labels, dates, phone numbers, e-mail)."""
    line = line.strip()
    words = line.split()
    return (
        3 <= len(words) <= 25
        and len(line) <= 200
        and line[0].isupper()
        and line[-1] not in ",;:."
        and "@" not in line
        and " | " not in line
        and not _LETTERHEAD_LABEL.match(line)
        and not _PERSON_AND_ORGANISATION.match(line)
        and not _KNOWN_HEADINGS.match(line)
        and not is_strong_heading(line)
        and sum(c.isdigit() for c in line) < len(line) / 3
    )


def find_title(blocks: Sequence[Block]) -> tuple[int, int] | None:
    """Where the title is among the opening lines: (block index, line index), or None.

    Only the lines before the first strong heading and within the first fifteen lines are
    considered, so that a title is never taken from the body.
    """
    seen = 0
    for b, block in enumerate(blocks):
        for n, line in enumerate(block.text.split("\n")):
            if seen >= _TITLE_SEARCH_LINES or is_strong_heading(line):
                return None
            if looks_like_title(line):
                return b, n
            seen += 1
    return None


def is_known_heading(line: str) -> bool:
    """A line that names a standard section of a tjänsteutlåtande, remiss or strategy."""
    line = line.strip()
    return _is_short_unpunctuated(line) and bool(_KNOWN_HEADINGS.match(line))


def _locate_title(blocks: Sequence[Block], title_text: str) -> tuple[int, int] | None:
    wanted = normalise_heading(title_text)
    for b, block in enumerate(blocks[:_TITLE_SEARCH_LINES]):
        for n, line in enumerate(block.text.split("\n")):
            if normalise_heading(line) == wanted:
                return b, n
    return None


def build_blocks(
    paragraphs: Sequence[Block],
    outline: Mapping[str, int] | None = None,
    heading_test: Callable[[str], bool] | None = None,
    title_text: str | None = None,
) -> tuple[list[Block], str | None]:
    """Turn the re-flowed paragraphs of a PDF or text file into headings and paragraphs.

    The title line is split out as a paragraph of its own; it and the letterhead lines before
    it (handläggare, phone, "Till" and recipient, date) stay paragraphs so they neither become
    headings nor enter any section path. After that, a single-line paragraph that looks like
    a heading becomes one. Signature lines ("Håkan Falk", "Förvaltningschef") fail that test
    and remain text of the section they close (in the seed, "Förslag till beslut"), which is
    where a reader of the decision expects them. `heading_test`, where given, decides alone
    which single-line paragraphs are headings (the PDF's typography knows); `title_text` is
    a title already known (from the typography), located among the opening blocks.
    Returns the blocks and the title, if found.
    """
    blocks = list(paragraphs)
    title: str | None = None
    front_end = 0
    found = _locate_title(blocks, title_text) if title_text else find_title(blocks)
    if found is not None:
        b, n = found
        lines = blocks[b].text.split("\n")
        title = lines[n]
        parts = ["\n".join(lines[:n]), title, "\n".join(lines[n + 1 :])]
        split = [replace(blocks[b], text=text) for text in parts if text.strip()]
        blocks[b : b + 1] = split
        front_end = b + (1 if n == 0 else 2)

    result = blocks[:front_end]
    for block in blocks[front_end:]:
        text = block.text
        if heading_test is not None:
            is_heading = "\n" not in text and heading_test(text)
        else:
            is_heading = "\n" not in text and (
                is_strong_heading(text, outline) or looks_like_heading(text)
            )
        if is_heading:
            result.append(
                replace(block, kind="heading", level=heading_level(text, outline), page_end=None)
            )
        else:
            result.append(block)
    return result, title
