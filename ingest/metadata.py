"""Document metadata read from the text itself (title, document type, organisation, date,
diarienummer) and the user's corrections from a `<file>.meta.json` sidecar."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from ingest.models import DOC_TYPES, Block, DocumentMetadata, IngestError

SIDECAR_SUFFIX = ".meta.json"
SIDECAR_KEYS = ("title", "doc_type", "organisation", "date", "diarienummer")

_MONTHS = {
    "januari": 1, "februari": 2, "mars": 3, "april": 4, "maj": 5, "juni": 6, "juli": 7,
    "augusti": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
}  # fmt: skip
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
_SWEDISH_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})\b", re.IGNORECASE)
_PATH_MONTH = re.compile(r"(?:^|/)((?:19|20)\d{2})/(0[1-9]|1[0-2])(?:/|$)")

_DIARIENUMMER = re.compile(
    r"\b(?:dnr|diarienr|diarienummer)\.?\s*:?\s*"
    r"((?:[A-ZÅÄÖ][A-Za-zåäö]{0,7}[ -]?)?\d{1,6}(?:\s?[-/.:]\s?\d{1,6})+(?:[-/][A-Za-z0-9]+)*)",
    re.IGNORECASE,
)

_ORGANISATION_WORD = (
    # "Miljö- och energidepartementet", "Kultur- och fritidsnämnden": a suspended compound.
    r"(?:[A-ZÅÄÖ][\wåäö]*-(?: och | samt |, )[a-zåäö][\wåäö-]*?|[A-ZÅÄÖ][\wåäöÅÄÖ-]*?)"
    r"(?:nämnden|styrelsen|förvaltningen|kontoret|fullmäktige|"
    r"departementet|nämnd|styrelse|förvaltning|kansliet|länsstyrelsen)"
)
_ORGANISATION = re.compile(rf"\b({_ORGANISATION_WORD})\b")
_RECIPIENT = re.compile(rf"(?:^|\n)Till:?\s*\n?\s*({_ORGANISATION_WORD})\b")
_DEPARTEMENT = re.compile(
    r"\b((?:[A-ZÅÄÖ][\wåäö]*-(?: och | samt |, )[a-zåäö][\wåäö-]*?|[A-ZÅÄÖ][\wåäö-]*?)"
    r"departementet)\b"
)
_BODY_SUFFIX = re.compile(
    r"(?:nämnden|styrelsen|förvaltningen|kontoret|nämnd|styrelse|förvaltning)$", re.IGNORECASE
)
# Regeringskansliet is the umbrella of every department; the department is the sender.
_UMBRELLA = frozenset({"regeringskansliet"})

_REMISSVAR_TITLE = re.compile(
    r"\bremissvar|\bsvar på remiss|\btjänsteutlåtande\b|^yttrande\b|"
    r"\byttrande (?:över|angående|om|till|med anledning)\b",
    re.IGNORECASE,
)
_REMISSVAR_BODY = re.compile(
    r"\btjänsteutlåtande\b|\bremissen besvaras\b|\bsvar på remiss|\bremissvar\b|"
    r"\byttrande över\b",
    re.IGNORECASE,
)
_TYPE_KEYWORDS = (
    ("remiss", re.compile(r"^remiss\b|\bremiss(?:en)?\b|\bremittering\b", re.IGNORECASE)),
    ("policy", re.compile(r"\bpolicy|\briktlinje", re.IGNORECASE)),
    ("strategi", re.compile(r"strategi", re.IGNORECASE)),
)
_FOLDER_TYPES = (
    ("remissvar", re.compile(r"^remissvar|^yttranden?$|^tjänsteutlåtanden?$", re.IGNORECASE)),
    ("remiss", re.compile(r"^remiss", re.IGNORECASE)),
    ("strategi", re.compile(r"^strategi", re.IGNORECASE)),
    ("policy", re.compile(r"^polic|^riktlinj", re.IGNORECASE)),
)
_FRONT_TEXT_CHARS = 2000


# "senast den 31 mars 2023", "före 2021-05-31", "svar ... till och med": a deadline in the
# text, not the date the document was written.
_DEADLINE_CUE = re.compile(
    r"(?:senast|före|innan|till och med|t\.o\.m\.|fr\.o\.m\.|från och med|"
    r"träda i kraft|träder i kraft|trätt i kraft|under|inför)\s+(?:den\s+)?$",
    re.IGNORECASE,
)


def _dates(text: str) -> list[tuple[int, str, bool]]:
    """Every valid date in `text`: (offset, ISO date, whether a deadline cue precedes it)."""
    found: list[tuple[int, str, bool]] = []
    for match in _ISO_DATE.finditer(text):
        iso = _valid_date(int(match[1]), int(match[2]), int(match[3]))
        if iso:
            found.append((match.start(), iso, _is_deadline(text, match.start())))
    for match in _SWEDISH_DATE.finditer(text):
        iso = _valid_date(int(match[3]), _MONTHS[match[2].lower()], int(match[1]))
        if iso:
            found.append((match.start(), iso, _is_deadline(text, match.start())))
    return sorted(found)


def _is_deadline(text: str, offset: int) -> bool:
    return bool(_DEADLINE_CUE.search(text[max(0, offset - 40) : offset]))


def find_date(text: str) -> str | None:
    """The first valid date in `text` as ISO YYYY-MM-DD ("2016-09-22", "17 oktober 2016"),
    passing over deadlines ("senast den 31 mars 2023") unless there is no other date."""
    found = _dates(text)
    own = [iso for _, iso, deadline in found if not deadline]
    if own:
        return own[0]
    return found[0][1] if found else None


def _own_date(text: str) -> str | None:
    """The first date in `text` that is not a deadline, else None."""
    return next((iso for _, iso, deadline in _dates(text) if not deadline), None)


def _valid_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


# Regeringskansliet's numbers stand without a label: a department's letters, the year and a
# running number ("M2022/01873", "Fi2021/00123/S2").
_REGERINGSKANSLIET_DNR = re.compile(
    r"(?<![\w/-])([A-ZÅÄÖ][A-Za-zåäö]{0,2}\d{4}/\d{3,6}(?:/[A-ZÅÄÖ0-9]{1,4})*)(?![\w/-])"
)


def find_diarienummer(text: str) -> str | None:
    """The diarienummer after "Dnr"/"Diarienummer" ("Dnr 171-482/2016" → "171-482/2016",
    "Dnr: KS 2016/123" → "KS 2016/123"), else None."""
    match = _DIARIENUMMER.search(text)
    return " ".join(match.group(1).split()) if match else None


def find_unlabelled_diarienummer(text: str) -> str | None:
    """A Regeringskansliet number standing alone in a letterhead ("M2022/01873"), else None."""
    match = _REGERINGSKANSLIET_DNR.search(text)
    return match.group(1) if match else None


def find_organisation(front_text: str, body_text: str) -> str | None:
    """The organisation behind a document: the sender named in the letterhead and running
    headers (a department rather than Regeringskansliet), not the recipient.

    A tjänsteutlåtande is written by a kontor or förvaltning to its own nämnd, which is the
    one that answers ("Exploateringskontoret … Till Exploateringsnämnden"): then that
    recipient is the organisation, as it is when the letterhead names no one else. For
    government texts without a letterhead, the first departement named anywhere.
    """
    recipient_match = _RECIPIENT.search(front_text)
    recipient = recipient_match.group(1) if recipient_match else None
    senders = [
        match.group(1)
        for match in _ORGANISATION.finditer(front_text)
        if recipient is None or match.group(1) != recipient
    ]
    specific = [name for name in senders if name.casefold() not in _UMBRELLA] or senders
    sender = specific[0] if specific else None
    if recipient is not None and (sender is None or _same_body(sender, recipient)):
        return recipient
    if sender is not None:
        return sender
    match = _DEPARTEMENT.search(body_text)
    return match.group(1) if match else None


def _same_body(sender: str, recipient: str) -> bool:
    """Stadsbyggnadskontoret and Stadsbyggnadsnämnden: a kontor and its own nämnd."""
    stem = _BODY_SUFFIX.sub("", sender).casefold()
    return bool(stem) and stem == _BODY_SUFFIX.sub("", recipient).casefold()


def classify_doc_type(title: str, source: str, front_text: str) -> str:
    """One of DOC_TYPES, from the title (a remissvar cue wins over the strategy it answers),
    the folder the file lies in ("remisser/" → remiss), other title keywords, and finally
    remissvar wording near the start of the text."""
    if _REMISSVAR_TITLE.search(title):
        return "remissvar"
    for folder in PurePosixPath(source).parts[:-1]:
        for doc_type, pattern in _FOLDER_TYPES:
            if pattern.search(folder):
                return doc_type
    for doc_type, pattern in _TYPE_KEYWORDS:
        if pattern.search(title):
            return doc_type
    if _REMISSVAR_BODY.search(front_text):
        return "remissvar"
    return "annat"


def extract_metadata(
    source: str,
    blocks: Sequence[Block],
    title: str | None = None,
    title_hint: str | None = None,
    running_headers: Sequence[str] = (),
    page_count: int | None = None,
) -> DocumentMetadata:
    """Metadata for one document from its blocks.

    `title` is the title the reader found (first markdown heading, DOCX Title style, the
    title line under a letterhead); `title_hint` a weaker one from file properties. Without
    either, the first heading, then the first line, then the file name serve. The letterhead
    (the blocks before the first heading) and the running headers are searched first for
    organisation, date and diarienummer.
    """
    first_heading = next((b for b in blocks if b.kind == "heading"), None)
    front_blocks: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            break
        front_blocks.append(block)
    front_text = "\n".join([*running_headers, *(b.text for b in front_blocks)])
    body_text = "\n".join(b.text for b in blocks)

    chosen = title or title_hint
    if not chosen and first_heading is not None:
        chosen = first_heading.text
    if not chosen and blocks:
        chosen = blocks[0].text.split("\n")[0][:200]
    if not chosen:
        chosen = PurePosixPath(source).stem
    chosen = " ".join(chosen.split())

    # The letterhead's date; else the month in a regeringen.se path; else a date in the
    # text that is not a deadline; a deadline only when nothing else dates the document.
    month = _PATH_MONTH.search(source)
    date = _own_date(front_text)
    if date is None and month:
        date = f"{month[1]}-{month[2]}"
    if date is None:
        date = find_date(front_text) or find_date(body_text)

    return DocumentMetadata(
        title=chosen,
        doc_type=classify_doc_type(chosen, source, body_text[:_FRONT_TEXT_CHARS]),
        organisation=find_organisation(front_text, body_text),
        date=date,
        diarienummer=find_diarienummer(front_text)
        or find_diarienummer(body_text)
        or find_unlabelled_diarienummer(front_text),
        page_count=page_count,
        running_headers=tuple(running_headers),
    )


def sidecar_name(source: str) -> str:
    """The sidecar that corrects a file's metadata: `rapport.pdf` → `rapport.pdf.meta.json`."""
    return source + SIDECAR_SUFFIX


