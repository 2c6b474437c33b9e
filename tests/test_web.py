"""The web app against a real server on loopback, through gradio_client and plain HTTP: the
chat and `/sok` answer with passages that are really in the documents, filters narrow,
phrases are found everywhere, uploads get indexed, odd questions get Swedish answers, and
nothing outside the corpus is served."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AuthenticationError
from web_fixtures import (
    DATA,
    HOSTILE,
    REMISS_ANSWER,
    ROOT,
    Server,
    built_index,
    copy_of_index,
    free_port,
)

from app.settings import Settings

pytestmark = pytest.mark.slow

QUESTION = "Vad har exploateringskontoret för synpunkter på den internationella strategin?"


@pytest.fixture(scope="module")
def server():
    corpus, index_dir = built_index()
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def ask(client, question, doc_types=(), organisations=(), sources=(), mode="hybrid", k=5):
    """The assistant's answer (markdown) to one question in a fresh conversation."""
    history, cleared = client.predict(
        question, [], list(doc_types), list(organisations), None, None, list(sources), mode, k,
        api_name="/fraga",
    )  # fmt: skip
    assert cleared == ""
    return _text(history[-1])


def _text(message) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _squashed(text: str) -> str:
    return "".join(text.replace("**", "").split())


def _document_text(source: str) -> str:
    corpus, _ = built_index()
    return _normalised((corpus / source).read_text(encoding="utf-8"))


def test_sok_returns_the_search_json_with_passages_from_the_documents(client):
    result = client.predict(QUESTION, api_name="/sok")
    assert result["query"] == QUESTION
    assert 1 <= len(result["results"]) <= 5
    first = result["results"][0]
    assert set(first) == {
        "rank", "score", "source", "title", "page", "section", "text", "doc_type",
        "organisation", "date", "chunk_id",
    }  # fmt: skip
    assert [r["rank"] for r in result["results"]] == list(range(1, len(result["results"]) + 1))
    for r in result["results"]:
        if r["source"].endswith((".txt", ".md")):
            # The document's own wording; only whitespace and extraction glue ("**") differ.
            assert _squashed(r["text"]) in _squashed(_document_text(r["source"]))
    assert any(r["source"] == REMISS_ANSWER for r in result["results"][:2])


def test_chat_answer_leads_with_a_verbatim_sentence_and_cites_its_sources(client):
    answer = ask(client, QUESTION)
    lead = html.unescape(re.search(r"^> (.+)$", answer, re.M).group(1))
    assert lead in _document_text(REMISS_ANSWER)
    assert "Källor" in answer
    assert "Exploateringsnämnden" in answer and "2016&#45;09&#45;22" in answer
    assert "<mark>" in answer
    assert "Visa i sammanhang" in answer and "Öppna originalet" in answer


def test_filters_narrow_the_results(client):
    question = "kommunstyrelsen"  # one term: every passage naming it is fully relevant
    everything = ask(client, question, k=10)
    assert "Internationell strategi för Stockholms stad" in everything
    assert "Strategi för digital samverkan" in everything
    strategies = ask(client, question, doc_types=["strategi"], k=10)
    assert "Internationell strategi för Stockholms stad" not in strategies
    assert "Strategi för digital samverkan" in strategies
    chosen = ask(client, question, sources=[REMISS_ANSWER], k=10)
    assert "Strategi för digital samverkan" not in chosen
    assert "Internationell strategi för Stockholms stad" in chosen
    nothing = ask(client, question, doc_types=["remissvar"], organisations=["Kommunstyrelsen"])
    assert nothing.startswith("Jag hittade inget i dokumenten om")
    assert "avgränsad med filter" in nothing


def test_a_quoted_phrase_finds_every_occurrence_grouped_by_document(client):
    corpus, _ = built_index()
    page = client.predict('"inget att erinra"', [], [], None, None, [], api_name="/formuleringar")
    containing = [
        s for s in (REMISS_ANSWER, HOSTILE) if "inget att erinra" in _document_text(s).lower()
    ]
    assert len(containing) == 2
    assert f"i {len(containing)} dokument" in page
    assert page.count('class="sok-doc"') == len(containing)
    assert page.count("<mark>") >= len(containing)
    assert page.count('class="sok-copy"') == page.count('class="sok-passage"')
    assert "Exploateringsnämnden, remissvar/tjänsteutlåtande, 2016-09-22" in html.unescape(page)
    only_strategies = client.predict(
        '"inget att erinra"', ["strategi"], [], None, None, [], api_name="/formuleringar"
    )
    assert "i 1 dokument" in only_strategies


def test_empty_long_and_html_questions_get_swedish_answers(client):
    # An empty question adds nothing to the conversation (the page shows a hint instead).
    history, cleared = client.predict(
        "  ", [], [], [], None, None, [], "hybrid", 5, api_name="/fraga"
    )
    assert history == [] and cleared == ""
    long = ask(client, "Vad säger strategin om samverkan? " * 600)
    assert "Frågan var lång och kortades" in long
    hostile = ask(
        client, '<script>alert("x")</script> <img src=x onerror=alert(1)> [a](javascript:b)'
    )
    assert "<script" not in hostile and "<img" not in hostile and "](javascript" not in hostile
    assert client.predict("", api_name="/sok") == {"query": "", "results": []}
    # echoed back only as far as it was searched
    assert client.predict("x" * 20_000, api_name="/sok")["query"] == "x" * 1000


