"""PDFs are parsed out of process: one reused worker process, with a cap on its memory
(RLIMIT_AS) and a time limit per file. A hostile PDF (a decompression bomb, a cross-reference
loop, a parser bug) then costs one worker, never the build or the web server; it comes back as
an `IngestError` with a Swedish reason, and the next file gets a fresh worker.

The worker speaks a small length-prefixed JSON protocol over its stdin and stdout, so nothing
it sends back is unpickled."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest.formats import Extracted, read_pdf
from ingest.models import Block, IngestError
from ingest.ocr import OcrOptions, current_options

_READY = b"R"
_STARTUP_TIMEOUT_S = 120.0
"""A cold worker imports pypdf; on a loaded machine that may take a while, and it is not the
file's fault, so it does not count against the file's time limit."""


@dataclass(frozen=True)
class ParseLimits:
    """Limits for parsing one PDF in the worker process."""

    timeout_s: float = 30.0
    """Wall-clock seconds one file may take before the worker is killed."""
    memory_mb: int = 1024
    """Address space of the worker in MB (RLIMIT_AS); 0 means no limit."""


def timeout_reason(limits: ParseLimits) -> str:
    return (
        f"tog för lång tid att läsa (över {limits.timeout_s:g} s) – filen kan vara skadad; "
        "öppna den, spara om den som PDF och lägg in den igen"
    )


def memory_reason(limits: ParseLimits) -> str:
    return (
        f"krävde för mycket minne att läsa (över {limits.memory_mb} MB) – filen kan vara "
        "skadad eller innehålla en dekomprimeringsbomb; spara om den som PDF och lägg in den igen"
    )


CRASH_REASON = (
    "fick PDF-läsaren att krascha – filen är troligen skadad; spara om den som PDF och lägg "
    "in den igen"
)


START_FAILED = (
    "PDF-läsaren (en separat process) kunde inte startas – filen har inte lästs; kontrollera "
    "att datorn har ledigt minne och kör indexeringen igen"
)


# --------------------------------------------------------------------------- parent side


class PdfWorker:
    """One worker process, started on first use and replaced after a timeout or a crash.
    Thread-safe: callers take turns."""

    def __init__(self, limits: ParseLimits):
        self.limits = limits
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def read(self, data: bytes, source: str) -> Extracted:
        """Parse `data` (a PDF) in the worker. Returns what `read_pdf` returns; raises
        IngestError with the reader's reason, or a timeout, memory or crash reason."""
        with self._lock:
            process = self._ensure_started()
            if process is None:
                raise IngestError(source, START_FAILED)
            ocr = current_options()
            header = json.dumps(
                {
                    "source": source,
                    "size": len(data),
                    "ocr": ocr.enabled,
                    "ocr_cache": ocr.cache_dir,
                }
            ).encode()
            try:
                _write_frame(process, header)
                process.stdin.write(data)
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                self._stop()
                raise IngestError(source, CRASH_REASON) from None
            try:
                answer = self._answer(process)
            except TimeoutError:
                self._stop()
                raise IngestError(source, timeout_reason(self.limits)) from None
            if answer is None:  # the worker died without answering
                self._stop()
                raise IngestError(source, CRASH_REASON)
            if "memory" in answer:
                self._stop()  # a worker that ran out of memory may be left fragmented
                raise IngestError(source, memory_reason(self.limits))
            if "error" in answer:
                raise IngestError(source, answer["error"])
            return _extracted_from_json(answer["ok"])

    def _answer(self, process: subprocess.Popen) -> dict | None:
        """The worker's answer for the file. Each scanned page it starts to OCR is announced
        with a progress frame and gets a time limit of its own (OCR takes seconds a page),
        so the limit catches a hanging parser, not a long scan."""
        while True:
            reply = _read_frame(process, time.monotonic() + self.limits.timeout_s)
            if reply is None:
                return None
            answer = json.loads(reply)
            if "progress" not in answer:
                return answer

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _ensure_started(self) -> subprocess.Popen | None:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        memory = self.limits.memory_mb * 1024 * 1024
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        code = "from ingest.isolation import worker_main; worker_main()"
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code, str(memory), str(self.limits.timeout_s)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=0,
                start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
            )
        except OSError:
            return None
        self._process = process
        try:
            ready = _read_exact(process, 1, time.monotonic() + _STARTUP_TIMEOUT_S)
        except TimeoutError:
            ready = None
        if ready != _READY:
            self._stop()
            return None
        return process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def _write_frame(process: subprocess.Popen, payload: bytes) -> None:
    process.stdin.write(len(payload).to_bytes(8, "big") + payload)


