"""Page layout from hand-made positioned lines (ingest.layout.lay_out is pure): furniture by
place and repetition whatever its length, footnotes out of the body, headings and the title
by typography and joined over line breaks, a sentence cut by a page break read whole."""

from __future__ import annotations

from ingest.formats import blocks_from_pages
from ingest.layout import Line, PageLines, lay_out

BODY = 11.0
FOOTER = (
    "Regeringskansliet, Miljö- och energidepartementet, 103 33 Stockholm. Besöksadress "
    "Tegelbacken 2. Telefon 08-405 10 00. www.regeringen.se kunskaper"
)


def page(number: int, body: list[Line], notes: list[Line] = ()) -> PageLines:
    lines = [
        Line(f"Miljö- och energidepartementet Sida {number} (2)", 805, 9),
        *body,
        *notes,
        Line(FOOTER, 40, 7.5),
        Line("Telefon växel 08-405 10 00.", 30, 7.5),
    ]
    return PageLines(tuple(lines), 0, 842)


def body_lines(texts: list[str], top: float = 700, size: float = BODY) -> list[Line]:
    return [Line(text, top - 14 * i, size) for i, text in enumerate(texts)]


PAGES = [
    page(
        1,
        [
            Line("Laddinfrastruktur för tunga fordon längs", 760, 16, True),
            Line("vägnätet", 741, 16, True),
            Line("Promemorians huvudsakliga innehåll och", 715, 13, True),
            Line("förslag", 700, 13, True),
            *body_lines(
                [
                    "I promemorian föreslås att staten ska ge stöd till laddstationer för",
                    "tunga fordon. Jordbruksverket får efter ansökan ge stöd till",
                    "Sammanfattning av läget",
                    "branschorganisationen som samordnar arbetet med laddningen och",
                ],
                top=680,
            ),
        ],
        [Line("1Prop. 2013/14:256, bet. 2013/14:CU1.", 80, 8)],
    ),
    page(
        2,
        body_lines(
            [
                "stationerna längs vägarna. Stödet ska täcka upp till hälften av kostnaden.",
                "Stödet fördelas av Trafikverket efter ansökan och prövas varje år av",
                "verket.",
            ]
        ),
    ),
]


def test_long_footer_ending_in_a_full_stop_is_furniture():
    layout = lay_out(PAGES)
    text = "\n".join(layout.pages)
    assert "Regeringskansliet" not in text and "Sida" not in text
    assert FOOTER in layout.furniture
    assert "Miljö- och energidepartementet Sida # (#)" not in layout.furniture  # first-seen form
    assert any(
        line.startswith("Miljö- och energidepartementet Sida 1") for line in layout.furniture
    )


def test_repeated_body_text_away_from_the_edges_is_kept():
    repeated = [
        page(n, body_lines(["Nämnden har inget att erinra mot förslaget.", f"Rad {n}"]))
        for n in (1, 2)
    ]
    layout = lay_out(repeated)
    assert all("Nämnden har inget att erinra mot förslaget." in p for p in layout.pages)


def test_footnote_leaves_the_body_with_its_number():
    layout = lay_out(PAGES)
    assert layout.footnotes[0] == ("1 Prop. 2013/14:256, bet. 2013/14:CU1.",)
    assert "Prop. 2013/14" not in layout.pages[0]


def test_title_and_headings_by_typography_joined_over_line_breaks():
    layout = lay_out(PAGES)
    assert layout.title == "Laddinfrastruktur för tunga fordon längs vägnätet"
    assert layout.headings == {"promemorians huvudsakliga innehåll och förslag": 1}


def test_body_lines_never_become_headings_and_page_breaks_join():
    layout = lay_out(PAGES)
    blocks, title, _ = blocks_from_pages(
        layout.pages,
        footnotes=layout.footnotes,
        typographic_headings=layout.headings,
        title=layout.title,
    )
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings == ["Promemorians huvudsakliga innehåll och förslag"]
    assert title == "Laddinfrastruktur för tunga fordon längs vägnätet"
    texts = [b.text for b in blocks]
    joined = next(t for t in texts if "branschorganisationen" in t)
    assert "samordnar arbetet med laddningen och stationerna längs vägarna." in " ".join(
        joined.split()
    )
    # The page's footnote follows the passage its page ends in, never inside the sentence.
    assert texts[texts.index(joined) + 1] == "1 Prop. 2013/14:256, bet. 2013/14:CU1."
    assert any("Sammanfattning av läget" in t for t in texts)


def test_pages_without_positions_leave_furniture_to_the_text_rules():
    flat = [
        PageLines(tuple(Line(t, 0, 10) for t in ("Kontoret", "Brödtext här.")), 0, 842)
        for _ in range(2)
    ]
    layout = lay_out(flat)
    assert layout.pages == ("Kontoret\nBrödtext här.", "Kontoret\nBrödtext här.")


def test_two_columns_give_the_column_width():
    left = body_lines(["Stöd får lämnas till den som"] * 6)
    right = [Line(t.text, t.y, t.size, x=300) for t in body_lines(["bygger en station"] * 6)]
    layout = lay_out([PageLines((*left, *right), 0, 842)])
    assert layout.line_lengths == (len("Stöd får lämnas till den som"),)


