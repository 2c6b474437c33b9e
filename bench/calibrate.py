"""Calibrates when the assistant says "nothing found", per embedding model: the thresholds of
answer.found (lexical coverage, words the corpus never uses, semantic similarity) that best
balance answering the questions the corpus answers (the dev and seed questions and the
conversations) against refusing tests/data/unanswerable_questions.jsonl. `make eval` reports
the rates at the thresholds in use; `python -m bench.calibrate --write` stores new ones in
answer/calibration.json. Both error rates are reported, in-sample and 5-fold cross-validated
(thresholds chosen on four fifths, measured on the rest).

`--sizes` calibrates on smaller corpora as well, made from the dev corpus: one document (a
user's first try, like `make run`'s corpus), ten and a hundred, each holding the sources of
some answerable questions; the embedding cache of the dev index is reused, so nothing is
embedded again. Each size is stored with its median passage count ("found_by_size"), and an
index answers with the calibration nearest its own size."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from answer import answer_question
from answer.found import CALIBRATION, Evidence, FoundThresholds, found_where
from app.evaluation import Question, read_questions
from index import SearchIndex

# What the thresholds aim at (issue 12): answer 95% of answerable questions, refuse 85% of
# unanswerable ones. The grid maximises the smaller margin to these two targets.
ANSWERED_TARGET = 0.95
REFUSED_TARGET = 0.85


def evidence_of(index: SearchIndex, questions: list[Question]) -> list[Evidence | None]:
    """The evidence the answer stage decides from, per question (None: nothing to quote)."""
    return [answer_question(index, q.q, list(q.previous)).evidence for q in questions]


def rates(
    answerable: list[Evidence | None], unanswerable: list[Evidence | None], t: FoundThresholds
) -> dict[str, float]:
    """Share of answerable questions answered and of unanswerable ones refused."""
    return _rates(_fields(answerable), _fields(unanswerable), t)


_NEVER_FOUND = {
    "relevance": -np.inf,
    "similarity": -np.inf,
    "unknown": np.inf,
    "missing_rare": np.inf,
}
"""The evidence of a question with nothing to quote: no threshold finds it."""


def _fields(evidence: list[Evidence | None]) -> dict[str, np.ndarray]:
    """The evidence as one array per field, for found_where over a whole question set."""
    return {
        name: np.array(
            [never if e is None else getattr(e, name) for e in evidence], dtype=np.float64
        )
        for name, never in _NEVER_FOUND.items()
    }


def _found(f: dict[str, np.ndarray], t: FoundThresholds) -> np.ndarray:
    return found_where(f["relevance"], f["similarity"], f["unknown"], f["missing_rare"], t)


def _rates(yes: dict[str, np.ndarray], no: dict[str, np.ndarray], t: FoundThresholds):
    answered, found_no = _found(yes, t), _found(no, t)
    return {
        "answered": float(answered.mean()) if len(answered) else 0.0,
        "refused": float(1.0 - found_no.mean()) if len(found_no) else 0.0,
    }


def _grid(answerable: list[Evidence | None], unanswerable: list[Evidence | None]):
    seen = [e for e in answerable + unanswerable if e is not None]
    relevance = sorted(
        {
            round(float(v), 3)
            for v in np.quantile([e.relevance for e in seen], np.linspace(0, 1, 41))
        }
    )
    similarity = sorted(
        {
            round(float(v), 3)
            for v in np.quantile([e.similarity for e in seen], np.linspace(0.3, 1, 29))
        }
    )
    for r, s, u, m, w in itertools.product(
        relevance,
        [*similarity, None],
        (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 1.0),
        (0.6, 0.7, 0.8, 0.9, 1.0),
        (0.0, 0.01, 0.02, 0.03, 0.05),
    ):
        if s is None and w:
            continue  # no similarity path, nothing to add a margin to
        yield FoundThresholds(
            relevance=r, similarity=s, unknown=u, missing_rare=m, wordless_margin=w
        )


def calibrate(
    answerable: list[Evidence | None], unanswerable: list[Evidence | None]
) -> tuple[FoundThresholds, dict[str, float]]:
    """The thresholds that maximise the smaller margin to both targets (ties: the higher sum
    of both shares, then the higher answered share), and the rates they reach."""
    best, best_key, best_rates = FoundThresholds(), None, {}
    yes, no = _fields(answerable), _fields(unanswerable)
    for t in _grid(answerable, unanswerable):
        r = _rates(yes, no, t)
        # Where answering everything caps the smaller margin, refusing more still counts.
        key = (
            min(r["answered"] - ANSWERED_TARGET, r["refused"] - REFUSED_TARGET),
            r["answered"] + r["refused"],
            r["answered"],
        )
        if best_key is None or key > best_key:
            best, best_key, best_rates = t, key, r
    return best, best_rates


def cross_validated(
    answerable: list[Evidence | None], unanswerable: list[Evidence | None], folds: int = 5
) -> dict[str, float]:
    """Rates on held-out fifths, each with thresholds calibrated on the other four."""
    answered = refused = 0
    for fold in range(folds):
        train_yes = [e for i, e in enumerate(answerable) if i % folds != fold]
        train_no = [e for i, e in enumerate(unanswerable) if i % folds != fold]
        t, _ = calibrate(train_yes, train_no)
        answered += int(_found(_fields(answerable[fold::folds]), t).sum())
        refused += int((~_found(_fields(unanswerable[fold::folds]), t)).sum())
    return {"answered": answered / len(answerable), "refused": refused / len(unanswerable)}


def report(
    model: str,
    answerable: list[Evidence | None],
    unanswerable: list[Evidence | None],
    passages: int | None = None,
) -> dict:
    in_use = FoundThresholds.for_model(model, passages)
    calibrated, at_calibrated = calibrate(answerable, unanswerable)
    return {
        "in_use": {**asdict(in_use), **rates(answerable, unanswerable, in_use)},
        "calibrated": {**asdict(calibrated), **at_calibrated},
        "cross_validated": cross_validated(answerable, unanswerable),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }


SIZES = (1, 10, 100)
"""Documents per sub-corpus, besides the whole dev corpus."""
SOURCES_PER_CORPUS = {1: 1, 10: 3, 100: 20}
"""How many of a sub-corpus's documents are sources of answerable questions; the others are
drawn at random from the rest of the dev corpus."""


@dataclass
class SizeEvidence:
    documents: int
    passages: list[int]
    """Passage count of each sub-corpus."""
    answerable: list[Evidence | None]
    unanswerable: list[Evidence | None]


def sub_corpora(
    files: list[str], sources: list[str], size: int, rng: np.random.Generator
) -> list[list[str]]:
    """Sub-corpora of `size` documents (paths in `files`) that hold every source once between
    them, SOURCES_PER_CORPUS[size] in each, the rest drawn from the other documents."""
    per = SOURCES_PER_CORPUS[size]
    order = [str(s) for s in rng.permutation(sources)]
    others = sorted(set(files) - set(sources))
    groups = []
    for start in range(0, len(order), per):
        chosen = order[start : start + per]
        fill = rng.choice(len(others), size - len(chosen), replace=False)
        groups.append(chosen + [others[i] for i in fill])
    return groups


def evidence_at_size(
    corpus_dir: Path,
    dev_index: SearchIndex,
    answerable: list[Question],
    unanswerable: list[Question],
    size: int,
    work: Path,
    seed: int = 13,
) -> SizeEvidence:
    """Evidence of the answerable questions, each asked of a sub-corpus of `size` documents
    holding its source, and of the unanswerable ones, spread over the same sub-corpora."""
    from index.build import IndexConfig, build_index

    files = sorted(str(p.relative_to(corpus_dir)) for p in corpus_dir.rglob("*") if p.is_file())
    sources = sorted({q.source for q in answerable if q.source})
    groups = sub_corpora(files, sources, size, np.random.default_rng(seed))
    model = dev_index.embedder.model_id
    cache = dev_index.build_dir.parent.parent / "cache"
    found = SizeEvidence(size, [], [], [])
    for number, group in enumerate(groups):
        corpus, index_dir = (
            work / f"{size}-{number}" / "corpus",
            work / f"{size}-{number}" / "index",
        )
        for name in group:
            (corpus / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(corpus_dir / name, corpus / name)
        index_dir.mkdir(parents=True)
        (index_dir / "cache").symlink_to(cache.resolve(), target_is_directory=True)
        report = build_index(corpus, index_dir, IndexConfig(model=model), progress=False)
        if report.embedded:
            print(f"  ({size}-{number}: {report.embedded} avsnitt saknades i cachen)", flush=True)
        index = replace(SearchIndex.open(index_dir), embedder=dev_index.embedder)
        found.passages.append(report.chunks)
        held = set(group)
        found.answerable += evidence_of(index, [q for q in answerable if q.source in held])
        found.unanswerable += evidence_of(index, unanswerable[number :: len(groups)])
        shutil.rmtree(work / f"{size}-{number}")
    return found


def report_by_size(
    corpus_dir: Path,
    dev_index: SearchIndex,
    answerable: list[Question],
    unanswerable: list[Question],
    sizes: tuple[int, ...] = SIZES,
) -> list[dict]:
    """`report` per sub-corpus size, then for the whole dev corpus, each with its median
    passage count; the rates "in_use" are those of the thresholds the index of that size
    answers with."""
    model = dev_index.embedder.model_id
    results = []
    with tempfile.TemporaryDirectory(prefix="strategisok-calibrate-") as work:
        for size in sizes:
            found = evidence_at_size(
                corpus_dir, dev_index, answerable, unanswerable, size, Path(work)
            )
            passages = int(np.median(found.passages))
            results.append(
                {"documents": size, "passages": passages}
                | report(model, found.answerable, found.unanswerable, passages)
            )
    whole = dev_index.manifest["counts"]
    results.append(
        {"documents": whole["documents"], "passages": whole["chunks"]}
        | report(
            model,
            evidence_of(dev_index, answerable),
            evidence_of(dev_index, unanswerable),
            whole["chunks"],
        )
    )
    return results


def main() -> int:
    from bench.corpora import DEV_QUESTIONS, shared_missing_reason
    from bench.eval import CACHE, CONVERSATIONS, SEED_QUESTIONS, UNANSWERABLE
    from index.embedder import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--sizes", action="store_true", help="also on smaller corpora (SIZES)")
    parser.add_argument("--write", action="store_true", help="store the calibrated thresholds")
    args = parser.parse_args()
    reason = shared_missing_reason()
    if reason:
        print(f"bench.calibrate hoppas över: {reason}", file=sys.stderr)
        return 0
    index_dir = CACHE / ("index-" + hashlib.sha1(args.model.encode()).hexdigest()[:10])
    index = SearchIndex.open(index_dir)  # built by `make eval` for this model
    answerable = (
        read_questions(DEV_QUESTIONS)
        + read_questions(SEED_QUESTIONS)
        + read_questions(CONVERSATIONS)
    )
    unanswerable = read_questions(UNANSWERABLE, need_target=False)
    results = report_by_size(
        CACHE / "corpus", index, answerable, unanswerable, SIZES if args.sizes else ()
    )
    print(json.dumps(results, indent=2))
    if args.write:
        stored = json.loads(CALIBRATION.read_text("utf-8")) if CALIBRATION.exists() else {}
        names = list(asdict(FoundThresholds()))
        entry = stored.setdefault(args.model, {})
        entry["found"] = {k: results[-1]["calibrated"][k] for k in names}
        if args.sizes:
            entry["found_by_size"] = [
                {"passages": r["passages"], **{k: r["calibrated"][k] for k in names}}
                for r in results
            ]
        CALIBRATION.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n", "utf-8")
        print(f"Skrev {CALIBRATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
