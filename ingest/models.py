"""The records that ingest hands on: a source file becomes a `Document` of blocks, which the
chunker turns into `Chunk`s. Frozen and plain, so every later stage can trust them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DOC_TYPES = ("strategi", "remissvar", "remiss", "policy", "annat")
"""Document types: strategi, remissvar (incl. tjänsteutlåtande), remiss, policy (incl.
riktlinje) and annat."""


@dataclass(frozen=True)
class Block:
    """One heading or paragraph of cleaned text, in reading order.

    `page` is the 1-based physical page where the block starts (None for formats without
    pages); `page_label` the printed label of that page where the PDF defines one.
    """

    kind: Literal["heading", "paragraph"]
    text: str
    page: int | None = None
    page_label: str | None = None
    level: int = 1
    page_end: int | None = None


@dataclass(frozen=True)
class DocumentMetadata:
    title: str
    doc_type: str = "annat"
    organisation: str | None = None
    date: str | None = None
    diarienummer: str | None = None
    page_count: int | None = None
    running_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One source file: `source` is its path relative to the corpus folder, `/`-separated."""

    source: str
    content_hash: str
    metadata: DocumentMetadata
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Chunk:
    """A passage as it is indexed and shown. `text` is exactly what a user sees."""

    chunk_id: str
    source: str
    ordinal: int
    section_path: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    page_label: str | None
    text: str

    @property
    def section(self) -> str | None:
        return " > ".join(self.section_path) or None


class IngestError(Exception):
    """A file that cannot be ingested. `reason` is a plain Swedish sentence for the user.
    `keep_previous` is False when what the index already holds of the file must go too (a
    file that is no longer allowed in, not one that merely fails to read)."""

    def __init__(self, source: str, reason: str, keep_previous: bool = True):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.keep_previous = keep_previous
