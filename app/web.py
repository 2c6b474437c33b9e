"""The Gradio app behind `strategisok serve`: chat with cited passages, "Hitta
formuleringar", the document list and (optionally) upload, plus the `/sok` API endpoint.
Retrieval stays in `index`; this module only asks it and lays out what comes back."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import uvicorn
from cachetools import TTLCache
from fastapi import FastAPI, HTTPException, Request
from gradio.utils import get_upload_folder
from pydantic import BaseModel, StrictFloat, StrictInt, StrictStr, TypeAdapter

from answer import answer_question
from answer.text import clean_question
from index import (
    MODES,
    Filters,
    IndexBusy,
    IndexUnavailable,
    ModelLoadError,
    SearchIndex,
    build_index,
)

from . import web_documents
from .results import answer_to_json, query_to_json
from .settings import Settings
from .web_answer import (
    DOC_TYPE_LABELS,
    MAX_QUESTION_CHARS,
    MODE_LABELS,
    answer_markdown,
    empty_question_answer,
    html_text,
    md_text,
)
from .web_documents import SORTS, candidate_questions, list_documents, listing_html
from .web_files import add_routes
from .web_guard import SESSION_SECONDS, ApiArguments, Guard
from .web_phrases import phrase_of, phrases_html
from .web_upload import DEFAULT_MAX_UPLOAD_MB, index_messages, save_uploads

TITLE = "Strategisök"
SEARCH_CONCURRENCY = 16
"""Searches only read the index, so many may run at once; uploads run one at a time."""

EXAMPLES_SHOWN = 4
"""Example questions on the start screen: from --examples FILE, else drawn from the corpus
(only questions that the documents answer)."""

# After an answer: show it from its start (the question above it), not its last line.
SCROLL_TO_ANSWER = """() => {
  setTimeout(() => {
    const log = document.querySelector('#sok-chat [role=log]');
    const rows = log ? log.querySelectorAll('.user-row') : [];
    if (!rows.length) return;
    const last = rows[rows.length - 1];
    log.scrollTop += last.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  }, 60);
}"""

# Labels Gradio writes in English whatever the language (aria labels and titles of its
# components); PAGE_JS puts them in Swedish as they appear.
GRADIO_ENGLISH = {
    "More tabs": "Fler flikar",
    "chatbot conversation": "Samtal",
    "Scroll down": "Rulla ned",
    "Scroll to bottom": "Rulla till slutet",
    "Clear": "Rensa",
    "Remove": "Ta bort",
    "Close": "Stäng",
    "Dismiss": "Stäng",
    "Error": "Fel",
    "Warning": "Varning",
    "Info": "Information",
    "Loading...": "Laddar …",
    "Copy": "Kopiera",
    "Copied!": "Kopierat!",
}

# Runs once when the page has loaded: one click handler for every copy button the page will
# hold (answers, passages, found wordings), and on a phone the filters start folded so the
# question box is on the first screen.
PAGE_JS = """() => {
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button.sok-copy');
    if (!button) return;
    const text = button.value || '';
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = 'Kopierat!';
    setTimeout(() => { button.textContent = button.dataset.label; }, 1500);
  });
  const swedish = SWEDISH_LABELS;
  const prefixes = [["bot's message: ", 'Svar: '], ["user's message: ", 'Din fråga: ']];
  const translate = (root) => {
    for (const element of root.querySelectorAll('[aria-label], [title], [placeholder]')) {
      for (const name of ['aria-label', 'title', 'placeholder']) {
        const value = element.getAttribute(name);
        if (value && swedish[value]) element.setAttribute(name, swedish[value]);
      }
    }
    for (const element of root.querySelectorAll('[aria-label]')) {
      const value = element.getAttribute('aria-label');
      for (const [english, own] of prefixes) {
        if (value.startsWith(english)) {
          element.setAttribute('aria-label', own + value.slice(english.length));
        }
      }
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      if (text && swedish[text]) node.nodeValue = node.nodeValue.replace(text, swedish[text]);
    }
  };
  translate(document.body);
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === 'attributes') translate(change.target.parentNode || document.body);
      for (const node of change.addedNodes) {
        if (node.nodeType === 1) translate(node);
        else if (node.parentNode) translate(node.parentNode);
      }
    }
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ['aria-label', 'title', 'placeholder'],
  });
  if (window.matchMedia('(max-width: 640px)').matches) {
    const fold = () => {
      const toggle = document.querySelector('#sok-filters button.label-wrap.open');
      if (toggle) toggle.click(); else setTimeout(fold, 100);
    };
    fold();
  }
}""".replace("SWEDISH_LABELS", json.dumps(GRADIO_ENGLISH, ensure_ascii=False))

# Gradio takes its own labels ("Copy message", "Scroll down" …) from the browser's language;
# this page speaks Swedish in every browser, so Gradio is told the browser is Swedish before
# any of its scripts run.
SWEDISH_PAGE = (
    "Object.defineProperty(Navigator.prototype,'language',{get(){return 'sv-SE'}});"
    "Object.defineProperty(Navigator.prototype,'languages',{get(){return ['sv-SE','sv']}});"
)

# Gradio's own labels that its Swedish translation lacks (the rest of it is complete for
# what this page shows).
GRADIO_SWEDISH = gr.I18n(
    sv={
        "chatbot.copy_message": "Kopiera meddelandet",
        "chatbot.copied_message": "Meddelandet kopierat",
        "chatbot.complete": "Klart",
        "common.progress": "Förlopp",
        "status.queue_position": "I kö: {position} av {size}",
    }
)

CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto; }
#sok-chat mark, .sok-results mark { background: #fde68a; color: inherit; padding: 0 .1em; }
#sok-chat blockquote { border-left: 4px solid #2563eb; margin: .25rem 0; padding-left: .75rem;
  font-size: 1.05em; }
.sok-results section.sok-doc { border-top: 1px solid #e5e7eb; padding-top: .5rem; }
.sok-results h3 { margin: .5rem 0; overflow-wrap: anywhere; }
.sok-results blockquote { border-left: 4px solid #e5e7eb; margin: .25rem 0;
  padding-left: .75rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.sok-results .sok-cite, .sok-results .sok-also { color: #4b5563; font-size: .9em;
  margin: .25rem 0; }
button.sok-copy { border: 1px solid #9ca3af; border-radius: .4rem; padding: .2rem .6rem;
  margin: .25rem 0 1rem; cursor: pointer; background: #f9fafb; font-size: .9em; }
button.sok-copy:hover { background: #eef2ff; }
.sok-docs .sok-counts { font-weight: 600; }
@media (max-width: 640px) {
  #sok-filter-column { order: -1; }
}
.sok-docs article { border-top: 1px solid #e5e7eb; padding: .5rem 0; }
.sok-docs h3 { margin: .25rem 0; overflow-wrap: anywhere; }
.sok-docs .facts { color: #4b5563; font-size: .9em; margin: 0; }
.sok-docs .opening { margin: .25rem 0; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  #sok-chat { height: 52vh !important; }
}
"""


