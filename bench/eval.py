"""`make eval`: retrieval quality on ../shared/eval, every Strategisök mode side by side with
two baselines run in the same command (BM25 and all-MiniLM-L6-v2 over fixed 1,000-character
chunks). The dev corpus and its index are kept under .cache/eval and reused between runs."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from app.evaluation import Report, evaluate, evaluate_retriever, format_table, read_questions
from bench.baselines import BM25Baseline, DenseBaseline, read_corpus
from bench.calibrate import calibrate, rates_at
from bench.corpora import DEV_QUESTIONS, ROOT, dev_corpus, shared_missing_reason
from index import MODES, RELEVANCE_THRESHOLD, IndexConfig, SearchIndex, build_index
from index.embedder import DEFAULT_MODEL, MINILM, resolve_model

CACHE = ROOT / ".cache" / "eval"
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.jsonl"
UNANSWERABLE = ROOT / "tests" / "data" / "unanswerable_questions.jsonl"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--model", default=DEFAULT_MODEL)
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
    index_dir = CACHE / ("index-" + hashlib.sha1(args.model.encode()).hexdigest()[:10])
    started = time.perf_counter()
    report = build_index(corpus_dir, index_dir, IndexConfig(model=args.model), progress=True)
    print(
        f"Index: {report.documents} dokument, {report.chunks} avsnitt, "
        f"{report.embedded} nyinbäddade, {report.seconds:.0f} s"
    )

    index = SearchIndex.open(index_dir)
    results: dict[str, Report] = {}
    questions = read_questions(args.questions)
    results["dev"] = evaluate(index, questions, list(MODES))
    if not args.no_baselines:
        results["dev"].update(baselines(corpus_dir, questions, MINILM))
    if SEED_QUESTIONS.exists():
        results["seed"] = evaluate(index, read_questions(SEED_QUESTIONS), list(MODES))
    answerable = [q.q for q in questions]
    if SEED_QUESTIONS.exists():
        answerable += [q.q for q in read_questions(SEED_QUESTIONS)]
    unanswerable = [q.q for q in read_questions(UNANSWERABLE, need_target=False)]
    threshold = {
        "calibrated": calibrate(index, answerable, unanswerable),
        "in_use": rates_at(index, answerable, unanswerable, RELEVANCE_THRESHOLD),
    }

    for name, report_ in results.items():
        print(f"\n== {name}: {args.questions if name == 'dev' else SEED_QUESTIONS} ==")
        print(format_table(report_))
    print('\n== relevanströskel ("hittade inget") ==')
    for name, rates in threshold.items():
        print(
            f"{name:<11} tröskel {rates['threshold']:.3f}: besvarbara som behålls "
            f"{rates['answerable_kept']:.2f}, obesvarbara som avvisas "
            f"{rates['unanswerable_rejected']:.2f}"
        )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**results, "threshold": threshold}, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
