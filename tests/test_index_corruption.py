"""A damaged index is never served silently: every file of a build truncated, bit-flipped,
zeroed or deleted (and CURRENT damaged) is detected through the manifest's checksums and
named, and the previous build is served with a warning — or, when no build is whole, loading
refuses with a Swedish sentence. Nothing that is read back is unpickled."""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import IndexConfig, IndexUnavailable, SearchIndex, build_index
from index.manifest import BUILDS, CURRENT, current_build

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = next((ROOT / "corpus").glob("*.txt"))
QUESTIONS = (
    "Har kontoret något att erinra mot strategin?",
    "Hur många nätter på hotell betalar nämnden?",
    "Vilka öppettider ska stadsbiblioteket ha?",
)
POLICY = """# Riktlinjer för resor i tjänsten

## Hotell

Hotell bokas genom stadens ramavtal. Nämnden betalar högst 1 500 kronor per natt.
"""
CULTURE = """# Kulturstrategi för Stockholms stad

## Bibliotek

Stadsbiblioteket ska vara öppet sju dagar i veckan och erbjuda läsfrämjande verksamhet för barn.
"""
DAMAGES = ("truncate", "bitflip", "zero", "delete")


def answers(index: SearchIndex, every_mode: bool = True) -> list:
    """What a user would be shown: passages and scores for fixed questions, in every mode
    (or, to save model time where many copies are compared, lexical plus one hybrid)."""
    asked = [(q, m) for q in QUESTIONS for m in ("hybrid", "lexical", "dense")]
    if not every_mode:
        asked = [(q, "lexical") for q in QUESTIONS] + [(QUESTIONS[1], "hybrid")]
    return [
        [(h.chunk.chunk_id, h.chunk.text, h.score) for h in index.search(q, k=3, mode=mode)]
        for q, mode in asked
    ]


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """An index folder whose previous build (resor.md only) differs from the published one
    (resor.md changed, kultur.md added), and what each answers."""
    base = tmp_path_factory.mktemp("korruption")
    corpus, index_dir = base / "corpus", base / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "resor.md").write_text(POLICY, encoding="utf-8")
    build_index(corpus, index_dir, IndexConfig(), progress=False)
    first = current_build(index_dir)
    first_answers = answers(SearchIndex.open(index_dir))
    (corpus / "resor.md").write_text(POLICY.replace("1 500", "1 800"), encoding="utf-8")
    (corpus / "kultur.md").write_text(CULTURE, encoding="utf-8")
    build_index(corpus, index_dir, IndexConfig(), progress=False)
    second = current_build(index_dir)
    second_answers = answers(SearchIndex.open(index_dir))
    assert first != second and first_answers != second_answers
    return index_dir, {first.name: first_answers, second.name: second_answers}


def _lighter(every_mode: list) -> list:
    """The answers(…, every_mode=False) part of a full answers() list."""
    lexical = [every_mode[3 * i + 1] for i in range(len(QUESTIONS))]
    return lexical + [every_mode[3]]


def damage(path: Path, how: str, rng: random.Random) -> None:
    if how == "delete":
        path.unlink()
        return
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "zero":
        data = bytearray(len(data))
    else:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def _files_of(build: Path) -> list[str]:
    return sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())


def test_every_damaged_index_file_is_named_and_the_previous_build_served(two_builds, tmp_path):
    index_dir, expected = two_builds
    published = current_build(index_dir).name
    previous = next(name for name in expected if name != published)
    names = _files_of(index_dir / BUILDS / published)
    assert {"manifest.json", "chunks.sqlite", "dense.faiss"} <= set(names)
    rng = random.Random(11)
    cases = 0
    for name in names:
        for how in DAMAGES:
            copy = tmp_path / f"{cases}"
            shutil.copytree(index_dir, copy)
            damage(copy / BUILDS / published / name, how, rng)
            index = SearchIndex.open(copy)
            cases += 1
            if index.build_dir.name == published:
                # Only losing the manifest's own checksum file leaves a build that is still
                # verified file by file (as builds made before that file existed are).
                assert (name, how) == ("manifest.sha256", "delete"), (name, how)
                assert index.warning is None
                assert answers(index, False) == _lighter(expected[published])
                continue
            assert index.build_dir.name == previous, (name, how)
            assert Path(name).name in index.warning, (name, how, index.warning)
            assert "föregående versionen" in index.warning
            assert answers(index, False) == _lighter(expected[previous]), (name, how)
            shutil.rmtree(copy)
    assert cases == 4 * len(names)


@pytest.mark.parametrize(
    "current",
    [None, b"", b"\x00\x00\x00\x00", b"finns-inte\n", b"../../../etc\n", b"\xff\xfe\n", "flip"],
    ids=["saknas", "tom", "nollor", "okand-build", "utanfor", "binar", "bitflip"],
)
def test_a_damaged_current_pointer_falls_back_to_a_whole_build(two_builds, tmp_path, current):
    index_dir, expected = two_builds
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    pointer = copy / CURRENT
    if current is None:
        pointer.unlink()
    elif current == "flip":
        damage(pointer, "bitflip", random.Random(3))
    else:
        pointer.write_bytes(current)
    index = SearchIndex.open(copy)
    # Whichever whole build is served, it answers exactly as it did when it was published,
    # and the user is told that the pointer was damaged.
    assert answers(index) == expected[index.build_dir.name]
    assert index.warning and "Pekaren" in index.warning, index.warning


def test_no_whole_build_means_a_clear_refusal(two_builds, tmp_path):
    index_dir, _ = two_builds
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    for build in (copy / BUILDS).iterdir():
        damage(build / "dense.faiss", "bitflip", random.Random(5))
    with pytest.raises(IndexUnavailable) as refused:
        SearchIndex.open(copy)
    message = str(refused.value)
    assert "dense.faiss" in message and "är skadad" in message
    assert "Bygg om indexet med `strategisok index`" in message


def test_a_damaged_build_is_rebuilt_and_the_good_one_kept(two_builds, tmp_path):
    index_dir, expected = two_builds
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    published = current_build(copy)
    previous = next(name for name in expected if name != published.name)
    damage(published / "chunks.sqlite", "bitflip", random.Random(8))
    corpus = Path(SearchIndex.open(copy).manifest["corpus_dir"])
    build_index(corpus, copy, IndexConfig(), progress=False)
    index = SearchIndex.open(copy)
    assert index.warning is None and index.build_dir != published
    assert answers(index) == expected[published.name]
    # The whole previous build is what is kept to fall back on, not the damaged one.
    assert sorted(p.name for p in (copy / BUILDS).iterdir()) == sorted(
        [previous, index.build_dir.name]
    )


def test_nothing_read_back_is_unpickled(two_builds, monkeypatch):
    index_dir, _ = two_builds

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used to read the index")

    real_load = np.load

    def load_without_pickle(*args, **kwargs):
        assert not kwargs.get("allow_pickle", False), "np.load with allow_pickle"
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(np, "load", load_without_pickle)
    index = SearchIndex.open(index_dir)
    assert all(answers(index))
    build = index.build_dir
    assert not [n for n in _files_of(build) if n.endswith((".pkl", ".pickle", ".pt", ".joblib"))]
    for npy in build.rglob("*.npy"):
        real_load(npy, allow_pickle=False, mmap_mode="r")  # raises for object arrays