class Library:
    """The index the app searches. An upload rebuilds it and swaps the new one in whole;
    searches already running finish on the old one."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._index: SearchIndex | None = None
        self._examples: list[str] | None = None
        self.problem: str | None = None
        self._lock = threading.Lock()
        self.reload()

    @property
    def index(self) -> SearchIndex | None:
        return self._index

    @property
    def corpus_dir(self) -> Path:
        """The folder the index was built from; the configured one before any build."""
        index = self._index
        return index.corpus_dir if index else self.settings.corpus.resolve()

    def reload(self) -> None:
        try:
            index = SearchIndex.open(self.settings.index_location, device=self.settings.device)
        except IndexUnavailable as exc:
            self.problem = str(exc)
            return
        with self._lock:
            self._index, self.problem, self._examples = index, None, None

    def examples(self, given: tuple[str, ...] = ()) -> list[str]:
        """The start screen's example questions: `given` ones, else questions drawn from the
        corpus that it answers (worked out once per index)."""
        if given:
            return list(given[:EXAMPLES_SHOWN])
        index = self._index
        if index is None:
            return []
        if self._examples is None:
            found = []
            for question in candidate_questions(index):
                if answer_question(index, question, []).found:
                    found.append(question)
                if len(found) == EXAMPLES_SHOWN:
                    break
            self._examples = found
        return self._examples

    @property
    def warning(self) -> str | None:
        """Why an older build is served (the published one is damaged), or None."""
        index = self._index
        return index.warning if index else None


@dataclass(frozen=True)
class ServeOptions:
    allow_upload: bool = False
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    auth: tuple[tuple[str, str], ...] = ()
    session_seconds: int = SESSION_SECONDS
    examples: tuple[str, ...] = ()
    """Example questions for the start screen (--examples FILE); empty: drawn from the corpus."""


# -- what the API endpoints take -----------------------------------------------------------

_TEXT = StrictStr | None
_CHOICES = list[StrictStr] | None
_YEAR = StrictStr | StrictInt | None


class _FileArgument(BaseModel, extra="allow"):
    path: StrictStr


def _arguments(*described_types: tuple[str, Any], refuse=None) -> ApiArguments:
    described, types = zip(*described_types, strict=True)
    return ApiArguments(TypeAdapter(tuple[types]), described, refuse)


_FILTER_ARGUMENTS = (
    ("dokumenttyper: lista med text", _CHOICES),
    ("organisationer: lista med text", _CHOICES),
    ("från år", _YEAR),
    ("till år", _YEAR),
    ("dokument: lista med källor", _CHOICES),
)
API_ARGUMENTS = {
    "sok": _arguments(("frågan: text", _TEXT)),
    "svara": _arguments(
        ("frågan: text", _TEXT), ("tidigare frågor, äldst först: lista med text", list[str] | None)
    ),
    "fraga": _arguments(
        ("frågan: text", _TEXT),
        ("samtalet hittills: lista", list[dict] | None),
        ("samtalets tidigare frågor (sätts av servern)", Any),
        *_FILTER_ARGUMENTS,
        ("sökläge: text", _TEXT),
        ("antal avsnitt: tal", StrictInt | StrictFloat | None),
    ),
    "formuleringar": _arguments(("formuleringen: text", _TEXT), *_FILTER_ARGUMENTS),
    "ladda_upp": _arguments(
        ("filerna: lista med uppladdade filer", list[_FileArgument] | None),
        refuse=lambda data: (
            None
            if all(uploaded_file(f["path"]) for f in data[0] or ())
            else "bara filer som du just har laddat upp kan läggas till."
        ),
    ),
}
"""Every endpoint of the public API and what it takes; web_guard refuses any other call."""


def uploaded_file(path: str) -> bool:
    """True only for a file in Gradio's upload folder, links followed: an upload argument
    names the copy Gradio made of what the client sent, never another file on the server."""
    return Path(path).resolve().is_relative_to(Path(get_upload_folder()).resolve())


def uploaded_here(blocks: gr.Blocks, path: str) -> bool:
    """True only for a file that a client uploaded to this server in this run: Gradio put it
    in its upload folder and recorded it. Gradio's own check is skipped when the app is
    mounted rather than launched, so a client could otherwise name any file on the server."""
    return str(path) in blocks.upload_file_set and uploaded_file(path)


def remove_upload(blocks: gr.Blocks, path: str) -> None:
    """Delete an uploaded file and the folder Gradio made for it, once it is dealt with."""
    if not uploaded_here(blocks, path):
        return
    blocks.upload_file_set.discard(str(path))
    folder = Path(path).parent
    Path(path).unlink(missing_ok=True)
    if folder != Path(get_upload_folder()) and not any(folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)


# -- filters -------------------------------------------------------------------------------


def make_filters(
    doc_types: list[str] | None,
    organisations: list[str] | None,
    year_from: int | str | None,
    year_to: int | str | None,
    sources: list[str] | None,
) -> Filters:
    def year(value) -> int | None:
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    low, high = year(year_from), year(year_to)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return Filters(
        doc_types=tuple(doc_types or ()),
        organisations=tuple(organisations or ()),
        sources=tuple(sources or ()),
        year_from=low,
        year_to=high,
    )


def filter_choices(index: SearchIndex | None) -> tuple[list, list, list]:
    """(organisations, years, documents as (title, source)) for the filter menus."""
    if index is None:
        return [], [], []
    documents = index.documents()
    organisations = sorted({d.metadata.organisation for d in documents if d.metadata.organisation})
    years = sorted(
        {int(d.metadata.date[:4]) for d in documents if (d.metadata.date or "")[:4].isdigit()}
    )
    titles = sorted(
        ((f"{d.metadata.title} ({d.source})", d.source) for d in documents),
        key=lambda c: c[0].lower(),
    )
    return organisations, years, titles


# -- pages ---------------------------------------------------------------------------------


def documents_html(library: Library, text: str = "", sort: str = "titel", page: int = 1) -> str:
    """The "Dokument" tab for the library's current index (see web_documents)."""
    return web_documents.documents_html(library.index, library.problem, text, sort, page)


