from __future__ import annotations

import pytest

from index.lexical import Analyzer, LexicalIndex, analyze, split_compound

LEXICON = frozenset(
    analyze("stad utveckling projekt kommun koncern övergripande kärnkraft verk slaget")
)


def test_swedish_letters_survive_and_stems_meet():
    assert analyze("Nämnden") == analyze("nämnder")
    assert all("ä" in term for term in analyze("nämndens växande"))


def test_compounds_split_into_corpus_words_with_linking_s():
    def parts(word: str) -> list[str]:
        return analyze(" ".join(split_compound(word, LEXICON)))

    assert parts("stadsutvecklingsprojekt") == analyze("stad utveckling projekt")
    assert parts("stadsutvecklingsprojektet") == analyze("stad utveckling projektet")
    assert parts("kommunkoncernövergripande") == analyze("kommun koncern övergripande")
    assert parts("kärnkraftverk") == analyze("kärnkraft verk")


def test_short_words_and_short_parts_are_left_alone():
    assert split_compound("förslaget", LEXICON) == []  # "för" + "slaget" is no compound
    assert split_compound("projekt", LEXICON) == []


def test_numbers_and_dates_meet_in_their_written_forms():
    analyzer = Analyzer()
    assert set(analyzer.terms("4000")) <= set(analyzer.terms("4 000 besökare"))
    assert "d20161017" in analyzer.terms("senast den 17 oktober 2016")
    assert "d20161017" in analyzer.terms("senast 2016-10-17")


def test_question_words_are_dropped_from_queries_only():
    analyzer = Analyzer()
    assert analyzer.query_terms("Vad säger strategin om bolagen?") == analyzer.terms(
        "strategin bolagen"
    )
    assert "säg" in analyzer.terms("Kontoret säger nej")


def test_part_of_a_compound_finds_the_compound_and_the_phrase():
    texts = [
        "Stadsutvecklingsprojektet i Norra Djurgårdsstaden har vunnit pris.",
        "Utveckling av staden kräver projekt med många parter.",
        "Stadens projekt om utveckling av parker och torg.",
        "Budgeten för skolan ökar nästa år.",
    ]
    index = LexicalIndex.build(texts)
    scores = index.scores(index.analyzer.query_terms("stadsutveckling"))
    assert scores[0] > 0 and scores[1] > 0 and scores[3] == 0


def test_coverage_from_postings_is_the_share_of_term_weight_each_passage_contains():
    texts = [
        "Stadsutvecklingsprojektet i Norra Djurgårdsstaden har vunnit pris.",
        "",
        "Budgeten för skolan ökar nästa år, enligt budgeten 2020-01-15.",
        "Projekt om skolan och budgeten.",
    ]
    index = LexicalIndex.build(texts)
    weights = index.idf(index.analyzer.query_terms("Budget för skolans projekt 15 januari 2020?"))
    weights["okänt"] = 5.0  # a term no passage has weighs in the total, found nowhere
    expected = [
        sum(w for t, w in weights.items() if t in set(index.analyzer.terms(text)))
        / sum(weights.values())
        for text in texts
    ]
    rows = [3, 0, 2, 1]
    assert list(index.coverage(weights, rows)) == pytest.approx([expected[r] for r in rows])
    assert 0 < expected[3] < 1 and expected[1] == 0
    assert index.coverage({}, rows).tolist() == [0.0] * 4
