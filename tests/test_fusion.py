from __future__ import annotations

from index.fusion import (
    collapse_near_duplicates,
    jaccard,
    normalise,
    score_fusion,
    shingles,
)


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


def test_score_fusion_keeps_a_clear_lexical_winner_on_top():
    lexical = [(1, 20.0), (2, 5.0), (3, 4.0)]  # one passage matches far better than the rest
    dense = [(3, 0.62), (2, 0.61), (1, 0.40)]  # a weak model, unsure of everything
    fused = score_fusion(
        {"lexical": lexical, "dense": dense},
        {"lexical": 0.85, "dense": 0.15},
        floors={"lexical": 0.0, "dense": None},
    )
    assert fused[0][0] == 1


def test_score_fusion_lets_dense_break_a_lexical_near_tie():
    lexical = [(1, 10.0), (2, 9.9)]
    dense = [(2, 0.8), (1, 0.3)]
    fused = score_fusion(
        {"lexical": lexical, "dense": dense},
        {"lexical": 0.85, "dense": 0.15},
        floors={"lexical": 0.0, "dense": None},
    )
    assert [row for row, _ in fused] == [2, 1]


def test_normalise_maps_best_to_one_and_floor_to_zero():
    assert normalise([(5, 8.0), (6, 2.0)], floor=0.0) == {5: 1.0, 6: 0.25}
    assert normalise([(5, 0.9), (6, 0.5), (7, 0.1)]) == {5: 1.0, 6: 0.5, 7: 0.0}


def test_jaccard_of_fingerprints():
    a = shingles("Nämnden har inget att erinra mot förslaget.")
    assert jaccard(a, shingles("NÄMNDEN  har inget att\nerinra mot förslaget.")) == 1.0
    assert jaccard(a, shingles("Budgeten för skolan ökar nästa år.")) == 0.0
    assert jaccard(a, frozenset()) == 0.0
    half = jaccard(a, shingles("Nämnden har inget att säga om budgeten nu."))
    assert 0 < half < 0.6
