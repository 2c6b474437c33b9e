"""Embedding on a lent GPU machine, for `make bench` at sizes where two CPU cores would take
hours: `prepare` writes the passages of a bench corpus (as Strategisök and the naive baseline
embed them) and a float16 copy of the model into .gpu/bench; `run` (on the GPU machine, with
only torch and sentence-transformers) measures throughput and embeds them all; `load` puts
the vectors into the bench's embedding caches, keyed exactly as a CPU build keys them.

    python -m bench.gpu prepare 10000 [--model M]
    python -m bench.gpu run .gpu/bench OUT_DIR             # on the GPU machine
    python -m bench.gpu load OUT_DIR [--model M]
    taskset -c 0,1 python -m bench.gpu threads .gpu/bench OUT_DIR  # idle 2-core CPU reference
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

SHARD_ROWS = 20_000  # float16 × 384 dimensions: 15 MiB per file, under the transfer limit
STAGE = Path(".gpu") / "bench"


def prepare(size: str, model: str) -> None:
    import ingest
    from bench.baselines import read_corpus
    from bench.bench import CACHE, _label, _sizes
    from bench.corpora import first_corpus
    from index.build import PREFIX_TOKENS, IndexConfig, passages
    from index.cache import embed_key
    from index.embedder import Embedder, resolve_model

    count = _sizes(size)[0]
    corpus = CACHE / f"corpus-{_label(count)}"
    first_corpus(corpus, count)
    embedder = Embedder(model)
    texts: dict[str, tuple[str, str]] = {}  # key -> (kind, text)
    for file in ingest.scan_corpus(corpus):
        try:
            document = ingest.load_document(corpus, file.source)
        except ingest.IngestError:
            continue
        _, ours = passages(
            document, embedder, embedder.max_tokens - PREFIX_TOKENS, IndexConfig.overlap_tokens
        )
        for text in ours:
            texts[embed_key(embedder.model_id, text)] = ("ours", text)
    for chunk in read_corpus(corpus):
        texts[embed_key(f"naive\0{model}", chunk.text)] = ("naive", chunk.text)
    STAGE.mkdir(parents=True, exist_ok=True)
    with gzip.open(STAGE / "texts.jsonl.gz", "wt", encoding="utf-8") as f:
        for key, (kind, text) in texts.items():
            f.write(json.dumps({"key": key, "kind": kind, "text": text}, ensure_ascii=False))
            f.write("\n")
    (STAGE / "meta.json").write_text(
        json.dumps({"model": model, "prompt": embedder.prompts["passage"], "size": size})
    )
    target = STAGE / "model"
    if not target.exists():
        import torch
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(resolve_model(model), device="cpu")
        st.to(torch.float16)
        st.save(str(target))
    print(f"{len(texts)} passages and the model in {STAGE}")


def run(stage: Path, out: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    meta = json.loads((stage / "meta.json").read_text())
    with gzip.open(stage / "texts.jsonl.gz", "rt", encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    texts = [meta["prompt"] + i["text"] if i["kind"] == "ours" else i["text"] for i in items]
    model = SentenceTransformer(str(stage / "model"), device="cuda").float()
    result: dict = {"gpu": torch.cuda.get_device_name(0), "passages": len(texts)}
    sample = texts[:: max(len(texts) // 4096, 1)][:4096]
    for dtype in ("float32", "float16"):
        model.to(getattr(torch, dtype))
        for batch in (64, 256):
            model.encode(sample[:512], batch_size=batch)
            torch.cuda.synchronize()
            started = time.perf_counter()
            model.encode(sample, batch_size=batch)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            result[f"{dtype}_batch{batch}_passages_per_s"] = len(sample) / seconds
    model.float()
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=256, normalize_embeddings=True)
    result["all_float32_seconds"] = time.perf_counter() - started
    vectors = np.asarray(vectors, dtype=np.float16)
    out.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(vectors), SHARD_ROWS)):
        np.save(out / f"vectors-{number}.npy", vectors[start : start + SHARD_ROWS])
    (out / "keys.json").write_text(json.dumps([i["key"] for i in items]))
    (out / "gpu.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def threads(stage: Path, out: Path) -> None:
    """CPU reference on a machine nobody else is using (run under `taskset -c 0,1` for two
    cores): one-query latency and passage throughput per torch thread count."""
    import torch
    from sentence_transformers import SentenceTransformer

    meta = json.loads((stage / "meta.json").read_text())
    with gzip.open(stage / "texts.jsonl.gz", "rt", encoding="utf-8") as f:
        passages = [json.loads(line)["text"] for line, _ in zip(f, range(20_000), strict=False)]
    passages = [meta["prompt"] + t for t in passages[::150]][:128]
    queries = [p.split(".")[0][:120] for p in passages[:60]]
    model = SentenceTransformer(str(stage / "model"), device="cpu").float()
    result: dict = {"cpus": os.sched_getaffinity(0).__len__()}
    for count in (1, 2):
        torch.set_num_threads(count)
        model.encode(queries[:5])
        latencies = []
        for query in queries:
            started = time.perf_counter()
            model.encode([query])
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        started = time.perf_counter()
        model.encode(passages, batch_size=64)
        seconds = time.perf_counter() - started
        result[f"threads{count}"] = {
            "query_p50_ms": latencies[len(latencies) // 2] * 1000,
            "query_p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
            "passages_per_s": len(passages) / seconds,
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / "cpu-threads.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def load(out: Path, model: str) -> None:
    from bench.bench import CACHE, _slug
    from index.cache import EmbeddingCache

    keys = json.loads((out / "keys.json").read_text())
    shards = sorted(out.glob("vectors-*.npy"), key=lambda p: int(p.stem.split("-")[1]))
    vectors = np.concatenate([np.load(p, allow_pickle=False) for p in shards]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # float16 rounding
    with gzip.open(STAGE / "texts.jsonl.gz", "rt", encoding="utf-8") as f:
        kinds = [json.loads(line)["kind"] for line in f]
    model_dir = CACHE / _slug(model)
    for kind, path in (
        ("ours", model_dir / "cache" / "embeddings.sqlite"),
        ("naive", model_dir / "naive-embeddings.sqlite"),
    ):
        rows = [i for i, k in enumerate(kinds) if k == kind]
        cache = EmbeddingCache(path, vectors.shape[1])
        # Vectors embedded on this machine's CPU stay as they are.
        present = cache.get_many([keys[i] for i in rows])
        rows = [i for i in rows if keys[i] not in present]
        cache.put_many([keys[i] for i in rows], vectors[rows])
        cache.close()
        print(f"{kind}: {len(rows)} vectors added to {path}")


def main() -> int:
    # No project imports at module level: `run` works where only torch and
    # sentence-transformers are installed.
    default_model = "bundled:all-MiniLM-L6-v2"
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("size")
    p.add_argument("--model", default=default_model)
    p = commands.add_parser("run")
    p.add_argument("stage", type=Path)
    p.add_argument("out", type=Path)
    p = commands.add_parser("threads")
    p.add_argument("stage", type=Path)
    p.add_argument("out", type=Path)
    p = commands.add_parser("load")
    p.add_argument("out", type=Path)
    p.add_argument("--model", default=default_model)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.size, args.model)
    elif args.command == "run":
        run(args.stage, args.out)
    elif args.command == "threads":
        threads(args.stage, args.out)
    else:
        load(args.out, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