def test_document_text_renders_as_text(client):
    answer = ask(client, "Vad står det om script och klicka här?", sources=[HOSTILE])
    assert "<script" not in answer and "<img" not in answer and "](javascript" not in answer
    assert "&#60;script&#62;" in answer


def test_context_page_shows_the_passage_among_its_neighbours(server):
    url = f"{server.url}kalla?dok={HOSTILE}&nr=1&q=script"
    page = httpx.get(url)
    assert page.status_code == 200
    assert 'class="passage target"' in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert f'href="fil/{HOSTILE}"' in page.text
    assert httpx.get(f"{server.url}kalla?dok=../x&nr=0").status_code == 404


def test_original_files_are_served_from_the_corpus_only(server):
    pdf = httpx.get(f"{server.url}fil/tjansteutlatande.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = httpx.get(f"{server.url}fil/{HOSTILE}")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "sandbox" in text.headers["content-security-policy"]
    _, index_dir = built_index()
    builds = next((index_dir / "builds").iterdir()).name
    refused = [
        "fil/../pyproject.toml",
        "fil/%2e%2e/%2e%2e/pyproject.toml",
        "fil/..%2f..%2fpyproject.toml",
        "fil/%252e%252e/pyproject.toml",
        "fil//etc/passwd",
        "fil/%2Fetc%2Fpasswd",
        f"fil/{index_dir}/current",
        f"fil/../index/builds/{builds}/manifest.json",
        f"fil/{HOSTILE}.meta.json",
        "fil/",
    ]
    with httpx.Client(base_url=server.url) as http:
        for path in refused:
            # Build the raw path by hand so the client does not normalise "..".
            request = http.build_request("GET", server.url)
            request.url = request.url.copy_with(raw_path=("/" + path).encode())
            response = http.send(request)
            assert response.status_code == 404, path
            assert b"root:" not in response.content and b"[project]" not in response.content


def test_login_is_required_everywhere_when_auth_is_set():
    corpus, index_dir = built_index()
    settings = Settings(corpus=corpus, index_dir=index_dir)
    with Server(settings, auth=(("anna", "hemligt"),)) as server:
        assert httpx.get(f"{server.url}fil/tjansteutlatande.pdf").status_code == 401
        assert httpx.get(f"{server.url}kalla?dok={HOSTILE}&nr=0").status_code == 401
        with pytest.raises(AuthenticationError):
            Client(server.url, verbose=False).predict(QUESTION, api_name="/sok")
        client = Client(server.url, auth=("anna", "hemligt"), verbose=False)
        assert client.predict(QUESTION, api_name="/sok")["results"]
        with httpx.Client(base_url=server.url) as http:
            http.post("login", data={"username": "anna", "password": "hemligt"})
            assert http.get("fil/tjansteutlatande.pdf").status_code == 200


def test_upload_adds_files_to_the_corpus_and_the_index(tmp_path):
    corpus, index_dir = copy_of_index(tmp_path)
    settings = Settings(corpus=corpus, index_dir=index_dir)
    with Server(settings, allow_upload=True, max_upload_mb=1) as server:
        client = Client(server.url, verbose=False)
        fake = tmp_path / "inte-en.pdf"
        fake.write_bytes(b"hej")
        status, documents = client.predict(
            [handle_file(DATA / "riktlinje.docx"), handle_file(fake)], api_name="/ladda_upp"
        )
        status = html.unescape(status)
        assert "✓ riktlinje.docx: sparad som riktlinje.docx" in status
        assert "✓ riktlinje.docx: indexerad och sökbar" in status
        assert "✗ inte-en.pdf: filen är ingen PDF" in status
        assert (corpus / "riktlinje.docx").is_file() and not (corpus / "inte-en.pdf").exists()
        assert "riktlinje.docx" in documents
        found = client.predict(QUESTION, api_name="/sok")["results"]
        assert found  # the index was reopened and still answers
        # the same file again is not saved twice
        again, _ = client.predict([handle_file(DATA / "riktlinje.docx")], api_name="/ladda_upp")
        assert "finns redan i dokumentmappen som riktlinje.docx" in html.unescape(again)
        assert sorted(p.name for p in corpus.iterdir() if p.suffix == ".docx") == ["riktlinje.docx"]


def test_serve_command_starts_on_loopback(tmp_path):
    _, index_dir = built_index()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--index-dir", str(index_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.3)
        else:
            pytest.fail("strategisok serve did not answer within 60 s")
        assert page.status_code == 200
        config = httpx.get(f"http://127.0.0.1:{port}/config").json()
        assert config["title"] == "Strategisök"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/" in process.stdout.read()


def test_documents_tab_lists_the_corpus(server):
    from app.web import documents_html

    page = documents_html(server.app.state.library)
    assert page.count("<article>") == 3
    assert "Strategi för digital samverkan" in page and "Strategi · Kommunstyrelsen" in page
    assert "Strategin för digital samverkan gäller alla nämnder" in page
    assert "<script>" not in page