def _read_exact(process: subprocess.Popen, size: int, deadline: float) -> bytes | None:
    """`size` bytes from the worker, None at end of stream; TimeoutError past `deadline`."""
    fd = process.stdout.fileno()
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError
        readable, _, _ = select.select([fd], [], [], wait)
        if not readable:
            raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_frame(process: subprocess.Popen, deadline: float) -> bytes | None:
    header = _read_exact(process, 8, deadline)
    if header is None:
        return None
    return _read_exact(process, int.from_bytes(header, "big"), deadline)


def _extracted_from_json(value: dict) -> Extracted:
    return Extracted(
        blocks=tuple(Block(**block) for block in value["blocks"]),
        title=value["title"],
        title_hint=value["title_hint"],
        running_headers=tuple(value["running_headers"]),
        page_count=value["page_count"],
        warnings=tuple(value["warnings"]),
    )


_workers: dict[ParseLimits, PdfWorker] = {}
_workers_lock = threading.Lock()


def shared_worker(limits: ParseLimits) -> PdfWorker:
    """The process-wide worker for `limits` (one per distinct limits), so a corpus of
    10,000 PDFs starts one process, not 10,000."""
    with _workers_lock:
        worker = _workers.get(limits)
        if worker is None:
            worker = _workers[limits] = PdfWorker(limits)
        return worker


def read_pdf_isolated(data: bytes, source: str, limits: ParseLimits) -> Extracted:
    """`read_pdf` in the shared worker process for `limits`."""
    return shared_worker(limits).read(data, source)


@atexit.register
def close_workers() -> None:
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.close()


# --------------------------------------------------------------------------- worker side


def worker_main() -> None:
    """Entry point of the worker process: argv is [memory limit in bytes, time limit in s]."""
    import resource

    memory, timeout = int(sys.argv[1]), float(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    requests = sys.stdin.buffer
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    replies.write(_READY)
    while True:
        header = requests.read(8)
        if len(header) < 8:
            return  # the parent closed the pipe (or died)
        request = json.loads(requests.read(int.from_bytes(header, "big")))
        data = requests.read(request["size"])
        _limit_cpu(resource, timeout)
        options = OcrOptions(bool(request.get("ocr", True)), request.get("ocr_cache"))

        def progress() -> None:
            _limit_cpu(resource, timeout)
            frame = json.dumps({"progress": True}).encode()
            replies.write(len(frame).to_bytes(8, "big") + frame)

        answer, fatal = _parse(data, request["source"], options, progress)
        del data
        payload = json.dumps(answer, ensure_ascii=False).encode()
        replies.write(len(payload).to_bytes(8, "big") + payload)
        if fatal:
            return


def _parse(
    data: bytes, source: str, options: OcrOptions, progress: Callable[[], None]
) -> tuple[dict, bool]:
    try:
        extracted = read_pdf(data, source, options, progress)
        return {"ok": _extracted_to_json(extracted)}, False
    except IngestError as exc:
        return {"error": exc.reason}, False
    except MemoryError:
        return {"memory": True}, True
    except RecursionError:
        return {"error": "trasig PDF: för djupt nästlad struktur"}, True
    except BaseException as exc:  # noqa: BLE001 - whatever the file does, answer and move on
        return {"error": f"trasig eller avkortad PDF: {type(exc).__name__}"}, True


def _extracted_to_json(extracted: Extracted) -> dict:
    return {
        "blocks": [asdict(block) for block in extracted.blocks],
        "title": extracted.title,
        "title_hint": extracted.title_hint,
        "running_headers": list(extracted.running_headers),
        "page_count": extracted.page_count,
        "warnings": list(extracted.warnings),
    }


def _limit_cpu(resource, timeout: float) -> None:
    """Backstop for a worker whose parent died mid-file (nobody left to kill it on time):
    the kernel ends it once this file has used a little more CPU time than its limit."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + timeout) + 5
    if hard == resource.RLIM_INFINITY or soft <= hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
