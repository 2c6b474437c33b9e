"""The web app against a real server: more than 50 probes of the file routes (`/fil/…`,
`/kalla`, Gradio's own `/gradio_api/file=`) with `..`, absolute paths, URL-encoded, double-
encoded and mixed-case variants, a symlink out of the corpus, the index files and `.env` —
all refused; an upload over the size limit is refused; a server on a network address without
a login refuses to start; text from documents and questions is escaped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from web_fixtures import HOSTILE, ROOT, Server, free_port, make_corpus

from app.settings import Settings
from index import IndexConfig, build_index

pytestmark = pytest.mark.slow

SECRET = "HEMLIGT-LÖSENORD-4711"
OUTSIDE = "utanfor.txt"
HTML_TITLE = '<img src=x onerror=alert("titel")>'
# Markers of content that must never come back: files outside the corpus, index internals.
LEAKS = (b"root:", b"[project]", SECRET.encode(), b"SQLite format 3", b"format_version")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A corpus with a symlink that points outside it (indexed like any file, since it is
    listed by the scan), a `.env` with a secret, and a document whose title is HTML."""
    base = tmp_path_factory.mktemp("webbsakerhet")
    corpus = make_corpus(base / "corpus")
    (base / OUTSIDE).write_text(
        f"Utanför dokumentmappen. Lösenordet till servern är {SECRET}.\n", encoding="utf-8"
    )
    (corpus / "lank-ut.txt").symlink_to(base / OUTSIDE)
    (corpus / ".env").write_text(f"PASSWORD={SECRET}\n", encoding="utf-8")
    (corpus / "titel.md").write_text("# Om titlar\n\nEn titel kan se ut som kod.\n")
    (corpus / "titel.md.meta.json").write_text(json.dumps({"title": HTML_TITLE}))
    index_dir = base / "index"
    report = build_index(corpus, index_dir, IndexConfig(), progress=False)
    assert not report.failures, report.failures
    build = next(p.name for p in (index_dir / "builds").iterdir())
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as server:
        yield server, corpus, index_dir, build


