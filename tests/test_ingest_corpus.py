from __future__ import annotations

import hashlib
import json

import pytest
from conftest import CORPUS_DIR, SEED_SOURCE

from ingest import SUPPORTED_EXTENSIONS, IngestError, load_document, scan_corpus


def _tree(root, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_supported_extensions():
    assert (
        frozenset({".pdf", ".docx", ".txt", ".md", ".markdown", ".html", ".htm"})
        == SUPPORTED_EXTENSIONS
    )


def test_scan_lists_files_recursively_sorted_and_skips_hidden_and_sidecars(tmp_path):
    _tree(
        tmp_path,
        {
            "b.txt": b"B",
            "a/z.md": b"# Z",
            "a/c.pdf": b"%PDF",
            "a/c.pdf.meta.json": b"{}",
            ".dold.txt": b"x",
            ".git/config": b"x",
            "a/.cache/x.txt": b"x",
            "kalkyl.xlsx": b"x",
        },
    )
    files = scan_corpus(tmp_path)
    assert [f.source for f in files] == ["a/c.pdf", "a/z.md", "b.txt", "kalkyl.xlsx"]
    b = files[2]
    assert b.path == tmp_path / "b.txt"
    assert b.size == 1
    assert b.content_hash == hashlib.sha256(b"B").hexdigest()


def test_editing_a_sidecar_changes_the_content_hash(tmp_path):
    _tree(tmp_path, {"r.txt": b"Text."})
    plain = scan_corpus(tmp_path)[0].content_hash
    (tmp_path / "r.txt.meta.json").write_text('{"title": "A"}')
    with_a = scan_corpus(tmp_path)[0].content_hash
    (tmp_path / "r.txt.meta.json").write_text('{"title": "B"}')
    with_b = scan_corpus(tmp_path)[0].content_hash
    assert len({plain, with_a, with_b}) == 3
    assert load_document(tmp_path, "r.txt").content_hash == with_b


def test_seed_document_loads_with_scan_hash():
    files = {f.source: f for f in scan_corpus(CORPUS_DIR)}
    doc = load_document(CORPUS_DIR, SEED_SOURCE)
    assert doc.source == SEED_SOURCE
    assert doc.content_hash == files[SEED_SOURCE].content_hash
    assert doc.warnings == ()


def test_sidecar_overrides_extracted_metadata(tmp_path):
    _tree(
        tmp_path,
        {
            "remisser/svar.txt": (CORPUS_DIR / SEED_SOURCE).read_bytes(),
            "remisser/svar.txt.meta.json": json.dumps(
                {"title": "Svar på remiss om internationell strategi", "diarienummer": "E2016-123"}
            ).encode(),
        },
    )
    metadata = load_document(tmp_path, "remisser/svar.txt").metadata
    assert metadata.title == "Svar på remiss om internationell strategi"
    assert metadata.diarienummer == "E2016-123"
    assert metadata.organisation == "Exploateringsnämnden"


def test_invalid_sidecar_stops_the_file(tmp_path):
    _tree(tmp_path, {"r.txt": b"Text.", "r.txt.meta.json": b'{"doc_type": "rapport"}'})
    with pytest.raises(IngestError) as caught:
        load_document(tmp_path, "r.txt")
    assert "r.txt.meta.json" in caught.value.reason and "doc_type" in caught.value.reason
