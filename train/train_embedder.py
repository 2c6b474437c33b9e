"""Trains Strategisök's embedding model on the pairs of `train.pairs` with in-batch negatives
(sentence-transformers' MultipleNegativesRankingLoss) in a plain PyTorch loop, so that it
needs neither `datasets` nor the Trainer. Two architectures:

- `static`: a StaticEmbedding (mean of trained token vectors) over a Swedish WordPiece
  tokenizer trained on the same documents, lower-cased with å, ä and ö kept; random init.
- `transformer`: fine-tunes an existing sentence-transformers model (all-MiniLM-L6-v2).

Batches never hold two pairs of the same document (their positives would be false
negatives). Validation: accuracy@1 and MRR@10 of the validation anchors against all
validation positives, every `--eval-every` steps; training stops after `--patience`
evaluations without improvement and the best weights are saved in float16 safetensors.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from train.pairs import Pair, read_pairs

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

ROOT = Path(__file__).resolve().parents[1]


_RATE_FROM, _RATE_STEPS = 10, 30  # steps timed before a time budget fixes the step count


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def train_tokenizer(corpus_text: Path, vocab_size: int, destination: Path):
    """A WordPiece tokenizer for Swedish: lower-cased, accents KEPT (å/ä/ö are letters of
    their own in Swedish, not a with a ring), BERT's punctuation splitting."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=3, special_tokens=["[PAD]", "[UNK]"]
    )

    def lines():
        with gzip.open(corpus_text, "rt", encoding="utf-8") as f:
            yield from f

    tokenizer.train_from_iterator(lines(), trainer=trainer)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(destination))
    return tokenizer


def build_model(args: argparse.Namespace):
    from sentence_transformers import SentenceTransformer

    if args.arch == "transformer":
        model = SentenceTransformer(args.base, device=args.device)
        model.float()  # the carried copy is float16; train in float32 (bf16 autocast)
        if args.max_seq_length:
            model.max_seq_length = args.max_seq_length
        return model
    from sentence_transformers.models import StaticEmbedding
    from tokenizers import Tokenizer

    if args.tokenizer.exists():
        tokenizer = Tokenizer.from_file(str(args.tokenizer))
    else:
        tokenizer = train_tokenizer(args.corpus_text, args.vocab_size, args.tokenizer)
    embedding = StaticEmbedding(tokenizer, embedding_dim=args.dim)
    # Small random vectors: the mean of many tokens starts near zero and cosine similarities
    # are then driven by the learned tokens, not by initial noise.
    torch.nn.init.normal_(embedding.embedding.weight, std=0.1)
    return SentenceTransformer(modules=[embedding], device=args.device)


