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

from ingest.sentences import MAX_LEAD_CHARS, lead_spans

_MONTH = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
_NUMBER_WORDS = (
    "två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|tretton|fjorton|femton|sexton|sjutton|"
    "arton|nitton|tjugo|trettio|fyrtio|femtio|sextio|sjuttio|åttio|nittio|hundra|tusen"
)

# What a question asks for, from its wording; the first pattern that matches decides.
_ASKS_FOR: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("frequency", r"\bhur ofta\b|\bhur många gånger\b"),
        ("duration", r"\bhur länge\b|\bhur lång tid\b|\binom hur\b|\bunder hur lång\b"),
        (
            "date",
            # "När" asks for a date where it opens the question (or follows a
            # preposition); inside it ("ska användas när varor flyttas") it is "when".
            r"^(?:och |men |så )?när\b|\b(?:senast|från och med|från|fram till|sedan|till) när\b|"
            r"\bvilket datum\b|\bvilken dag\b|\bvilket år\b|\bsista svarsdag|\bdatum\b|"
            r"\bdeadline\b|\btidpunkt",
        ),
        (
            "amount",
            r"\bhur mycket\b|\bvad kostar\b|\bhur stor (?:budget|summa|kostnad)|\bbelopp|"
            r"\bhur stora (?:medel|anslag)|\bvilken budget\b|\bhur mycket pengar\b",
        ),
        (
            "share",
            r"\bhur stor (?:andel|del)\b|\bhur många procent\b|\bandel(?:en)?\b|"
            r"\bhur förde?lad?e?s\b|\bhur förde?la[st]?\b",
        ),
        ("number", r"\bhur många\b|\bantal\b"),
        (
            "law",
            r"\bvilken lag\b|\bvilket (?:eu-)?direktiv\b|\bvilken förordning\b|"
            r"\bvilka lagar\b|\bvilket lagrum\b",
        ),
        (
            "role",
            r"\bvem (?:leder|ledde|är ordförande|var ordförande|ansvarar|ska leda|har ansvaret)\b|"
            r"\bvem (?:är|blir) (?:chef|ansvarig)\b",
        ),
        (
            "organisation",
            r"\bvilken myndighet|\bvilka myndighet|\bvem\b|\bvilka\b.*\borgan\b|"
            r"\bvilket departement\b|\bvilken organisation|\bvilket land\b|\bvilken kommun\b|"
            r"\bvilken nämnd\b|\bvilka aktörer\b|\bvilket organ\b",
        ),
        (
            "reason",
            r"\bvarför\b|\bav vilken anledning\b|\bvad är skälet\b|\bi vilket syfte\b|"
            r"\bvad är syftet\b|\bvilket (?:är )?syftet\b",
        ),
        (
            "condition",
            r"\bvad krävs\b|\bvilka krav\b|\bvilka villkor\b|\bunder vilka förutsättningar\b|"
            r"\bpå vilka villkor\b",
        ),
        (
            "method",
            r"\bhur vill\b|\bpå vilket sätt\b|\bpå vilka sätt\b|\bgenom vilka\b|"
            r"\bhur (?:ska|kan) (?:man |vi |de |regeringen )?(?:ändra|förbättra|minska|öka|"
            r"stärka|uppnå|lösa|förenkla)\b",
        ),
        (
            "list",
            r"\bvilka (?!myndighet|organ|lag|aktör|departement|land|länder|kommun)\w+",
        ),
        (
            # "Vilket datasystem …", "Vilket pris …": a thing known by its name.
            "name",
            r"\bvilke[nt] (?!myndighet|organisation|departement|organ|land|kommun|nämnd|datum|"
            r"dag|år|lag|direktiv|förordning|lagrum|budget|var\b|är\b)\w+",
        ),
        (
            "ruling",
            # A question that opens with its verb asks yes or no ("Ansåg domstolen …?").
            r"^(?:och |men )?(?:får|ska|skall|kan|måste|bör|behöver|anser|ansåg|tycker|tror|"
            r"kommer|är det|gäller|tillåts|tillåter|har|fann|bedömer|bedömde|kränktes|kränkte|"
            r"innebär|omfattar|omfattas|krävs|behövs|ingår|vill|föreslår|föreslog|stöder|"
            r"stödjer)\b|\bfår man\b|\bvem (?:får|ska|måste|betalar|står)\b|"
            r"\bvad ska\b|\bhur ska\b",
        ),
    )
)

