"""An index folder on disk: builds under `builds/`, each with a JSON manifest that records its
settings and a checksum per file, and a `CURRENT` pointer switched atomically with
`os.replace`, so a reader sees the old build or the new one, never a mix."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
"""The manifest's own SHA-256, so a damaged manifest is detected like any other file (builds
from before it existed have none and are read without it)."""
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
        if name not in (MANIFEST, MANIFEST_CHECKSUM):
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
    write_json_atomic(staging_dir / MANIFEST_CHECKSUM, sha256_file(staging_dir / MANIFEST) + "\n")
    _fsync_tree(staging_dir)
    final = index_dir / BUILDS / manifest["build_id"]
    fallback = _fallback_build(index_dir)
    os.replace(staging_dir, final)
    _fsync_dir(final.parent)
    write_json_atomic(index_dir / CURRENT, manifest["build_id"] + "\n")
    _remove_old_builds(index_dir, keep={manifest["build_id"], fallback})
    return final


def _fallback_build(index_dir: Path) -> str | None:
    """The build to keep beside a new one: the published one if it verifies (not one left
    unpublished by a crash, nor a damaged one), else the newest that verifies."""
    current = current_build(index_dir)
    candidates = [current] if current else []
    candidates += [b for b in _builds_newest_first(index_dir) if b != current]
    for build in candidates:
        try:
            read_manifest(build)
        except IndexUnavailable:
            continue
        return build.name
    return None


def _builds_newest_first(index_dir: Path) -> list[Path]:
    folder = index_dir / BUILDS
    if not folder.is_dir():
        return []
    builds = (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(builds, key=lambda p: p.name, reverse=True)


def _remove_old_builds(index_dir: Path, keep: set[str | None]) -> None:
    for path in _builds_newest_first(index_dir):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    remove_stale_staging(index_dir)


def remove_stale_staging(index_dir: Path) -> None:
    """Delete staging folders that a killed build left behind (call with the build lock)."""
    for path in (index_dir / BUILDS).glob(".staging-*"):
        shutil.rmtree(path, ignore_errors=True)


_BUILD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _read_pointer(index_dir: Path) -> tuple[str | None, str | None]:
    """(build name, None) from CURRENT; (None, None) when there is no CURRENT; (None,
    problem) when it exists but does not name a build folder."""
    pointer = index_dir / CURRENT
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"Pekaren {pointer} går inte att läsa ({exc})."
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = ""
    if not _BUILD_NAME.fullmatch(name):
        return None, f"Pekaren {pointer} är skadad (den namnger ingen indexversion)."
    return name, None


def current_build(index_dir: Path) -> Path | None:
    """The published build folder, or None when there is none or CURRENT is damaged."""
    name, _ = _read_pointer(index_dir)
    return index_dir / BUILDS / name if name else None


def choose_build(index_dir: Path) -> tuple[Path, dict, str | None] | None:
    """The build to serve, its verified manifest and a warning (or None).

    The published build when it verifies. When it is damaged (or CURRENT is), the newest
    other build that verifies, with a Swedish warning that names the damaged file; raises
    IndexUnavailable when no build verifies. Returns None when there is no index at all."""
    name, problem = _read_pointer(index_dir)
    current = index_dir / BUILDS / name if name else None
    builds = _builds_newest_first(index_dir)
    if current is None and problem is None:
        if not builds:
            return None
        problem = f"Pekaren {index_dir / CURRENT} saknas."
    if current is not None and not current.is_dir():
        problem = f"Pekaren {index_dir / CURRENT} är skadad (versionen {name} finns inte)."
        current = None
    if current is not None:
        try:
            return current, read_manifest(current), None
        except IndexUnavailable as exc:
            problem = str(exc)
    for build in builds:
        if build == current:
            continue
        try:
            manifest = read_manifest(build)
        except IndexUnavailable:
            continue
        warning = (
            f"Det senaste indexet kan inte användas: {problem} Sökningen använder i stället "
            f"den föregående versionen ({build.name}, byggd {manifest.get('created', '?')}), "
            "som kan sakna de senaste ändringarna. Bygg om indexet med `strategisok index`."
        )
        return build, manifest, warning
    raise IndexUnavailable(
        f"{problem} Det finns ingen tidigare hel version att falla tillbaka på; bygg om "
        "indexet med `strategisok index`."
    )


def read_manifest(build_dir: Path, verify: bool = True) -> dict:
    """The build's manifest, after checking its format and (with `verify`) every checksum."""
    path = build_dir / MANIFEST
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw.decode("utf-8"))
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
        _verify_manifest_checksum(build_dir, raw)
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise IndexUnavailable(
                f"Indexets manifest {path} är skadat (fillistan saknas). Bygg om indexet med "
                "`strategisok index`."
            )
        for name, entry in files.items():
            file = build_dir / name
            if not _inside(build_dir, name) or not file.is_file():
                raise IndexUnavailable(f"Indexfilen {file} saknas. Bygg om indexet.")
            try:
                intact = file.stat().st_size == entry["size"] and (
                    sha256_file(file) == entry["sha256"]
                )
            except (OSError, KeyError, TypeError):
                intact = False
            if not intact:
                raise IndexUnavailable(
                    f"Indexfilen {file} är skadad (kontrollsumman stämmer inte). Bygg om "
                    "indexet med `strategisok index`."
                )
    return manifest


def _verify_manifest_checksum(build_dir: Path, manifest_bytes: bytes) -> None:
    path = build_dir / MANIFEST_CHECKSUM
    try:
        expected = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return  # a build from before the manifest had a checksum of its own
    except (OSError, UnicodeDecodeError):
        expected = ""
    if hashlib.sha256(manifest_bytes).hexdigest() != expected:
        raise IndexUnavailable(
            f"Indexfilen {build_dir / MANIFEST} eller {path} är skadad (kontrollsumman för "
            "manifestet stämmer inte). Bygg om indexet med `strategisok index`."
        )


def _inside(build_dir: Path, name: str) -> bool:
    return not name.startswith("/") and ".." not in Path(name).parts
