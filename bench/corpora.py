"""Realistic corpora materialised from ../shared/data/regeringen.jsonl.gz into a folder of
Markdown files (`path` → file), so tests, `make eval` and `make bench` index real Swedish text
without committing any of it."""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REGERINGEN = SHARED / "data" / "regeringen.jsonl.gz"
DEV_PATHS = SHARED / "eval" / "dev_corpus_paths.json"
DEV_QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"
HELDOUT_PATHS = SHARED / "data" / "heldout_paths.json"


def shared_missing_reason() -> str | None:
    """Why corpora cannot be made here, or None when ../shared is in place."""
    for path in (REGERINGEN, DEV_PATHS, DEV_QUESTIONS):
        if not path.exists():
            return f"{path} saknas: ../shared (regeringen.jsonl.gz och dev-utvärderingen) behövs"
    return None


def iter_documents(
    paths: Iterable[str] | None = None,
    limit: int | None = None,
    exclude: Iterable[str] = (),
    source: Path = REGERINGEN,
) -> Iterator[dict]:
    """Documents of regeringen.jsonl.gz (or `source`) in file order: only those in `paths`
    if given, never those in `exclude`, at most `limit`."""
    wanted = set(paths) if paths is not None else None
    unwanted = set(exclude)
    count = 0
    with gzip.open(source, "rt", encoding="utf-8") as f:
        for line in f:
            if limit is not None and count >= limit:
                return
            document = json.loads(line)
            path = document["path"]
            if (wanted is None or path in wanted) and path not in unwanted:
                count += 1
                yield document


def materialize(documents: Iterable[dict], destination: Path) -> int:
    """Write each document's text to destination/<path>; returns how many were written."""
    written = 0
    for document in documents:
        target = destination / document["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document["text"], encoding="utf-8")
        written += 1
    return written


def dev_corpus(destination: Path, with_seed: bool = True) -> int:
    """The 2,000-document dev corpus of ../shared/eval, plus the project's corpus/."""
    paths = json.loads(DEV_PATHS.read_text(encoding="utf-8"))
    written = materialize(iter_documents(paths), destination)
    if with_seed:
        for file in (ROOT / "corpus").iterdir():
            if file.is_file():
                shutil.copy2(file, destination / file.name)
                written += 1
    return written


def first_corpus(destination: Path, count: int | None) -> int:
    """The first `count` documents of regeringen.jsonl.gz (all of them for None), written
    once: a marker file beside it records a complete copy, so later runs reuse it as it is."""
    marker = destination.with_name(destination.name + ".complete")
    if marker.exists():
        return int(marker.read_text(encoding="utf-8"))
    if destination.exists():
        shutil.rmtree(destination)  # an interrupted copy
    written = materialize(iter_documents(limit=count), destination)
    marker.write_text(str(written), encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "corpus", choices=["dev", "first"], help="dev: the eval corpus; first: the first N"
    )
    parser.add_argument("destination", type=Path)
    parser.add_argument("-n", type=int, default=1000, help="documents for 'first'")
    args = parser.parse_args()
    reason = shared_missing_reason()
    if reason:
        raise SystemExit(reason)
    if args.corpus == "dev":
        count = dev_corpus(args.destination)
    else:
        count = materialize(iter_documents(limit=args.n), args.destination)
    print(f"{count} documents in {args.destination}")


if __name__ == "__main__":
    main()
