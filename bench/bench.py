"""`make bench`: how Strategisök's cost grows with its corpus, side by side with the naive
baseline of issue 6 (bench/naive.py) in the same run, on corpora of the first 1,000, 10,000
or all 44,397 documents of ../shared/data/regeringen.jsonl.gz.

Everything lives under .cache/bench/ and is reused: the corpora, and per model one embedding
cache shared by all sizes (Strategisök's, keyed by (model, text)) plus the naive baseline's,
so an interrupted run resumes where it stopped and a repeated run embeds nothing. Build times
are reported both as measured and as from a cold cache (measured throughput × passages).

    python -m bench.bench --sizes 1000,10000 [--model M] [--name NAME] [--skip serve,...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.corpora import DEV_QUESTIONS, ROOT, first_corpus, shared_missing_reason
from bench.measure import folder_size, latency_summary, machine, median, run_child
from bench.report import markdown, print_tables, projection, targets

CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results"
CLI = [sys.executable, "-m", "app"]
STEPS = ("ingest", "embed", "build", "incremental", "naive", "query", "cli", "cold", "serve")


def _slug(model: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9._-]+", "_", model.rstrip("/").split("/")[-1])[-40:]
    return f"{tail}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def _label(size: int | None) -> str:
    return "full" if size is None else str(size)


def phase(name: str, **args) -> dict:
    """Run one bench.phases phase in a fresh process; its result with wall time and the
    kernel's count of its peak RSS."""
    run = run_child([sys.executable, "-m", "bench.phases", name, json.dumps(args)], cwd=ROOT)
    result = run.json()
    result["wall_s"] = run.seconds
    result["child_peak_rss_mb"] = run.peak_rss_mb
    return result


