"""What `make bench` prints: the tables, the targets of issue 6 with their measured figures,
a projection to 1M and 10M passages from the measured per-passage costs, and the markdown
table the README carries. Pure functions over the results dict."""

from __future__ import annotations

import math

MB = 1024 * 1024

# Per-vector bytes of the approximate indexes FAISS offers, beyond the ids (on paper, from
# FAISS's layouts): HNSW keeps the float32 vector plus 2·M neighbour ids on level 0; IVF-SQ8
# keeps one byte per dimension plus an 8-byte id in its inverted list.
HNSW_M = 32


def _get(results: dict, *path, default=None):
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _largest(results: dict) -> tuple[str, dict] | tuple[None, None]:
    sizes = results.get("sizes", {})
    measured = [(label, s) for label, s in sizes.items() if "query" in s or "build" in s]
    if not measured:
        return None, None
    return max(measured, key=lambda item: _get(item[1], "build", "chunks", default=0) or 0)


def cold_build(results: dict, size: dict) -> dict:
    """Full build seconds as if nothing were cached: the measured non-embedding work plus
    passages ÷ measured embedding throughput, for Strategisök and the naive baseline."""
    build = size.get("build")
    naive = size.get("naive_build")
    ours_pps = _get(results, "embedding", "strategisok", "passages_per_s")
    naive_pps = _get(results, "embedding", "naive", "passages_per_s")
    out: dict = {}
    if build and ours_pps:
        stages = build["stages"]
        rest = build["seconds"] - stages.get("embed_s", 0.0)
        embed = build["chunks"] / ours_pps
        out["strategisok_s"] = rest + embed
        out["strategisok_embed_s"] = embed
        out["strategisok_ingest_s"] = stages.get("load_s", 0.0) + stages.get("chunk_s", 0.0)
        out["strategisok_measured_embed_s"] = stages.get("embed_s", 0.0)
        out["strategisok_embedded"] = build["embedded"]
    if naive and naive_pps:
        t = naive["timings"]
        embed = naive["chunks"] / naive_pps
        out["naive_s"] = t["read_chunk_s"] + t["bm25_s"] + t["faiss_s"] + embed
        out["naive_embed_s"] = embed
    chars = _get(size, "corpus", "chars")
    if chars:
        for who in ("strategisok", "naive"):
            if f"{who}_s" in out:
                out[f"{who}_chars_per_s"] = chars / out[f"{who}_s"]
    return out


def _check(value, limit, smaller_is_better: bool = True) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    ok = value <= limit if smaller_is_better else value >= limit
    return "met" if ok else "MISSED"