def _probes(corpus: Path, index_dir: Path, build: str) -> list[str]:
    up = "../index"  # the index folder is the corpus folder's sibling
    return [
        # .. in every spelling
        "fil/../pyproject.toml",
        "fil/../../pyproject.toml",
        "fil/..%2fpyproject.toml",
        "fil/..%2Fpyproject.toml",
        "fil/%2e%2e/pyproject.toml",
        "fil/%2E%2E/pyproject.toml",
        "fil/%2e%2E%2fpyproject.toml",
        "fil/%252e%252e/pyproject.toml",
        "fil/%252e%252e%252fpyproject.toml",
        "fil/..%252fpyproject.toml",
        "fil/..%5cpyproject.toml",
        "fil/..%5Cpyproject.toml",
        "fil/....//pyproject.toml",
        "fil/.%2e/pyproject.toml",
        "fil/%c0%ae%c0%ae/pyproject.toml",
        "fil/%EF%BC%8E%EF%BC%8E/pyproject.toml",
        "fil/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "fil/../../../../../../../../etc/passwd",
        # absolute paths
        "fil//etc/passwd",
        "fil/%2Fetc%2Fpasswd",
        "fil/%2fetc%2fpasswd",
        "fil/%252Fetc%252Fpasswd",
        "fil/etc/passwd",
        f"fil/{corpus}/tjansteutlatande.pdf",
        f"fil/{ROOT}/pyproject.toml",
        "fil/proc/self/environ",
        # the index and its neighbours
        f"fil/{up}/CURRENT",
        f"fil/{up}/builds/{build}/manifest.json",
        f"fil/{up}/builds/{build}/chunks.sqlite",
        f"fil/{up}/cache/embeddings.sqlite",
        f"fil/{up}/.lock",
        f"fil/{index_dir}/CURRENT",
        f"fil/{index_dir}/builds/{build}/manifest.json".replace("/", "%2f"),
        # hidden files, sidecars, a symlink out of the corpus, near-misses of real names
        "fil/.env",
        "fil/%2eenv",
        "fil/%2e%65%6e%76",
        "fil/../.env",
        f"fil/{HOSTILE}.meta.json",
        "fil/lank-ut.txt",
        f"fil/../{OUTSIDE}",
        "fil/TJANSTEUTLATANDE.PDF",
        "fil/Tjansteutlatande.pdf",
        "fil/tjansteutlatande.pdf%00.txt",
        "fil/tjansteutlatande.pdf/",
        "fil/tjansteutlatande.pdf%2f..%2f..%2fpyproject.toml",
        "fil/%2e/tjansteutlatande.pdf",
        "fil/",
        # the passage-in-context page
        "kalla?dok=../pyproject.toml&nr=0",
        "kalla?dok=%2e%2e%2fpyproject.toml&nr=0",
        "kalla?dok=/etc/passwd&nr=0",
        "kalla?dok=.env&nr=0",
        "kalla?dok=lank-ut.txt&nr=99",
        f"kalla?dok={HOSTILE}&nr=999",
        f"kalla?dok={HOSTILE.upper()}&nr=0",
        # Gradio's own file routes
        "gradio_api/file=/etc/passwd",
        "gradio_api/file=%2Fetc%2Fpasswd",
        "gradio_api/file=../../../../etc/passwd",
        f"gradio_api/file={index_dir}/CURRENT",
        f"gradio_api/file={index_dir}/builds/{build}/manifest.json",
        f"gradio_api/file={index_dir}/cache/embeddings.sqlite",
        f"gradio_api/file={corpus}/.env",
        f"gradio_api/file={corpus}/lank-ut.txt",
        f"gradio_api/file={ROOT}/pyproject.toml",
        "gradio_api/file=/proc/self/environ",
        "file=/etc/passwd",
        f"file={index_dir}/CURRENT",
        "static/../../../../etc/passwd",
        "assets/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    ]


def test_file_routes_refuse_everything_outside_the_corpus_documents(site):
    server, corpus, index_dir, build = site
    probes = _probes(corpus, index_dir, build)
    assert len(probes) >= 50
    refused = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("fil/tjansteutlatande.pdf").status_code == 200  # the route works
        for probe in probes:
            # Sent as typed: the client must not normalise "..", "//" or the encodings.
            request = http.build_request("GET", server.url)
            path, _, query = probe.partition("?")
            raw = ("/" + path).encode() + (b"?" + query.encode() if query else b"")
            request.url = request.url.copy_with(raw_path=raw)
            response = http.send(request)
            refused[probe] = response.status_code
            for leak in LEAKS:
                assert leak not in response.content, (probe, leak)
    wrong = {p: s for p, s in refused.items() if s not in (403, 404)}
    assert not wrong, wrong


def test_the_symlinked_document_is_searchable_but_its_file_not_served(site):
    server, *_ = site
    result = Client(server.url, verbose=False).predict("Lösenordet till servern", api_name="/sok")
    # The scan lists the link like any file, so its text is indexed; the original file lies
    # outside the corpus folder and is not handed out.
    assert any(r["source"] == "lank-ut.txt" for r in result["results"])
    assert httpx.get(f"{server.url}fil/lank-ut.txt").status_code == 404


def test_document_titles_and_questions_are_escaped_everywhere(site):
    server, *_ = site
    from app.web import documents_html

    page = documents_html(server.app.state.library)
    assert "<img" not in page and "&lt;img src=x" in page
    hostile = '<script>alert("q")</script><img src=x onerror=alert(1)>'
    context = httpx.get(f"{server.url}kalla", params={"dok": HOSTILE, "nr": 1, "q": hostile})
    assert context.status_code == 200
    assert "<script>alert" not in context.text and "<img src=x" not in context.text
    client = Client(server.url, verbose=False)
    history, _ = client.predict(hostile, [], [], [], None, None, [], "hybrid", 5, api_name="/fraga")
    shown = "".join(str(m["content"]) for m in history)
    assert "<script" not in shown and "<img" not in shown
    wording = client.predict(hostile, [], [], None, None, [], api_name="/formuleringar")
    assert "<script" not in wording and "<img" not in wording


def test_an_upload_over_the_size_limit_is_refused(tmp_path):
    from web_fixtures import copy_of_index

    corpus, index_dir = copy_of_index(tmp_path)
    before = sorted(p.name for p in corpus.iterdir())
    big = tmp_path / "stor.txt"
    big.write_bytes(b"Stor remiss. " * 120_000)  # 1.56 MB
    with Server(
        Settings(corpus=corpus, index_dir=index_dir), allow_upload=True, max_upload_mb=1
    ) as server:
        with big.open("rb") as stream:
            response = httpx.post(
                f"{server.url}gradio_api/upload", files={"files": ("stor.txt", stream)}, timeout=30
            )
        assert response.status_code == 413, response.text
        assert "size" in response.text.lower()
    assert sorted(p.name for p in corpus.iterdir()) == before
    # Past Gradio, the app's own check says it in Swedish (the browser shows it).
    from app.web_upload import save_uploads

    result = save_uploads([(big, "stor.txt")], corpus, 1_000_000)
    assert result.messages == ["✗ stor.txt: filen är 1.6 MB; största tillåtna storlek är 1 MB."]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_serve_refuses_a_network_address_without_login(host):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--host", host, "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "krävs inloggning" in done.stderr and "--auth" in done.stderr
    assert "Traceback" not in done.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens
