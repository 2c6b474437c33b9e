"""The web app's pure parts, without a server: what the chat quotes, how follow-ups are
read, what is escaped, which files may be served, how uploads are named and checked, and
who may listen where."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from answer import Answer
from app.cli import main
from app.web_access import AccessError, check_exposure, is_loopback, read_accounts
from app.web_answer import answer_markdown, md_text
from app.web_files import resolve_corpus_file
from app.web_phrases import copy_text, group_passages, phrase_of, phrases_html
from app.web_upload import check_upload, index_messages, safe_filename, save_uploads
from index import Failure, Hit
from index.build import BuildReport
from ingest.models import Chunk, DocumentMetadata

PASSAGE = (
    "Strategin föreslås vara kommunkoncernövergripande. Den ska t.ex. ligga till grund för "
    "samtliga nämnders och bolagsstyrelsers internationella arbete. Det internationella "
    "arbetet ska bidra till visionen om Ett Stockholm för alla.\n\nNästa stycke handlar om "
    "något annat."
)


def hit(text=PASSAGE, source="a.pdf", ordinal=0, relevance=1.0, title="Internationell strategi"):
    chunk = Chunk(f"{source}#{ordinal}", source, ordinal, ("Bakgrund",), 2, 2, None, text)
    meta = DocumentMetadata(title, "remissvar", "Exploateringsnämnden", "2016-09-22")
    return Hit(chunk, meta, 1.0, "hybrid", relevance)


# -- the answer ------------------------------------------------------------------------------


def answered(question: str, hits: list[Hit], lead: str | None = None, carried=()) -> Answer:
    """An Answer as the answer stage hands it to the chat, quoting `lead` from hits[0]."""
    searched = " ".join([question, *carried])
    if not hits:
        return Answer(question, searched, False, None, None, (), tuple(carried))
    lead = lead or hits[0].chunk.text
    return Answer(
        question, searched, True, lead, hits[0].chunk.chunk_id, tuple(hits), tuple(carried)
    )


def test_answer_quotes_lead_cites_sources_and_escapes_document_text():
    evil = hit("Kontoret har inget att erinra. <script>alert(1)</script> [x](javascript:y)")
    answer = answer_markdown(
        answered("Har kontoret något att erinra?", [evil], "Kontoret har inget att erinra.")
    )
    assert "<script>" not in answer and "](javascript" not in answer
    assert "&#60;script&#62;" in answer
    assert "> Kontoret har inget att erinra&#46;" in answer
    assert "Exploateringsnämnden" in answer and "s&#46; 2" in answer
    assert "<mark>erinra</mark>" in answer
    assert "kalla?dok=a.pdf&nr=0" in answer and "(fil/a.pdf#page=2)" in answer


def test_nothing_found_says_so_and_shows_no_passages():
    answer = answer_markdown(answered("Vad gäller för katter?", []))
    assert answer.startswith("Jag hittade inget i dokumenten om ”Vad gäller för katter?”")
    assert "Prova att" in answer and "Källor" not in answer


def test_md_text_leaves_no_markdown_or_html_syntax():
    text = "# Rubrik\n1. punkt *fet* _kursiv_ `kod` <b>x</b> [länk](http://a) ![bild](b) $x$"
    escaped = md_text(text)
    outside_entities = re.sub(r"&#\d+;", "", escaped)
    assert not any(c in outside_entities for c in "#*_`<>[]()!$")
    assert html.unescape(escaped) == text


def test_a_follow_up_says_how_it_was_read():
    answer = answered("Och vad gäller för bolagen?", [hit()], carried=("EU-projekt",))
    shown = answer_markdown(answer)
    assert "Tolkad tillsammans med föregående fråga" in shown
    assert "EU&#45;projekt" in shown


# -- find wording -----------------------------------------------------------------------------


def test_near_identical_passages_from_different_documents_are_grouped():
    same = "Exploateringskontoret har inget att erinra mot förslaget till internationell strategi."
    hits = [
        hit(same, "a.pdf", 0),
        hit(same + " ", "b.pdf", 3, title="Annat remissvar"),
        hit("Nämnden har inget att erinra mot budgeten för nästa år i sin helhet.", "b.pdf", 4),
    ]
    groups = group_passages(hits)
    assert [g.source for g in groups] == ["a.pdf", "b.pdf"]
    assert [p.hit.chunk.ordinal for p in groups[0].hits] == [0]
    assert [h.chunk.source for h in groups[0].hits[0].also_in] == ["b.pdf"]
    assert [p.hit.chunk.ordinal for p in groups[1].hits] == [4]


def test_copy_text_is_passage_then_full_citation():
    assert copy_text(hit("Inget att erinra.")) == (
        "Inget att erinra.\n\nInternationell strategi. Exploateringsnämnden, "
        "remissvar/tjänsteutlåtande, 2016-09-22, avsnitt ”Bakgrund”, s. 2"
    )


def test_a_page_is_cited_by_its_printed_label_with_the_pdf_page_where_they_differ():
    from app.results import citation, page_text

    printed = Chunk("a.pdf#0", "a.pdf", 0, (), 2, 2, "4", "Text.")
    assert page_text(printed) == "s. 4 (PDF-sida 2)"
    assert page_text(Chunk("a.pdf#0", "a.pdf", 0, (), 2, 2, "2", "Text.")) == "s. 2"
    assert page_text(Chunk("a.md#0", "a.md", 0, (), None, None, None, "Text.")) is None
    meta = DocumentMetadata("Budget 2020", "strategi", "Kommunstyrelsen", "2020-01-01")
    assert citation(Hit(printed, meta, 1.0, "hybrid")) == (
        "Budget 2020. Kommunstyrelsen, strategi, 2020-01-01, s. 4 (PDF-sida 2)"
    )
    shown = answer_markdown(answered("Vad?", [Hit(printed, meta, 1.0, "hybrid")], "Text."))
    # the link says the page as cited and opens the PDF at its physical page
    assert "[Öppna originalet (s. 4 (PDF-sida 2))](fil/a.pdf#page=2)" in html.unescape(shown)


def test_the_answer_cites_title_and_section_and_copies_clean_text():
    answer = answer_markdown(
        answered("Vad gäller?", [hit()], "Strategin föreslås vara kommunkoncernövergripande.")
    )
    assert (
        "— ur källa 1: Internationell strategi&#46; Exploateringsnämnden, "
        "remissvar/tjänsteutlåtande, 2016&#45;09&#45;22, avsnitt ”Bakgrund”, s&#46; 2"
    ) in answer
    values = [html.unescape(v) for v in re.findall(r'class="sok-copy" value="([^"]*)"', answer)]
    assert values[0] == (
        "Strategin föreslås vara kommunkoncernövergripande.\n\nInternationell strategi. "
        "Exploateringsnämnden, remissvar/tjänsteutlåtande, 2016-09-22, avsnitt ”Bakgrund”, s. 2"
    )
    assert values[1].startswith(PASSAGE.strip()) and "&#" not in values[1] + values[0]
    assert "<mark>" not in values[1]


def test_a_document_read_by_ocr_says_so_under_its_title():
    note = "Sida 2 är inskannad och lästes med OCR – texten kan innehålla lästfel"
    answer = answer_markdown(answered("Vad gäller?", [hit()], PASSAGE), read_by_ocr={"a.pdf": note})
    assert "*Obs: Sida 2 är inskannad och lästes med OCR – texten kan innehålla lästfel.*" in (
        answer
    )
    assert "OCR" not in answer_markdown(answered("Vad gäller?", [hit()], PASSAGE))


def test_sources_from_one_document_are_grouped_under_it():
    hits = [hit(source="a.pdf", ordinal=0), hit(source="b.pdf", ordinal=1, title="Annat")]
    hits.append(hit("Ett tredje avsnitt ur a.", source="a.pdf", ordinal=5))
    answer = answer_markdown(answered("Vad gäller?", hits, PASSAGE.split(".")[0] + "."))
    assert "**Källor (2)**" in answer
    assert answer.count("**1. Internationell strategi**") == 1
    assert answer.index("Ett tredje avsnitt") < answer.index("**2. Annat**")


def test_phrase_results_are_escaped_and_highlighted():
    html = phrases_html("att erinra", [hit("Inget att\nerinra <script>x</script>.")])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>att\nerinra</mark>" in html
    assert "finns i 1 avsnitt i 1 dokument" in html
    assert phrase_of('Sök "inget att erinra" i allt') == "inget att erinra"


# -- serving files ---------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "doc.pdf").write_bytes(b"%PDF-1.4 x")
    (root / ".index").mkdir()
    (root / ".index" / "chunks.sqlite").write_bytes(b"db")
    (tmp_path / "secret.txt").write_text("hemligt")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    return root


def test_a_known_document_is_served(corpus):
    assert (
        resolve_corpus_file(corpus, "sub/doc.pdf", {"sub/doc.pdf"})
        == (corpus / "sub" / "doc.pdf").resolve()
    )


@pytest.mark.parametrize(
    "source",
    [
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "sub\\..\\..\\secret.txt",
        "%2e%2e/secret.txt",
        ".index/chunks.sqlite",
        "link.txt",
        "sub/",
        "",
    ],
)
def test_paths_outside_the_corpus_are_refused(corpus, source):
    # Even when the index lists the path, it must resolve inside the corpus folder.
    assert resolve_corpus_file(corpus, source, {source}, blocked=(corpus / ".index",)) is None


def test_a_file_not_in_the_index_is_refused(corpus):
    (corpus / "sub" / "other.pdf").write_bytes(b"%PDF-1.4 y")
    assert resolve_corpus_file(corpus, "sub/other.pdf", {"sub/doc.pdf"}) is None


# -- uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Remissvar 2016 (slutlig).PDF", "Remissvar-2016-slutlig.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\x\\Nämndens svar.docx", "Nämndens-svar.docx"),
        (".hidden.md", "hidden.md"),
        ("<script>.txt", "script.txt"),
        ("...pdf", "dokument.pdf"),
    ],
)
def test_upload_names_are_made_safe(name, safe):
    assert safe_filename(name) == safe


def test_uploads_are_checked_saved_and_never_overwrite(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "svar.txt").write_text("det gamla svaret", encoding="utf-8")
    staged = tmp_path / "staged"
    staged.mkdir()
    files = {
        "svar.txt": b"ett nytt svar",
        "falsk.pdf": b"inte en pdf",
        "bild.png": b"\x89PNG",
        "stor.md": b"x" * 2000,
        "tom.txt": b"",
    }
    for name, data in files.items():
        (staged / name).write_bytes(data)
    result = save_uploads([(staged / n, n) for n in files], corpus, max_bytes=1000)
    assert result.saved == [("svar.txt", "svar-2.txt")]
    assert (corpus / "svar.txt").read_text(encoding="utf-8") == "det gamla svaret"
    assert (corpus / "svar-2.txt").read_text(encoding="utf-8") == "ett nytt svar"
    text = "\n".join(result.messages)
    assert "sparad som svar-2.txt eftersom svar.txt redan fanns" in text
    assert "falsk.pdf: filen är ingen PDF" in text
    assert "bild.png: filtypen .png stöds inte" in text
    assert "stor.md: filen är 0.0 MB; största tillåtna storlek är 0 MB" in text
    assert "tom.txt: filen är tom" in text
    again = save_uploads([(staged / "svar.txt", "svar.txt")], corpus, 1000, {"x": "y"})
    assert again.saved == [("svar.txt", "svar-3.txt")]


def test_size_limit_is_stated_in_megabytes(tmp_path):
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4" + b"0" * 3_000_000)
    assert check_upload(big, "big.pdf", 2_000_000) == (
        "filen är 3.0 MB; största tillåtna storlek är 2 MB."
    )


def test_an_upload_the_index_cannot_read_is_removed_with_its_reason():
    report = BuildReport(Path("."), failures=[Failure("trasig.pdf", "filen är krypterad")])
    removed = []
    lines = index_messages(
        [("Trasig.pdf", "trasig.pdf"), ("ok.md", "ok.md")], report, removed.append
    )
    assert removed == ["trasig.pdf"]
    assert lines == [
        "✗ Trasig.pdf: kunde inte läsas – filen är krypterad. Filen togs bort igen.",
        "✓ ok.md: indexerad och sökbar.",
    ]


# -- who may listen where ---------------------------------------------------------------------


def test_only_loopback_counts_as_local():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_public_host_without_auth_refuses_unless_insecure():
    with pytest.raises(AccessError, match="--auth"):
        check_exposure("0.0.0.0", [], insecure=False)
    check_exposure("0.0.0.0", [("anna", "hemligt")], insecure=False)
    check_exposure("0.0.0.0", [], insecure=True)


def test_serve_on_all_interfaces_without_auth_exits_2_with_a_reason(capsys):
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "inloggning" in error and "--auth" in error and "--insecure" in error


def test_auth_file_is_read_and_checked(tmp_path):
    accounts = tmp_path / "konton.txt"
    accounts.write_text("# kommentar\nanna:hemligt:med:kolon\n\nbo:lösen\n", encoding="utf-8")
    assert read_accounts([], accounts) == [("anna", "hemligt:med:kolon"), ("bo", "lösen")]
    with pytest.raises(AccessError, match="ANVÄNDARE:LÖSENORD"):
        read_accounts(["utan-kolon"], None)
