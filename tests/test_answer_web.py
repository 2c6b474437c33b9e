"""The chat, the `/svara` endpoint and `strategisok ask --json` give the same answer to the
same question in the same conversation: one answer function behind all three."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from gradio_client import Client
from web_fixtures import ROOT, Server, built_index

from app.settings import Settings
from app.web_answer import md_text

pytestmark = pytest.mark.slow

CONVERSATION = [
    "Vad har exploateringskontoret för synpunkter på den internationella strategin?",
    "Och vad gäller för bolagen?",
    "Hur många hundrastgårdar finns det i Farsta?",
]


@pytest.fixture(scope="module")
def client():
    corpus, index_dir = built_index()
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as running:
        yield Client(running.url, verbose=False)


def _ask_json(question: str, previous: list[str]) -> dict:
    _, index_dir = built_index()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    args = ["ask", question, "--index-dir", str(index_dir), "--json"]
    for earlier in previous:
        args += ["--previous", earlier]
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _chat_text(message) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def test_chat_svara_and_ask_json_agree_through_a_conversation(client):
    history: list = []
    for turn, question in enumerate(CONVERSATION):
        previous = CONVERSATION[:turn]
        from_api = client.predict(question, previous, api_name="/svara")
        from_cli = _ask_json(question, previous)
        assert from_api == from_cli
        history, cleared = client.predict(
            question, history, [], [], None, None, [], "hybrid", 5, api_name="/fraga"
        )
        chat = _chat_text(history[-1])
        if from_api["found"]:
            assert f"> {md_text(' '.join(from_api['answer'].split()))}" in chat
            documents = {r["source"] for r in from_api["results"]}  # grouped by document
            assert f"Källor ({len(documents)})" in chat
            assert chat.count("Visa i sammanhang") == len(from_api["results"])
        else:
            assert from_api["answer"] is None and from_api["results"] == []
            assert chat.startswith("Jag hittade inget") or "Jag hittade inget" in chat
        if from_api["interpreted_as"] != question:
            assert "Tolkad tillsammans med föregående fråga" in chat


def test_svara_refuses_arguments_of_the_wrong_type(client):
    response = httpx.post(
        f"{client.src.rstrip('/')}/gradio_api/call/svara",
        json={"data": ["Vad säger strategin?", "inte en lista"]},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert "tidigare frågor" in response.text