def parse_sidecar(raw: bytes, source: str) -> dict[str, str | None]:
    """Validate the bytes of a metadata sidecar and return its corrections.

    Raises IngestError naming the sidecar and the offending key when the JSON is invalid, a
    key is unknown, a value is not text, the doc_type is not one of DOC_TYPES or the date is
    not YYYY-MM-DD (or YYYY-MM, YYYY).
    """
    name = PurePosixPath(sidecar_name(source)).name
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(
            source, f"metadatafilen {name} är inte giltig JSON ({exc}) – rätta eller ta bort den"
        ) from exc
    if not isinstance(data, dict):
        raise IngestError(
            source, f'metadatafilen {name} ska innehålla ett JSON-objekt, t.ex. {{"title": "…"}}'
        )
    allowed = ", ".join(SIDECAR_KEYS)
    corrections: dict[str, str | None] = {}
    for key, value in data.items():
        if key not in SIDECAR_KEYS:
            raise IngestError(
                source, f'metadatafilen {name} har okänd nyckel "{key}" – tillåtna är {allowed}'
            )
        if value is None and key != "title":
            corrections[key] = None
            continue
        if not isinstance(value, str) or not value.strip():
            raise IngestError(
                source, f'metadatafilen {name}: "{key}" ska vara en text som inte är tom'
            )
        value = " ".join(value.split())
        if key == "doc_type" and value not in DOC_TYPES:
            raise IngestError(
                source,
                f'metadatafilen {name}: "doc_type" är "{value}" men ska vara en av '
                + ", ".join(DOC_TYPES),
            )
        if key == "date" and not _is_partial_iso_date(value):
            raise IngestError(
                source,
                f'metadatafilen {name}: "date" är "{value}" men ska skrivas ÅÅÅÅ-MM-DD '
                "(eller ÅÅÅÅ-MM, ÅÅÅÅ), t.ex. 2016-09-22",
            )
        corrections[key] = value
    return corrections


def _is_partial_iso_date(value: str) -> bool:
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if not match:
        return False
    year, month, day = match.groups()
    return _valid_date(int(year), int(month or 1), int(day or 1)) is not None


def apply_corrections(
    metadata: DocumentMetadata, corrections: Mapping[str, str | None]
) -> DocumentMetadata:
    """The metadata with the sidecar's values in place of the extracted ones."""
    return replace(metadata, **dict(corrections))