def document_unique_batches(pairs: list[Pair], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of pair indexes in which no document occurs twice; a pair whose
    document is already in the batch waits for the next one."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    batches: list[list[int]] = []
    waiting = order
    while waiting:
        batch: list[int] = []
        docs: set[str] = set()
        later: list[int] = []
        for i in waiting:
            if len(batch) < batch_size and pairs[i].doc not in docs:
                batch.append(i)
                docs.add(pairs[i].doc)
            else:
                later.append(i)
            if len(batch) == batch_size:
                batches.append(batch)
                batch, docs = [], set()
        if batch:
            batches.append(batch)
        if len(later) == len(waiting):
            break
        waiting = later
    # Full batches first in shuffled order; the few short remainders are dropped.
    full = [b for b in batches if len(b) == batch_size]
    return full or batches


class Collate:
    """Turns a batch of pairs into (anchor features, positive features) on the CPU, in a
    DataLoader worker so that tokenising overlaps with the GPU's work."""

    def __init__(self, model, pairs: list[Pair]):
        # `preprocess` in sentence-transformers ≥ 5.2, `tokenize` before.
        self.tokenize = getattr(model, "preprocess", None) or model.tokenize
        self.pairs = pairs

    def __call__(self, indexes: list[int]):
        anchors = [self.pairs[i].anchor for i in indexes]
        positives = [self.pairs[i].positive for i in indexes]
        return self.tokenize(anchors), self.tokenize(positives)


def _to_device(features: dict, device: str) -> dict:
    return {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in features.items()
    }


@torch.no_grad()
def validate(model, pairs: list[Pair], limit: int, batch_size: int) -> dict[str, float]:
    """Accuracy@1 and MRR@10 of each anchor against all positives of the sample."""
    sample = pairs[:limit]
    was_training = model.training
    model.eval()
    anchors = model.encode(
        [p.anchor for p in sample],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_tensor=True,
    )
    positives = model.encode(
        [p.positive for p in sample],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_tensor=True,
    )
    model.train(was_training)
    scores = anchors.float() @ positives.float().T
    target = scores.diagonal().unsqueeze(1)
    ranks = (scores > target).sum(dim=1) + 1
    return {
        "acc@1": float((ranks == 1).float().mean()),
        "mrr@10": float(torch.where(ranks <= 10, 1.0 / ranks, 0.0).mean()),
    }


def make_loss(model, scale: float, symmetric: bool):
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    if symmetric:
        try:
            return MultipleNegativesRankingLoss(
                model, scale=scale, directions=("query_to_doc", "doc_to_query")
            )
        except TypeError:  # an older sentence-transformers without `directions`
            from sentence_transformers.losses import MultipleNegativesSymmetricRankingLoss

            return MultipleNegativesSymmetricRankingLoss(model, scale=scale)
    return MultipleNegativesRankingLoss(model, scale=scale)


def train(args: argparse.Namespace) -> dict:
    seed_everything(args.seed)
    pairs = read_pairs(args.pairs)
    if args.kinds:
        pairs = [p for p in pairs if p.kind in args.kinds]
    train_pairs = [p for p in pairs if p.split == "train"]
    val_pairs = [p for p in pairs if p.split == "val"]
    random.Random(args.seed).shuffle(val_pairs)
    # One pair per document: positives of one document overlap (the same passage with and
    # without a sentence), which would make ranks among them a coin toss.
    val_pairs = list({p.doc: p for p in reversed(val_pairs)}.values())
    if args.limit:
        train_pairs = train_pairs[: args.limit]
    print(f"{len(train_pairs)} training pairs, {len(val_pairs)} validation pairs", flush=True)

    start = time.time()
    model = build_model(args)
    model.to(args.device)
    print(f"model built in {time.time() - start:.0f} s", flush=True)
    loss_fn = make_loss(model, args.scale, args.symmetric)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    epochs_batches = [
        document_unique_batches(train_pairs, args.batch_size, args.seed + epoch)
        for epoch in range(args.epochs)
    ]
    total_steps = sum(len(b) for b in epochs_batches)
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    warmup = max(1, int(total_steps * args.warmup))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    # `schedule` reads total_steps when called, so a time budget can shorten it below.
    use_amp = args.device.startswith("cuda") and args.arch == "transformer"
    collate = Collate(model, train_pairs)

    history: list[dict] = []
    best_score, best_state, stale, step = -1.0, None, 0, 0
    stopped = "steps"
    model.train()
    tick = time.time()
    for epoch, batches in enumerate(epochs_batches):
        loader = torch.utils.data.DataLoader(
            batches,
            batch_size=None,
            collate_fn=collate,
            num_workers=args.workers,
            pin_memory=args.device.startswith("cuda"),
            persistent_workers=False,
            prefetch_factor=4 if args.workers else None,
        )
        for anchors, positives in loader:
            anchors = _to_device(anchors, args.device)
            positives = _to_device(positives, args.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                loss = loss_fn([anchors, positives], None)
            loss.backward()
            if args.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if args.time_budget and step == _RATE_FROM:
                rate_start = time.time()
            if args.time_budget and step == _RATE_FROM + _RATE_STEPS:
                # Fit the schedule to the time left: steps/s measured after the first steps
                # (worker start-up and CUDA warm-up), the validations' share estimated at a
                # tenth.
                rate = _RATE_STEPS / (time.time() - rate_start)
                left = args.time_budget - (time.time() - start)
                total_steps = min(total_steps, step + max(0, int(rate * left * 0.9)))
                print(f"time budget: {rate:.1f} steps/s, {total_steps} steps", flush=True)
                tick = time.time()
            elif step % args.log_every == 0:
                rate = args.log_every / (time.time() - tick)
                tick = time.time()
                print(
                    f"epoch {epoch} step {step}/{total_steps} loss {loss.item():.4f} "
                    f"lr {scheduler.get_last_lr()[0]:.2e} {rate:.1f} steps/s",
                    flush=True,
                )
            if step % args.eval_every == 0 or step >= total_steps:
                metrics = validate(model, val_pairs, args.val_limit, args.eval_batch_size)
                metrics.update(step=step, epoch=epoch, seconds=round(time.time() - start, 1))
                history.append(metrics)
                print(f"validation {json.dumps(metrics)}", flush=True)
                if metrics["mrr@10"] > best_score + 1e-4:
                    best_score, stale = metrics["mrr@10"], 0
                    best_state = copy.deepcopy(
                        {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
                    )
                else:
                    stale += 1
                if stale >= args.patience:
                    stopped = "early"
                    break
            if step >= total_steps:
                break
        if stopped == "early" or step >= total_steps:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    report = {
        "arch": args.arch,
        "train_pairs": len(train_pairs),
        "val_pairs": len(val_pairs),
        "steps": step,
        "stopped": stopped,
        "best_val_mrr@10": best_score,
        "seconds": round(time.time() - start, 1),
        "history": history,
        "settings": {k: str(v) for k, v in vars(args).items()},
    }
    save(model, args.output, report)
    return report


def save(model, output: Path, report: dict) -> None:
    """float16 safetensors; the training report beside the weights."""
    model.to("cpu")
    model.half()
    output.mkdir(parents=True, exist_ok=True)
    model.save(str(output), safe_serialization=True)
    (output / "training_report.json").write_text(json.dumps(report, indent=1) + "\n")
    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    print(f"saved {output} ({size / 1e6:.1f} MB)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=["static", "transformer"], default="static")
    parser.add_argument("--pairs", type=Path, default=ROOT / ".cache/train/pairs.jsonl.gz")
    parser.add_argument("--kinds", nargs="*", default=None, help="pair kinds to use (all)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--base", default=None, help="transformer: the model to fine-tune")
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--tokenizer", type=Path, default=ROOT / ".cache/train/tokenizer.json")
    parser.add_argument("--corpus-text", type=Path, default=ROOT / ".cache/train/corpus.txt.gz")
    parser.add_argument("--vocab-size", type=int, default=32768)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--clip", type=float, default=0.0)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--symmetric", action="store_true")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument(
        "--time-budget", type=float, default=0, help="seconds for the whole run (0: none)"
    )
    parser.add_argument("--limit", type=int, default=0, help="first N training pairs (smoke)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-batch-size", type=int, default=256)
    parser.add_argument("--val-limit", type=int, default=2000)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    if args.arch == "transformer" and not args.base:
        parser.error("--arch transformer needs --base (a sentence-transformers model folder)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = train(args)
    print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=1))


if __name__ == "__main__":
    main()
