"""The `strategisok` command: index, search, eval, docs and serve, as ../shared/DESIGN.md
specifies them. Exit codes: 0 done, 1 failed (or --strict and a file was skipped), 2 usage."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from index import (
    MODES,
    Filters,
    IndexBusy,
    IndexUnavailable,
    ModelLoadError,
    SearchIndex,
    build_index,
)
from index.search import MAX_QUERY_CHARS
from ingest import ocr as ingest_ocr

from .evaluation import (
    Question,
    QuestionFileError,
    evaluate,
    evaluate_answers,
    format_answer_table,
    format_table,
    read_questions,
    refused_share,
)
from .results import answer_to_json, mark, query_to_json
from .settings import Settings, SettingsError

EXAMPLES = """\
exempel:
  strategisok index corpus/
  strategisok search "Får nämnden delta i EU-projekt?"
  strategisok search "inget att erinra" --mode lexical -k 10 --filter doc_type=remissvar
  strategisok search --batch fragor.jsonl --json > svar.jsonl
  strategisok ask "När ska uppdraget redovisas?" --previous "Vad ska Konkurrensverket göra?"
  strategisok ask --batch samtal.jsonl --json > svar.jsonl
  strategisok eval ../shared/eval/dev_questions.jsonl
  strategisok docs
  strategisok serve
  strategisok serve --host 0.0.0.0 --auth-file konton.txt --allow-upload