# What a sentence holds, per kind: patterns with the weight of a match (the best one counts).
_HOLDS: dict[str, tuple[tuple[re.Pattern, float], ...]] = {
    # Names are told by their capital letter, so organisation patterns keep case.
    kind: tuple(
        (re.compile(p, 0 if kind in ("organisation", "name") else re.IGNORECASE), w)
        for p, w in patterns
    )
    for kind, patterns in {
        "date": (
            (rf"\b\d{{1,2}} (?:{_MONTH}) \d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b", 1.0),
            (rf"\b(?:{_MONTH}) \d{{4}}\b", 0.9),
            (r"\bsenast\b", 0.7),
            (r"\b(?:19|20)\d{2}\b", 0.3),
        ),
        "amount": (
            (
                r"\d[\d  ,.]*\s*(?:kronor|kr\b|miljoner|miljarder|mnkr|mdkr|msek|euro|"
                r"dollar|procent|%)",
                1.0,
            ),
            (
                rf"\b(?:{_NUMBER_WORDS}|en|ett)\s+(?:miljoner|miljarder)\b|"
                r"\b(?:prisbasbelopp|inkomstbasbelopp)",
                0.9,
            ),
            (r"\b(?:högst|belopp|medel|anslag|budget|kostnad)", 0.4),
        ),
        "share": (
            (r"\d[\d  ,]*\s*(?:procent|%)|\bprocent\b|\b\d+ av \d+\b", 1.0),
            (r"\bhälften\b|\ben (?:tredjedel|fjärdedel)\b|\bmajoriteten\b|\bandel", 0.7),
        ),
        "role": (
            (
                r"\bordförande\b|\bleds av\b|\bleder\b|\bansvarig\b|\bchef(?:en)?\b|"
                r"\bstatssekreterare\b|\bminister(?:n)?\b|\bgeneraldirektör|\bsamordnare\b|"
                r"\butredare(?:n)?\b|\bsekretariat",
                1.0,
            ),
        ),
        "method": (
            (
                r"\bgenom att\b|\bgenom\b|\bmed hjälp av\b|\binföra\b|\binförs\b|"
                r"\bersätta\b|\bfrikoppla|\bändra(?:s)? så att\b",
                1.0,
            ),
        ),
        "list": (
            (r"\w[\w-]*, [\w ,-]+,? (?:och|samt|eller) \w+|^\s*[•\-–*] ", 1.0),
            (r"\b\w+ (?:och|samt) \w+\b", 0.3),
        ),
        "number": (
            # A count, not a year, a date or a reference ("SFS 2012:638", "2011-2012").
            (
                r"(?<![\d:/.-])\b(?!(?:19|20)\d\d\b)\d(?:[\d  ,]*\d)?\b(?![-:/.]\d)"
                rf"(?! (?:{_MONTH})\b)|\bprocent\b|%",
                1.0,
            ),
            (rf"\b(?:{_NUMBER_WORDS})\b", 0.8),
        ),
        "law": (
            (r"\(\d{4}:\d+\)|\b\d{4}/\d+/(?:EU|EG)\b|\bSFS\b|\bförordning(?:en)? \(", 1.0),
            (r"\blagen\b|\bdirektiv|\bförordning", 0.6),
        ),
        "organisation": (
            (
                r"\b[A-ZÅÄÖ][\wåäö-]*(?:verket|myndigheten|styrelsen|inspektionen|"
                r"institutet|nämnden|kontoret|departementet|rådet|kommissionen|verk|"
                r"ombudsmannen|domstolen|centrum|fonden|banken)\b|\bsamråda med\b|\bsamverka med\b|"
                r"\bi (?:samverkan|samarbete|samråd) med\b|\btillsammans med\b|"
                r"\b(?:Sida|Riksgälden|Regeringskansliet|Polismyndigheten|Länsstyrelsen|"
                r"Unicef|UNHCR|UNDP|FN)\b",
                1.0,
            ),
            (r"\b[A-ZÅÄÖ]{2,}\b|(?<=[a-zåäö,] )[A-ZÅÄÖ][a-zåäö]+", 0.5),
        ),
        "condition": (
            (
                r"\bkrävs\b|\bkrav på\b|\bförutsatt att\b|\bförutsättning|\bendast om\b|"
                r"\bvillkor|\bunder förutsättning\b|\bsåvida\b",
                1.0,
            ),
            (r"\bom\b", 0.3),
        ),
        "name": (
            # An acronym, a quoted name, a name of capitalised words inside the sentence.
            (
                r"\([A-ZÅÄÖ][\wÅÄÖ-]*[A-ZÅÄÖ]\)|[”\"’'][^”\"’']{3,60}[”\"’']|"
                r"(?<=[\wåäö,] )[A-ZÅÄÖ][\wåäö-]+ (?:[A-ZÅÄÖ0-9][\wåäö-]+ ?)+",
                0.7,
            ),
            (r"\b[A-ZÅÄÖ]{2,}\b|(?<=[a-zåäö,] )[A-ZÅÄÖ][a-zåäö]+", 0.4),
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
                r"föreslår|föreslås|anser|tillåts|omfattas|stå för)\b|\bi uppdrag att\b|"
                r"\buppdraget (?:är|innebär) att\b|"
                # What a remiss answer rules: "har inget att erinra", "tillstyrker" …
                r"\binget att (?:erinra|invända|tillägga)\b|\binga (?:invändningar|synpunkter)\b|"
                r"\btillstyrk|\bavstyrk|\bställer sig (?:bakom|positiv|negativ)|"
                # … and what a court or an inquiry found.
                r"\b(?:ansågs?|fann|bedömer|bedömde|konstaterar|konstaterade|förelåg)\b",
                1.0,
            ),
            (r"\binte\b|\bkrav\b", 0.5),
        ),
    }.items()
}

