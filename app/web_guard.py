"""What stands between the network and the Gradio app: security headers on every response, a
limit on failed logins per client address, sessions that expire, and a check of every API
call's arguments before Gradio sees them, so that a wrong type or an unknown function gets a
4xx with a Swedish message instead of Gradio's 500. Pure ASGI: Gradio's streamed responses
pass through untouched."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import TypeAdapter, ValidationError

LOGIN_LIMIT = "10/minute"
"""Failed logins allowed per client address; further attempts get HTTP 429 until the window
has moved on."""
SESSION_SECONDS = 8 * 3600
"""A login lasts a working day; then the cookie and the server's record of it expire."""
MAX_API_BODY = 2_000_000
"""An API call carries a question and a few choices; anything larger is refused unread."""

# Gradio's page needs inline scripts and styles (its config is an inline script); everything
# else comes from this server only, and no other site may frame the page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)

TOO_MANY_LOGINS = (
    "För många misslyckade inloggningar från din adress. Vänta en minut och försök igen."
)

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


@dataclass(frozen=True)
class ApiArguments:
    """What one API endpoint takes: a pydantic type for its argument tuple, a Swedish
    description of each argument for the message when a call gets them wrong, and
    optionally `refuse(arguments)`, a Swedish reason to refuse well-formed arguments."""

    shape: TypeAdapter
    described: tuple[str, ...]
    refuse: Callable[[list], str | None] | None = None

    def problem(self, name: str, data: Any) -> tuple[int, str] | None:
        """(HTTP status, Swedish message) when `data` is not what the endpoint takes."""
        try:
            self.shape.validate_python(tuple(data) if isinstance(data, list) else None, strict=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            wrong = error["loc"][:1]
            at = (
                f"argument {wrong[0] + 1} ({self.described[wrong[0]]}) "
                + ("saknas" if error["type"] == "missing" else "har fel typ")
                if wrong and isinstance(wrong[0], int) and wrong[0] < len(self.described)
                else "argumenten har fel antal eller form"
            )
            wanted = "; ".join(f"{i}. {d}" for i, d in enumerate(self.described, 1))
            return 422, f"Fel i anropet till /{name}: {at}. Funktionen tar {wanted}."
        reason = self.refuse(data) if self.refuse else None
        return (403, f"/{name}: {reason}") if reason else None


class Guard:
    """ASGI middleware around the whole app.

    `api` gives, when asked (the Gradio app is built after this is created), the endpoints'
    arguments by API name and the API name (or None) of every function index the page may
    call. `page_script` is put first in the head of the app's page (GET /), before any of
    Gradio's own scripts run."""

    def __init__(
        self,
        app: ASGIApp,
        api: Callable[[], tuple[Mapping[str, ApiArguments], Mapping[int, str | None]]],
        session_seconds: int = SESSION_SECONDS,
        login_limit: str = LOGIN_LIMIT,
        page_script: str = "",
        upload_limit_mb: int | None = None,
    ):
        self.app = app
        self._upload_limit_mb = upload_limit_mb
        self._page_script = page_script.encode()
        self._api = api
        self._session_seconds = session_seconds
        self._limit = parse(login_limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path, method = scope["path"], scope["method"]
        if method == "POST" and path.rstrip("/") == "/login":
            await self._login(scope, receive, send)
            return
        if method == "POST" and path.rstrip("/") == "/gradio_api/upload":
            await self.app(scope, receive, _in_swedish_when_too_large(send, self._upload_limit_mb))
            return
        if method == "POST" and path.startswith("/gradio_api/"):
            body = await _read_body(receive, MAX_API_BODY)
            if body is None:
                await _reply(send, 413, "Fel i anropet: det är för stort.")
                return
            refusal = self._check_call(path, body)
            if refusal:
                await _reply(send, *refusal)
                return
            receive = _replay(body, receive)
        if method == "GET" and path == "/" and self._page_script:
            send = _with_page_script(send, self._page_script)
        await self.app(scope, receive, send)

    # -- logins ------------------------------------------------------------------------------

    async def _login(self, scope: dict, receive: Callable, send: Callable) -> None:
        client = (scope.get("client") or ("okänd", 0))[0]
        if not self._limiter.test(self._limit, client):
            await _reply(send, 429, TOO_MANY_LOGINS, headers=[(b"retry-after", b"60")])
            return

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                if message["status"] in (400, 401, 403):
                    self._limiter.hit(self._limit, client)
                elif message["status"] == 200:
                    message = dict(message, headers=self._expiring(message["headers"]))
            await send(message)

        await self.app(scope, receive, watch)

    def _expiring(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """Gradio's session cookies, given a lifetime (they have none of their own)."""
        suffix = f"; Max-Age={self._session_seconds}".encode()
        return [
            (name, value + suffix if name.lower() == b"set-cookie" else value)
            for name, value in headers
        ]

    # -- API calls ---------------------------------------------------------------------------

    def _check_call(self, path: str, body: bytes) -> tuple[int, str] | None:
        """(status, message) for a call to refuse, None for one to pass on to Gradio."""
        parts = path.strip("/").split("/")
        kind = parts[1] if len(parts) > 1 else ""
        if kind not in ("run", "call", "queue", "api"):
            return None
        if kind == "queue" and parts[2:] != ["join"]:
            return None
        try:
            payload = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, "Fel i anropet: det är ingen giltig JSON."
        if not isinstance(payload, dict):
            return 422, 'Fel i anropet: det ska vara ett JSON-objekt med fältet "data" (en lista).'
        arguments, functions = self._api()
        name = parts[2] if kind != "queue" and len(parts) > 2 else None
        if "fn_index" in payload and name in (None, "predict"):
            index = payload["fn_index"]
            if type(index) is not int or index not in functions:
                return 404, f"Okänd funktion (fn_index {str(index)[:20]})."
            name = functions[index]
        if name is None:
            return None
        if name not in arguments:
            return (404, f"Okänd funktion /{name[:60]}.") if kind != "queue" else None
        return arguments[name].problem(name, payload.get("data"))


def _with_security_headers(send: Callable) -> Callable:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in _ALWAYS if name not in present]
            kind = next((v for n, v in headers if n.lower() == b"content-type"), b"")
            if kind.startswith(b"text/html") and b"content-security-policy" not in present:
                headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
            message = dict(message, headers=headers)
        await send(message)

    return sending


def _in_swedish_when_too_large(send: Callable, limit_mb: int | None) -> Callable:
    """Gradio refuses an oversize upload with an English 413; say it in Swedish instead."""
    replaced = False

    async def sending(message: dict) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 413:
            replaced = True
            limit = f" Största tillåtna storlek är {limit_mb} MB per fil." if limit_mb else ""
            text = ("Filen är för stor för att laddas upp." + limit).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(text)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": text})
            return
        if not replaced:
            await send(message)

    return sending


def _with_page_script(send: Callable, script: bytes) -> Callable:
    """Put `<script>…</script>` right after `<head>` of an HTML page (its length adjusted)."""
    start: dict = {}
    body: list[bytes] = []

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body"):
            return
        page = b"".join(body)
        kind = next((v for n, v in start.get("headers", []) if n.lower() == b"content-type"), b"")
        if kind.startswith(b"text/html") and b"<head>" in page:
            page = page.replace(b"<head>", b"<head><script>" + script + b"</script>", 1)
        headers = [(n, v) for n, v in start.get("headers", []) if n.lower() != b"content-length"]
        headers.append((b"content-length", str(len(page)).encode()))
        await send(dict(start, headers=headers))
        await send({"type": "http.response.body", "body": page})

    return sending


async def _read_body(receive: Callable, limit: int) -> bytes | None:
    """The whole request body, or None when it is longer than `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Callable) -> Callable:
    """A receive that hands the app the body already read, then waits as the original."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(
    send: Callable, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
