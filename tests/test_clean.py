from __future__ import annotations

import pytest

from ingest.clean import (
    is_page_number_line,
    join_cut_sentences,
    reflow_paragraphs,
    rejoin_hyphenated,
    remove_running_headers,
    split_glued_tokens,
    strip_invisible,
)
from ingest.models import Block
from ingest.structure import is_strong_heading, looks_like_heading


def test_strip_invisible_removes_hidden_characters_and_composes():
    text = "stads\u200butveckling\u00ad och na\u0308mnd\ufeff\U000e0041 \u2060klar"
    assert strip_invisible(text) == "stadsutveckling och nämnd klar"


def test_soft_hyphen_at_line_end_joins_the_word():
    assert strip_invisible("stads\u00ad\nutveckling") == "stadsutveckling"


def test_ligatures_and_line_ends_are_normalised():
    assert strip_invisible("ﬁnansiering\r\nﬂöde") == "finansiering\nflöde"


def test_running_headers_and_page_numbers_are_removed_and_kept():
    pages = [
        f"Exploateringskontoret\nDnr 171-482/2016\nSida {n} (3)\nText på sidan {n} om "
        f"markanvisning.\nStycket om {word} fortsätter\n{n}"
        for n, word in ((1, "mark"), (2, "vatten"), (3, "avlopp"))
    ]
    cleaned, headers = remove_running_headers(pages)
    assert headers == ("Exploateringskontoret", "Dnr 171-482/2016")
    for n, page in enumerate(cleaned, start=1):
        # Body lines differ only in digits too, but a sentence is not a running header.
        assert page.split("\n")[0] == f"Text på sidan {n} om markanvisning."


def test_a_line_on_only_one_page_is_not_a_running_header():
    pages = ["Bakgrund\nKontoret har inget att erinra.", "Synpunkter\nInget mer att tillägga."]
    cleaned, headers = remove_running_headers(pages)
    assert cleaned == pages
    assert headers == ()


def test_running_header_on_half_of_the_pages_counts():
    pages = ["Stadsbyggnadskontoret\nEtt.", "Två.", "Stadsbyggnadskontoret\nTre.", "Fyra."]
    cleaned, headers = remove_running_headers(pages)
    assert headers == ("Stadsbyggnadskontoret",)
    assert cleaned == ["Ett.", "Två.", "Tre.", "Fyra."]


def test_page_number_patterns():
    for line in ("Sida 2 (7)", "Sida 2 av 7", "2 (7)", "- 3 -", "12", "sid 4"):
        assert is_page_number_line(line), line
    for line in ("2016", "Dnr 171-482/2016", "3 Konsekvenser"):
        assert not is_page_number_line(line), line


def test_hyphenated_words_are_rejoined():
    assert rejoin_hyphenated("hållbar stads-\nutveckling i") == "hållbar stadsutveckling i"


def test_suspended_compounds_keep_their_hyphen():
    assert rejoin_hyphenated("vatten-\noch avloppsplan") == "vatten- och avloppsplan"
    assert rejoin_hyphenated("in-\neller utfart") == "in- eller utfart"
    assert rejoin_hyphenated("vatten- och avloppsplan") == "vatten- och avloppsplan"


def test_hyphen_after_uppercase_or_digit_stays():
    assert rejoin_hyphenated("enligt EU-\nkommissionen") == "enligt EU-kommissionen"
    assert rejoin_hyphenated("åren 2011-\n2013") == "åren 2011-2013"


def test_glued_bold_label_goes_on_its_own_line():
    text = "Anders Hallberg\n08-508 264 01**Till**\nExploateringsnämnden"
    assert split_glued_tokens(text) == "Anders Hallberg\n08-508 264 01\nTill\nExploateringsnämnden"


def test_glued_words_are_separated_but_brand_names_are_not():
    assert split_glued_tokens("FörvaltningschefAnn-Charlotte Bergqvist") == (
        "Förvaltningschef Ann-Charlotte Bergqvist"
    )
    for word in ("PowerPoint", "YouTube", "LinkedIn", "SharePoint"):
        assert split_glued_tokens(word) == word


def _reflow(text: str) -> list[str]:
    return reflow_paragraphs(text, 80, is_strong_heading, looks_like_heading)


def test_wrapped_lines_are_reflowed_into_paragraphs():
    page = (
        "Kommunstyrelsen har remitterat förslaget till riktlinjer för markanvisning till\n"
        "exploateringsnämnden för yttrande senast den 17 oktober 2016.\n"
        "Kontoret har granskat förslaget och lämnar här sina synpunkter på de delar som\n"
        "rör kontorets ansvar.\n"
    )
    assert _reflow(page) == [
        "Kommunstyrelsen har remitterat förslaget till riktlinjer för markanvisning till "
        "exploateringsnämnden för yttrande senast den 17 oktober 2016.",
        "Kontoret har granskat förslaget och lämnar här sina synpunkter på de delar som "
        "rör kontorets ansvar.",
    ]