"""


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strategisok",
        description="Sök i strategier och remissvar – med citat ur dokumenten.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help,
            description=help,
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--index-dir",
            type=Path,
            help="indexmapp (standard .strategisok/, eller STRATEGISOK_INDEX_DIR)",
        )
        sub.add_argument(
            "--database",
            metavar="URL",
            help="indexet i PostgreSQL med pgvector i stället för i indexmappen: "
            "postgresql://ANVÄNDARE:LÖSENORD@VÄRD:PORT/DATABAS (eller "
            "STRATEGISOK_DATABASE_URL)",
        )
        return sub

    p = command("index", "Bygg eller uppdatera indexet från en dokumentmapp.")
    p.add_argument(
        "corpus",
        nargs="?",
        type=Path,
        metavar="KORPUSMAPP",
        help="dokumentmappen (standard corpus/, eller STRATEGISOK_CORPUS)",
    )
    p.add_argument(
        "--model",
        help="multilingual-e5-small (standard), strategisok-sv-static (snabb), "
        "bundled:all-MiniLM-L6-v2 eller en sentence-transformers-modell (namn eller mapp)",
    )
    p.add_argument("--device", help="cpu (standard) eller cuda")
    p.add_argument("--batch-size", type=int, help="textavsnitt per embeddingomgång")
    p.add_argument("--chunk-tokens", type=int, help="största avsnitt i modellens token")
    p.add_argument("--overlap-tokens", type=int, help="överlapp mellan avsnitt i token")
    p.add_argument(
        "--pdf-timeout", type=float, metavar="S", help="längsta lästid per PDF i sekunder (30)"
    )
    p.add_argument(
        "--pdf-memory-mb", type=int, metavar="MB", help="mest minne per PDF i MB (1024; 0 = ingen)"
    )
    p.add_argument(
        "--no-ocr",
        dest="ocr",
        action="store_false",
        default=None,
        help="läs inte inskannade PDF-sidor med OCR (Tesseract)",
    )
    p.add_argument(
        "--strict", action="store_true", help="avsluta med kod 1 om någon fil hoppades över"
    )
    p.add_argument("--quiet", action="store_true", help="inga förloppsindikatorer")

    p = command("search", "Sök efter de avsnitt som besvarar en fråga.")
    p.add_argument("query", nargs="?", metavar="FRÅGA")
    p.add_argument(
        "--batch",
        type=Path,
        metavar="FRÅGOR.jsonl",
        help='en JSON per rad med fältet "q"; ett svar per rad, i samma ordning',
    )
    p.add_argument("-k", type=int, default=5, help="antal avsnitt (standard 5)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="sökläge (standard hybrid)")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NYCKEL=VÄRDE",
        help="doc_type=…, organisation=…, source=…, year=2015 eller year=2015-2020; "
        "upprepa för fler",
    )
    p.add_argument("--json", action="store_true", help="svar som JSON (se DESIGN.md)")
    p.add_argument("--device", help="cpu (standard) eller cuda")

    p = command("ask", "Svara på en fråga som chatten gör: citat, källa och avsnitt.")
    p.add_argument("query", nargs="?", metavar="FRÅGA")
    p.add_argument(
        "--previous",
        action="append",
        default=[],
        metavar="TIDIGARE_FRÅGA",
        help="en tidigare fråga i samtalet (upprepa, äldst först) så att en följdfråga "
        "förstås i sitt sammanhang",
    )
    p.add_argument(
        "--batch",
        type=Path,
        metavar="FRÅGOR.jsonl",
        help='en JSON per rad med "q" och valfritt "previous" (lista); ett svar per rad',
    )
    p.add_argument("-k", type=int, default=5, help="högst antal källor (standard 5)")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NYCKEL=VÄRDE",
        help="som för search: doc_type=…, organisation=…, source=…, year=…",
    )
    p.add_argument("--json", action="store_true", help="svar som JSON (se DESIGN.md)")
    p.add_argument("--device", help="cpu (standard) eller cuda")

    p = command("eval", "Mät träffsäkerheten på en frågefil (hit@1, hit@5, MRR@10).")
    p.add_argument("questions", type=Path, metavar="FRÅGOR.jsonl")
    p.add_argument(
        "--mode",
        action="append",
        choices=MODES,
        dest="modes",
        help="läge att mäta (standard: alla tre)",
    )
    p.add_argument(
        "--unanswerable",
        type=Path,
        metavar="OBESVARBARA.jsonl",
        help='frågor som dokumenten inte besvarar (fältet "q"): mät hur många som får '
        '"hittade inget"',
    )
    p.add_argument("--json", action="store_true", help="resultat som JSON")
    p.add_argument("--device", help="cpu (standard) eller cuda")

    command("docs", "Lista dokumenten i indexet och filer som inte kunde läsas.")

    p = command("serve", "Starta webbappen (chatt, formuleringar, dokumentlista, API /sok).")
    p.add_argument("--host", default="127.0.0.1", help="adress att lyssna på (standard 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (standard 7860)")
    p.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="ANVÄNDARE:LÖSENORD",
        help="kräv inloggning; upprepa för fler konton (syns i processlistan: --auth-file "
        "är säkrare)",
    )
    p.add_argument(
        "--auth-file", type=Path, metavar="FIL", help="fil med ett ANVÄNDARE:LÖSENORD per rad"
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="tillåt annan adress än 127.0.0.1 utan inloggning (rekommenderas inte)",
    )
    p.add_argument(
        "--allow-upload",
        action="store_true",
        help="låt användare lägga till PDF, DOCX, TXT och MD i dokumentmappen",
    )
    p.add_argument(
        "--max-upload-mb", type=int, default=50, help="största uppladdade fil i MB (standard 50)"
    )
    p.add_argument(
        "--examples",
        type=Path,
        metavar="FIL",
        help="exempelfrågor på startsidan, en per rad (standard: frågor ur dokumenten)",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        metavar="KORPUSMAPP",
        help="dokumentmappen när indexet saknas (annars mappen indexet byggdes från)",
    )
    p.add_argument("--device", help="cpu (standard) eller cuda")
    return parser


def parse_filters(items: list[str]) -> Filters:
    values: dict[str, list[str]] = {"doc_type": [], "organisation": [], "source": []}
    year_from = year_to = None
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise UsageError(f"--filter {item!r}: skriv NYCKEL=VÄRDE, t.ex. doc_type=remissvar.")
        if key == "year":
            low, _, high = value.partition("-")
            try:
                year_from, year_to = int(low), int(high or low)
            except ValueError as exc:
                raise UsageError(f"--filter {item!r}: år skrivs 2016 eller 2015-2020.") from exc
        elif key in values:
            values[key].append(value)
        else:
            raise UsageError(
                f"--filter {item!r}: okänd nyckel {key!r}; använd doc_type, organisation, "
                "source eller year."
            )
    return Filters(
        doc_types=tuple(values["doc_type"]),
        organisations=tuple(values["organisation"]),
        sources=tuple(values["source"]),
        year_from=year_from,
        year_to=year_to,
    )


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        corpus=getattr(args, "corpus", None),
        index_dir=args.index_dir,
        database_url=args.database,
        model=getattr(args, "model", None),
        device=getattr(args, "device", None),
        batch_size=getattr(args, "batch_size", None),
        chunk_tokens=getattr(args, "chunk_tokens", None),
        overlap_tokens=getattr(args, "overlap_tokens", None),
        pdf_timeout=getattr(args, "pdf_timeout", None),
        pdf_memory_mb=getattr(args, "pdf_memory_mb", None),
        ocr=getattr(args, "ocr", None),
    )


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.corpus.is_dir():
        raise UsageError(f"Dokumentmappen {settings.corpus} finns inte.")
    ingest_ocr.configure(settings.ocr, settings.index_dir / "cache" / "ocr")
    report = build_index(
        settings.corpus,
        settings.index_location,
        settings.index_config(),
        progress=not args.quiet,
    )
    print(
        f"Klart på {report.seconds:.1f} s: {report.documents} dokument, {report.chunks} avsnitt "
        f"({len(report.added)} nya, {len(report.updated)} ändrade, {report.unchanged} oförändrade,"
        f" {len(report.removed)} borttagna; {report.embedded} avsnitt och "
        f"{report.lead_sentences} meningar inbäddade)."
    )
    for source in report.removed:
        print(f"  borttagen: {source}")
    if report.failures:
        print(f"{len(report.failures)} fil(er) kunde inte läsas:")
        for failure in report.failures:
            kept = " (tidigare version behålls i indexet)" if failure.kept_previous else ""
            print(f"  {failure.source}: {failure.reason}{kept}")
    _print_document_warnings(settings, {*report.added, *report.updated})
    print(f"Index publicerat i {report.build_dir}")
    return 1 if args.strict and report.failures else 0


def _print_document_warnings(settings: Settings, sources: set[str]) -> None:
    """What the files read in this run warned of: pages without text, OCR'd, unreadable."""
    if not sources:
        return
    try:
        documents = SearchIndex.open(settings.index_location).documents()
    except Exception:  # the summary is a courtesy; `strategisok docs` shows the same
        return
    warned = [d for d in documents if d.source in sources and d.warnings]
    if warned:
        print(f"{len(warned)} fil(er) lästes med varningar:")
        for d in sorted(warned, key=lambda d: d.source):
            for warning in d.warnings:
                print(f"  {d.source}: {warning}")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """`text` without control characters, so that a question or a document cannot send
    escape sequences to the terminal."""
    return _CONTROL.sub("\ufffd", text)


