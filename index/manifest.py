"""An index folder on disk: builds under `builds/`, each with a JSON manifest that records its
settings and a checksum per file, and a `CURRENT` pointer switched atomically with
`os.replace`, so a reader sees the old build or the new one, never a mix."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
BUILDS = "builds"
KEEP_BUILDS = 2  # the published build and the one before it, to fall back on


class IndexUnavailable(Exception):
    """The index cannot be used; the message says why and what to do."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_entries(build_dir: Path) -> dict[str, dict]:
    """Checksum and size of every file in a build folder except the manifest."""
    entries = {}
    for path in sorted(p for p in build_dir.rglob("*") if p.is_file()):
        name = path.relative_to(build_dir).as_posix()
        if name != MANIFEST:
            entries[name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return entries


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, value: dict | str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def publish(index_dir: Path, staging_dir: Path, manifest: dict) -> Path:
    """Seal `staging_dir` with its manifest, move it into `builds/` and point CURRENT at it."""
    manifest = {**manifest, "files": file_entries(staging_dir)}
    write_json_atomic(staging_dir / MANIFEST, manifest)
    _fsync_tree(staging_dir)
    final = index_dir / BUILDS / manifest["build_id"]
    os.replace(staging_dir, final)
    _fsync_dir(final.parent)
    write_json_atomic(index_dir / CURRENT, manifest["build_id"] + "\n")
    _remove_old_builds(index_dir, keep=manifest["build_id"])
    return final


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    builds = sorted(
        (p for p in (index_dir / BUILDS).iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    survivors = [p for p in builds if p.name != keep][-(KEEP_BUILDS - 1) :] + [
        index_dir / BUILDS / keep
    ]
    for path in builds:
        if path not in survivors:
            shutil.rmtree(path, ignore_errors=True)
    for path in (index_dir / BUILDS).glob(".staging-*"):
        shutil.rmtree(path, ignore_errors=True)


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / BUILDS / name


def read_manifest(build_dir: Path, verify: bool = True) -> dict:
    """The build's manifest, after checking its format and (with `verify`) every checksum."""
    path = build_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(
            f"Indexets manifest {path} går inte att läsa ({exc}). Bygg om indexet med "
            "`strategisok index`."
        ) from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise IndexUnavailable(
            f"Indexet i {build_dir} har formatversion {version!r}; den här versionen av "
            f"Strategisök läser version {FORMAT_VERSION}. Bygg om indexet med "
            "`strategisok index`."
        )
    if verify:
        for name, entry in manifest.get("files", {}).items():
            file = build_dir / name
            if not file.is_file():
                raise IndexUnavailable(f"Indexfilen {file} saknas. Bygg om indexet.")
            if file.stat().st_size != entry["size"] or sha256_file(file) != entry["sha256"]:
                raise IndexUnavailable(
                    f"Indexfilen {file} är skadad (kontrollsumman stämmer inte). Bygg om "
                    "indexet med `strategisok index`."
                )
    return manifest
