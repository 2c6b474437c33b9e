"""The web app against a real server: more than 50 probes of the file routes (`/fil/…`,
`/kalla`, Gradio's own `/gradio_api/file=`) with `..`, absolute paths, URL-encoded, double-
encoded and mixed-case variants, a symlink out of the corpus, the index files and `.env` —
all refused; an upload over the size limit is refused; a server on a network address without
a login refuses to start; text from documents and questions is escaped."""

from __future__ import annotations

import html
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    """A corpus with a symlink that points outside it (reported, never read), a `.env` with a
    secret, and a document whose title is HTML."""
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
    assert [f.source for f in report.failures] == ["lank-ut.txt"]
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


def test_a_symlink_out_of_the_corpus_is_neither_indexed_nor_served(site):
    server, _, index_dir, _ = site
    result = Client(server.url, verbose=False).predict("Lösenordet till servern", api_name="/sok")
    assert all(r["source"] != "lank-ut.txt" for r in result["results"])
    assert SECRET not in json.dumps(result, ensure_ascii=False)
    assert httpx.get(f"{server.url}fil/lank-ut.txt").status_code == 404
    context = httpx.get(f"{server.url}kalla", params={"dok": "lank-ut.txt", "nr": 0})
    assert context.status_code == 404 and SECRET not in context.text
    from app.web import documents_html

    listing = documents_html(server.app.state.library)
    assert SECRET not in listing and "lank-ut.txt: länken pekar på en fil utanför" in listing


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
        assert (
            response.text
            == "Filen är för stor för att laddas upp. Största tillåtna storlek är 1 MB per fil."
        )
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


