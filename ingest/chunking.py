"""Cutting a Document into Chunks along its own structure: one section at a time, whole
paragraphs packed up to a token budget, over-long paragraphs split at sentences (then words),
and a few trailing sentences repeated at the start of the next chunk for context."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ingest.models import Block, Chunk, Document

_SENTENCE_END = re.compile(r"[.!?…]+[\"»”’)\]]*\s+(?=[\"«“(•–-]?[A-ZÅÄÖÉÜ0-9])|\n+")
_ABBREVIATIONS = frozenset(
    {
        "bl.a",
        "t.ex",
        "m.m",
        "s.k",
        "d.v.s",
        "dvs",
        "osv",
        "resp",
        "ca",
        "kap",
        "nr",
        "st",
        "jfr",
        "prop",
        "f.d",
        "fr.o.m",
        "t.o.m",
        "o.d",
        "p.g.a",
        "enl",
        "avd",
        "tel",
        "mfl",
        "m.fl",
        "bla",
        "tex",
        "sk",
        "inkl",
        "exkl",
        "fig",
        "tab",
        "ang",
        "betr",
        "kr",
        "mnkr",
        "mkr",
        "milj",
        "tkr",
    }
)
_WORD = re.compile(r"\S+")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end], without the whitespace that
    separates them. Line breaks inside a paragraph end a sentence too; common Swedish
    abbreviations ("t.ex.", "bl.a.", "kap.") and list numbers ("1.") do not."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group(0)[0] == "." and _is_abbreviation(text, begin, match.start()):
            continue
        spans.append((begin, match.start() + len(match.group(0).rstrip())))
        begin = match.end()
    if begin < end and text[begin:end].strip():
        spans.append((begin, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    word_start = max(text.rfind(" ", begin, dot), text.rfind("\n", begin, dot)) + 1
    word = text[word_start:dot].strip('("«“').casefold()
    return word.isdigit() or len(word) == 1 or word in _ABBREVIATIONS or "." in word


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass(frozen=True)
class _Piece:
    """A span of one paragraph of the section, with its token cost (special tokens excluded)."""

    paragraph: int
    start: int
    end: int
    cost: int


class _Counter:
    """Token costs of text spans, where the cost leaves out the special tokens ([CLS], [SEP])
    that the tokenizer adds once per call. Tokenizers that split on whitespace first
    (WordPiece, BPE) make costs add up over whitespace-joined pieces, so a chunk's size is
    the sum of its pieces' costs plus the special tokens once.

    With `count_many`, the texts a document will certainly be measured by (its paragraphs,
    then its packed chunks) are counted in one batch call each instead of one call per
    text."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        count_many: Callable[[list[str]], list[int]] | None = None,
    ):
        self.count_tokens = count_tokens
        self.count_many = count_many
        self._known: dict[str, int] = {}
        self.specials = count_tokens("")

    def prime(self, texts: Iterable[str]) -> None:
        if self.count_many is None:
            return
        todo = [t for t in dict.fromkeys(texts) if t not in self._known]
        if todo:
            self._known.update(zip(todo, self.count_many(todo), strict=True))

    def tokens(self, text: str) -> int:
        known = self._known.get(text)
        return self.count_tokens(text) if known is None else known

    def cost(self, text: str) -> int:
        return max(0, self.tokens(text) - self.specials)


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    overlap_tokens: int = 32,
    count_many: Callable[[list[str]], list[int]] | None = None,
    additive: bool = False,
) -> list[Chunk]:
    """Cut `doc` into chunks of at most `max_tokens` tokens as measured by `count_tokens`
    (and `count_many`, the same count for a list of texts at once, where given). With
    `additive`, the caller vouches that counts add up over whitespace-joined texts (see
    `_Counter`), and finished chunks are not counted again.

    A chunk never spans two sections; its `section_path` holds the enclosing headings (text
    before the first heading has the empty path). Whole paragraphs are packed up to the
    budget; a paragraph over it is split at sentences, a sentence over it at words.
    Consecutive chunks of a section share about `overlap_tokens` tokens of whole trailing
    sentences. Raises ValueError when `max_tokens` leaves no room for text.
    """
    counter = _Counter(count_tokens, count_many)
    budget = max_tokens - counter.specials
    if budget < 1:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for text")
    sections = [
        (path, paragraphs, [block.text for block in paragraphs])
        for path, paragraphs in _sections(doc.blocks)
    ]
    counter.prime(
        text[slice(*_trim(text, 0, len(text)))] for _, _, texts in sections for text in texts
    )
    planned = []
    for section_path, paragraphs, texts in sections:
        pieces = [
            piece
            for index, text in enumerate(texts)
            for piece in _split_paragraph(text, index, budget, counter)
        ]
        groups = list(_pack(pieces, texts, budget, overlap_tokens, counter))
        planned.append((section_path, paragraphs, texts, groups))
    if not additive:
        counter.prime(
            _render(group, texts)
            for *_, texts, groups in planned
            for group in groups
            if len(group) > 1
        )
    chunks: list[Chunk] = []
    for section_path, paragraphs, texts, groups in planned:
        for group in groups:
            for fitting in [group] if additive else _fit(group, texts, max_tokens, counter):
                chunks.append(
                    _make_chunk(doc.source, len(chunks), section_path, paragraphs, texts, fitting)
                )
    return chunks


