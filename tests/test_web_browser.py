"""The app in a real browser (headless Chromium via Playwright): at a laptop's and a phone's
width a question gets an answer with a citation, and a source opens among its neighbours.
Screenshots go to the test's tmp folder, or to $WEB_SCREENSHOTS when set (the README's
docs/screenshot.png is made with WEB_SCREENSHOTS=docs)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from web_fixtures import ROOT, Server, built_index

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
    page.set_default_timeout(60_000)  # CI machines are slow and shared
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


# -- the chat as staff use it (every point at a laptop's and a phone's width) ---------------

# Gradio's own English that must never show (labels, tooltips, aria labels, toasts).
ENGLISH = (
    "Copy message",
    "More tabs",
    "bot's message",
    "user's message",
    "Scroll down",
    "chatbot conversation",
    "Clear",
    "Submit",
    "Loading",
    "Error",
    "Drop File Here",
    "Click to Upload",
    "Invalid file type",
)


def english_on(page) -> list[str]:
    """Every English string of ENGLISH that the page shows or reads out (text, aria labels,
    titles, placeholders)."""
    shown = page.evaluate(
        """() => {
          const out = [document.body.innerText];
          for (const e of document.querySelectorAll('[aria-label],[title],[placeholder]'))
            for (const n of ['aria-label', 'title', 'placeholder'])
              if (e.getAttribute(n)) out.push(e.getAttribute(n));
          return out.join('\\n');
        }"""
    )
    return [word for word in ENGLISH if word in shown]


def open_tab(page, name: str) -> None:
    """Open a tab, from the "Fler flikar" menu where the screen is too narrow for all."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if not tab.is_visible():
        page.get_by_label("Fler flikar").click()
        tab = page.get_by_role("tab", name=name, exact=True).or_(
            page.get_by_role("button", name=name, exact=True)
        )
    tab.first.click()


def ask_in(page, question: str):
    page.fill("#sok-question textarea", question)
    page.keyboard.press("Enter")
    answer = page.locator("#sok-chat .bot-row").last
    answer.locator("blockquote").wait_for(timeout=60_000)
    return answer


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def open_with_clipboard(browser, url: str, size: str):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="en-US",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#sok-question textarea", timeout=30_000)
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_copying_an_answer_or_a_passage_gives_clean_text_and_a_full_citation(server, browser, size):
    page = open_with_clipboard(browser, server.url, size)
    answer = ask_in(page, QUESTION)
    lead = answer.locator("blockquote").inner_text().strip()
    # the line under the lead names the document's title and the section
    cited = answer.get_by_text("— ur källa 1:").inner_text()
    assert "Internationell strategi för Stockholms stad" in cited and "avsnitt ”" in cited
    answer.get_by_role("button", name="Kopiera svaret med källhänvisning").click()
    copied = clipboard(page)
    assert copied.startswith(lead) and cited.removeprefix("— ur källa 1: ") in copied
    for markup in ("&#", "<mark>", "</", "**"):
        assert markup not in copied, markup
    answer.get_by_role("button", name="Kopiera avsnittet med källhänvisning").first.click()
    passage = clipboard(page)
    assert "Exploateringsnämnden, remissvar/tjänsteutlåtande, 2016-09-22" in passage
    assert "&#" not in passage and "<mark>" not in passage
    # Gradio's own copy button (which copied the markup) is gone
    assert answer.get_by_label("Kopiera meddelandet").count() == 0
    # a found wording copies the same way
    open_tab(page, "Hitta formuleringar")
    page.fill("#sok-phrase textarea", '"inget att erinra"')
    page.keyboard.press("Enter")
    page.locator("#sok-phrases button.sok-copy").first.click()
    found = clipboard(page)
    assert "inget att erinra" in found.lower() and "&#" not in found
    assert ", avsnitt ”" in found and "2016-09-22" in found or "2020-05-01" in found
    page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_page_speaks_swedish_in_an_english_browser(server, browser, size):
    page = open_page(browser, server.url, size)
    page.wait_for_timeout(500)
    ask_in(page, QUESTION)
    page.wait_for_timeout(300)
    assert not english_on(page), english_on(page)
    open_tab(page, "Dokument")
    page.wait_for_timeout(300)
    assert not english_on(page), english_on(page)
    assert page.evaluate("document.documentElement.lang") == "sv"
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_an_empty_question_adds_nothing_and_the_question_box_is_on_the_first_screen(
    server, browser, size
):
    page = open_page(browser, server.url, size)
    page.locator("#sok-chat .example").first.wait_for(timeout=15_000)  # the page has loaded
    page.wait_for_timeout(500)
    height = SIZES[size][1]
    box = page.locator("#sok-question textarea").bounding_box()
    assert box["y"] + box["height"] <= height, "the question box is below the first screen"
    filters = page.get_by_text("Avgränsa sökningen")
    assert filters.is_visible() and filters.bounding_box()["y"] < height
    for _ in range(3):
        page.fill("#sok-question textarea", "   ")
        page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    assert page.locator("#sok-chat .message-row").count() == 0
    if size == "phone":
        # the filters open from the first screen
        filters.click()
        page.get_by_text("Dokumenttyp").wait_for(timeout=5_000)
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_examples_come_from_the_corpus_and_answer(server, browser, size):
    page = open_page(browser, server.url, size)
    examples = page.locator("#sok-chat .example")
    examples.first.wait_for(timeout=15_000)
    shown = [examples.nth(i).inner_text() for i in range(examples.count())]
    titles = [d.metadata.title.rstrip(" .") for d in server.app.state.library.index.documents()]
    assert shown and all(any(t[:30] in q for t in titles) for q in shown), shown
    examples.first.click()
    answer = page.locator("#sok-chat .bot-row").last
    answer.locator("blockquote").wait_for(timeout=60_000)
    assert "Jag hittade inget" not in answer.inner_text()
    page.close()