def test_links_out_of_the_corpus_are_reported_and_drop_what_was_indexed(tmp_path):
    """A file that was indexed and is then replaced by a link to a file elsewhere loses its
    passages; a linked folder that leads out is reported, not walked."""
    corpus = make_corpus(tmp_path / "corpus")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "hemlig.txt").write_text(f"Lösenordet är {SECRET}.\n", encoding="utf-8")
    (corpus / "hemlig.txt").write_text(f"Lösenordet är {SECRET}.\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    first = build_index(corpus, index_dir, IndexConfig(), progress=False)
    assert not first.failures
    (corpus / "hemlig.txt").unlink()
    (corpus / "hemlig.txt").symlink_to(elsewhere / "hemlig.txt")
    (corpus / "mapp-ut").symlink_to(elsewhere, target_is_directory=True)
    (corpus / "mapp-in").symlink_to(corpus, target_is_directory=True)  # a loop, not walked
    report = build_index(corpus, index_dir, IndexConfig(), progress=False)
    reasons = {f.source: f for f in report.failures}
    assert set(reasons) == {"hemlig.txt", "mapp-ut"}
    assert all("utanför dokumentmappen" in f.reason for f in reasons.values())
    assert not reasons["hemlig.txt"].kept_previous
    from index import SearchIndex

    index = SearchIndex.open(index_dir)
    assert "hemlig.txt" not in {d.source for d in index.documents()}
    assert not index.search(SECRET, k=5, mode="lexical")
    cli = subprocess.run(
        [sys.executable, "-m", "app", "index", str(corpus), "--index-dir", str(index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        "hemlig.txt" in cli.stdout + cli.stderr
        and "utanför dokumentmappen" in cli.stdout + cli.stderr
    )


# -- the attacks of the penetration test, as they were sent -------------------------------

ACCOUNT = ("anna", "hemligt")


@contextmanager
def _logged_in(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        answer = http.post("login", data={"username": ACCOUNT[0], "password": ACCOUNT[1]})
        assert answer.status_code == 200, answer.text
        yield http


def _call(http: httpx.Client, api_name: str, data) -> httpx.Response:
    """A Gradio API call as a script sends it: POST /gradio_api/call/NAME, then read the
    event stream of its result."""
    started = http.post(f"gradio_api/call/{api_name}", json={"data": data})
    if started.status_code != 200:
        return started
    event = started.json()["event_id"]
    return http.get(f"gradio_api/call/{api_name}/{event}")


def _result_text(answer: httpx.Response) -> str:
    """The values a call's event stream ended with, as one text."""
    data = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    return " ".join(str(json.loads(d)) for d in data)


@pytest.fixture
def upload_site(tmp_path):
    from web_fixtures import copy_of_index

    corpus, index_dir = copy_of_index(tmp_path)
    secret = tmp_path / "serverns-anteckningar.md"
    secret.write_text(f"# Driftanteckningar\n\nLösenordet till databasen är {SECRET}.\n")
    settings = Settings(corpus=corpus, index_dir=index_dir)
    with Server(settings, allow_upload=True, auth=(ACCOUNT,)) as server:
        yield server, corpus, secret


def test_an_uploader_cannot_make_the_server_read_a_file_it_names(upload_site):
    server, corpus, secret = upload_site
    before = sorted(p.name for p in corpus.iterdir())
    named = [{"path": str(secret), "orig_name": "x.md", "meta": {"_type": "gradio.FileData"}}]
    with _logged_in(server) as http:
        for route in ("gradio_api/call/ladda_upp", "gradio_api/run/ladda_upp"):
            answer = http.post(route, json={"data": [named]})
            assert answer.status_code == 403, (route, answer.status_code, answer.text)
            assert "bara filer som du just har laddat upp" in answer.json()["detail"]
        # the same through the page's own channel, by function index
        fn_index = next(
            i for i, fn in server.app.state.blocks.fns.items() if fn.api_name == "ladda_upp"
        )
        joined = http.post(
            "gradio_api/queue/join",
            json={"data": [named], "fn_index": fn_index, "session_hash": "angripare"},
        )
        assert joined.status_code == 403, joined.text
        # a path inside Gradio's upload folder that this server never received is refused too
        from gradio.utils import get_upload_folder

        planted = Path(get_upload_folder()) / "planterad" / "x.md"
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(f"Planterad. {SECRET}\n")
        answer = _call(http, "ladda_upp", [[dict(named[0], path=str(planted))]])
        assert SECRET not in answer.text and "indexerad" not in _result_text(answer)
        assert http.get("fil/x.md").status_code == 404
        found = http.post("gradio_api/run/sok", json={"data": ["Lösenordet till databasen"]})
        assert SECRET not in found.text
    assert sorted(p.name for p in corpus.iterdir()) == before


def test_uploads_leave_no_files_behind_accepted_or_not(upload_site, tmp_path):
    server, corpus, _ = upload_site
    good = tmp_path / "ny-riktlinje.txt"
    good.write_text("Riktlinje för digitala möten. Nämnden får delta i digitala möten.\n")
    bad = tmp_path / "anteckning.exe"
    bad.write_bytes(b"MZ\x90\x00 inte ett dokument")
    bidi = tmp_path / "rapport\u202eftp.txt"
    bidi.write_bytes(b"\x00\x01binary")
    with _logged_in(server) as http:
        uploaded = []
        for path in (good, bad, bidi):
            with path.open("rb") as stream:
                answer = http.post("gradio_api/upload", files={"files": (path.name, stream)})
            assert answer.status_code == 200, answer.text
            uploaded += answer.json()
        assert all(Path(p).is_file() for p in uploaded)
        files = [
            {"path": p, "orig_name": n, "meta": {"_type": "gradio.FileData"}}
            for p, n in zip(uploaded, (good.name, bad.name, bidi.name), strict=True)
        ]
        answer = _call(http, "ladda_upp", [files])
        assert answer.status_code == 200
        text = html.unescape(_result_text(answer))
        assert "ny-riktlinje.txt: indexerad och sökbar" in text
        assert "anteckning.exe: filtypen .exe stöds inte" in text
        assert "\u202e" not in text and "rapportftp.txt" in text
    assert not [p for p in uploaded if Path(p).exists()]
    assert (corpus / "ny-riktlinje.txt").is_file()
    assert not (corpus / "anteckning.exe").exists()


def test_the_login_page_and_open_routes_name_nothing_of_the_corpus(upload_site):
    server, corpus, _ = upload_site
    index = server.app.state.library.index
    documents = index.documents()
    secrets = {d.source for d in documents} | {d.metadata.title for d in documents}
    secrets |= {d.metadata.organisation for d in documents if d.metadata.organisation}
    secrets |= {f'"{d.metadata.date[:4]}"' for d in documents if d.metadata.date}
    secrets |= {d.metadata.date[:4] for d in documents if d.metadata.date}
    secrets.discard(None)
    open_routes = [
        "",
        "?__theme=dark",
        "config",
        "gradio_api/info",
        "gradio_api/openapi.json",
        "gradio_api/app_id",
        "gradio_api/startup-events",
        "manifest.json",
        "theme.css",
        "robots.txt",
        "fil/tjansteutlatande.pdf",
        f"kalla?dok={HOSTILE}&nr=0",
        "gradio_api/file=" + str(corpus / "tjansteutlatande.pdf"),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for route in open_routes:
            page = http.get(route)
            named = [s for s in secrets if s in page.text]
            assert not named, (route, named)
        with _logged_in(server) as session:
            assert session.get("fil/tjansteutlatande.pdf").status_code == 200
    from app.web import filter_choices

    organisations, years, titles = filter_choices(index)
    assert organisations and years and titles


def test_failed_logins_are_limited_per_address_and_sessions_expire(tmp_path):
    from web_fixtures import built_index

    corpus, index_dir = built_index()
    settings = Settings(corpus=corpus, index_dir=index_dir)
    with Server(settings, auth=(ACCOUNT,), session_seconds=3) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            wrong = {"username": "anna", "password": "fel"}
            assert [http.post("login", data=wrong).status_code for _ in range(10)] == [400] * 10
            blocked = http.post("login", data=wrong)
            assert blocked.status_code == 429
            assert "För många misslyckade inloggningar" in blocked.json()["detail"]
            right = {"username": ACCOUNT[0], "password": ACCOUNT[1]}
            assert http.post("login", data=right).status_code == 429  # no guessing through
            # another client address (as a TLS proxy on this machine reports it) is not blocked
            other = {"x-forwarded-for": "192.0.2.7"}
            assert http.post("login", data=wrong, headers=other).status_code == 400
            answer = http.post("login", data=right, headers=other)
            assert answer.status_code == 200
            cookies = answer.headers.get_list("set-cookie")
            assert cookies and all("Max-Age=3" in c for c in cookies)
        with httpx.Client(base_url=server.url, timeout=30, cookies=answer.cookies) as session:
            assert session.get("config").status_code == 200
            time.sleep(3.5)
            assert session.get("config").status_code == 401  # the server forgot it too


MALFORMED_CALLS = [
    ("gradio_api/run/sok", {"data": [3]}),
    ("gradio_api/run/sok", {"data": []}),
    ("gradio_api/run/sok", {"data": [["fråga"]]}),
    ("gradio_api/run/sok", {"data": [{"q": "fråga"}]}),
    ("gradio_api/run/sok", {"data": "fråga"}),
    ("gradio_api/run/sok", {"data": ["a", "b"]}),
    ("gradio_api/run/sok", []),
    ("gradio_api/run/sok", "fråga"),
    ("gradio_api/call/sok", {"data": [3]}),
    ("gradio_api/run/formuleringar", {"data": [5, [], [], None, None, []]}),
    ("gradio_api/run/formuleringar", {"data": ["x", "strategi", [], None, None, []]}),
    ("gradio_api/run/fraga", {"data": [3, [], None, [], [], None, None, [], "hybrid", 5]}),
    ("gradio_api/run/fraga", {"data": ["x", "nej", None, [], [], None, None, [], "hybrid", 5]}),
    ("gradio_api/run/fraga", {"data": ["x", [], None, [], [], None, None, [], "hybrid", "5"]}),
    ("gradio_api/run/fraga", {"data": ["x", [], None, [], [], [2016], None, [], "hybrid", 5]}),
    ("gradio_api/run/finns_inte", {"data": ["x"]}),
    ("gradio_api/call/finns_inte", {"data": ["x"]}),
    ("gradio_api/run/predict", {"data": ["x"], "fn_index": 999}),
    ("gradio_api/run/predict", {"data": ["x"], "fn_index": -1}),
    ("gradio_api/run/predict", {"data": ["x"], "fn_index": "1"}),
    ("gradio_api/queue/join", {"data": ["x"], "fn_index": 999, "session_hash": "x"}),
    ("gradio_api/queue/join", {"data": [3], "fn_index": None, "session_hash": "x"}),
]


def test_every_api_endpoint_answers_wrong_arguments_with_a_swedish_4xx(site):
    server, *_ = site
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for route, body in MALFORMED_CALLS:
            answer = http.post(route, json=body)
            assert 400 <= answer.status_code < 500, (route, body, answer.status_code, answer.text)
            detail = answer.json()["detail"]
            assert "Fel i anropet" in detail or "Okänd funktion" in detail, (route, detail)
        broken = http.post(
            "gradio_api/run/sok",
            content=b"{inte json",
            headers={"content-type": "application/json"},
        )
        assert broken.status_code == 400 and "ingen giltig JSON" in broken.json()["detail"]
        # well-formed calls still work
        fine = http.post("gradio_api/run/sok", json={"data": ["Vilka inriktningar har strategin?"]})
        assert fine.status_code == 200 and fine.json()["data"][0]["results"]


def test_a_question_is_echoed_back_only_as_far_as_it_was_searched(site):
    server, *_ = site
    huge = "Vilka inriktningar har strategin? " * 30_000  # about 1 MB
    with httpx.Client(base_url=server.url, timeout=60) as http:
        answer = http.post("gradio_api/run/sok", json={"data": [huge]})
    assert answer.status_code == 200
    assert len(answer.content) < 100_000
    assert answer.json()["data"][0]["query"] == huge[:1000]


def test_every_page_carries_security_headers(site):
    server, *_ = site
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for route in ("", "fil/tjansteutlatande.pdf", f"kalla?dok={HOSTILE}&nr=0", "config"):
            headers = http.get(route).headers
            assert headers["x-frame-options"] == "DENY", route
            assert headers["x-content-type-options"] == "nosniff", route
        page = http.get("").headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page and "object-src 'none'" in page
        assert "default-src 'self'" in page