# -- the app -------------------------------------------------------------------------------


def build_blocks(library: Library, options: ServeOptions) -> gr.Blocks:
    """The page: tabs Fråga, Hitta formuleringar, Dokument (and Lägg till dokument).

    Nothing from the corpus is built into the page: the filter menus and the document list
    are filled when a logged-in browser loads it, so the login page (which carries the
    page's configuration) names no file, organisation or year."""

    def respond(message, history, earlier, doc_types, orgs, year_from, year_to, sources, mode, k):
        history = list(history or [])
        # A new (or cleared) conversation carries nothing over from an earlier one; the
        # earlier questions are kept as asked, so the chat reads them as /svara does.
        earlier = [q for q in earlier or () if isinstance(q, str)] if history else []
        asked, _ = clean_question(message or "")
        if not asked:
            # Nothing is added to the conversation, however often Enter is pressed.
            gr.Info(empty_question_answer(), title="Skriv en fråga")
            return history, earlier, ""
        history.append({"role": "user", "content": md_text(asked)})
        index = library.index
        if index is None:
            text = md_text(library.problem or "Indexet kan inte läsas.")
        else:
            filters = make_filters(doc_types, orgs, year_from, year_to, sources)
            answer = answer_question(
                index,
                message,
                earlier,
                k=int(k),
                filters=filters or None,
                mode=mode if mode in MODES else "hybrid",
            )
            read_by_ocr = {}
            for source in {h.chunk.source for h in answer.sources}:
                document = index.document(source)
                notes = [w for w in document.warnings if "OCR" in w] if document else []
                if notes:
                    read_by_ocr[source] = "; ".join(notes)
            text = answer_markdown(answer, filtered=bool(filters), read_by_ocr=read_by_ocr)
        history.append({"role": "assistant", "content": text})
        return history, [*earlier, message], ""

    def svara(fraga: str, tidigare: list[str] | None = None) -> dict:
        """Svara som chatten: `tidigare` är samtalets tidigare frågor, äldst först. Svarar
        med samma JSON som `strategisok ask --json`."""
        index = library.index
        echoed = (fraga or "")[:MAX_QUESTION_CHARS]
        if index is None:
            return answer_to_json(echoed, None)
        return answer_to_json(echoed, answer_question(index, fraga or "", list(tidigare or [])))

    def sok(fraga: str) -> dict:
        """Sök i dokumenten. Svarar med samma JSON som `strategisok search --json`."""
        question, _ = clean_question(fraga or "")
        index = library.index
        echoed = (fraga or "")[:MAX_QUESTION_CHARS]
        if not question or index is None:
            return query_to_json(echoed, [])
        return query_to_json(echoed, index.search(question, k=5))

    def find_wording(text, doc_types, orgs, year_from, year_to, sources):
        phrase = phrase_of(text or "")
        index = library.index
        if index is None:
            return f'<p class="sok-info">{html_text(library.problem or "")}</p>'
        if not phrase:
            return phrases_html("", [])
        filters = make_filters(doc_types, orgs, year_from, year_to, sources)
        return phrases_html(phrase, index.find_phrase(phrase, filters or None))

    def refresh_choices():
        orgs, yrs, docs = filter_choices(library.index)
        return (
            gr.update(choices=orgs),
            gr.update(choices=yrs),
            gr.update(choices=yrs),
            gr.update(choices=docs),
        )

    def upload(files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        if not files:
            return "Välj en eller flera filer först.", documents_html(library)
        progress(0.05, desc="Kontrollerar filerna …")
        index = library.index
        known = {d.content_hash: d.source for d in index.documents()} if index else {}
        corpus = library.corpus_dir
        if not all(uploaded_here(blocks, str(f)) for f in files):
            raise gr.Error("Bara filer som du just har laddat upp kan läggas till.")
        staged = [(Path(f), Path(getattr(f, "orig_name", None) or f).name) for f in files]
        try:
            result = save_uploads(staged, corpus, options.max_upload_mb * 1_000_000, known)
        finally:
            for f in files:
                remove_upload(blocks, str(f))
        lines = list(result.messages)
        if result.saved:
            progress(0.2, desc="Läser och indexerar de nya dokumenten …")
            settings = library.settings
            try:
                report = build_index(
                    corpus, settings.index_location, settings.index_config(), progress=True
                )
            except IndexBusy:
                lines.append(
                    "Indexet uppdateras redan av någon annan. Filerna är sparade och kommer "
                    "med vid nästa indexering."
                )
            except ModelLoadError as exc:
                lines.append(f"Indexeringen misslyckades: {exc}")
            else:
                lines += index_messages(
                    result.saved, report, lambda s: (corpus / s).unlink(missing_ok=True)
                )
                library.reload()
                lines.append(
                    f"Indexet har nu {report.documents} dokument och {report.chunks} avsnitt."
                )
        progress(1.0, desc="Klart")
        return "\n".join(f"- {md_text(line)}" for line in lines), documents_html(library)

    filter_inputs: list[gr.components.Component] = []
    with gr.Blocks(title=TITLE) as blocks:
        gr.Markdown(
            f"# {TITLE}\nStäll en fråga om stadens strategier och remissvar. Svaret citerar "
            "dokumenten ordagrant, med källa, avsnitt och sida."
        )
        earlier = gr.State([])  # the conversation's questions so far, as asked
        with gr.Tabs():
            with gr.Tab("Fråga", id="fraga"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            label="Samtal",
                            elem_id="sok-chat",
                            height="62vh",
                            min_height=320,
                            render_markdown=True,
                            sanitize_html=True,
                            latex_delimiters=[],
                            autoscroll=False,
                            feedback_options=None,
                            # Gradio's copy button copies the markup; every answer and passage
                            # has its own button that copies clean text with its citation.
                            buttons=[],
                            placeholder=(
                                "**Välkommen!** Skriv en fråga nedan eller välj ett exempel. "
                                "Sätt en exakt formulering inom citattecken för att bara få "
                                "avsnitt som innehåller den."
                            ),
                            examples=None,  # filled on load: they come from the corpus
                        )
                        question = gr.Textbox(
                            label="Din fråga",
                            placeholder="T.ex. Vad säger strategin om samverkan med näringslivet?",
                            lines=1,
                            max_lines=4,
                            elem_id="sok-question",
                            submit_btn="Sök",
                            autofocus=True,
                        )
                        clear = gr.Button("Rensa samtalet", variant="secondary", size="sm")
                    with (
                        gr.Column(scale=1, min_width=260, elem_id="sok-filter-column"),
                        gr.Accordion("Avgränsa sökningen", open=True, elem_id="sok-filters"),
                    ):
                        doc_types = gr.CheckboxGroup(
                            [(label, value) for value, label in DOC_TYPE_LABELS.items()],
                            label="Dokumenttyp",
                        )
                        # Choices arrive on load; values outside them simply match nothing.
                        orgs = gr.Dropdown(
                            [],
                            multiselect=True,
                            label="Organisation",
                            value=[],
                            allow_custom_value=True,
                        )
                        with gr.Row():
                            year_from = gr.Dropdown(
                                [],
                                label="Från år",
                                value=None,
                                min_width=100,
                                allow_custom_value=True,
                            )
                            year_to = gr.Dropdown(
                                [],
                                label="Till år",
                                value=None,
                                min_width=100,
                                allow_custom_value=True,
                            )
                        sources = gr.Dropdown(
                            [],
                            multiselect=True,
                            label="Dokument",
                            value=[],
                            allow_custom_value=True,
                        )
                        with gr.Accordion("Avancerat", open=False):
                            mode = gr.Radio(
                                [(MODE_LABELS[m], m) for m in MODES],
                                value="hybrid",
                                label="Sökläge",
                            )
                            k = gr.Slider(1, 20, value=5, step=1, label="Antal avsnitt")
                filter_inputs = [doc_types, orgs, year_from, year_to, sources]
            with gr.Tab("Hitta formuleringar", id="formuleringar"):
                gr.Markdown(
                    "Hitta alla ställen där en formulering används, t.ex. "
                    "”inget att erinra” eller ”ställer sig positiv till”. Filtren under "
                    "*Fråga* gäller även här."
                )
                with gr.Row():
                    phrase = gr.Textbox(
                        label="Formulering",
                        placeholder='"inget att erinra"',
                        scale=4,
                        elem_id="sok-phrase",
                    )
                    phrase_button = gr.Button("Hitta", variant="primary", scale=1, min_width=80)
                phrase_results = gr.HTML(elem_classes=["sok-results"], elem_id="sok-phrases")
            with gr.Tab("Dokument", id="dokument"):
                with gr.Row():
                    doc_text = gr.Textbox(
                        label="Sök bland dokumenten",
                        placeholder="Titel, organisation eller filnamn",
                        scale=3,
                        elem_id="sok-doc-search",
                    )
                    doc_sort = gr.Radio(
                        [(label, key) for key, label in SORTS.items()],
                        value="titel",
                        label="Sortera efter",
                        scale=2,
                        elem_id="sok-doc-sort",
                    )
                documents = gr.HTML("", elem_id="sok-documents")
                doc_page = gr.State(1)
                with gr.Row():
                    doc_previous = gr.Button("← Föregående sida", size="sm", elem_id="sok-doc-prev")
                    doc_next = gr.Button("Nästa sida →", size="sm", elem_id="sok-doc-next")
            if options.allow_upload:
                with gr.Tab("Lägg till dokument", id="ladda-upp"):
                    gr.Markdown(
                        "Lägg till PDF, DOCX, TXT eller MD. Största filstorlek: "
                        f"{options.max_upload_mb} MB per fil. Filerna sparas i "
                        "dokumentmappen och indexeras direkt; en fil med samma namn som en "
                        "befintlig sparas med ett nummer efter namnet (inget skrivs över)."
                    )
                    # A button rather than gr.File: its drop zone speaks the browser's language.
                    files = gr.UploadButton(
                        "Välj filer att lägga till …",
                        file_count="multiple",
                        # No file_types: Gradio would refuse other types in English before
                        # save_uploads can say in Swedish which types it takes.
                        variant="primary",
                        elem_id="sok-upload",
                    )
                    upload_status = gr.Markdown()

        chat_inputs = [question, chatbot, earlier, *filter_inputs, mode, k]
        chat_outputs = [chatbot, earlier, question]
        question.submit(respond, chat_inputs, chat_outputs, api_name="fraga").then(
            None, None, None, js=SCROLL_TO_ANSWER, api_visibility="private"
        )
        chatbot.example_select(
            _example_text,
            None,
            question,
            api_visibility="private",
        ).then(respond, chat_inputs, chat_outputs, api_visibility="private")
        chatbot.clear(lambda: [], None, earlier, api_visibility="private")
        clear.click(
            lambda: ([], [], ""), None, [chatbot, earlier, question], api_visibility="private"
        )
        phrase_inputs = [phrase, *filter_inputs]
        phrase.submit(find_wording, phrase_inputs, phrase_results, api_name="formuleringar")
        phrase_button.click(find_wording, phrase_inputs, phrase_results, api_visibility="private")
        if options.allow_upload:
            files.upload(
                upload,
                files,
                [upload_status, documents],
                api_name="ladda_upp",
                concurrency_limit=1,
                concurrency_id="upload",
            ).then(
                refresh_choices,
                None,
                [orgs, year_from, year_to, sources],
                api_visibility="private",
            )

        def show_documents(text, sort, page, step=0):
            index = library.index
            if index is None:
                return documents_html(library), 1, gr.update(), gr.update()
            documents = index.documents()
            listing = list_documents(documents, text or "", sort or "titel", int(page or 1) + step)
            return (
                listing_html(index, documents, listing, text or ""),
                listing.page,
                gr.update(interactive=listing.page > 1),
                gr.update(interactive=listing.page < listing.pages),
            )

        listing_inputs = [doc_text, doc_sort, doc_page]
        listing_outputs = [documents, doc_page, doc_previous, doc_next]
        for event in (doc_text.submit, doc_text.change, doc_sort.change):
            event(
                lambda text, sort, _page: show_documents(text, sort, 1),
                listing_inputs,
                listing_outputs,
                api_visibility="private",
                show_progress="hidden",
            )
        doc_previous.click(
            lambda *a: show_documents(*a, step=-1),
            listing_inputs,
            listing_outputs,
            api_visibility="private",
        )
        doc_next.click(
            lambda *a: show_documents(*a, step=1),
            listing_inputs,
            listing_outputs,
            api_visibility="private",
        )

        def on_load():
            examples = [{"text": q} for q in library.examples(options.examples)]
            listing = show_documents("", "titel", 1)
            return *listing, gr.update(examples=examples or None)

        blocks.load(on_load, None, [*listing_outputs, chatbot], api_visibility="private").then(
            refresh_choices, None, [orgs, year_from, year_to, sources], api_visibility="private"
        )
        gr.api(sok, api_name="sok")
        gr.api(svara, api_name="svara")
    return blocks


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)


