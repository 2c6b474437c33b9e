"""Shared by the web tests: a small real corpus (the bundled remiss answer, the two-page PDF
and a strategy written to be hostile: script tags, markdown links), indexed once per test
session with the bundled model, and a real server on a free loopback port."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import uvicorn

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
REMISS_ANSWER = "exploateringskontoret-remissvar-internationell-strategi-2016-09-22.txt"
HOSTILE = "strategi-for-test.md"
HOSTILE_TEXT = """# Strategi för digital samverkan

## Inledning

Strategin för digital samverkan gäller alla nämnder och bolagsstyrelser i staden.
Kommunstyrelsen har inget att erinra mot att bolagen följer samma digitala principer.

## Säkerhet

Text som ser ut som kod ska visas som text: <script>alert("xss")</script> och
[klicka här](javascript:alert(1)) och <img src=x onerror=alert(2)> är bara ord i dokumentet.

## Uppföljning

Digital samverkan följs upp årligen av kommunstyrelsen genom en särskild rapport om
bolagens och nämndernas digitala arbete.
"""
HOSTILE_META = {
    "title": "Strategi för digital samverkan",
    "doc_type": "strategi",
    "organisation": "Kommunstyrelsen",
    "date": "2020-05-01",
}


def make_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "corpus" / REMISS_ANSWER, folder / REMISS_ANSWER)
    shutil.copy(DATA / "tjansteutlatande-tva-sidor.pdf", folder / "tjansteutlatande.pdf")
    (folder / HOSTILE).write_text(HOSTILE_TEXT, encoding="utf-8")
    (folder / (HOSTILE + ".meta.json")).write_text(json.dumps(HOSTILE_META), encoding="utf-8")
    return folder


@cache
def built_index() -> tuple[Path, Path]:
    """(corpus, index) built once per test session; callers copy it before changing it."""
    from index import IndexConfig, build_index

    base = Path(tempfile.mkdtemp(prefix="strategisok-web-"))
    corpus = make_corpus(base / "corpus")
    index_dir = base / "index"
    report = build_index(corpus, index_dir, IndexConfig(), progress=False)
    assert not report.failures, report.failures
    return corpus, index_dir


def copy_of_index(target: Path) -> tuple[Path, Path]:
    """A private copy of the session's corpus and index, for tests that change them. The
    index is rebuilt from the copied corpus (only the embedding cache is reused), so the
    build's recorded corpus folder is the copy."""
    from index import IndexConfig, build_index

    corpus, index_dir = built_index()
    shutil.copytree(corpus, target / "corpus")
    shutil.copytree(index_dir, target / "index")
    build_index(target / "corpus", target / "index", IndexConfig(), progress=False)
    return target / "corpus", target / "index"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app served by uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, settings: Settings, **options):
        from app.web import ServeOptions, create_app

        self.app = create_app(settings, ServeOptions(**options))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
