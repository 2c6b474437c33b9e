"""`make eval`: retrieval quality on ../shared/eval, every Strategisök mode side by side with
two baselines run in the same command (BM25 and all-MiniLM-L6-v2 over fixed 1,000-character
chunks). The dev corpus and its index are kept under .cache/eval and reused between runs."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from app.evaluation import (
    Report,
    evaluate,
    evaluate_answers,
    evaluate_retriever,
    format_answer_table,
    format_table,
    read_questions,
    refused_share,
)
from bench.baselines import BM25Baseline, DenseBaseline, read_corpus
from bench.calibrate import evidence_of
from bench.calibrate import report as calibration_report
from bench.corpora import DEV_QUESTIONS, ROOT, dev_corpus, shared_missing_reason
from index import MODES, IndexConfig, SearchIndex, build_index
from index.embedder import DEFAULT_MODEL, MINILM, SWEDISH_STATIC, Embedder, resolve_model

CACHE = ROOT / ".cache" / "eval"
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.jsonl"
UNANSWERABLE = ROOT / "tests" / "data" / "unanswerable_questions.jsonl"
CONVERSATIONS = ROOT / "tests" / "data" / "conversations.jsonl"
# Held out: written by someone who did not tune the answer stage, on documents that no dev
# question or conversation above uses; never used to choose a weight or a threshold.
HELDOUT_QUESTIONS = ROOT / "tests" / "data" / "lead_questions.jsonl"
HELDOUT_CONVERSATIONS = ROOT / "tests" / "data" / "heldout_conversations.jsonl"


def baselines(corpus_dir: Path, questions, model_name: str) -> Report:
    from sentence_transformers import SentenceTransformer

    chunks = read_corpus(corpus_dir)
    bm25 = BM25Baseline(chunks)
    model = SentenceTransformer(resolve_model(model_name), device="cpu")
    dense = DenseBaseline(chunks, model, cache_dir=CACHE)

    def as_pairs(search):
        return lambda q: [(c.source, c.text) for c in search(q, 10)]

    return {
        "baseline-bm25": evaluate_retriever(as_pairs(bm25.search), questions),
        "baseline-dense": evaluate_retriever(as_pairs(dense.search), questions),
    }


def three_way(index: SearchIndex, questions, weight_sets: list[str]) -> Report:
    """Hybrid rows that add a third ranking, our static model's over the same passages (an
    experiment: the index holds one dense model)."""
    from index.build import dense_texts
    from index.dense import DenseIndex
    from index.fusion import score_fusion

    static = Embedder(SWEDISH_STATIC)
    chunks = index.store.chunks_by_rows(range(index.manifest["counts"]["chunks"]))
    titles = {d.source: d.metadata.title for d in index.documents()}
    texts = [dense_texts(titles[c.source], [c], static)[0] for _, c in sorted(chunks.items())]
    vectors = static.embed(texts, "passage")
    dense_static = DenseIndex.build(vectors)
    report: Report = {}
    for spec in weight_sets:
        lexical, dense, third = (float(w) for w in spec.split(":"))

        def retrieve(query: str, lexical=lexical, dense=dense, third=third):
            terms = index.lexical.analyzer.query_terms(query)
            rankings = {
                "lexical": index._lexical(terms, index.fusion_weights.depth, None),
                "dense": index._dense(query, index.fusion_weights.depth, None),
                "static": dense_static.search(
                    static.embed([query], "query")[0], index.fusion_weights.depth, None
                ),
            }
            fused = score_fusion(
                rankings,
                {"lexical": lexical, "dense": dense, "static": third},
                floors={"lexical": 0.0, "dense": None, "static": None},
            )
            chunks = index.store.chunks_by_rows(row for row, _ in fused[:10])
            return [(chunks[row].source, chunks[row].text) for row, _ in fused[:10]]

        report[f"hybrid+static {spec}"] = evaluate_retriever(retrieve, questions)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument(
        "--chunk-tokens", type=int, default=None, help="largest passage (default: the model's)"
    )
    parser.add_argument(
        "--weights",
        nargs="*",
        default=[],
        metavar="LEX:DENSE",
        help="more BM25:dense fusion weights to measure, e.g. 0.5:0.5 0.7:0.3",
    )
    parser.add_argument(
        "--with-static",
        nargs="*",
        default=[],
        metavar="LEX:DENSE:STATIC",
        help=f"three-way fusions with {SWEDISH_STATIC} over the same passages, e.g. 0.4:0.4:0.2",
    )
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "eval.json")
    args = parser.parse_args()

    reason = shared_missing_reason()
    if reason:
        print(f"make eval hoppas över: {reason}", file=sys.stderr)
        return 0
    corpus_dir = CACHE / "corpus"
    if not corpus_dir.is_dir():
        print(f"Skapar dev-korpusen i {corpus_dir} …", flush=True)
        dev_corpus(corpus_dir)
    key = args.model if args.chunk_tokens is None else f"{args.model}:{args.chunk_tokens}"
    index_dir = CACHE / ("index-" + hashlib.sha1(key.encode()).hexdigest()[:10])
    started = time.perf_counter()
    config = IndexConfig(model=args.model, chunk_tokens=args.chunk_tokens)
    report = build_index(corpus_dir, index_dir, config, progress=True)
    print(
        f"Index: {report.documents} dokument, {report.chunks} avsnitt, "
        f"{report.embedded} nyinbäddade, {report.seconds:.0f} s"
    )

    index = SearchIndex.open(index_dir)
    results: dict[str, Report] = {}
    questions = read_questions(args.questions)
    results["dev"] = evaluate(index, questions, list(MODES))
    for pair in args.weights:
        lexical, dense = (float(w) for w in pair.split(":"))
        other = replace(index, weights=replace(index.fusion_weights, lexical=lexical, dense=dense))
        results["dev"][f"hybrid {lexical:.2f}/{dense:.2f}"] = evaluate(
            other, questions, ["hybrid"]
        )["hybrid"]
    if args.with_static:
        results["dev"].update(three_way(index, questions, args.with_static))
    if not args.no_baselines:
        results["dev"].update(baselines(corpus_dir, questions, MINILM))
    if SEED_QUESTIONS.exists():
        results["seed"] = evaluate(index, read_questions(SEED_QUESTIONS), list(MODES))
    if HELDOUT_QUESTIONS.exists():
        results["heldout"] = evaluate(index, read_questions(HELDOUT_QUESTIONS), list(MODES))
    answerable = questions + read_questions(CONVERSATIONS)
    if SEED_QUESTIONS.exists():
        answerable += read_questions(SEED_QUESTIONS)
    unanswerable_questions = read_questions(UNANSWERABLE, need_target=False)
    answers = {
        "dev": evaluate_answers(index, questions),
        "conversations": evaluate_answers(index, read_questions(CONVERSATIONS)),
        "refused": refused_share(index, unanswerable_questions),
    }
    if SEED_QUESTIONS.exists():
        answers["seed"] = evaluate_answers(index, read_questions(SEED_QUESTIONS))
    for name, path in (("heldout", HELDOUT_QUESTIONS), ("heldout_conv", HELDOUT_CONVERSATIONS)):
        if path.exists():
            answers[name] = evaluate_answers(index, read_questions(path))
    threshold = calibration_report(
        args.model,
        evidence_of(index, answerable),
        evidence_of(index, unanswerable_questions),
        index.manifest["counts"]["chunks"],
    )

    files = {"dev": args.questions, "seed": SEED_QUESTIONS, "heldout": HELDOUT_QUESTIONS}
    for name, report_ in results.items():
        print(f"\n== {name}: {files[name]} ==")
        print(format_table(report_))
    print(f"\n== svaren (citatet och 'hittade inget'); modell {args.model} ==")
    print("dev:\n" + format_answer_table(answers["dev"], answers["refused"]))
    print("samtal:\n" + format_answer_table(answers["conversations"]))
    for name, label in (
        ("seed", "seed"),
        ("heldout", "utanför (citatfrågor)"),
        ("heldout_conv", "utanför (samtal)"),
    ):
        if name in answers:
            print(f"{label}:\n" + format_answer_table(answers[name]))
    print(
        f'\n== "hittade inget": {threshold["answerable"]} besvarbara (dev, seed, samtal), '
        f"{threshold['unanswerable']} obesvarbara =="
    )
    for name in ("in_use", "calibrated", "cross_validated"):
        rates = threshold[name]
        limits = (
            f"relevans ≥ {rates['relevance']:.3f}, okända ord ≤ {rates['unknown']:.2f}, "
            f"likhet ≥ {rates['similarity'] if rates['similarity'] is not None else '–'} "
            f"(+{rates['wordless_margin']:.2f} utan gemensamma ord): "
            if "relevance" in rates
            else "(trösklar valda på 4/5, mätt på resten): "
        )
        print(
            f"{name:<16} {limits}besvarade {rates['answered']:.3f}, avvisade {rates['refused']:.3f}"
        )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({**results, "answers": answers, "threshold": threshold}, indent=2), "utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
