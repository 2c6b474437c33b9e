from __future__ import annotations

from index.fusion import collapse_near_duplicates, reciprocal_rank_fusion


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


def test_near_duplicates_collapse_to_the_best_ranked_copy():
    text = (
        "Regeringen ger Trafikverket i uppdrag att redovisa hur myndigheten ställer och följer "
        "upp arbetsrättsliga villkor i sina upphandlingar. Uppdraget ska genomföras i samråd "
        "med Upphandlingsmyndigheten och redovisas till Infrastrukturdepartementet senast den "
        "1 mars 2018."
    )
    ranked = [
        (7, text),
        (3, "Helt annan text om skolans budget och lärarnas löner under nästa år."),
        (9, text.replace("Regeringen ger", "Regeringen  ger\n") + " Läs mer på webbplatsen."),
        (4, text.upper()),
    ]
    assert collapse_near_duplicates(ranked) == [7, 3]


def test_overlapping_neighbours_are_not_duplicates():
    first = " ".join(f"ord{i}" for i in range(60))
    second = " ".join(f"ord{i}" for i in range(50, 110))  # ten words of overlap
    assert collapse_near_duplicates([(1, first), (2, second)]) == [1, 2]
