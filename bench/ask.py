"""`python -m bench.ask`: how long the whole answer takes (`strategisok ask`: search, lead and
"nothing found"), side by side with the hybrid search it starts from, in one process, on the
first N documents of ../shared (the same corpora and index folders as `make bench`, so a
corpus `make bench` has built is reused), or on an index given with --index. The vector
caches are emptied before every run, so each one embeds its question (and, where the index
holds no sentence vectors, its candidate sentences); `make bench` measures the same in its
query phase."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from answer import answer_question
from answer.vectors import clear_cache
from bench.bench import CACHE, RESULTS, _label, _questions, _sizes, _slug
from bench.corpora import first_corpus, shared_missing_reason
from bench.measure import latency_summary
from index import DEFAULT_MODEL, IndexConfig, SearchIndex, build_index

FOLLOW_UP = "Och när ska det redovisas?"


def measure(index: SearchIndex, questions: list[str], rounds: int) -> dict:
    """p50/p95 of hybrid search, ask, and ask as a follow-up, interleaved question by
    question so that load on the machine hits all three alike."""

    def forget() -> None:  # every run embeds its question(s) again
        clear_cache()
        index.embedder.forget_queries()

    runs = {
        "hybrid_search": lambda q: (forget(), index.search(q, 5, "hybrid")),
        "ask": lambda q: (forget(), answer_question(index, q)),
        "ask_follow_up": lambda q: (forget(), answer_question(index, FOLLOW_UP, [q])),
    }
    for q in questions[:3]:
        for run in runs.values():
            run(q)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for q in questions:
            for name, run in runs.items():
                started = time.perf_counter()
                run(q)
                times[name].append(time.perf_counter() - started)
    return {name: latency_summary(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000", help="e.g. 1000,10000,full")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--questions", type=int, default=53)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--index", type=Path, help="measure this index instead of building one")
    args = parser.parse_args(argv)
    reason = shared_missing_reason()
    if reason:
        print(f"bench.ask hoppas över: {reason}", file=sys.stderr)
        return 0
    questions = _questions(args.questions)
    results = {"model": args.model, "questions": len(questions), "sizes": {}}
    for size in [None] if args.index else _sizes(args.sizes):
        if args.index:
            label, index_dir = args.index.name, args.index
        else:
            label = _label(size)
            corpus = CACHE / f"corpus-{label}"
            index_dir = CACHE / _slug(args.model) / f"index-{label}"
            first_corpus(corpus, size)
            build_index(corpus, index_dir, IndexConfig(model=args.model), progress=True)
        index = SearchIndex.open(index_dir)
        results["model"] = index.embedder.model_id
        result = measure(index, questions, args.rounds)
        result["passages"] = len(index.dense)
        results["sizes"][label] = result
        print(f"\n{label} ({result['passages']} avsnitt), {args.model}:")
        for name in ("hybrid_search", "ask", "ask_follow_up"):
            m = result[name]
            print(f"  {name:<14} p50 {m['p50_ms']:6.1f} ms   p95 {m['p95_ms']:6.1f} ms")
    args.json.mkdir(parents=True, exist_ok=True)
    out = args.json / f"ask-{_slug(args.model)}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\n{out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