def _sections(blocks: Sequence[Block]) -> Iterator[tuple[tuple[str, ...], list[Block]]]:
    path: list[tuple[int, str]] = []
    paragraphs: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            if paragraphs:
                yield tuple(text for _, text in path), paragraphs
            paragraphs = []
            path = [(level, text) for level, text in path if level < block.level]
            path.append((block.level, block.text))
        elif block.text.strip():
            paragraphs.append(block)
    if paragraphs:
        yield tuple(text for _, text in path), paragraphs


def _split_paragraph(text: str, index: int, budget: int, counter: _Counter) -> list[_Piece]:
    start, end = _trim(text, 0, len(text))
    if start == end:
        return []
    cost = counter.cost(text[start:end])
    if cost <= budget:
        return [_Piece(index, start, end, cost)]
    pieces: list[_Piece] = []
    for s, e in sentence_spans(text, start, end):
        cost = counter.cost(text[s:e])
        if cost <= budget:
            pieces.append(_Piece(index, s, e, cost))
        else:
            pieces.extend(_split_words(text, index, s, e, budget, counter))
    return pieces


def _split_words(
    text: str, index: int, start: int, end: int, budget: int, counter: _Counter
) -> list[_Piece]:
    pieces: list[_Piece] = []
    run: _Piece | None = None
    for match in _WORD.finditer(text, start, end):
        s, e = match.span()
        cost = counter.cost(text[s:e])
        if cost > budget:
            if run:
                pieces.append(run)
                run = None
            pieces.extend(_split_characters(text, index, s, e, budget, counter))
        elif run is not None and run.cost + cost <= budget:
            run = _Piece(index, run.start, e, run.cost + cost)
        else:
            if run:
                pieces.append(run)
            run = _Piece(index, s, e, cost)
    if run:
        pieces.append(run)
    return pieces


def _split_characters(
    text: str, index: int, start: int, end: int, budget: int, counter: _Counter
) -> list[_Piece]:
    # A "word" longer than the whole budget (a pasted URL, base64): the longest prefix that
    # fits, by bisection, again and again.
    pieces: list[_Piece] = []
    while start < end:
        low, high = start + 1, end
        while low < high:
            middle = (low + high + 1) // 2
            if counter.cost(text[start:middle]) <= budget:
                low = middle
            else:
                high = middle - 1
        pieces.append(_Piece(index, start, low, counter.cost(text[start:low])))
        start = low
    return pieces