def targets(results: dict) -> list[dict]:
    """Every target of issue 6 with its measured figure, at the largest measured size."""
    label, size = _largest(results)
    if size is None:
        return []
    query = size.get("query", {})
    rows: list[dict] = []

    def add(target: str, figure, limit, text: str, smaller: bool = True) -> None:
        rows.append(
            {
                "target": target,
                "figure": figure,
                "text": text,
                "status": _check(figure, limit, smaller),
                "corpus": label,
            }
        )

    embed = _get(query, "embed_query", "p50_ms")
    hybrid = _get(query, "hybrid", "p50_ms")
    if embed and hybrid:
        ratio = hybrid / embed
        add(
            "hybrid p50 ≤ 1.5 × embed query",
            ratio,
            1.5,
            f"{hybrid:.1f} ms vs {embed:.1f} ms = {ratio:.2f}×",
        )
    p95 = _get(query, "hybrid", "p95_ms")
    add("hybrid p95 ≤ 50 ms in-process", p95, 50, f"{p95:.1f} ms" if p95 else "-")
    for name in ("ask", "ask_follow_up"):
        ask_p95 = _get(query, name, "p95_ms")
        add(
            f"{name} p95 ≤ 150 ms in-process", ask_p95, 150, f"{ask_p95:.1f} ms" if ask_p95 else "-"
        )
    lexical = _get(query, "lexical_part", "p50_ms")
    add("lexical part ≤ 5 ms/query (p50)", lexical, 5, f"{lexical:.2f} ms" if lexical else "-")
    naive_lexical = _get(query, "naive_lexical", "p50_ms")
    if lexical and naive_lexical:
        speedup = naive_lexical / lexical
        add(
            "lexical ≥ 10× faster than rank_bm25",
            speedup,
            10,
            f"{naive_lexical:.1f} ms / {lexical:.2f} ms = {speedup:.0f}×",
            smaller=False,
        )
    model_s = _get(results, "model_load", "model_total_s")
    for mode in ("lexical", "hybrid"):
        cold = _get(size, "cold_start", mode, "median_s")
        if cold is None:
            continue
        budget = 2.0 + (model_s if mode == "hybrid" and model_s else 0.0)
        extra = f" (2 s + model {model_s:.2f} s)" if mode == "hybrid" and model_s else " (2 s)"
        add(
            f"cold start search --mode {mode} ≤ {budget:.2f} s",
            cold,
            budget,
            f"{cold:.2f} s; budget{extra}",
        )
    rss = _get(size, "serve", "peak_rss_mb")
    if rss is not None:
        add("serving RSS ≤ 1.5 GB (serve)", rss, 1536, f"{rss:.0f} MiB")
    cli_rss = _get(size, "cli_batch", "hybrid", "peak_rss_mb")
    if cli_rss is not None:
        add("serving RSS ≤ 1.5 GB (search --batch)", cli_rss, 1536, f"{cli_rss:.0f} MiB")
    for other_label, other in results.get("sizes", {}).items():
        seconds = _get(other, "incremental", "seconds")
        if seconds is not None:
            add(
                f"one changed file re-indexed ≤ 10 s ({other_label} docs)",
                seconds,
                10,
                f"{seconds:.1f} s (build_index; {_get(other, 'incremental', 'wall_s'):.1f} s "
                "with process start and model load)",
            )
    cold = cold_build(results, size)
    if "strategisok_chars_per_s" in cold and "naive_chars_per_s" in cold:
        ratio = cold["strategisok_chars_per_s"] / cold["naive_chars_per_s"]
        add(
            "build chars/s ≥ naive (cold cache)",
            ratio,
            1.0,
            f"{cold['strategisok_chars_per_s']:.0f} vs {cold['naive_chars_per_s']:.0f} chars/s"
            f" = {ratio:.2f}×",
            smaller=False,
        )
    if "strategisok_embed_s" in cold:
        share = cold["strategisok_ingest_s"] / cold["strategisok_embed_s"]
        add(
            "cleaning + chunking < 10% of embedding",
            share,
            0.10,
            f"{cold['strategisok_ingest_s']:.1f} s vs {cold['strategisok_embed_s']:.0f} s "
            f"= {share:.1%}",
        )
    emb = results.get("embedding", {})
    onnx = [k for k in emb if k.startswith("strategisok-")]
    if onnx:
        base = emb["strategisok"]["passages_per_s"]
        text = "; ".join(
            f"{k.removeprefix('strategisok-')}: {emb[k]['passages_per_s']:.1f} passages/s "
            f"({emb[k]['passages_per_s'] / base:.2f}× float32; cosine to float32 "
            f"{emb['cosine_to_float32'].get(k.removeprefix('strategisok-'), float('nan')):.4f})"
            for k in onnx
        )
        rows.append(
            {
                "target": "int8/ONNX backend measured",
                "figure": None,
                "text": text,
                "status": "measured",
                "corpus": label,
            }
        )
    else:
        reason = "; ".join(emb.get("skipped", {}).values()) or "not requested (--backends)"
        rows.append(
            {
                "target": "int8/ONNX backend measured",
                "figure": None,
                "text": reason,
                "status": "not measured",
                "corpus": label,
            }
        )
    return rows


def projection(results: dict) -> dict:
    """Memory and latency at 1M and 10M passages from the measured per-passage costs of the
    largest measured corpus (linear where the work is linear: BM25 scoring, exact search)."""
    label, size = _largest(results)
    if size is None or "size" not in size or "build" not in size:
        return {}
    passages = size["build"]["chunks"]
    dim = None
    dense_bytes = size["size"]["dense_faiss"]
    if passages:
        dim = round((dense_bytes - 100) / passages / 4)
    per = {
        "text_store": size["size"]["chunks_sqlite"] / passages,
        "lexical": size["size"]["lexical"] / passages,
        "dense_flat": dense_bytes / passages,
    }
    query = size.get("query", {})
    lexical_ms = _get(query, "lexical_part", "p50_ms")
    flat_ms = _get(query, "dense_search_only", "p50_ms")
    rows = {}
    for target in (1_000_000, 10_000_000):
        scale = target / passages
        hnsw = target * (4 * dim + 2 * HNSW_M * 4 + 16) if dim else None
        ivf_sq8 = target * (dim + 8) if dim else None
        rows[str(target)] = {
            "text_store_gb": per["text_store"] * target / 1e9,
            "lexical_gb": per["lexical"] * target / 1e9,
            "dense_flat_gb": per["dense_flat"] * target / 1e9,
            "dense_hnsw32_gb": hnsw / 1e9 if hnsw else None,
            "dense_ivf_sq8_gb": ivf_sq8 / 1e9 if ivf_sq8 else None,
            "lexical_ms_linear": lexical_ms * scale if lexical_ms else None,
            "dense_flat_ms_linear": flat_ms * scale if flat_ms is not None else None,
            "bm25_scores_buffer_mb": target * 4 / 1e6,
        }
    return {
        "from_corpus": label,
        "passages": passages,
        "dimension": dim,
        "bytes_per_passage": per,
        "measured_lexical_ms": lexical_ms,
        "measured_flat_search_ms": flat_ms,
        "at": rows,
    }


