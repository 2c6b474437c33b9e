from __future__ import annotations

import pytest
from conftest import CORPUS_DIR, SEED_SOURCE

from ingest import DocumentMetadata, IngestError, load_document
from ingest.metadata import (
    apply_corrections,
    classify_doc_type,
    extract_metadata,
    find_date,
    find_diarienummer,
    find_organisation,
    parse_sidecar,
)
from ingest.models import Block


def test_seed_document_metadata():
    metadata = load_document(CORPUS_DIR, SEED_SOURCE).metadata
    assert metadata.title == "Internationell strategi för Stockholms stad. Svar på remiss"
    assert metadata.doc_type == "remissvar"
    assert metadata.organisation == "Exploateringsnämnden"
    assert metadata.date == "2016-09-22"
    assert metadata.diarienummer is None
    assert metadata.page_count is None


def test_seed_structure_keeps_letterhead_and_signature_out_of_headings():
    doc = load_document(CORPUS_DIR, SEED_SOURCE)
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert headings == [
        "Förslag till beslut",
        "Bakgrund",
        "Ärendets beredning",
        "Exploateringskontorets synpunkter",
        "Bilagor",
    ]
    texts = [b.text for b in doc.blocks]
    assert (
        texts[0]
        == "Handläggare\nAnders Hallberg\n08-508 264 01\nTill\nExploateringsnämnden\n2016-09-22"
    )
    assert "Håkan Falk\nFörvaltningschef Ann-Charlotte Bergqvist\nAvdelningschef" in texts
    assert any(
        "bedrivit projektet Innovation för hållbar stadsutveckling i Norra Djurgårdsstaden" in t
        for t in texts
    )
    assert any("för företagsetableringar och investeringar samt för talanger" in t for t in texts)
    assert texts[-1] == "1. Internationell strategi för Stockholms stad"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Datum 2016-09-22", "2016-09-22"),
        ("senast den 17 oktober 2016.", "2016-10-17"),
        ("den 3 Mars 2021 och 2022-01-05", "2021-03-03"),
        ("2016-13-45 är inget datum", None),
        ("Dnr 171-482/2016", None),
    ],
)
def test_find_date(text, expected):
    assert find_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dnr 171-482/2016", "171-482/2016"),
        ("Dnr: KS 2016/123", "KS 2016/123"),
        ("Diarienummer: Fi2022/00123", "Fi2022/00123"),
        ("Inget nummer här", None),
    ],
)
def test_find_diarienummer(text, expected):
    assert find_diarienummer(text) == expected


def test_organisation_prefers_the_recipient_nämnd():
    assert find_organisation("Handläggare\nTill\nKulturnämnden\n2016-01-01", "") == "Kulturnämnden"
    assert find_organisation("Stadsbyggnadskontoret\nSida 1", "") == "Stadsbyggnadskontoret"
    body = "Remissvaren ska ha kommit in till Finansdepartementet senast den 14 mars 2022."
    assert find_organisation("", body) == "Finansdepartementet"


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("Internationell strategi för Stockholms stad. Svar på remiss", "a.txt", "remissvar"),
        ("Remiss Kunskapsbaserad och jämlik vård", "remisser/2017/06/x.md", "remiss"),
        ("Klassificering av nya psykoaktiva substanser", "remisser/2018/01/x.md", "remiss"),
        (
            "Sveriges regionala strategi för Syrienkrisen",
            "strategier-for-internationellt-bistand/2015/12/x.md",
            "strategi",
        ),
        ("Yttrande över förslag till översiktsplan", "a.pdf", "remissvar"),
        ("Remiss av SOU 2020:45 Skydd för yttrandefriheten", "a.pdf", "remiss"),
        ("Riktlinjer för markanvisning", "a.pdf", "policy"),
        ("Policy för informationssäkerhet", "a.pdf", "policy"),
        ("Regeringens ärendeförteckning vecka 16", "arendeforteckningar/2011/04/x.md", "annat"),
    ],
)
def test_classify_doc_type(title, source, expected):
    assert classify_doc_type(title, source, "") == expected