def _pack(
    pieces: Sequence[_Piece],
    texts: Sequence[str],
    budget: int,
    overlap_tokens: int,
    counter: _Counter,
) -> Iterator[list[_Piece]]:
    current: list[_Piece] = []
    total = 0
    for piece in pieces:
        if current and total + piece.cost > budget:
            yield current
            current = _overlap(current, texts, overlap_tokens, counter)
            total = sum(p.cost for p in current)
            while current and total + piece.cost > budget:
                total -= current.pop(0).cost
        current.append(piece)
        total += piece.cost
    if current:
        yield current


def _overlap(
    chunk: Sequence[_Piece], texts: Sequence[str], overlap_tokens: int, counter: _Counter
) -> list[_Piece]:
    """Whole trailing sentences of `chunk` worth about `overlap_tokens`: as many as fit, or
    the last one alone when it is at most twice that. Never the chunk's first sentence, so
    the next chunk is never a copy of this one."""
    if overlap_tokens <= 0:
        return []
    taken: list[_Piece] = []
    total = 0
    for position in range(len(chunk) - 1, -1, -1):
        piece = chunk[position]
        # Only sentences that are whole in the paragraph: a word-split fragment is no context.
        spans = [
            (s, e)
            for s, e in sentence_spans(texts[piece.paragraph])
            if piece.start <= s and e <= piece.end
        ]
        if position == 0:
            spans = spans[1:]
        for s, e in reversed(spans):
            if (s, e) == (piece.start, piece.end):
                cost = piece.cost
            else:
                cost = counter.cost(texts[piece.paragraph][s:e])
            if total + cost > overlap_tokens and not (not taken and cost <= 2 * overlap_tokens):
                return taken
            taken.insert(0, _Piece(piece.paragraph, s, e, cost))
            total += cost
            if total >= overlap_tokens:
                return taken
    return taken


def _render(pieces: Sequence[_Piece], texts: Sequence[str]) -> str:
    parts: list[str] = []
    group_start = 0
    for i, piece in enumerate(pieces):
        last = i + 1 == len(pieces) or pieces[i + 1].paragraph != piece.paragraph
        if last:
            first = pieces[group_start]
            parts.append(texts[piece.paragraph][first.start : piece.end].strip())
            group_start = i + 1
    return "\n\n".join(part for part in parts if part)


def _fit(
    pieces: list[_Piece], texts: Sequence[str], max_tokens: int, counter: _Counter
) -> Iterator[list[_Piece]]:
    # The summed costs are exact for whitespace-splitting tokenizers; one count of the
    # finished chunk makes the limit hold for any other tokenizer too.
    if len(pieces) == 1 or counter.tokens(_render(pieces, texts)) <= max_tokens:
        yield pieces
        return
    middle = len(pieces) // 2
    yield from _fit(pieces[:middle], texts, max_tokens, counter)
    yield from _fit(pieces[middle:], texts, max_tokens, counter)


def _make_chunk(
    source: str,
    ordinal: int,
    section_path: tuple[str, ...],
    paragraphs: Sequence[Block],
    texts: Sequence[str],
    pieces: Sequence[_Piece],
) -> Chunk:
    text = _render(pieces, texts)
    blocks = [paragraphs[i] for i in dict.fromkeys(piece.paragraph for piece in pieces)]
    paged = [block for block in blocks if block.page is not None]
    page_start = paged[0].page if paged else None
    page_end = max((block.page_end or block.page for block in paged), default=None)
    chunk_id = hashlib.sha1(f"{source}\0{ordinal}\0{text}".encode()).hexdigest()[:16]
    return Chunk(
        chunk_id=chunk_id,
        source=source,
        ordinal=ordinal,
        section_path=section_path,
        page_start=page_start,
        page_end=page_end,
        page_label=paged[0].page_label if paged else None,
        text=text,
    )
