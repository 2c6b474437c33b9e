"""Rank fusion over plain `[(row, score)]` lists, so hybrid ranking can be tested by hand."""

from __future__ import annotations


def reciprocal_rank_fusion(
    rankings: dict[str, list[tuple[int, float]]],
    weights: dict[str, float],
    k: int = 60,
) -> list[tuple[int, float]]:
    """Weighted RRF: each retriever adds ``weight / (k + rank)`` for every row it returns.

    A retriever with weight 0 (or absent from `weights`) contributes nothing. Ties keep the
    order of first appearance, so results are deterministic. Returns rows best first.
    """
    fused: dict[int, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        for rank, (row, _score) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])
