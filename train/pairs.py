"""Training pairs (anchor, positive) for the embedding model, built from the Swedish
government documents of ../shared/data/regeringen.jsonl.gz that are NOT held out.

A document is split along its Markdown headings into sections and into passages of at most
`max_words` words, and positives are formatted as the index embeds them ("title – section"
line, then the passage). Pair kinds:

- `title`: the document title → its first passage (without the title line);
- `heading`: "heading – title" → the first passage of that section;
- `summary`: the opening paragraph (a press release's lead) → the rest of the opening text;
- `neighbour`: a passage → the next passage of the same document;
- `ict`: inverse cloze: one sentence → its passage, the sentence cut out three times in four;
- `question`: a question-like form of a sentence (interrogative, a third of its words
  dropped) → its passage, which keeps the sentence half of the time.

Everything is deterministic: each document draws from its own random generator seeded by the
global seed and its path, so a pair never depends on the order documents are read in. About
2% of the documents (chosen by a hash of the path) form the validation split.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.corpora import iter_documents

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "data" / "regeringen.jsonl.gz"
HELDOUT_PATHS = SHARED / "data" / "heldout_paths.json"
DEV_CORPUS_PATHS = SHARED / "eval" / "dev_corpus_paths.json"
DEFAULT_OUTPUT = ROOT / ".cache" / "train" / "pairs.jsonl.gz"

KINDS = ("title", "heading", "summary", "neighbour", "ict", "question")

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A sentence ends at . ! or ? followed by space and a capital letter, digit or quote; "bl.a. "
# and "t.ex. " are followed by lower case and stay inside the sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖÉ0-9\"”«(])")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_INTERROGATIVES = (
    "Vad",
    "Vilka",
    "Vilken",
    "Vilket",
    "Hur",
    "Hur mycket",
    "När",
    "Varför",
    "Vem",
    "Vart",
    "Vad gäller",
    "Hur ska",
)


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    kind: str
    doc: str
    split: str  # "train" or "val"


@dataclass(frozen=True)
class Section:
    heading: str | None
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    section: str | None
    text: str


def excluded_paths() -> set[str]:
    """Paths never trained on: the held-out documents and the dev corpus (which lies inside
    the held-out set today; both are read so that a change to either is still honoured)."""
    paths: set[str] = set()
    for file in (HELDOUT_PATHS, DEV_CORPUS_PATHS):
        paths.update(json.loads(file.read_text(encoding="utf-8")))
    return paths


def iter_training_documents(
    corpus: Path = CORPUS, excluded: set[str] | None = None, limit: int | None = None
) -> Iterator[dict]:
    """Documents of the corpus that are not excluded, in file order."""
    excluded = excluded_paths() if excluded is None else excluded
    return iter_documents(limit=limit, exclude=excluded, source=corpus)


def clean_inline(text: str) -> str:
    """Markdown emphasis and links reduced to their text, soft hyphens and zero-width
    characters removed, whitespace collapsed."""
    text = _INVISIBLE.sub("", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_]{1,3}([^*_]+)[*_]{1,3}", r"\1", text)
    return " ".join(text.split())


def split_sections(text: str, title: str) -> list[Section]:
    """Sections of a Markdown document: (heading, paragraphs). The title heading itself
    opens a section without a heading."""
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    current: list[str] = []

    def end_paragraph() -> None:
        if current:
            paragraph = clean_inline(" ".join(current))
            if paragraph:
                paragraphs.append(paragraph)
            current.clear()

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            end_paragraph()
            if paragraphs:
                sections.append(Section(heading, tuple(paragraphs)))
            paragraphs = []
            name = clean_inline(match.group(2))
            heading = None if name.casefold() == title.casefold() else name or None
        elif not line.strip():
            end_paragraph()
        elif line.lstrip().startswith(("- ", "* ", "+ ")) or re.match(r"^\s*\d+\.\s", line):
            end_paragraph()  # a list item is a paragraph of its own
            current.append(line.strip().lstrip("-*+ "))
        else:
            current.append(line.strip())
    end_paragraph()
    if paragraphs:
        sections.append(Section(heading, tuple(paragraphs)))
    return sections


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def make_passages(sections: Iterable[Section], max_words: int) -> list[Passage]:
    """Passages of whole paragraphs up to `max_words` words, cut at sentences where a
    paragraph alone is longer, never across a section boundary."""
    passages: list[Passage] = []
    for section in sections:
        pieces: list[str] = []
        for paragraph in section.paragraphs:
            if len(paragraph.split()) <= max_words:
                pieces.append(paragraph)
            else:
                pieces.extend(split_sentences(paragraph))
        current: list[str] = []
        words = 0
        for piece in pieces:
            n = len(piece.split())
            if current and words + n > max_words:
                passages.append(Passage(section.heading, "\n\n".join(current)))
                current, words = [], 0
            current.append(piece)
            words += n
        if current:
            passages.append(Passage(section.heading, "\n\n".join(current)))
    return passages


def with_context(title: str, passage: Passage, text: str | None = None) -> str:
    """A passage as the index embeds it: "title – section" on the first line."""
    context = " – ".join([title, *([passage.section] if passage.section else [])])
    return f"{context}\n{passage.text if text is None else text}"


def sentence_key(sentence: str) -> str:
    return hashlib.blake2b(sentence.casefold().encode(), digest_size=8).hexdigest()


def _document_rng(seed: int, path: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{path}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def is_validation(path: str, fraction: float) -> bool:
    digest = hashlib.sha256(f"val:{path}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def _good_sentence(sentence: str, boilerplate: set[str]) -> bool:
    words = sentence.split()
    return (
        6 <= len(words) <= 45
        and sentence_key(sentence) not in boilerplate
        and sum(c.isalpha() for c in sentence) > len(sentence) / 2
    )


def question_form(sentence: str, rng: random.Random) -> str:
    """A question-like anchor from a sentence: an interrogative, then the sentence with about
    a third of its words dropped (the part a question leaves for the answer)."""
    words = sentence.rstrip(".!?").split()
    keep = [w for w in words if rng.random() > 0.33] or words[:1]
    return f"{rng.choice(_INTERROGATIVES)} {' '.join(keep)}?"


def document_pairs(
    document: dict,
    seed: int,
    boilerplate: set[str],
    max_words: int = 150,
    ict_per_passage: int = 2,
    val_fraction: float = 0.02,
) -> list[Pair]:
    """All pairs of one document, in a fixed order."""
    path, title = document["path"], " ".join(document["title"].split())
    rng = _document_rng(seed, path)
    split = "val" if is_validation(path, val_fraction) else "train"
    sections = split_sections(document["text"], title)
    passages = make_passages(sections, max_words)
    if not passages or not title:
        return []
    pairs: list[Pair] = []

    def add(anchor: str, positive: str, kind: str) -> None:
        if anchor.strip() and positive.strip() and anchor.strip() != positive.strip():
            pairs.append(Pair(anchor, positive, kind, path, split))

    first = passages[0]
    if len(first.text.split()) >= 8:
        add(title, first.text, "title")

    seen_sections: set[str] = set()
    for passage in passages:
        if passage.section and passage.section not in seen_sections:
            seen_sections.add(passage.section)
            if len(passage.text.split()) >= 8:
                add(f"{passage.section} – {title}", passage.text, "heading")

    opening = sections[0].paragraphs
    if len(opening) >= 2 and 12 <= len(opening[0].split()) <= 90:
        rest = make_passages([Section(sections[0].heading, opening[1:])], max_words)[0]
        if len(rest.text.split()) >= 15:
            add(opening[0], with_context(title, rest), "summary")

    for before, after in zip(passages, passages[1:], strict=False):
        if len(before.text.split()) >= 15 and len(after.text.split()) >= 15:
            add(before.text, after.text, "neighbour")

    for passage in passages:
        sentences = [s for p in passage.text.split("\n\n") for s in split_sentences(p)]
        candidates = [s for s in sentences if _good_sentence(s, boilerplate)]
        if len(sentences) < 2 or not candidates:
            continue
        for sentence in rng.sample(candidates, min(ict_per_passage, len(candidates))):
            if rng.random() < 0.75:
                cut = re.sub(r"[ \t]+", " ", passage.text.replace(sentence, " ")).strip()
            else:
                cut = passage.text
            add(sentence, with_context(title, passage, cut), "ict")
        sentence = rng.choice(candidates)
        text = passage.text if rng.random() < 0.5 else passage.text.replace(sentence, " ")
        text = re.sub(r"[ \t]+", " ", text).strip()
        add(question_form(sentence, rng), with_context(title, passage, text), "question")
    return pairs


def boilerplate_sentences(documents: Iterable[dict], min_documents: int = 3) -> set[str]:
    """Keys of sentences found in at least `min_documents` documents ("För mer information
    kontakta …"): as anchors they would match many passages equally well."""
    counts: Counter[str] = Counter()
    for document in documents:
        keys = {
            sentence_key(s)
            for line in document["text"].splitlines()
            for s in split_sentences(clean_inline(line))
        }
        counts.update(keys)
    return {key for key, n in counts.items() if n >= min_documents}


def build_pairs(
    documents: list[dict],
    seed: int = 13,
    max_words: int = 150,
    val_fraction: float = 0.02,
    ict_per_passage: int = 2,
) -> list[Pair]:
    """Pairs of all documents, each anchor text used at most once per kind."""
    boilerplate = boilerplate_sentences(documents)
    seen: set[tuple[str, str]] = set()
    pairs: list[Pair] = []
    for document in documents:
        for pair in document_pairs(
            document, seed, boilerplate, max_words, ict_per_passage, val_fraction
        ):
            key = (pair.kind, pair.anchor.casefold())
            if key not in seen:
                seen.add(key)
                pairs.append(pair)
    return pairs


def write_pairs(pairs: Iterable[Pair], destination: Path) -> int:
    """Compressed JSONL, one pair a line, grouped by document (so repeated positives
    compress well). Written to a temporary name first, then renamed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    count = 0
    with gzip.GzipFile(partial, "wb", compresslevel=9, mtime=0) as raw:
        for pair in pairs:
            raw.write((json.dumps(asdict(pair), ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
    partial.replace(destination)
    return count


def read_pairs(source: Path, split: str | None = None) -> list[Pair]:
    """Pairs of a file written by `write_pairs`, optionally of one split."""
    with gzip.open(source, "rt", encoding="utf-8") as f:
        pairs = [Pair(**json.loads(line)) for line in f]
    return [p for p in pairs if split is None or p.split == split]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-words", type=int, default=150)
    parser.add_argument("--val-fraction", type=float, default=0.02)
    parser.add_argument("--ict-per-passage", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N documents (smoke)")
    parser.add_argument(
        "--corpus-text", type=Path, default=None, help="also write the training text (tokenizer)"
    )
    args = parser.parse_args()
    documents = list(iter_training_documents(limit=args.limit))
    pairs = build_pairs(
        documents, args.seed, args.max_words, args.val_fraction, args.ict_per_passage
    )
    count = write_pairs(pairs, args.output)
    kinds = Counter(f"{p.split}/{p.kind}" for p in pairs)
    print(f"{len(documents)} documents → {count} pairs in {args.output}")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind}: {n}")
    if args.corpus_text:
        args.corpus_text.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(args.corpus_text, "wt", encoding="utf-8", compresslevel=6) as f:
            for document in documents:
                f.write(document["title"] + "\n" + document["text"] + "\n")


if __name__ == "__main__":
    main()
