"""Every real-world sample PDF either loads or is reported with a Swedish reason; none may
crash a run. Reads ../shared/data/pdf-samples."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest import IngestError, load_document

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "data" / "pdf-samples"

pytestmark = pytest.mark.slow


def test_every_sample_pdf_loads_or_is_reported():
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent: the shared sample PDFs are not available here")
    pdfs = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*.pdf"))
    assert pdfs
    started = time.perf_counter()
    loaded, reported = [], {}
    for source in pdfs:
        try:
            doc = load_document(SAMPLES, source)
        except IngestError as error:
            reported[source] = error.reason
            continue
        assert doc.blocks, source
        loaded.append(source)
    elapsed = time.perf_counter() - started
    print(f"\n{len(loaded)} loaded, {len(reported)} reported in {elapsed:.1f} s")
    for source, reason in reported.items():
        print(f"  {source}: {reason}")
    assert elapsed < 60
    assert "005-libreoffice-writer-password/libreoffice-writer-password.pdf" in reported
    assert all(reason[0].islower() or reason.startswith("PDF") for reason in reported.values())
    assert len(loaded) >= len(pdfs) // 2