def _open_index(settings: Settings, device: str = "cpu") -> SearchIndex:
    index = SearchIndex.open(settings.index_location, device=device)
    if index.warning:
        print(f"Obs: {index.warning}", file=sys.stderr)
    return index


def _print_hits(query: str, result: dict, color: bool, heading: bool = True) -> None:
    before, after = ("\033[1;33m", "\033[0m") if color else ("»", "«")
    query = _printable(query)
    if heading:
        print(f"Fråga: {query}")
    if not result["results"]:
        print("  Inga träffar.")
    for r in result["results"]:
        where = ", ".join(
            x
            for x in (
                r["organisation"],
                r["doc_type"],
                r["date"],
                r["section"] and f"avsnitt: {r['section']}",
                r["page"] and f"s. {r['page']}",
            )
            if x
        )
        print(_printable(f"\n[{r['rank']}] {r['title']}  ({r['source']})"))
        if where:
            print(f"    {_printable(where)}")
        for line in mark(_printable(r["text"]), query, before, after).splitlines():
            print(f"    {line}")
    print()


def _questions(args: argparse.Namespace) -> tuple[list[Question], Filters]:
    """The question lines of `search`/`ask` (--batch FILE, else the one question as a line
    with `previous` from --previous) and the filters; UsageError for a bad combination."""
    if (args.query is None) == (args.batch is None):
        raise UsageError("Ange antingen en fråga eller --batch FRÅGOR.jsonl, inte båda.")
    if args.k < 1:
        raise UsageError("-k måste vara minst 1.")
    filters = parse_filters(args.filter)
    if not args.batch:
        return [Question(args.query, previous=tuple(getattr(args, "previous", ()) or ()))], filters
    try:
        return read_questions(args.batch, need_target=False), filters
    except QuestionFileError as exc:
        raise UsageError(str(exc)) from exc


def _warn_if_long(query: str) -> None:
    if len(query) > MAX_QUERY_CHARS:
        print(
            f"Obs: frågan är {len(query)} tecken lång; bara de första {MAX_QUERY_CHARS} "
            "används i sökningen.",
            file=sys.stderr,
        )


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    questions, filters = _questions(args)
    index = _open_index(settings, settings.device)
    color = sys.stdout.isatty()
    for query in (q.q for q in questions):
        _warn_if_long(query)
        result = query_to_json(
            query, index.search(query, k=args.k, mode=args.mode, filters=filters)
        )
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            _print_hits(query, result, color)
    return 0