def test_regeringen_markdown_metadata_falls_back_to_the_path_month():
    blocks = [
        Block("paragraph", "Strategi för Sveriges samarbete med Kenya"),
        Block("paragraph", "Utrikesdepartementet beslutar om strategin."),
    ]
    metadata = extract_metadata(
        "strategier-for-internationellt-bistand/2021/07/kenya.md",
        blocks,
        title="Strategi för Sveriges samarbete med Kenya",
    )
    assert metadata.doc_type == "strategi"
    assert metadata.date == "2021-07"
    assert metadata.organisation == "Utrikesdepartementet"


def test_title_falls_back_to_first_heading_then_file_name():
    assert extract_metadata("x.txt", [Block("heading", "Bakgrund")]).title == "Bakgrund"
    assert extract_metadata("mapp/rapport-2020.txt", []).title == "rapport-2020"


def test_sidecar_corrections_override():
    raw = '{"title": "Rätt titel", "doc_type": "policy", "date": "2016-09", "organisation": null}'
    corrections = parse_sidecar(raw.encode(), "rapport.pdf")
    metadata = apply_corrections(DocumentMetadata(title="Fel", organisation="X"), corrections)
    assert (metadata.title, metadata.doc_type, metadata.date, metadata.organisation) == (
        "Rätt titel",
        "policy",
        "2016-09",
        None,
    )


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"titel": "x"}', 'okänd nyckel "titel"'),
        ('{"doc_type": "rapport"}', '"doc_type" är "rapport" men ska vara en av strategi'),
        ('{"date": "22/9 2016"}', '"date" är "22/9 2016" men ska skrivas ÅÅÅÅ-MM-DD'),
        ('{"date": "2016-02-30"}', '"date"'),
        ('{"title": 5}', '"title" ska vara en text'),
        ('{"title": "x",', "inte giltig JSON"),
        ('["title"]', "JSON-objekt"),
    ],
)
def test_invalid_sidecar_names_file_and_key(raw, fragment):
    with pytest.raises(IngestError) as caught:
        parse_sidecar(raw.encode(), "mapp/rapport.pdf")
    assert "rapport.pdf.meta.json" in caught.value.reason
    assert fragment in caught.value.reason


def test_organisation_is_the_sender_not_the_recipient():
    front = "Kulturnämnden\nTill\nMiljö- och energidepartementet\n2021-02-01"
    assert find_organisation(front, "") == "Kulturnämnden"
    # A kontor writes to its own nämnd, which answers the remiss.
    front = "Stadsbyggnadskontoret Dnr SBK 2021-04512\nTill Stadsbyggnadsnämnden"
    assert find_organisation(front, "") == "Stadsbyggnadsnämnden"
    # A department rather than the Regeringskansliet around it; names with "- och".
    front = "Regeringskansliet\nMiljö- och energidepartementet 2022-12-08 M2022/01873"
    assert find_organisation(front, "") == "Miljö- och energidepartementet"
    assert find_organisation("", "enligt Kultur- och fritidsnämnden") is None
    body = "Remissvaren lämnas till Miljö- och energidepartementet."
    assert find_organisation("", body) == "Miljö- och energidepartementet"


def test_a_deadline_is_not_the_documents_date():
    assert find_date("Svaren ska ha kommit in senast den 31 oktober 2023. 2022-12-08") == (
        "2022-12-08"
    )
    blocks = [
        Block("paragraph", "Regeringen ger Trafikverket i uppdrag att redovisa arbetet."),
        Block("paragraph", "Uppdraget ska redovisas senast den 31 oktober 2023."),
    ]
    metadata = extract_metadata("pressmeddelanden/2022/12/uppdrag.md", blocks)
    assert metadata.date == "2022-12"


def test_regeringskansliet_number_without_a_label():
    front = "Miljö- och energidepartementet 2022-12-08 M2022/01873"
    blocks = [Block("paragraph", "Remiss av promemorian")]
    metadata = extract_metadata("remiss.pdf", blocks, running_headers=[front])
    assert metadata.diarienummer == "M2022/01873"
    assert find_diarienummer("Telefon 08-405 10 00") is None