def create_app(settings: Settings, options: ServeOptions) -> FastAPI:
    """The FastAPI app: the Gradio page at / with its API, plus `fil/…` and `kalla`."""
    library = Library(settings)
    blocks = build_blocks(library, options)
    blocks.queue(default_concurrency_limit=SEARCH_CONCURRENCY)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    mounted: dict = {}

    async def require_login(request: Request) -> None:
        # Ask the Gradio app itself whether this browser is logged in, so the file and
        # context pages share its login (cookie) without reaching into its internals.
        forwarded = {
            name: value
            for name, value in request.headers.items()
            if name in ("cookie", "authorization")
        }
        transport = httpx.ASGITransport(app=mounted["gradio"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gradio") as client:
            answer = await client.get("/gradio_api/login_check", headers=forwarded)
        if answer.status_code != 200:
            raise HTTPException(401, "Logga in på Strategisök först.")

    add_routes(
        app,
        lambda: library.index,
        lambda: library.corpus_dir,
        settings.index_dir,
        require_login,
    )
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=list(options.auth) or None,
        auth_message="Logga in för att söka i dokumenten.",
        max_file_size=options.max_upload_mb * 1_000_000 if options.allow_upload else "1mb",
        footer_links=[],
        css=CSS,
        js=PAGE_JS,
        i18n=GRADIO_SWEDISH,
        ssr_mode=False,
        mcp_server=False,
    )
    gradio_app = mounted["gradio"] = app.routes[-1].app
    # mount_gradio_app never marks the app launched, and Gradio skips its own check that a
    # file argument was uploaded by the client until it is.
    blocks.has_launched = True
    # Logins expire on the server too, not only their cookies (web_guard gives those a
    # lifetime): Gradio keeps its session tokens forever otherwise.
    gradio_app.tokens = TTLCache(maxsize=100_000, ttl=options.session_seconds)
    app.add_middleware(
        Guard,
        api=lambda: (API_ARGUMENTS, _function_names(blocks)),
        session_seconds=options.session_seconds,
        page_script=SWEDISH_PAGE,
        upload_limit_mb=options.max_upload_mb if options.allow_upload else None,
    )
    app.state.library = library
    app.state.blocks = blocks
    return app


def _function_names(blocks: gr.Blocks) -> dict[int, str | None]:
    """The public API name (or None) of every function the page may call by index."""
    return {
        index: fn.api_name if fn.api_visibility != "private" else None
        for index, fn in blocks.fns.items()
    }


def serve(settings: Settings, host: str, port: int, options: ServeOptions) -> int:
    """Run the app until interrupted (never with a public share link)."""
    app = create_app(settings, options)
    library: Library = app.state.library
    for note in (library.problem, library.warning):
        if note:
            print(f"Obs: {note}", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(f"Strategisök körs på http://{shown}:{port}/  (avsluta med Ctrl+C)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
