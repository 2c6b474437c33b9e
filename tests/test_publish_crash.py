"""Publishing survives a crash at every step: a build killed before, during or after each
rename of `publish` leaves an index folder whose chosen build verifies without a warning
(the old one until CURRENT is switched, the new one after), and the next publish cleans up.
Complements tests/test_crash_safety.py, whose random kills rarely land inside `publish`."""

from __future__ import annotations

import os
import shutil

import pytest

from index.manifest import BUILDS, choose_build, publish


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after it in `publish` runs."""


def _stage(index_dir, text: str):
    staging = index_dir / BUILDS / f".staging-{text}"
    (staging / "lexical").mkdir(parents=True)
    (staging / "chunks.sqlite").write_text(text)
    (staging / "lexical" / "data.npy").write_text(text * 3)
    return staging


def _publish(index_dir, text: str, build_id: str):
    manifest = {"format_version": 1, "build_id": build_id, "created": build_id}
    return publish(index_dir, _stage(index_dir, text), manifest)


@pytest.mark.parametrize("function", ["replace", "rmtree"])
def test_a_crash_at_any_step_of_publish_leaves_a_whole_build(tmp_path, monkeypatch, function):
    # How many calls of `function` one publish makes, with two builds already there.
    probe = tmp_path / "probe"
    _publish(probe, "ett", "20200101T000000Z")
    _publish(probe, "två", "20200102T000000Z")
    target = os if function == "replace" else shutil
    real = getattr(target, function)
    calls = []
    monkeypatch.setattr(target, function, lambda *a, **k: (calls.append(a), real(*a, **k))[1])
    _publish(probe, "tre", "20200103T000000Z")
    monkeypatch.undo()
    assert calls, function

    for step in range(len(calls) + 1):
        index_dir = tmp_path / f"{function}-{step}"
        _publish(index_dir, "ett", "20200101T000000Z")
        _publish(index_dir, "två", "20200102T000000Z")
        seen = []

        def crashing(*args, _seen=seen, _step=step, **kwargs):
            _seen.append(args)
            if len(_seen) > _step:
                raise Crash
            return real(*args, **kwargs)

        monkeypatch.setattr(target, function, crashing)
        try:
            _publish(index_dir, "tre", "20200103T000000Z")
            crashed = False
        except Crash:
            crashed = True
        monkeypatch.undo()
        build, _, warning = choose_build(index_dir)
        assert warning is None, (function, step, warning)
        assert build.name in ("20200102T000000Z", "20200103T000000Z"), (function, step)
        assert (build / "chunks.sqlite").read_text() in ("två", "tre")
        assert crashed or step == len(calls)
        # The next run publishes and leaves no staging folder and at most two builds.
        _publish(index_dir, "fyra", "20200104T000000Z")
        build, _, warning = choose_build(index_dir)
        assert build.name == "20200104T000000Z" and warning is None
        assert not list((index_dir / BUILDS).glob(".staging-*"))
        assert len(list((index_dir / BUILDS).iterdir())) == 2