def _print_answer(result: dict, color: bool) -> None:
    print(f"Fråga: {_printable(result['query'])}")
    if not " ".join(result["query"].split()).startswith(result["interpreted_as"]):
        print(f"Tolkad som: {_printable(result['interpreted_as'])}")
    if not result["found"]:
        print("Jag hittade inget i dokumenten som besvarar frågan.\n")
        return
    source = next(r for r in result["results"] if r["chunk_id"] == result["answer_chunk_id"])
    print(f"\n  ”{_printable(' '.join(result['answer'].split()))}”")
    print(f"  — {_printable(source['title'])} ({source['source']})")
    _print_hits(result["interpreted_as"], result, color, heading=False)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from answer import answer_question

    if args.batch and args.previous:
        raise UsageError('--previous gäller en enstaka fråga; i --batch anges "previous" per rad.')
    questions, filters = _questions(args)
    index = _open_index(settings, settings.device)
    color = sys.stdout.isatty()
    for question in questions:
        query = question.q
        _warn_if_long(query)
        answer = answer_question(
            index, query, list(question.previous), k=args.k, filters=filters or None
        )
        result = answer_to_json(query, answer)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            _print_answer(result, color)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    try:
        questions = read_questions(args.questions)
    except QuestionFileError as exc:
        raise UsageError(str(exc)) from exc
    index = _open_index(settings, settings.device)
    try:
        unanswerable = (
            read_questions(args.unanswerable, need_target=False) if args.unanswerable else []
        )
    except QuestionFileError as exc:
        raise UsageError(str(exc)) from exc
    report = evaluate(index, questions, args.modes or list(MODES))
    answers = evaluate_answers(index, questions)
    refused = refused_share(index, unanswerable) if unanswerable else None
    if args.json:
        # The retrieval figures per mode as before; the answer-level ones under "answers".
        extra = {"answers": answers, **({"refused": refused} if refused else {})}
        print(json.dumps({**report, **extra}, indent=2))
    else:
        print(format_table(report) + "\n\n" + format_answer_table(answers, refused))
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings)
    documents = index.documents()
    print(f"{len(documents)} dokument i {index.build_dir}:")
    for d in documents:
        m = d.metadata
        facts = ", ".join(
            x
            for x in (
                m.doc_type,
                m.organisation,
                m.date,
                m.page_count and f"{m.page_count} s.",
                f"{d.chunk_count} avsnitt",
            )
            if x
        )
        print(f"  {m.title}\n    {d.source} — {facts}")
        for warning in d.warnings:
            print(f"    obs: {warning}")
    failures = index.store.failures()
    if failures:
        print(f"{len(failures)} fil(er) kunde inte läsas vid senaste indexeringen:")
        for f in failures:
            print(f"  {f.source}: {f.reason}")
    return 0


def read_examples(path: Path) -> tuple[str, ...]:
    """The example questions of --examples FILE: one per line, blank lines and lines starting
    with # left out. Raises UsageError naming the file when it cannot be used."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--examples {path}: filen kan inte läsas ({exc}).") from exc
    questions = tuple(
        " ".join(line.split()) for line in lines if line.strip() and not line.startswith("#")
    )
    if not questions:
        raise UsageError(f"--examples {path}: filen innehåller inga frågor (en fråga per rad).")
    return questions


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .web_access import AccessError, check_exposure, read_accounts

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: välj en port mellan 1 och 65535.")
    if args.max_upload_mb < 1:
        raise UsageError("--max-upload-mb måste vara minst 1.")
    try:
        accounts = read_accounts(args.auth, args.auth_file)
        check_exposure(args.host, accounts, args.insecure)
    except AccessError as exc:
        raise UsageError(str(exc)) from exc
    from .web import ServeOptions, serve  # Gradio loads slowly; only serve needs it

    options = ServeOptions(
        allow_upload=args.allow_upload,
        max_upload_mb=args.max_upload_mb,
        auth=tuple(accounts),
        examples=read_examples(args.examples) if args.examples else (),
    )
    return serve(settings, args.host, args.port, options)


COMMANDS = {
    "index": cmd_index,
    "search": cmd_search,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "docs": cmd_docs,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        return COMMANDS[args.command](args, settings)
    except (UsageError, SettingsError) as exc:
        print(f"strategisok {args.command}: {exc}", file=sys.stderr)
        return 2
    except (IndexUnavailable, IndexBusy, ModelLoadError) as exc:
        print(f"strategisok {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Avbrutet.", file=sys.stderr)
        return 1
