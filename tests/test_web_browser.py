"""The app in a real browser (headless Chromium via Playwright): at a laptop's and a phone's
width a question gets an answer with a citation, and a source opens among its neighbours.
Screenshots go to the test's tmp folder, or to $WEB_SCREENSHOTS when set (the README's
docs/screenshot.png is made with WEB_SCREENSHOTS=docs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from web_fixtures import Server, built_index

from app.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
QUESTION = "Vad har exploateringskontoret för synpunkter på den internationella strategin?"
SIZES = {"laptop": (1366, 900), "phone": (390, 844)}

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright saknas: pip install playwright"
)
if not CHROMIUM.exists():
    pytest.skip(
        "Chromium saknas (/usr/bin/chromium): apt-get install -y chromium",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server():
    corpus, index_dir = built_index()
    with Server(Settings(corpus=corpus, index_dir=index_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("WEB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, url: str, size: str):
    width, height = SIZES[size]
    # An English browser on purpose: the page must still speak Swedish.
    page = browser.new_page(viewport={"width": width, "height": height}, locale="en-US")
    # Gradio pages ask for resources this network never serves; wait for elements instead
    # of "network idle".
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#sok-question textarea", timeout=30_000)
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_a_question_gets_an_answer_with_a_citation(server, browser, shots, size):
    page = open_page(browser, server.url, size)
    page.screenshot(path=shots / f"start-{size}.png", full_page=True)
    page.fill("#sok-question textarea", QUESTION)
    page.keyboard.press("Enter")
    answer = page.locator("#sok-chat .bot-row").last
    answer.locator("blockquote").wait_for(timeout=60_000)
    text = answer.inner_text()
    assert "Källor" in text and "Exploateringsnämnden" in text and "2016-09-22" in text
    assert answer.locator("mark").count() > 0
    # The page fits the screen: nothing wider than the viewport.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{overflow}px horizontal overflow at {size}"
    page.wait_for_timeout(300)
    page.screenshot(path=shots / f"answer-{size}.png")
    if size == "laptop" and os.environ.get("WEB_SCREENSHOTS"):
        shutil.copy(shots / f"answer-{size}.png", shots / "screenshot.png")
    assert page.get_by_text("Rensa samtalet").is_visible()
    page.close()


def test_a_source_opens_among_its_neighbours(server, browser, shots):
    page = open_page(browser, server.url, "laptop")
    page.fill("#sok-question textarea", QUESTION)
    page.keyboard.press("Enter")
    answer = page.locator("#sok-chat .bot-row").last
    answer.locator("blockquote").wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        answer.get_by_text("Visa i sammanhang").first.click()
    source = opened.value
    source.wait_for_selector(".passage.target", timeout=15_000)
    assert "Exploateringsnämnden" in source.inner_text("body")
    assert source.locator(".passage").count() >= 2
    original = source.get_by_text("Öppna originalfilen")
    assert original.get_attribute("href").startswith("fil/")
    source.screenshot(path=shots / "source-laptop.png", full_page=True)
    response = source.request.get(server.url + original.get_attribute("href"))
    assert response.status == 200
    page.close()
