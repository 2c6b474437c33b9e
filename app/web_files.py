"""The two plain web pages beside the chat: an original file from the corpus folder
(`fil/<source>`) and a passage among its neighbours (`kalla?dok=…&nr=…`). A file is served
only when it is a document of the current index and its real path lies inside the corpus
folder: no `..`, no absolute paths, no symlink out, no index or hidden files."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from index import Hit, SearchIndex

from .results import citation, page_text
from .web_answer import DOC_TYPE_LABELS, file_link, html_text, marked

# Served as themselves; anything else a browser could run (HTML, SVG …) goes out as text.
_INLINE_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# Downloaded with their own type, so the browser hands them to Word and its like.
_DOWNLOAD_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".odt": "application/vnd.oasis.opendocument.text",
}
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def resolve_corpus_file(
    corpus_dir: Path, source: str, known_sources: set[str], blocked: tuple[Path, ...] = ()
) -> Path | None:
    """The file for `source` (a corpus-relative path with `/`), or None when it must not be
    served: not a document of the index, not a plain relative path, or resolving (after
    symlinks) outside `corpus_dir` or inside one of the `blocked` folders."""
    if not source or source not in known_sources or "\\" in source or "\0" in source:
        return None
    parts = PurePosixPath(source).parts
    if source.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    root = corpus_dir.resolve()
    try:
        path = (root / Path(*parts)).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    if any(path.is_relative_to(b.resolve()) for b in blocked):
        return None
    return path


def file_response(path: Path) -> FileResponse:
    suffix = path.suffix.lower()
    media = _INLINE_TYPES.get(suffix)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if media is not None:
        disposition = "inline"
    else:
        disposition = "attachment"
        media = _DOWNLOAD_TYPES.get(suffix)
        if media is None:
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/") or "html" in media or "xml" in media:
                media = "text/plain; charset=utf-8"
    if media != "application/pdf":
        # A served file never runs anything, whatever it contains.
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return FileResponse(
        path,
        media_type=media,
        headers=headers,
        filename=path.name,
        content_disposition_type=disposition,
    )


def error_page(status: int, message: str) -> HTMLResponse:
    """A Swedish page for a link that leads nowhere (instead of FastAPI's JSON)."""
    title = {401: "Logga in först", 404: "Finns inte"}.get(status, "Något gick fel")
    body = f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Strategisök</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto;
  padding: 0 1rem; line-height: 1.5; color: #1f2937; }}</style></head>
<body><h1>{title}</h1><p>{html_text(message)}</p>
<p><a href="./">Till Strategisök</a></p></body></html>"""
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Content-Security-Policy": _PAGE_POLICY, "Cache-Control": "no-store"},
    )


def context_page(index: SearchIndex, source: str, ordinal: int, query: str) -> str | None:
    """HTML page with passage `ordinal` of `source` between its neighbours, the question's
    words highlighted, and a link to the original file at the passage's page."""
    document = next((d for d in index.documents() if d.source == source), None)
    if document is None:
        return None
    chunks = [c for c, _ in index.store.chunks_of(source)]
    target = next((c for c in chunks if c.ordinal == ordinal), None)
    if target is None:
        return None
    meta = document.metadata
    facts = [
        x
        for x in (
            meta.organisation,
            DOC_TYPE_LABELS.get(meta.doc_type, meta.doc_type),
            meta.date,
            meta.diarienummer and f"dnr {meta.diarienummer}",
            meta.page_count and f"{meta.page_count} sidor",
        )
        if x
    ]
    passages = []
    for chunk in index.neighbours(target, before=2, after=2):
        where = " · ".join(x for x in (chunk.section, page_text(chunk)) if x)
        body = marked(chunk.text, query, html_text) if chunk == target else html_text(chunk.text)
        css = "passage target" if chunk == target else "passage"
        anchor = ' id="traff"' if chunk == target else ""
        passages.append(
            f'<article class="{css}"{anchor}><p class="where">{html_text(where)}</p>'
            f'<div class="text">{body}</div></article>'
        )
    original = file_link(source, target.page_start)
    page = page_text(target)
    page_note = f" ({page})" if page else ""
    hit_citation = html_text(citation(Hit(target, meta, 0.0, "context")))
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html_text(meta.title)} – Strategisök</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 0 auto; padding: 1rem;
  line-height: 1.5; color: #1f2937; }}
h1 {{ font-size: 1.4rem; margin-bottom: .25rem; overflow-wrap: anywhere; }}
.facts, .where {{ color: #4b5563; font-size: .9rem; margin: .25rem 0; }}
.passage {{ border-left: 4px solid #e5e7eb; padding: .25rem .75rem; margin: 1rem 0; }}
.passage.target {{ border-left-color: #2563eb; background: #eff6ff; }}
.text {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
mark {{ background: #fde68a; }}
a.button {{ display: inline-block; padding: .5rem .9rem; background: #2563eb; color: #fff;
  border-radius: .4rem; text-decoration: none; margin: .5rem 0; }}
</style></head>
<body>
<h1>{html_text(meta.title)}</h1>
<p class="facts">{html_text(" · ".join(facts))}</p>
<p><a class="button" href="{html_text(original)}">Öppna originalfilen{page_note}</a></p>
<p class="facts">Källhänvisning: {hit_citation}</p>
{"".join(passages)}
</body></html>"""


def add_routes(
    app,
    current_index: Callable[[], SearchIndex | None],
    corpus_dir: Callable[[], Path],
    index_dir: Path,
    require_login: Callable,
) -> None:
    """Register `fil/{source}` and `kalla` on the FastAPI `app`; both check the login of
    the Gradio app through `require_login(request)` before anything else."""

    @app.get("/fil/{source:path}", include_in_schema=False)
    async def original_file(source: str, request: Request):
        try:
            await require_login(request)
        except HTTPException as exc:
            return error_page(exc.status_code, exc.detail)
        index = current_index()
        known = {d.source for d in index.documents()} if index else set()
        path = resolve_corpus_file(corpus_dir(), source, known, blocked=(index_dir,))
        if path is None:
            return error_page(
                404,
                "Filen finns inte bland dokumenten. Den kan ha tagits bort eller bytt namn "
                "sedan sidan öppnades; sök igen för att få en ny länk.",
            )
        return file_response(path)

    @app.get("/kalla", include_in_schema=False)
    async def passage_in_context(request: Request, dok: str = "", nr: str = "", q: str = ""):
        try:
            await require_login(request)
        except HTTPException as exc:
            return error_page(exc.status_code, exc.detail)
        index = current_index()
        ordinal = int(nr) if nr.isdigit() else -1
        page = context_page(index, dok, ordinal, q[:300]) if index else None
        if page is None:
            return error_page(
                404,
                "Avsnittet finns inte längre: indexet har uppdaterats sedan länken skapades. "
                "Ställ frågan igen för att få en ny länk.",
            )
        return HTMLResponse(
            page,
            headers={"Content-Security-Policy": _PAGE_POLICY, "Cache-Control": "no-store"},
        )