LEAD_PASSAGES = 3
"""Candidate sentences come from this many of the best passages."""
MAX_EMBEDDED = 12
"""Where the index holds no sentence vectors (a folder index built before they were, or a
database read across a publish), at most this many candidates (the best by everything but
meaning) are embedded while answering."""


def asks_for(question: str) -> str:
    """What kind of fact `question` asks for: date, amount, share, number, law, role,
    organisation, reason, condition, method, list, name, frequency, duration, ruling — or
    "any"."""
    low = " ".join(question.lower().split()).replace("när det gäller", "")
    # The interrogative that comes first decides: "Vilken myndighet … när de redogör …"
    # asks for an authority, not a date.
    # At the same place the longer phrase decides: "vem får" asks for a ruling, "vem" alone
    # for an organisation.
    found = [
        (m.start(), -len(m.group()), i)
        for i, (_, p) in enumerate(_ASKS_FOR)
        if (m := p.search(low))
    ]
    return _ASKS_FOR[min(found)[2]][0] if found else "any"


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
    """Every lead candidate of each passage (ingest.sentences.lead_spans), verbatim."""
    return [
        Candidate(rank, start, end, text[start:end])
        for rank, text in enumerate(passages)
        for start, end in lead_spans(text, max_chars)
    ]


BEYOND_TITLE = 0.5
"""Extra weight, within the words feature, for the question's words that the document's
title does not say: they name what is asked about that document, while a sentence that
repeats the title ("Regeringen uppdrar åt Socialstyrelsen att ta fram …") restates the
topic instead of answering."""


def weight_share(weights: dict[str, float], terms: set[str]) -> float:
    """Share of the total of `weights` (term → IDF) that falls on `terms` (0 when empty)."""
    total = sum(weights.values())
    return sum(weights[t] for t in terms & weights.keys()) / total if total else 0.0


def word_overlap(weights: dict[str, float], terms: set[str], title_terms: set[str]) -> float:
    """The words feature of a candidate with analysed `terms`: the share of the question's
    rare-word `weights` (term → IDF) it contains, plus BEYOND_TITLE times the same share
    among the question's terms that `title_terms` (its document's title) lacks."""
    beyond = {t: v for t, v in weights.items() if t not in title_terms}
    return weight_share(weights, terms) + BEYOND_TITLE * weight_share(beyond, terms)


@dataclass(frozen=True)
class LeadWeights:
    """How the features of a candidate add up (tuned with `make eval` on the dev questions
    and tests/data/conversations.jsonl)."""

    meaning: float = 0.5
    kind: float = 1.0
    passage_rank: float = 0.3
    words: float = 0.5
    short_penalty: float = 0.3
    context: float = 0.25
    """For the meaning of the sentence before: an answer often follows the sentence that
    names the question's topic ("X har fällts två gånger." "Den ena domen gällde …")."""


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

    `similarity` is each candidate's cosine to the question (embedder; NaN for a candidate
    that was not embedded, which is then not chosen), `overlap` its words feature
    (word_overlap); both aligned with `found`."""
    if not found:
        return None
    w = weights or LeadWeights()
    sims = np.asarray(similarity, dtype=np.float64)
    known = ~np.isnan(sims)
    if not known.any():
        known[:] = True
        sims = np.zeros(len(found))
    low, high = float(sims[known].min()), float(sims[known].max())
    meaning = np.where(known, (sims - low) / (high - low) if high - low > 1e-9 else 0.0, 0.0)
    before = np.array(
        [
            meaning[i - 1] if i > 0 and found[i - 1].passage == c.passage else 0.0
            for i, c in enumerate(found)
        ]
    )
    scores = w.meaning * meaning + w.context * before + prescore(question, kind, found, overlap, w)
    return int(np.argmax(np.where(known, scores, -np.inf)))
