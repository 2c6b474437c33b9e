from __future__ import annotations

from index.fusion import reciprocal_rank_fusion


def test_row_found_by_both_retrievers_beats_rows_found_by_one():
    rankings = {"lexical": [(1, 9.0), (2, 8.0)], "dense": [(3, 0.9), (2, 0.8)]}
    fused = reciprocal_rank_fusion(rankings, {"lexical": 1.0, "dense": 1.0})
    assert fused[0][0] == 2
    assert {row for row, _ in fused} == {1, 2, 3}


def test_zero_weight_retriever_cannot_move_the_ranking():
    rankings = {"lexical": [(1, 9.0), (2, 8.0), (3, 1.0)], "dense": [(3, 0.9), (2, 0.8)]}
    fused = reciprocal_rank_fusion(rankings, {"lexical": 1.0, "dense": 0.0})
    assert [row for row, _ in fused] == [1, 2, 3]


def test_heavier_retriever_wins_a_disagreement():
    rankings = {"lexical": [(1, 9.0), (2, 8.0)], "dense": [(2, 0.9), (1, 0.8)]}
    assert reciprocal_rank_fusion(rankings, {"lexical": 2.0, "dense": 1.0})[0][0] == 1
    assert reciprocal_rank_fusion(rankings, {"lexical": 1.0, "dense": 2.0})[0][0] == 2


def test_empty_rankings_fuse_to_nothing():
    assert reciprocal_rank_fusion({"lexical": [], "dense": []}, {"lexical": 1, "dense": 1}) == []
