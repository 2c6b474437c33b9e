"""Files staff drop into the app: checked (type, size, content), saved into the corpus folder
under a safe name without ever overwriting a file, then indexed incrementally.

Naming: a file keeps its name made safe (letters incl. åäö, digits, "-", "_", "."). A file
whose exact content is already in the corpus is not saved again. A different file with a
name already taken is saved as name-2.pdf, name-3.pdf …, and the message says so. A file
that cannot be read is removed again and its reason shown."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index import BuildReport

UPLOAD_TYPES = (".pdf", ".docx", ".txt", ".md")
DEFAULT_MAX_UPLOAD_MB = 50
_MAX_NAME = 120


@dataclass
class UploadResult:
    saved: list[tuple[str, str]] = field(default_factory=list)
    """(original name, corpus-relative source) of each file written to the corpus."""
    messages: list[str] = field(default_factory=list)
    """One Swedish line per file: saved, renamed, skipped or refused and why."""


def safe_filename(name: str) -> str:
    """`name` without folders, with only letters, digits, "-", "_" and "." kept (spaces
    become "-"), no leading dot, at most 120 characters; "dokument" if nothing is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "-", stem.replace(" ", "-"), flags=re.UNICODE)
    stem = re.sub(r"-{2,}", "-", stem).strip("-._") or "dokument"
    suffix = re.sub(r"[^\w]", "", suffix).lower()
    stem = stem[: _MAX_NAME - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def shown_name(original: str) -> str:
    """The uploaded file's name as the messages repeat it: without folders, and without
    control and format characters (bidi overrides could make "fdp.exe" read as "exe.pdf")."""
    name = original.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))
    return name[:_MAX_NAME] or "fil"


def check_upload(data_path: Path, name: str, max_bytes: int) -> str | None:
    """Why the file cannot be added (a Swedish sentence), or None when it may be."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        return f"filtypen {suffix or '(ingen)'} stöds inte – ladda upp PDF, DOCX, TXT eller MD."
    size = data_path.stat().st_size
    if size == 0:
        return "filen är tom."
    if size > max_bytes:
        return (
            f"filen är {size / 1e6:.1f} MB; största tillåtna storlek är {max_bytes / 1e6:.0f} MB."
        )
    with data_path.open("rb") as stream:
        head = stream.read(1024)
    if suffix == ".pdf" and b"%PDF-" not in head:
        return "filen är ingen PDF (den saknar PDF-huvud)."
    if suffix == ".docx" and not zipfile.is_zipfile(data_path):
        return "filen är ingen DOCX (Word-dokument); spara den som .docx och försök igen."
    if suffix in (".txt", ".md") and b"\0" in head:
        return "filen ser inte ut att vara text."
    return None


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def save_uploads(
    files: list[tuple[Path, str]],
    corpus_dir: Path,
    max_bytes: int,
    known_hashes: dict[str, str] | None = None,
) -> UploadResult:
    """Check each (temporary path, original name) and copy the good ones into `corpus_dir`.
    `known_hashes` maps the sha256 of documents already indexed to their source, so the
    same content is not added twice."""
    result = UploadResult()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    existing = dict(known_hashes or {})
    for data_path, original in files:
        shown = shown_name(original)
        problem = check_upload(data_path, shown, max_bytes)
        if problem:
            result.messages.append(f"✗ {shown}: {problem}")
            continue
        digest = _sha256(data_path)
        if digest in existing:
            result.messages.append(
                f"– {shown}: finns redan i dokumentmappen som {existing[digest]}; inte sparad igen."
            )
            continue
        name = safe_filename(shown)
        target = _write_new(data_path, corpus_dir, name)
        source = target.relative_to(corpus_dir).as_posix()
        existing[digest] = source
        result.saved.append((shown, source))
        if target.name != name:
            result.messages.append(f"✓ {shown}: sparad som {source} eftersom {name} redan fanns.")
        else:
            result.messages.append(f"✓ {shown}: sparad som {source}.")
    return result


def _write_new(data_path: Path, corpus_dir: Path, name: str) -> Path:
    """Copy to `name`, or name-2, name-3 … — the first that does not exist. Opening with
    O_EXCL makes "does not exist" and "create" one step, so nothing is ever overwritten."""
    stem, suffix = os.path.splitext(name)
    for number in range(1, 10_000):
        candidate = corpus_dir / (name if number == 1 else f"{stem}-{number}{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out, data_path.open("rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        return candidate
    raise OSError(f"inget ledigt filnamn för {name}")


def index_messages(
    saved: list[tuple[str, str]], report: BuildReport, remove: Callable[[str], None]
) -> list[str]:
    """One line per saved file after indexing; a file the index could not read is removed
    from the corpus again (with `remove(source)`) and its reason given."""
    failed = {f.source: f.reason for f in report.failures}
    lines = []
    for shown, source in saved:
        if source in failed:
            remove(source)
            lines.append(f"✗ {shown}: kunde inte läsas – {failed[source]}. Filen togs bort igen.")
        else:
            lines.append(f"✓ {shown}: indexerad och sökbar.")
    return lines
