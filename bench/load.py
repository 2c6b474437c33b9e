"""Load on `strategisok serve`: many concurrent API clients (gradio_client, `/sok`) asking the
same questions as one client asking them one at a time. Counts errors, checks that every
answer is identical to the one-at-a-time answer, and records the latency distribution.

    python -m bench.load [--clients 20] [--questions 25] [--index-dir DIR] [--url URL]

Without --url it indexes corpus/ into .cache/load (once) and starts `strategisok serve` on a
free loopback port. Results go to bench/results/load.json; the exit code is 1 on any error
or difference."""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.jsonl"
RESULTS = ROOT / "bench" / "results" / "load.json"
ODD_QUESTIONS = (
    "",
    "Vad säger strategin om samverkan? " * 200,
    "🙂 internationell strategi 🇸🇪",
    "<script>alert(1)</script> inget att erinra",
    "och att det som är",
)


def questions(count: int) -> list[str]:
    """`count` questions: the seed questions and a few odd ones, repeated as needed."""
    lines = SEED_QUESTIONS.read_text(encoding="utf-8").splitlines()
    pool = [json.loads(line)["q"] for line in lines if line.strip()] + list(ODD_QUESTIONS)
    return [pool[i % len(pool)] for i in range(count)]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_load(url: str, clients: int, asked: list[str], seed: int = 1) -> dict:
    """Ask `asked` once in order with one client (the reference), then from `clients`
    concurrent clients, each in its own shuffled order. Returns counts, mismatches and
    latency statistics in seconds."""
    from gradio_client import Client

    reference_client = Client(url, verbose=False)
    reference = {}
    for question in dict.fromkeys(asked):
        reference[question] = reference_client.predict(question, api_name="/sok")

    latencies: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def one_client(number: int) -> None:
        order = list(asked)
        random.Random(seed * 1000 + number).shuffle(order)
        try:
            client = Client(url, verbose=False)
        except Exception as exc:  # noqa: BLE001 - counted and reported, not raised
            with lock:
                errors.append(f"klient {number}: {type(exc).__name__}: {exc}")
            start.abort()
            return
        start.wait()
        for question in order:
            began = time.perf_counter()
            try:
                answer = client.predict(question, api_name="/sok")
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"klient {number}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if answer != reference[question]:
                    mismatches.append(question[:80])

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    wall = time.perf_counter() - began
    return {
        "clients": clients,
        "questions_per_client": len(asked),
        "requests": clients * len(asked),
        "answered": len(latencies),
        "errors": errors,
        "mismatches": mismatches,
        "wall_s": round(wall, 3),
        "throughput_per_s": round(len(latencies) / wall, 2) if wall else None,
        "latency_s": {
            "p50": round(_percentile(latencies, 0.50), 4) if latencies else None,
            "p95": round(_percentile(latencies, 0.95), 4) if latencies else None,
            "max": round(max(latencies), 4) if latencies else None,
        },
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATEGISOK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--index-dir", str(index_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("strategisok serve avslutades innan den svarade")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("strategisok serve svarade inte inom 180 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".cache" / "load" / "index")
    parser.add_argument("--url", help="a server that is already running")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    process = None
    url = args.url
    if url is None:
        if not (args.index_dir / "CURRENT").exists():
            subprocess.run(
                [sys.executable, "-m", "app", "index", str(ROOT / "corpus"), "--index-dir",
                 str(args.index_dir), "--quiet"],
                cwd=ROOT, check=True,
            )  # fmt: skip
        process, url = _serve(args.index_dir)
    try:
        result = run_load(url, args.clients, questions(args.questions))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    if args.url is None:
        from index.manifest import choose_build

        chosen = choose_build(args.index_dir)
        result["model"] = chosen[1]["model"]["id"] if chosen else None
    result["measured"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["cpus"] = os.cpu_count()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    latency = result["latency_s"]
    print(
        f"{result['clients']} klienter × {result['questions_per_client']} frågor: "
        f"{result['answered']}/{result['requests']} svar, {len(result['errors'])} fel, "
        f"{len(result['mismatches'])} avvikande svar; p50 {latency['p50']} s, "
        f"p95 {latency['p95']} s, max {latency['max']} s, {result['throughput_per_s']} svar/s "
        f"→ {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
    )
    for line in result["errors"][:10]:
        print(f"  fel: {line}")
    return 1 if result["errors"] or result["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