# -- printing ---------------------------------------------------------------------------------


def _fmt(value, spec: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def size_rows(results: dict) -> list[list[str]]:
    """One row per measure and corpus size: Strategisök, naive, ratio."""
    rows: list[list[str]] = []
    emb = results.get("embedding", {})
    if emb:
        for key in [k for k in emb if k.startswith("strategisok") or k == "naive"]:
            e = emb[key]
            rows.append(
                [
                    f"embedding ({key}, {emb['device']})",
                    "",
                    f"{e['passages_per_s']:.1f} passages/s, {e['tokens_per_s']:.0f} tokens/s, "
                    f"{e['chars_per_s']:.0f} chars/s",
                    "",
                    "",
                ]
            )
    model = results.get("model_load")
    if model:
        rows.append(
            [
                "model load (import + weights + 1 query)",
                "",
                _fmt(model["model_total_s"], ".2f") + " s",
                "",
                "",
            ]
        )
    for label, size in results.get("sizes", {}).items():
        corpus = size.get("corpus", {})
        ing = size.get("ingest")
        if ing:
            rows.append(
                [
                    "parse+clean+chunk",
                    label,
                    f"{ing['docs_per_s']:.0f} docs/s, {ing['mb_per_s']:.2f} MB/s",
                    f"{ing['naive']['docs_per_s']:.0f} docs/s, {ing['naive']['mb_per_s']:.1f} MB/s",
                    f"{ing['naive']['docs_per_s'] / ing['docs_per_s']:.0f}× slower",
                ]
            )
        build = size.get("build")
        naive = size.get("naive_build")
        if build:
            rows.append(
                [
                    "passages",
                    label,
                    str(build["chunks"]),
                    str(naive["chunks"]) if naive else "–",
                    "",
                ]
            )
            embed_s = build["stages"].get("embed_s", 0.0)
            rows.append(
                [
                    "build, cache warm (s)",
                    label,
                    f"{build['seconds'] - embed_s:.1f} (+{embed_s:.1f} embedding "
                    f"{build['embedded']} new)",
                    _fmt(
                        naive
                        and naive["seconds"]
                        - naive["timings"]["embed_s"]
                        - naive["timings"]["model_load_s"]
                    ),
                    "",
                ]
            )
        cold = cold_build(results, size)
        if "strategisok_s" in cold:
            rows.append(
                [
                    "full build, cold cache (s)",
                    label,
                    _fmt(cold["strategisok_s"]),
                    _fmt(cold.get("naive_s")),
                    _fmt(cold.get("naive_s") and cold["naive_s"] / cold["strategisok_s"], ".2f")
                    + "× (naive/ours)",
                ]
            )
        inc = size.get("incremental")
        if inc:
            rows.append(
                [
                    "one file changed (s)",
                    label,
                    f"{inc['seconds']:.1f} ({inc['wall_s']:.1f} with start)",
                    _fmt(cold.get("naive_s")) + " (rebuild)",
                    _fmt(cold.get("naive_s") and cold["naive_s"] / inc["seconds"], ".0f") + "×",
                ]
            )
        query = size.get("query")
        if query:
            for mode in ("lexical", "dense", "hybrid"):
                ours, theirs = query.get(mode), query.get(f"naive_{mode}")
                if not (ours and theirs):
                    continue
                rows.append(
                    [
                        f"{mode} p50 / p95 (ms)",
                        label,
                        f"{ours['p50_ms']:.1f} / {ours['p95_ms']:.1f}",
                        f"{theirs['p50_ms']:.1f} / {theirs['p95_ms']:.1f}",
                        f"{theirs['p50_ms'] / ours['p50_ms']:.1f}×",
                    ]
                )
            hybrid = query.get("hybrid")
            for name in ("ask", "ask_follow_up"):
                q = query.get(name)
                if not (q and hybrid):
                    continue
                rows.append(
                    [
                        f"{name} p50 / p95 (ms)",
                        label,
                        f"{q['p50_ms']:.1f} / {q['p95_ms']:.1f}",
                        f"{hybrid['p50_ms']:.1f} / {hybrid['p95_ms']:.1f} (our hybrid search)",
                        f"{q['p50_ms'] / hybrid['p50_ms']:.1f}× the search",
                    ]
                )
            for name in ("lexical_part", "embed_query", "dense_search_only"):
                q = query.get(name)
                if not q:
                    continue
                rows.append(
                    [
                        f"{name} p50 / p95 (ms)",
                        label,
                        f"{q['p50_ms']:.2f} / {q['p95_ms']:.2f}",
                        "",
                        "",
                    ]
                )
            opened = query.get("open")
            if opened:
                rows.append(
                    [
                        "SearchIndex.open (s)",
                        label,
                        f"{opened['search_index_open_s']:.3f} (checksums "
                        f"{opened['manifest_with_checksums_s']:.3f})",
                        "",
                        "",
                    ]
                )
        batch = size.get("cli_batch")
        if batch:
            for mode, b in batch.items():
                rows.append(
                    [
                        f"search --batch {mode} (ms/query)",
                        label,
                        # (all - one) / (n - 1) leaves start-up out but is noisy under load;
                        # all / n includes start-up once.
                        f"{b['per_query_ms']:.1f} amortised, "
                        f"{b['all_s'] / b['questions'] * 1000:.0f} all/n",
                        "",
                        "",
                    ]
                )
        cold_start = size.get("cold_start")
        if cold_start:
            for mode, c in cold_start.items():
                rows.append(
                    [
                        f"cold start search {mode} (s)",
                        label,
                        f"{c['median_s']:.2f}",
                        _fmt(naive and naive["seconds"], ".1f") + " (rebuild in memory)",
                        "",
                    ]
                )
        serve = size.get("serve")
        if serve and "first_answer_s" in serve:
            rows.append(
                [
                    "cold start serve → first /sok answer (s)",
                    label,
                    f"{serve['first_answer_s']:.2f}",
                    "",
                    "",
                ]
            )
        elif serve:
            rows.append(["serve", label, serve.get("skipped", "?"), "", ""])
        rss = []
        if build:
            rss.append(f"build {build['peak_rss_mb']:.0f}")
        if serve and "peak_rss_mb" in serve:
            rss.append(f"serve {serve['peak_rss_mb']:.0f}")
        if batch:
            rss.append(f"search hybrid {batch['hybrid']['peak_rss_mb']:.0f}")
        if rss:
            rows.append(
                [
                    "peak RSS (MiB)",
                    label,
                    ", ".join(rss),
                    _fmt(naive and naive["peak_rss_mb"], ".0f") + " (build+serve)",
                    "",
                ]
            )
        if "size" in size:
            s = size["size"]
            rows.append(
                [
                    "index on disk (MB)",
                    label,
                    f"{s['build_total'] / 1e6:.1f} (text {s['chunks_sqlite'] / 1e6:.1f}, dense "
                    f"{s['dense_faiss'] / 1e6:.1f}, bm25 {s['lexical'] / 1e6:.1f})",
                    _fmt(naive and naive["dense_bytes"] / 1e6) + " (vectors; BM25 in memory only)",
                    "",
                ]
            )
        del corpus
    return rows


HEADER = ["measure", "docs", "Strategisök", "naive baseline", "ratio"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def print_tables(results: dict) -> None:
    rows = size_rows(results)
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    print()
    for row in [HEADER, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print("\nTargets (issue 6):")
    for t in results.get("targets", []):
        print(f"  [{t['status']:>12}] {t['target']}: {t['text']}")


def markdown(results: dict) -> str:
    """The README's table: machine, measurements, targets and the projection."""
    m = results.get("machine", {})
    parts = [
        f"Measured by `make bench` ({results.get('started', '?')}) on {m.get('cpu_model', '?')},"
        f" {m.get('cpus', '?')} cores, {m.get('memory_gib', '?')} GiB RAM, Python "
        f"{m.get('python', '?')}; load average at start {_fmt(m.get('load_average', [None])[0])}"
        f"; model `{results.get('model')}`.",
        "",
        _table(HEADER, size_rows(results)),
    ]
    if results.get("targets"):
        parts += [
            "",
            _table(
                ["target", "measured", "status"],
                [[t["target"], t["text"], t["status"]] for t in results["targets"]],
            ),
        ]
    p = results.get("projection")
    if p:
        rows = []
        for target, r in p["at"].items():
            rows.append(
                [
                    f"{int(target):,}",
                    f"{r['text_store_gb']:.1f}",
                    f"{r['lexical_gb']:.1f}",
                    f"{r['dense_flat_gb']:.1f} / {_fmt(r['dense_hnsw32_gb'])} / "
                    f"{_fmt(r['dense_ivf_sq8_gb'])}",
                    _fmt(r["lexical_ms_linear"], ".0f"),
                    _fmt(r["dense_flat_ms_linear"], ".0f"),
                ]
            )
        parts += [
            "",
            f"Projection from {p['passages']:,} passages ({p['from_corpus']} documents), "
            "linear in passages:",
            "",
            _table(
                [
                    "passages",
                    "text GB",
                    "BM25 GB",
                    "vectors GB flat / HNSW32 / IVF-SQ8",
                    "BM25 ms (all postings)",
                    "exact dense ms",
                ],
                rows,
            ),
        ]
    return "\n".join(parts)
