"""The corpus folder on disk: which files it holds, their content hashes, and loading one
file into a `Document` with the reader its extension calls for."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.formats import (
    EMPTY_FILE,
    Extracted,
    read_docx,
    read_html,
    read_markdown,
    read_pdf,
    read_plain_text,
)
from ingest.isolation import ParseLimits, read_pdf_isolated
from ingest.metadata import SIDECAR_SUFFIX, apply_corrections, extract_metadata, parse_sidecar
from ingest.models import Document, IngestError

_READERS: dict[str, Callable[[bytes, str], Extracted]] = {
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".txt": read_plain_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_READERS)
DEFAULT_PDF_LIMITS = ParseLimits()
_UNSUPPORTED = "stödda format är PDF, DOCX, TXT, MD och HTML"


@dataclass(frozen=True)
class SourceFile:
    """One file in the corpus: `source` is its path relative to the corpus folder with `/`
    separators; `content_hash` covers the file and its metadata sidecar, if any."""

    source: str
    path: Path
    size: int
    content_hash: str


def content_hash(data: bytes, sidecar: bytes | None) -> str:
    """sha256 of the file's bytes, followed by its sidecar's bytes when there is one, so that
    editing a sidecar re-indexes the file."""
    return _with_sidecar(hashlib.sha256(data), sidecar)


def _hash_file(path: Path, sidecar: bytes | None) -> str:
    with path.open("rb") as stream:
        return _with_sidecar(hashlib.file_digest(stream, "sha256"), sidecar)


def _with_sidecar(digest, sidecar: bytes | None) -> str:
    if sidecar is not None:
        digest.update(b"\0" + SIDECAR_SUFFIX.encode() + b"\0")
        digest.update(sidecar)
    return digest.hexdigest()


def _read_sidecar(path: Path) -> bytes | None:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        return sidecar.read_bytes() if sidecar.is_file() else None
    except OSError:
        return None


def outside_corpus(corpus_dir: Path, path: Path) -> bool:
    """True when `path`, with every symbolic link on the way followed, lies outside
    `corpus_dir`: a link must not make a file elsewhere on the server searchable."""
    return not path.resolve().is_relative_to(corpus_dir.resolve())


def scan_corpus(corpus_dir: Path) -> list[SourceFile]:
    """Every regular file under `corpus_dir`, recursively, sorted by source.

    Hidden files and folders (names starting with ".") and metadata sidecars are left out;
    files of unsupported types and links that lead out of the corpus folder are listed
    (load_document reports them). Unreadable files are
    listed with an empty hash so that loading reports them too.
    """
    corpus_dir = Path(corpus_dir)
    found: list[SourceFile] = []
    for folder, subfolders, names in os.walk(corpus_dir):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        # os.walk does not descend into linked folders; one that leads out of the corpus is
        # listed so that loading reports it as skipped.
        for name in subfolders:
            path = Path(folder) / name
            if path.is_symlink() and outside_corpus(corpus_dir, path):
                found.append(SourceFile(path.relative_to(corpus_dir).as_posix(), path, 0, ""))
        for name in names:
            path = Path(folder) / name
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or not path.is_file():
                continue
            source = path.relative_to(corpus_dir).as_posix()
            if outside_corpus(corpus_dir, path):
                found.append(SourceFile(source, path, 0, ""))  # never read: see load_document
                continue
            try:
                size = path.stat().st_size
                digest = _hash_file(path, _read_sidecar(path))
            except OSError:
                found.append(SourceFile(source, path, 0, ""))
                continue
            found.append(SourceFile(source, path, size, digest))
    return sorted(found, key=lambda file: file.source)


def load_document(
    corpus_dir: Path, source: str, pdf_limits: ParseLimits | None = DEFAULT_PDF_LIMITS
) -> Document:
    """Read, clean and describe one corpus file.

    `source` is the path relative to `corpus_dir` with `/` separators. Returns a Document
    whose blocks are in reading order. Raises IngestError with a Swedish reason for a file
    that is missing, empty, of an unknown type, encrypted, scanned, corrupt or undecodable,
    and for an invalid metadata sidecar. PDFs are parsed in a worker process within
    `pdf_limits` (time and memory; see ingest.isolation), or in this process when None.
    """
    path = Path(corpus_dir) / source
    if outside_corpus(Path(corpus_dir), path):
        raise IngestError(
            source,
            "länken pekar på en fil utanför dokumentmappen och indexeras inte – kopiera in "
            "filen i dokumentmappen om den ska vara sökbar",
            keep_previous=False,
        )
    extension = path.suffix.lower()
    if extension not in _READERS:
        kind = f"okänd filtyp {extension}" if extension else "filen saknar filändelse"
        raise IngestError(source, f"{kind} – {_UNSUPPORTED}")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(
            source, "filen finns inte längre i mappen – kör indexeringen igen"
        ) from exc
    except OSError as exc:
        raise IngestError(
            source, "filen gick inte att läsa – kontrollera att du har behörighet att öppna den"
        ) from exc
    if not data.strip():
        raise IngestError(source, EMPTY_FILE)
    sidecar = _read_sidecar(path)
    corrections = parse_sidecar(sidecar, source) if sidecar is not None else {}

    if extension == ".pdf" and pdf_limits is not None:
        extracted = read_pdf_isolated(data, source, pdf_limits)
    else:
        extracted = _READERS[extension](data, source)
    if not extracted.blocks:
        raise IngestError(source, EMPTY_FILE)
    metadata = extract_metadata(
        source,
        extracted.blocks,
        title=extracted.title,
        title_hint=extracted.title_hint,
        running_headers=extracted.running_headers,
        page_count=extracted.page_count,
    )
    return Document(
        source=source,
        content_hash=content_hash(data, sidecar),
        metadata=apply_corrections(metadata, corrections),
        blocks=extracted.blocks,
        warnings=extracted.warnings,
    )
