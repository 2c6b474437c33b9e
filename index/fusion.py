"""Rank fusion over plain `[(row, score)]` lists, so hybrid ranking can be tested by hand."""

from __future__ import annotations


def normalise(ranking: list[tuple[int, float]], floor: float | None = None) -> dict[int, float]:
    """Scores of a ranking mapped to [0, 1]: the best becomes 1 and `floor` (by default the
    worst candidate's score) 0. BM25 passes floor=0, where 0 already means "no match"."""
    if not ranking:
        return {}
    high = ranking[0][1]
    low = ranking[-1][1] if floor is None else floor
    span = (high - low) or 1.0
    return {row: max(score - low, 0.0) / span for row, score in ranking}


def score_fusion(
    rankings: dict[str, list[tuple[int, float]]],
    weights: dict[str, float],
    floors: dict[str, float | None],
) -> list[tuple[int, float]]:
    """Convex combination of normalised scores: sum of weight × normalised score. Unlike
    RRF it keeps how far apart the scores are, so a retriever that is sure of one passage
    is not outvoted by another's weak ordering. Rows best first; ties by first appearance."""
    fused: dict[int, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        for row, score in normalise(ranking, floors.get(name)).items():
            fused[row] = fused.get(row, 0.0) + weight * score
    return sorted(fused.items(), key=lambda item: -item[1])


def shingles(text: str, size: int = 3) -> frozenset[int]:
    """Hashed word `size`-grams of case-folded `text`: its fingerprint for near-duplicate
    checks (hashes, because sets of ints intersect several times faster than of tuples)."""
    words = text.casefold().split()
    if len(words) < size:
        return frozenset([hash(tuple(words))])
    return frozenset(map(hash, zip(*(words[i:] for i in range(size)), strict=False)))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Shared share of two fingerprints: |a ∩ b| / |a ∪ b|, 0 where either is empty."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def collapse_near_duplicates(ranked: list[tuple[int, str]], threshold: float = 0.6) -> list[int]:
    """Rows of `ranked` (row, text), best first, without passages whose word 3-grams overlap
    an earlier kept passage's by `threshold` (Jaccard) or more — the same text published in
    two documents is one answer, not two."""
    kept: list[tuple[int, frozenset]] = []
    for row, text in ranked:
        fingerprint = shingles(text)
        if all(jaccard(fingerprint, other) < threshold for _, other in kept):
            kept.append((row, fingerprint))
    return [row for row, _ in kept]
