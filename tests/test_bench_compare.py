"""bench.compare lays two benchmark runs side by side and labels its projection of bigger
builds as an extrapolation, never as a measurement."""

from __future__ import annotations

from bench.compare import extrapolation, side_by_side


def _run(model: str, passages_per_s: float, hybrid_p95: float) -> dict:
    return {
        "model": model,
        "embedding": {"strategisok": {"passages_per_s": passages_per_s, "tokens_per_s": 1.0}},
        "sizes": {
            "1000": {
                "corpus": {"documents": 1000, "chars": 1_000_000},
                "build": {
                    "chunks": 1800,
                    "seconds": 100.0,
                    "embedded": 1800,
                    "stages": {"embed_s": 90.0},
                },
                "incremental": {"seconds": 2.0},
                "query": {"hybrid": {"p50_ms": hybrid_p95 / 2, "p95_ms": hybrid_p95}},
            }
        },
    }


def test_two_runs_side_by_side_with_ratios():
    table = side_by_side(_run("static", 6000.0, 3.0), _run("e5", 3.0, 30.0), "1000")
    assert "| static | e5 |" in table.splitlines()[0]
    row = next(line for line in table.splitlines() if line.startswith("| hybrid search p95"))
    assert row == "| hybrid search p95 (ms) | 3.00 | 30.0 | 10× |"
    assert "| embedding (passages/s) | 6,000 | 3.00 | 0.0005× |" in table


def test_bigger_builds_are_labelled_as_extrapolated():
    lines = extrapolation(_run("e5", 3.0, 30.0), "1000")
    assert len(lines) == 2 and all(line.startswith("EXTRAPOLATED, not measured") for line in lines)
    # 1.8 passages per document at 3 passages/s, plus 10 s of other work per 1,000 documents.
    assert "10,000 documents ≈ 18,000 passages" in lines[0]
    assert "cold build ≈ 102 min" in lines[0]
