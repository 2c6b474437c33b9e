"""The lead: the one or two verbatim sentences, from any of the best passages, that answer
the question. Each candidate is scored by how close it is in meaning to the question (the
embedder), by whether it holds what the question asks for (a date for "När", an amount for
"Hur mycket", an authority for "Vilken myndighet", the ruling for "Får"/"Ska" …), by the
rank of its passage and, as one feature among these, by the question's rare words it
contains."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .text import sentence_spans

_MONTH = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"

# What a question asks for, from its wording; the first pattern that matches decides.
_ASKS_FOR: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("frequency", r"\bhur ofta\b|\bhur många gånger\b"),
        ("duration", r"\bhur länge\b|\bhur lång tid\b|\binom hur\b|\bunder hur lång\b"),
        (
            "date",
            r"\bnär\b|\bvilket datum\b|\bvilken dag\b|\bvilket år\b|\bsista svarsdag|"
            r"\bfrån och med när\b|\bdatum\b|\bdeadline\b|\btidpunkt",
        ),
        (
            "amount",
            r"\bhur mycket\b|\bvad kostar\b|\bhur stor (?:budget|summa|kostnad)|\bbelopp|"
            r"\bhur stora (?:medel|anslag)|\bvilken budget\b|\bhur mycket pengar\b",
        ),
        ("number", r"\bhur många\b|\bhur stor andel\b|\bhur stor del\b|\bantal\b|\bandel\b"),
        (
            "law",
            r"\bvilken lag\b|\bvilket (?:eu-)?direktiv\b|\bvilken förordning\b|"
            r"\bvilka lagar\b|\bvilket lagrum\b",
        ),
        (
            "organisation",
            r"\bvilken myndighet|\bvilka myndighet|\bvem\b|\bvilka\b.*\borgan\b|"
            r"\bvilket departement\b|\bvilken organisation|\bvilket land\b|\bvilken kommun\b|"
            r"\bvilken nämnd\b|\bvilka aktörer\b|\bvilket organ\b",
        ),
        ("reason", r"\bvarför\b|\bav vilken anledning\b|\bvad är skälet\b|\bi vilket syfte\b"),
        (
            "ruling",
            r"^(?:och |men )?(?:får|ska|skall|kan|måste|bör|behöver|anser|kommer|är det|"
            r"gäller|tillåts|tillåter|har)\b|\bfår man\b|\bvem får\b|\bvad ska\b|\bhur ska\b",
        ),
    )
)

# What a sentence holds, per kind: patterns with the weight of a match (the best one counts).
_HOLDS: dict[str, tuple[tuple[re.Pattern, float], ...]] = {
    # Names are told by their capital letter, so organisation patterns keep case.
    kind: tuple(
        (re.compile(p, 0 if kind == "organisation" else re.IGNORECASE), w) for p, w in patterns
    )
    for kind, patterns in {
        "date": (
            (rf"\b\d{{1,2}} (?:{_MONTH}) \d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b", 1.0),
            (rf"\b(?:{_MONTH}) \d{{4}}\b|\bsenast\b", 0.7),
            (r"\b(?:19|20)\d{2}\b", 0.3),
        ),
        "amount": (
            (
                r"\d[\d  ,.]*\s*(?:kronor|kr\b|miljoner|miljarder|mnkr|mdkr|msek|euro|"
                r"dollar|procent|%)",
                1.0,
            ),
            (r"\b(?:högst|belopp|medel|anslag|budget|kostnad)", 0.4),
        ),
        "number": (
            (r"\b\d[\d  ,]*\b(?!-\d)|\bprocent\b|%", 1.0),
            (r"\b(?:två|tre|fyra|fem|sex|sju|åtta|nio|tio|tolv|hundra|tusen)\b", 0.8),
        ),
        "law": (
            (r"\(\d{4}:\d+\)|\b\d{4}/\d+/(?:EU|EG)\b|\bSFS\b|\bförordning(?:en)? \(", 1.0),
            (r"\blagen\b|\bdirektiv|\bförordning", 0.6),
        ),
        "organisation": (
            (
                r"\b[A-ZÅÄÖ][\wåäö-]*(?:verket|myndigheten|styrelsen|inspektionen|"
                r"institutet|nämnden|kontoret|departementet|rådet|kommissionen|verk|"
                r"ombudsmannen|domstolen|centrum|fonden|banken)\b|\bsamråda med\b|"
                r"\b(?:Sida|Riksgälden|Regeringskansliet|Polismyndigheten|Länsstyrelsen|"
                r"Unicef|UNHCR|UNDP|FN)\b",
                1.0,
            ),
            (r"\b[A-ZÅÄÖ]{2,}\b|(?<=[a-zåäö,] )[A-ZÅÄÖ][a-zåäö]+", 0.5),
        ),
        "reason": (
            (
                r"\beftersom\b|\bdärför\b|\bför att\b|\bsyftet\b|\bmed anledning av\b|"
                r"\bpå grund av\b|\bskälet\b|\bmot bakgrund av\b|\bi syfte\b",
                1.0,
            ),
        ),
        "frequency": (
            (
                r"\bveckovis\b|\bmånadsvis\b|\bårligen\b|\bvarje (?:vecka|månad|år|kvartal)\b|"
                r"\bkvartalsvis\b|\bdagligen\b|\bper (?:vecka|månad|år)\b|\bgång(?:er)? per\b|"
                r"\blöpande\b|\bregelbundet\b",
                1.0,
            ),
        ),
        "duration": (
            (
                r"\binom \w+ (?:dagar|veckor|månader|år)\b|\btill utgången av\b|"
                r"\btidsbegränsad|\b\d+ (?:dagar|veckor|månader|år)\b|\bunder \w+ år\b|"
                r"\bfrån \S+ .{0,30}\btill\b",
                1.0,
            ),
            (rf"\b(?:{_MONTH}) \d{{4}}\b|\b(?:19|20)\d{{2}}\b", 0.5),
        ),
        "ruling": (
            (
                r"\b(?:ska|skall|får|bör|måste|behöver|behövs|uppdrar|uppdras|beslutat?|"
                r"föreslår|föreslås|anser|tillåts|omfattas|stå för)\b",
                1.0,
            ),
            (r"\binte\b|\bkrav\b", 0.5),
        ),
    }.items()
}

LEAD_PASSAGES = 3
"""Candidate sentences come from this many of the best passages."""
MAX_LEAD_CHARS = 600
MAX_EMBEDDED = 12
"""At most this many candidates (the best by everything but meaning) are embedded."""
SHORT_SENTENCE = 80
"""A best sentence shorter than this takes the next one along (at most two sentences)."""


def asks_for(question: str) -> str:
    """What kind of fact `question` asks for: date, amount, number, law, organisation,
    reason, frequency, duration, ruling — or "any"."""
    low = " ".join(question.lower().split()).replace("när det gäller", "")
    # The interrogative that comes first decides: "Vilken myndighet … när de redogör …"
    # asks for an authority, not a date.
    found = [(m.start(), i) for i, (_, p) in enumerate(_ASKS_FOR) if (m := p.search(low))]
    return _ASKS_FOR[min(found)[1]][0] if found else "any"


def holds(kind: str, text: str, question: str = "") -> float:
    """How clearly `text` holds a fact of `kind` (0–1; 0 for "any") that `question` does not
    already name: the date, amount or authority in the question is not its answer."""
    asked = " ".join(question.split()).casefold()
    for pattern, weight in _HOLDS.get(kind, ()):
        for match in pattern.finditer(text):
            named = " ".join(match.group().split()).casefold()
            if kind == "ruling" or named not in asked:
                return weight
    return 0.0


@dataclass(frozen=True)
class Candidate:
    """One or two consecutive sentences of the passage at `passage` (its rank, 0-based)."""

    passage: int
    start: int
    end: int
    text: str


def candidates(passages: list[str], max_chars: int = MAX_LEAD_CHARS) -> list[Candidate]:
    """Every sentence of each passage, verbatim; a short one (a heading, "Ja.") is joined with
    the next so the lead can stand on its own. Over-long sentences are cut at a word."""
    found = []
    for rank, text in enumerate(passages):
        spans = sentence_spans(text)
        for i, (start, end) in enumerate(spans):
            joined = spans[i + 1][1] if i + 1 < len(spans) else end
            # A heading, a "Ja." or a sentence that opens a list ("… indelad i tre delar:")
            # says little alone.
            opens = end - start < SHORT_SENTENCE or text[start:end].rstrip().endswith(":")
            if opens and joined - start <= max_chars:
                end = joined
            if end - start > max_chars:
                cut = text.rfind(" ", start, start + max_chars)
                end = cut if cut > start else start + max_chars
            found.append(Candidate(rank, start, end, text[start:end]))
    return found


@dataclass(frozen=True)
class LeadWeights:
    """How the features of a candidate add up (tuned with `make eval` on the dev questions
    and tests/data/conversations.jsonl)."""

    meaning: float = 0.5
    kind: float = 1.0
    passage_rank: float = 0.3
    words: float = 0.5
    short_penalty: float = 0.3


def prescore(
    question: str,
    kind: str,
    found: list[Candidate],
    overlap: np.ndarray,
    weights: LeadWeights | None = None,
) -> np.ndarray:
    """Each candidate's score from everything but meaning: what the question asks for, the
    rank of its passage, the question's rare words in it, and a penalty for fragments."""
    w = weights or LeadWeights()
    return (
        w.kind * np.array([holds(kind, c.text, question) for c in found])
        + w.passage_rank * np.array([1.0 / (1 + c.passage) for c in found])
        + w.words * np.asarray(overlap, dtype=np.float64)
        - w.short_penalty * np.array([len(c.text) < 40 for c in found], dtype=np.float64)
    )


def shortlist(scores: np.ndarray, size: int = MAX_EMBEDDED) -> np.ndarray:
    """Indices of the `size` best candidates by `prescore`, best first: only these are
    embedded, which keeps an answer within its time budget with a transformer encoder."""
    return np.argsort(-np.asarray(scores), kind="stable")[:size]


def choose_lead(
    question: str,
    kind: str,
    found: list[Candidate],
    similarity: np.ndarray,
    overlap: np.ndarray,
    weights: LeadWeights | None = None,
) -> int | None:
    """Index in `found` of the best lead, or None when there is no candidate.

    `similarity` is each candidate's cosine to the question (embedder), `overlap` the share
    of the question's rare-word weight it contains; both aligned with `found`."""
    if not found:
        return None
    w = weights or LeadWeights()
    sims = np.asarray(similarity, dtype=np.float64)
    spread = float(sims.max() - sims.min())
    meaning = (sims - sims.min()) / spread if spread > 1e-9 else np.zeros_like(sims)
    scores = w.meaning * meaning + prescore(question, kind, found, overlap, w)
    return int(np.argmax(scores))
