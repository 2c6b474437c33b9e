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


def shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    """Word `size`-grams of case-folded `text`: its fingerprint for near-duplicate checks."""
    tokens = text.casefold().split()
    if len(tokens) < size:
        return frozenset([tuple(tokens)])
    return frozenset(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def collapse_near_duplicates(ranked: list[tuple[int, str]], threshold: float = 0.6) -> list[int]:
    """Rows of `ranked` (row, text), best first, without passages whose word 3-grams overlap
    an earlier kept passage's by `threshold` (Jaccard) or more — the same text published in
    two documents is one answer, not two."""
    kept: list[tuple[int, frozenset]] = []
    for row, text in ranked:
        fingerprint = shingles(text)
        if all(
            len(fingerprint & other) / (len(fingerprint | other) or 1) < threshold
            for _, other in kept
        ):
            kept.append((row, fingerprint))
    return [row for row, _ in kept]