def test_superscript_digits_go_only_where_the_page_has_that_footnote():
    body = body_lines(["Parken blir 4 000 km2 stor enligt planen2.", "Mer text följer här."])
    text = body[0].text
    exponent, reference = text.index("km2") + 2, text.index("planen2") + 6
    spans = ((exponent, exponent + 1, "2"), (reference, reference + 1, "2"))
    referenced = (Line(text, body[0].y, BODY, references=spans),)
    note = Line("3Bullerutredning av Akustikkonsulten AB.", 80, 8)
    layout = lay_out([PageLines((*referenced, body[1], note), 0, 842)])
    # Footnote 3 is on the page, so "3" references would go; these "2"s stay.
    assert layout.pages[0].split("\n")[0] == text
    assert layout.footnotes == (("3 Bullerutredning av Akustikkonsulten AB.",),)
    note = Line("2Bullerutredning av Akustikkonsulten AB.", 80, 8)
    layout = lay_out([PageLines((*referenced, body[1], note), 0, 842)])
    assert layout.pages[0].split("\n")[0] == "Parken blir 4 000 km stor enligt planen."
    without = lay_out([PageLines((*referenced, body[1]), 0, 842)])
    assert without.pages[0].split("\n")[0] == "Parken blir 4 000 km2 stor enligt planen2."


def test_table_rows_keep_their_cells_apart_row_by_row():
    def row(y: float, cells: list[str]) -> Line:
        starts = (85.0, 191.0, 298.0, 404.0)
        return Line(" ".join(cells), y, 9.5, cells=tuple(zip(starts, cells, strict=True)))

    table = [
        row(495, ["Plan", "Antagen", "Laga kraft", "Användning"]),
        row(484, ["Dp 1994-07734", "1995", "1995", "Industri"]),
        row(473, ["Dp 1998-11290", "1999", "2000", "Industri"]),
    ]
    text = ["Planerna medger endast industri och kontor, vilket inte längre motsvarar"] * 3
    lines = (*body_lines(text), *table)
    layout = lay_out([PageLines(lines, 0, 842)])
    blocks, _, _ = blocks_from_pages(layout.pages, line_lengths=layout.line_lengths)
    assert blocks[-1].text == (
        "Plan | Antagen | Laga kraft | Användning\n"
        "Dp 1994-07734 | 1995 | 1995 | Industri\n"
        "Dp 1998-11290 | 1999 | 2000 | Industri"
    )


def test_small_print_at_the_edge_of_a_one_page_letter_is_furniture():
    lines = (
        Line("Exploateringskontoret", 815, 8),
        *body_lines(["Kontoret har inget att erinra mot förslaget till detaljplan."] * 4),
        Line("1Prop. 2013/14:256, bet. 2013/14:CU1 om en ny ordning för", 60, 8),
        Line("kommunal planering.", 51, 8),
        Line("Box 8312, 104 20 Stockholm. Telefon 08-508 260 00. www.stockholm.se", 25, 7),
    )
    layout = lay_out([PageLines(lines, 0, 842)])
    assert "Exploateringskontoret" not in layout.pages[0] and "Box 8312" not in layout.pages[0]
    assert set(layout.furniture) == {
        "Exploateringskontoret",
        "Box 8312, 104 20 Stockholm. Telefon 08-508 260 00. www.stockholm.se",
    }
    assert layout.footnotes == (
        ("1 Prop. 2013/14:256, bet. 2013/14:CU1 om en ny ordning för kommunal planering.",),
    )


def test_a_sentence_running_on_to_a_capitalised_word_on_the_next_page_is_joined():
    full = "Arbetet ska ske i nära samverkan med elnätsföretagen och med kommunerna samt med"
    pages = [
        f"Inledande mening om arbetet med laddinfrastrukturen.\n{full}",
        "Trafikverket, som ansvarar för stödet.\nBakgrund\nText om bakgrunden.",
    ]
    blocks, _, _ = blocks_from_pages(pages)
    assert blocks[1].text == f"{full} Trafikverket, som ansvarar för stödet."
    assert (blocks[1].page, blocks[1].page_end) == (1, 2)
    # Before a heading, or after a line that does not fill the width, nothing is joined.
    pages = [f"{full[:40]}\n", "Bakgrund\nText om bakgrunden."]
    assert [b.kind for b in blocks_from_pages(pages)[0]] == ["paragraph", "heading", "paragraph"]
    pages = [f"Inledande mening om arbetet.\n{full}", "Bakgrund\nText om bakgrunden."]
    assert [b.text for b in blocks_from_pages(pages)[0]][-2] == "Bakgrund"


def test_an_address_footer_line_opening_with_digits_is_not_a_footnote():
    lines = (
        *body_lines(["Regeringen har beslutat om en ny förordning om stöd till laddning."] * 4),
        Line(
            "Regeringskansliet, 103 33 Stockholm. Besöksadress Drottninggatan 16. Telefon", 44, 7.5
        ),
        Line("405 10 00. www.regeringen.se", 36, 7.5),
    )
    layout = lay_out([PageLines(lines, 0, 842)])
    assert "Regeringskansliet" not in layout.pages[0] and "405 10 00" not in layout.pages[0]
    assert layout.footnotes == ((),)
