"""Two `make bench` results side by side — by default our static model and
multilingual-e5-small at the same corpus size — with the ratio of each measure, and a
plainly labelled extrapolation of the e5 build to bigger corpora from its measured
throughput (linear in passages: embedding dominates it).

    python -m bench.compare bench/results/A.json bench/results/B.json
    python -m bench.compare --models strategisok-sv-static multilingual-e5-small --sizes 1000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.report import _get, cold_build

# Corpus sizes the extrapolation is given for (the whole corpus is 44,397 documents).
BIGGER = {"10000": 10_000, "full": 44_397}


def measures(results: dict, label: str) -> dict[str, float | None]:
    """The figures compared, in the units of their row names."""
    size = _get(results, "sizes", label, default={})
    query = size.get("query", {})
    cold = cold_build(results, size) if size else {}
    return {
        "embedding (passages/s)": _get(results, "embedding", "strategisok", "passages_per_s"),
        "embedding (model tokens/s)": _get(results, "embedding", "strategisok", "tokens_per_s"),
        "model load (s)": _get(results, "model_load", "model_total_s"),
        "passages": _get(size, "build", "chunks"),
        "full build, cold cache (s)": cold.get("strategisok_s"),
        "of which embedding (s)": cold.get("strategisok_embed_s"),
        "one changed file (s)": _get(size, "incremental", "seconds"),
        "query embedding p50 (ms)": _get(query, "embed_query", "p50_ms"),
        "query embedding p95 (ms)": _get(query, "embed_query", "p95_ms"),
        "hybrid search p50 (ms)": _get(query, "hybrid", "p50_ms"),
        "hybrid search p95 (ms)": _get(query, "hybrid", "p95_ms"),
        "dense search p50 (ms)": _get(query, "dense", "p50_ms"),
        "lexical search p50 (ms)": _get(query, "lexical", "p50_ms"),
        "cold start hybrid `search` (s)": _get(size, "cold_start", "hybrid", "median_s"),
        "peak RSS build (MiB)": _get(size, "build", "child_peak_rss_mb"),
        "peak RSS query process (MiB)": _get(query, "child_peak_rss_mb"),
        "peak RSS `search` hybrid (MiB)": _get(size, "cold_start", "hybrid", "peak_rss_mb"),
        "peak RSS serve (MiB)": _get(size, "serve", "peak_rss_mb"),
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return (
        f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"
    )


def side_by_side(a: dict, b: dict, label: str) -> str:
    """A markdown table: measure, A, B, B/A."""
    ma, mb = measures(a, label), measures(b, label)
    lines = [
        f"| measure ({label} documents) | {a.get('model')} | {b.get('model')} | ratio |",
        "|---|---|---|---|",
    ]
    for name in ma:
        x, y = ma[name], mb[name]
        ratio = f"{y / x:.3g}×" if x and y else ""
        lines.append(f"| {name} | {_fmt(x)} | {_fmt(y)} | {ratio} |")
    return "\n".join(lines)


def extrapolation(results: dict, label: str) -> list[str]:
    """Build time of bigger corpora from the measured run at `label`: an extrapolation,
    linear in passages, with passages per document as measured at `label`."""
    size = _get(results, "sizes", label, default={})
    pps = _get(results, "embedding", "strategisok", "passages_per_s")
    cold = cold_build(results, size) if size else {}
    documents = _get(size, "corpus", "documents")
    passages = _get(size, "build", "chunks")
    if not (pps and cold and documents and passages):
        return []
    rest_per_doc = (cold["strategisok_s"] - cold["strategisok_embed_s"]) / documents
    per_doc = passages / documents
    lines = []
    for docs in BIGGER.values():
        if docs <= documents:
            continue
        estimate = docs * per_doc
        seconds = estimate / pps + rest_per_doc * docs
        lines.append(
            f"EXTRAPOLATED, not measured: {docs:,} documents ≈ {estimate:,.0f} passages "
            f"({per_doc:.2f} per document as at {label}) → cold build ≈ {seconds / 60:,.0f} min "
            f"at {pps:.1f} passages/s"
        )
    return lines


def result_path(model: str, sizes: str) -> Path:
    """Where `bench.bench --model MODEL --sizes SIZES` writes its results (its default name)."""
    from bench.bench import RESULTS, _slug

    return RESULTS / f"bench-{_slug(model).rsplit('-', 1)[0]}-{sizes.replace(',', '-')}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="*", type=Path, help="two results files")
    parser.add_argument("--models", nargs=2, metavar="MODEL", help="or two models' latest runs")
    parser.add_argument("--sizes", default="1000", help="the runs' --sizes (with --models)")
    args = parser.parse_args(argv)
    if args.models:
        paths = [result_path(m, args.sizes) for m in args.models]
    elif len(args.results) == 2:
        paths = args.results
    else:
        parser.error("give two results files or --models A B")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"bench.compare: {missing[0]} saknas; kör make bench först.", file=sys.stderr)
        return 1
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in paths)
    for label in [x for x in a.get("sizes", {}) if x in b.get("sizes", {})]:
        print(side_by_side(a, b, label) + "\n")
        for line in extrapolation(b, label):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