def test_blank_lines_separate_paragraphs_and_short_lines_stay_lines():
    page = "Handläggare\nAnders Hallberg\n08-508 264 01\n\nBakgrund\n\nEn mening här."
    assert _reflow(page) == [
        "Handläggare\nAnders Hallberg\n08-508 264 01",
        "Bakgrund",
        "En mening här.",
    ]


def test_heading_lines_stand_alone_without_blank_lines():
    page = (
        "Exploateringsnämnden ställer sig positiv till förslaget om nya riktlinjer för\n"
        "markanvisning i staden.\n"
        "Bakgrund\n"
        "Kommunstyrelsen har remitterat förslaget till riktlinjer för markanvisning till\n"
        "exploateringsnämnden.\n"
        "Konsekvenser för miljön\n"
        "Förslaget bedöms inte medföra några negativa konsekvenser för miljön i staden\n"
        "eller i regionen."
    )
    paragraphs = _reflow(page)
    assert paragraphs[1] == "Bakgrund"
    assert paragraphs[3] == "Konsekvenser för miljön"
    assert len(paragraphs) == 5


def test_sentences_cut_by_page_breaks_are_joined():
    blocks = [
        Block("paragraph", "har kontoret bedrivit projektet Innovation", page=1),
        Block("paragraph", "för hållbar stadsutveckling med stöd av Vinnova.", page=2),
        Block("paragraph", "Nästa stycke börjar med versal.", page=2),
    ]
    joined = join_cut_sentences(blocks)
    assert [b.text for b in joined] == [
        "har kontoret bedrivit projektet Innovation för hållbar stadsutveckling med stöd av "
        "Vinnova.",
        "Nästa stycke börjar med versal.",
    ]
    assert (joined[0].page, joined[0].page_end) == (1, 2)


def test_finished_sentences_and_headings_are_not_joined():
    blocks = [
        Block("paragraph", "Remissen besvaras med tjänsteutlåtandet."),
        Block("paragraph", "och detta stycke börjar med gemen."),
        Block("heading", "Bakgrund"),
        Block("paragraph", "stycke efter rubrik."),
    ]
    assert len(join_cut_sentences(blocks)) == 4


def test_word_hyphenated_across_a_page_break_is_rejoined():
    blocks = [
        Block("paragraph", "arbetet med stads-", page=1),
        Block("paragraph", "utveckling.", page=2),
    ]
    assert join_cut_sentences(blocks)[0].text == "arbetet med stadsutveckling."


def test_heading_heuristics():
    for line in ("Bakgrund", "2.1 Syfte och mål", "3 Konsekvenser", "Mål för 2030"):
        assert looks_like_heading(line), line
    for line in (
        "Håkan Falk",
        "Förvaltningschef",
        "Avdelningschef",
        "Handläggare",
        "Till",
        "Slut",
        "08-508 264 01",
        "Stockholm den 22 september 2016",
        "1. Internationell strategi för Stockholms stad",
        "Remissen besvaras med kontorets tjänsteutlåtande.",
    ):
        assert not looks_like_heading(line), line
    assert is_strong_heading("Exploateringskontorets synpunkter")
    assert is_strong_heading("1 Bakgrund")
    assert not is_strong_heading("Exploateringskontoret har inget att erinra")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The conjunction ends the broken word: the lexicon knows "ramen", "härtill".
        ("inom ra-\nmen för stadens program", "inom ramen för stadens program"),
        ("Här-\ntill kommer att", "Härtill kommer att"),
        ("ett hälso-\nsamt liv", "ett hälsosamt liv"),
        # A real suspension: the first half joins the tail of the next word.
        ("hälso-\nsamt miljöeffekterna", "hälso- samt miljöeffekterna"),
        ("vatten-\noch avloppsplan", "vatten- och avloppsplan"),
        # One-letter prefixes keep their hyphen.
        ("nya e-\ntjänster", "nya e-tjänster"),
        ("perioden 2021–\n2027 ska", "perioden 2021–2027 ska"),
    ],
)
def test_hyphen_rejoin_is_decided_with_a_swedish_lexicon(text, expected):
    assert rejoin_hyphenated(text) == expected


def test_private_use_bullets_become_bullets():
    assert strip_invisible("\uf0b7 Minska utsläppen\n\uf0a7 Öka") == "• Minska utsläppen\n▪ Öka"