def _say(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


# -- one corpus size --------------------------------------------------------------------------


class SizeRun:
    def __init__(self, size: int | None, model: str, questions: list[str], args):
        self.label = _label(size)
        self.size = size
        self.model = model
        self.questions = questions
        self.args = args
        self.corpus = CACHE / f"corpus-{self.label}"
        model_dir = CACHE / _slug(model)
        self.index_dir = model_dir / f"index-{self.label}"
        self.shared_cache = model_dir / "cache"
        self.naive_cache = model_dir / "naive-embeddings.sqlite"
        self.result: dict = {"label": self.label}
        self.skip = {s.strip() for s in args.skip.split(",")}

    def prepare(self) -> None:
        started = time.perf_counter()
        count = first_corpus(self.corpus, self.size)
        files = [p for p in self.corpus.rglob("*") if p.is_file()]
        self.result["corpus"] = {
            "documents": count,
            "bytes": sum(p.stat().st_size for p in files),
            "chars": sum(len(p.read_text(encoding="utf-8")) for p in files),
            "materialise_s": time.perf_counter() - started,
        }
        # One embedding cache for every size: the first 1,000 documents are also the first
        # 1,000 of the 10,000, so their passages are embedded once.
        self.shared_cache.mkdir(parents=True, exist_ok=True)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        link = self.index_dir / "cache"
        if not link.is_symlink():
            shutil.rmtree(link, ignore_errors=True)
            link.symlink_to(self.shared_cache.resolve(), target_is_directory=True)

    def ingest(self) -> None:
        _say(f"{self.label}: tolkning + rensning + styckning")
        self.result["ingest"] = phase(
            "ingest", corpus=str(self.corpus), model=self.model, max_docs=self.args.ingest_docs
        )

    def build(self) -> None:
        # A full build every run: drop the published builds, keep the embedding cache.
        for name in ("builds", "CURRENT"):
            path = self.index_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        _say(f"{self.label}: fullständigt bygge (inbäddningar från cachen där de finns)")
        self.result["build"] = phase(
            "build", corpus=str(self.corpus), index_dir=str(self.index_dir), model=self.model
        )
        build_dir = Path(self.result["build"]["build_dir"])
        self.result["size"] = {
            "chunks_sqlite": folder_size(build_dir / "chunks.sqlite"),
            "dense_faiss": folder_size(build_dir / "dense.faiss"),
            "lexical": folder_size(build_dir / "lexical"),
            "build_total": folder_size(build_dir),
            "embedding_cache_all_sizes": folder_size(self.shared_cache),
        }

    def incremental(self) -> None:
        """One changed file: append a paragraph, re-index, restore it, re-index again."""
        files = sorted(p for p in self.corpus.rglob("*.md"))
        target = files[len(files) // 2]
        original = target.read_bytes()
        runs = []
        try:
            text = original.decode("utf-8")
            stamp = datetime.now(UTC).isoformat()
            target.write_text(
                text + f"\n\nTillägg för prestandamätning {stamp}: nämnden ställer sig positiv.\n",
                encoding="utf-8",
            )
            _say(f"{self.label}: inkrementell uppdatering, en ändrad fil ({target.name})")
            runs.append(self._build_child())
        finally:
            target.write_bytes(original)
        runs.append(self._build_child())
        self.result["incremental"] = {
            "file": target.relative_to(self.corpus).as_posix(),
            "runs": runs,
            "seconds": median([r["seconds"] for r in runs]),
            "wall_s": median([r["wall_s"] for r in runs]),
        }

    def _build_child(self) -> dict:
        return phase(
            "build", corpus=str(self.corpus), index_dir=str(self.index_dir), model=self.model
        )

    def naive(self) -> None:
        _say(f"{self.label}: naiv baslinje (rank_bm25, IndexFlatIP, 1 000-teckensbitar)")
        self.result["naive_build"] = phase(
            "naive_build",
            corpus=str(self.corpus),
            model=self.model,
            cache=str(self.naive_cache),
        )

    def query(self) -> None:
        _say(f"{self.label}: svarstider i processen ({len(self.questions)} frågor)")
        self.result["query"] = phase(
            "query",
            corpus=str(self.corpus),
            index_dir=str(self.index_dir),
            model=self.model,
            naive_cache=None if "naive" in self.skip else str(self.naive_cache),
            questions=self.questions,
            rounds=self.args.rounds,
        )

    def cli(self) -> None:
        """`strategisok search --batch` per mode: all questions, and one, so the per-query
        cost is the difference amortised over the rest."""
        _say(f"{self.label}: strategisok search --batch")
        batch_dir = CACHE / "batches"
        batch_dir.mkdir(parents=True, exist_ok=True)
        many = batch_dir / "questions.jsonl"
        one = batch_dir / "one.jsonl"
        many.write_text(
            "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in self.questions),
            encoding="utf-8",
        )
        one.write_text(json.dumps({"q": self.questions[0]}, ensure_ascii=False) + "\n")
        result = {}
        for mode in ("lexical", "dense", "hybrid"):
            runs = {}
            for name, path in (("one", one), ("many", many)):
                run = self._search("--batch", str(path), mode=mode)
                if run.returncode != 0:
                    raise RuntimeError(f"search --batch failed: {run.stderr[-1000:]}")
                runs[name] = run
            n = len(self.questions)
            result[mode] = {
                "one_s": runs["one"].seconds,
                "all_s": runs["many"].seconds,
                "questions": n,
                "per_query_ms": (runs["many"].seconds - runs["one"].seconds) / (n - 1) * 1000,
                "peak_rss_mb": runs["many"].peak_rss_mb,
            }
        self.result["cli_batch"] = result

    def _search(self, *args: str, mode: str):
        """`strategisok search ARGS --json` over this size's index, in a child process."""
        command = [*CLI, "search", *args, "--json", "--mode", mode]
        return run_child([*command, "--index-dir", str(self.index_dir)], cwd=ROOT)

    def cold(self) -> None:
        """Process start → first answer of `strategisok search`, median of a few runs."""
        _say(f"{self.label}: kallstart av strategisok search")
        query = self.questions[0]
        result = {}
        for mode in ("lexical", "hybrid"):
            runs = [self._search(query, mode=mode) for _ in range(self.args.cold_runs)]
            result[mode] = {
                "median_s": median([r.seconds for r in runs]),
                "runs_s": [r.seconds for r in runs],
                "peak_rss_mb": max(r.peak_rss_mb for r in runs),
            }
        self.result["cold_start"] = result

    def serve(self) -> None:
        self.result["serve"] = serve_cold_start(self.index_dir, self.questions, self.args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(url: str, question: str, timeout: float = 120) -> dict:
    """One question through the Gradio API endpoint /sok of `strategisok serve`."""
    request = urllib.request.Request(
        f"{url}/gradio_api/call/sok",
        data=json.dumps({"data": [question]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/sok/{event_id}", timeout=timeout) as r:
        body = r.read().decode()
    for block in body.split("\n\n"):
        if "event: complete" in block:
            return json.loads(block.split("data:", 1)[1])[0]
    raise RuntimeError(f"/sok gave no answer: {body[:300]}")


def serve_cold_start(index_dir: Path, questions: list[str], args) -> dict:
    """`strategisok serve`: process start → first answer from /sok, then a few more answers
    and the server's peak RSS (VmHWM) after them."""
    help_text = subprocess.run([*CLI, "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    if " serve" not in help_text:
        return {"skipped": "strategisok serve finns inte i den här versionen"}
    _say("kallstart av strategisok serve")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--index-dir", str(index_dir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = None
        deadline = started + args.serve_timeout
        while time.perf_counter() < deadline and process.poll() is None:
            try:
                answer = _ask(url, questions[0])
            except (OSError, RuntimeError):
                time.sleep(0.1)
                continue
            first = time.perf_counter() - started
            break
        if first is None:
            stderr = process.stderr.read() if process.poll() is not None else ""
            return {"skipped": f"serve svarade inte inom {args.serve_timeout} s {stderr[-500:]}"}
        latencies = []
        for q in questions[1:21]:
            t = time.perf_counter()
            _ask(url, q)
            latencies.append(time.perf_counter() - t)
        status = Path(f"/proc/{process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {
            "first_answer_s": first,
            "results_in_first_answer": len(answer.get("results", [])),
            "http_latency": latency_summary(latencies),
            "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
            "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the whole run ----------------------------------------------------------------------------


def _sizes(text: str) -> list[int | None]:
    sizes: list[int | None] = []
    for item in text.split(","):
        item = item.strip().lower()
        sizes.append(None if item in ("full", "all") else int(item.replace("_", "")))
    return sizes


def _questions(count: int) -> list[str]:
    lines = DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()][:count]


def main(argv: list[str] | None = None) -> int:
    from index.embedder import DEFAULT_MODEL

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000", help="e.g. 1000,10000,full (default 1000)")
    parser.add_argument("--model", default=os.environ.get("STRATEGISOK_MODEL", DEFAULT_MODEL))
    parser.add_argument("--name", help="results file bench/results/NAME.json (default: auto)")
    parser.add_argument("--skip", default="", help=f"comma-separated steps of {','.join(STEPS)}")
    parser.add_argument("--questions", type=int, default=60, help="questions per latency run")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--embed-sample", type=int, default=128, help="passages per system")
    parser.add_argument("--embed-repeats", type=int, default=3)
    parser.add_argument(
        "--backends",
        default="torch,int8,onnx",
        help="embedding backends to measure: torch,int8,onnx,onnx-int8 (ONNX needs optimum-onnx)",
    )
    parser.add_argument("--device", default="cpu", help="device for the throughput step")
    parser.add_argument(
        "--ingest-docs", type=int, default=1000, help="documents sampled for ingest throughput"
    )
    parser.add_argument("--serve-timeout", type=float, default=180)
    args = parser.parse_args(argv)

    reason = shared_missing_reason()
    if reason:
        print(f"make bench hoppas över: {reason}", file=sys.stderr)
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(STEPS)
    if unknown:
        parser.error(f"--skip: unknown steps {sorted(unknown)}; steps are {', '.join(STEPS)}")
    sizes = _sizes(args.sizes)
    questions = _questions(args.questions)
    model_name = _slug(args.model).rsplit("-", 1)[0]
    name = args.name or f"bench-{model_name}-{args.sizes.replace(',', '-')}"
    started = time.perf_counter()
    results: dict = {
        "name": name,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": args.model,
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "name"},
        "sizes": {},
    }

    for size in sizes:
        run = SizeRun(size, args.model, questions, args)
        _say(f"korpus {run.label}: {run.corpus}")
        run.prepare()
        results["sizes"][run.label] = run.result
        if "embed" not in skip and "embedding" not in results:
            _say(f"inbäddningshastighet ({args.embed_sample} avsnitt per system, {args.device})")
            results["embedding"] = phase(
                "embed",
                corpus=str(run.corpus),
                model=args.model,
                sample=args.embed_sample,
                repeats=args.embed_repeats,
                device=args.device,
                backends=tuple(b.strip() for b in args.backends.split(",") if b.strip()),
            )
        if "model_load" not in results:
            results["model_load"] = phase("model_load", model=args.model)
        for step in ("ingest", "build", "incremental", "naive", "query", "cli", "cold", "serve"):
            if step in skip:
                continue
            if (
                step in ("incremental", "query", "cli", "cold", "serve")
                and not (run.index_dir / "CURRENT").exists()
            ):
                continue
            getattr(run, step)()
            _save(results, name)  # a partial result survives an interruption

    results["python_start_s"] = median(
        [run_child([sys.executable, "-c", "pass"]).seconds for _ in range(3)]
    )
    results["seconds"] = time.perf_counter() - started
    results["targets"] = targets(results)
    results["projection"] = projection(results)
    path = _save(results, name)
    print_tables(results)
    print("\n" + markdown(results))
    print(f"\nJSON: {path}  ({results['seconds']:.0f} s)")
    return 0


def _save(results: dict, name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