def test_stale_links_and_originals_answer_as_what_they_are(big_server, browser):
    server = big_server
    stale = open_page(browser, server.url, "laptop")
    stale.goto(server.url + "kalla?dok=finns-inte.pdf&nr=999", wait_until="domcontentloaded")
    body = stale.inner_text("body")
    assert "Avsnittet finns inte längre" in body and "detail" not in body and "{" not in body
    assert stale.get_by_role("link", name="Till Strategisök").is_visible()
    missing = stale.request.get(server.url + "fil/borta.docx")
    assert missing.status == 404 and "text/html" in missing.headers["content-type"]
    docx = stale.request.get(server.url + "fil/riktlinje.docx")
    assert docx.status == 200
    assert docx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx.headers["content-disposition"].startswith("attachment")
    assert docx.body()[:2] == b"PK"
    stale.close()


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    """A corpus of 34 documents of every type (a DOCX among them), so the document list has
    pages."""
    from web_fixtures import make_corpus

    from index import IndexConfig, build_index

    base = tmp_path_factory.mktemp("stor-korpus")
    corpus = make_corpus(base / "corpus")
    shutil.copy(ROOT / "tests" / "data" / "riktlinje.docx", corpus / "riktlinje.docx")
    kinds = ("strategi", "remissvar", "remiss", "policy", "annat")
    for number in range(30):
        kind = kinds[number % len(kinds)]
        name = f"dokument-{number:02d}.md"
        (corpus / name).write_text(
            f"# Dokument {number:02d} om {('parker', 'skolor', 'vatten')[number % 3]}\n\n"
            f"Nämnden beslutar om {kind} nummer {number} för stadens "
            f"{('parker', 'skolor', 'vatten')[number % 3]}.\n",
            encoding="utf-8",
        )
        (corpus / (name + ".meta.json")).write_text(
            json.dumps(
                {
                    "doc_type": kind,
                    "organisation": ("Parkförvaltningen", "Utbildningsförvaltningen")[number % 2],
                    "date": f"20{10 + number % 15:02d}-0{1 + number % 9}-15",
                }
            ),
            encoding="utf-8",
        )
    index_dir = base / "index"
    build_index(corpus, index_dir, IndexConfig(model="strategisok-sv-static"), progress=False)
    with Server(Settings(corpus=corpus, index_dir=index_dir), allow_upload=True) as running:
        yield running


@pytest.mark.parametrize("size", list(SIZES))
def test_the_document_list_searches_sorts_pages_and_counts(big_server, browser, size):
    page = open_page(browser, big_server.url, size)
    open_tab(page, "Dokument")
    listing = page.locator("#sok-documents")
    listing.get_by_text("34 dokument i sökningen").wait_for(timeout=15_000)
    counts = listing.locator(".sok-counts").inner_text()
    assert "strategier" in counts and "remissvar/tjänsteutlåtanden" in counts
    assert listing.locator("article").count() == 25
    assert "Sida 1 av 2" in listing.inner_text()
    page.get_by_role("button", name="Nästa sida →").click()
    listing.get_by_text("Sida 2 av 2").wait_for(timeout=10_000)
    assert listing.locator("article").count() == 9
    page.get_by_role("button", name="← Föregående sida").click()
    listing.get_by_text("Sida 1 av 2").wait_for(timeout=10_000)
    page.fill("#sok-doc-search textarea", "parkförvaltningen skolor")
    listing.get_by_text("dokument innehåller").wait_for(timeout=10_000)
    titles = listing.locator("article h3").all_inner_texts()
    assert titles and all("skolor" in t for t in titles)
    page.fill("#sok-doc-search textarea", "")
    page.locator("#sok-doc-sort").get_by_text("Datum (nyast först)").click()
    page.wait_for_timeout(800)
    facts = listing.locator("article .facts").all_inner_texts()
    dates = [d for f in facts for d in re.findall(r"\d{4}-\d{2}-\d{2}", f)]
    assert dates == sorted(dates, reverse=True) and dates[0].startswith("2024")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    page.close()


def test_many_results_are_grouped_under_their_documents(big_server, browser):
    page = open_page(browser, big_server.url, "laptop")
    page.locator("#sok-chat")  # the page is up
    page.get_by_text("Avancerat").click()
    slider = page.locator("input[type=number]").last
    slider.fill("20")
    slider.press("Enter")
    answer = ask_in(page, "Vad beslutar nämnden om stadens parker?")
    titles = answer.locator("strong").all_inner_texts()
    numbered = [t for t in titles if re.match(r"\d+\. ", t)]
    assert len(numbered) == len(set(numbered))
    passages = answer.get_by_text("Visa i sammanhang").count()
    assert passages >= len(numbered)
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_wrong_or_oversize_upload_is_refused_in_swedish(big_server, browser, size, tmp_path):
    page = open_page(browser, big_server.url, size)
    open_tab(page, "Lägg till dokument")
    wrong = tmp_path / "anteckning.exe"
    wrong.write_bytes(b"MZ inte ett dokument")
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Välj filer att lägga till").click()
    chooser.value.set_files(str(wrong))
    page.get_by_text("filtypen .exe stöds inte").wait_for(timeout=30_000)
    assert not english_on(page), english_on(page)
    page.close()
