"""Reading scanned PDF pages with Tesseract's Swedish model: a page is rendered at 300 dpi
with PDFium (pypdfium2) and read by the `tesseract` program (pytesseract). Runs inside the
PDF worker process (ingest.isolation), so its time and memory limits hold.

The text of each page is cached by the PDF's content hash and the page number, so a second
index run, or another copy of the same file, reads nothing twice. OCR is on by default;
`strategisok index --no-ocr` or STRATEGISOK_OCR=0 turns it off (`configure`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DPI = 300
LANGUAGE = "swe"
_CACHE_VERSION = "1"
_OFF = {"0", "false", "no", "nej", "off"}


@dataclass(frozen=True)
class OcrOptions:
    """Whether scanned pages are read, and where their text is cached (None: no cache)."""

    enabled: bool = True
    cache_dir: str | None = None


_options = OcrOptions(enabled=os.environ.get("STRATEGISOK_OCR", "1").strip().casefold() not in _OFF)


def configure(enabled: bool, cache_dir: Path | str | None = None) -> None:
    """Set this process's OCR options (the CLI does, from --no-ocr and the index folder)."""
    global _options
    _options = OcrOptions(enabled, str(cache_dir) if cache_dir is not None else None)


def current_options() -> OcrOptions:
    return _options


def ocr_available() -> bool:
    """True when pytesseract, pypdfium2, the tesseract program and its Swedish model are
    installed (`make ocr-deps` installs them)."""
    try:
        import pypdfium2  # noqa: F401
        import pytesseract
    except ImportError:
        return False
    if shutil.which("tesseract") is None:
        return False
    try:
        return LANGUAGE in pytesseract.get_languages(config="")
    except Exception:  # a broken tesseract install is the same as none
        return False


class OcrUnavailable(Exception):
    """OCR was wanted but Tesseract or its Swedish model is not installed."""


def ocr_pages(
    data: bytes,
    page_numbers: list[int],
    options: OcrOptions,
    progress: Callable[[], None] | None = None,
) -> dict[int, str]:
    """The text of the given 1-based pages of the PDF `data`, read by OCR; `progress` is
    called before each page is rendered (a page takes seconds).

    Pages whose text is cached are not rendered again. Raises OcrUnavailable when Tesseract
    is missing, and what PDFium raises for a page it cannot render."""
    digest = hashlib.sha256(data).hexdigest()
    found: dict[int, str] = {}
    missing: list[int] = []
    for number in page_numbers:
        cached = _read_cache(options.cache_dir, digest, number)
        if cached is None:
            missing.append(number)
        else:
            found[number] = cached
    if not missing:
        return found
    if not ocr_available():
        raise OcrUnavailable
    import pypdfium2 as pdfium
    import pytesseract

    document = pdfium.PdfDocument(data)
    try:
        for number in missing:
            if progress is not None:
                progress()
            page = document[number - 1]
            image = page.render(scale=DPI / 72, grayscale=True).to_pil()
            text = pytesseract.image_to_string(image, lang=LANGUAGE)
            found[number] = text
            _write_cache(options.cache_dir, digest, number, text)
    finally:
        document.close()
    return found


def _cache_path(cache_dir: str, digest: str, number: int) -> Path:
    return Path(cache_dir) / digest[:2] / f"{digest}-{number}-{DPI}-{LANGUAGE}-{_CACHE_VERSION}.txt"


def _read_cache(cache_dir: str | None, digest: str, number: int) -> str | None:
    if not cache_dir:
        return None
    try:
        return _cache_path(cache_dir, digest, number).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_cache(cache_dir: str | None, digest: str, number: int, text: str) -> None:
    if not cache_dir:
        return
    path = _cache_path(cache_dir, digest, number)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".part"
        ) as stream:
            stream.write(text)
        os.replace(stream.name, path)
    except OSError:  # a cache that cannot be written only costs time next run
        return
