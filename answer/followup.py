"""How a question is read in a conversation: whether it leans on the one before ("Och när
ska det redovisas?") or opens a new topic ("Och hur många covidtester gjordes?"), decided
from what the question names itself and how close it is in meaning to the previous one;
a follow-up brings in the previous question's rarest topic words, few enough that its own
words still lead the search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .text import WORD, clean_question, content_words, word_set

if TYPE_CHECKING:
    from index import SearchIndex

_OPENERS = word_set("och men samt även också än plus så")
_LEANING_PHRASES = ("vad gäller", "hur är det med", "när det gäller", "vad händer med")
# Words that point back at something named before. "det"/"den"/"de" are left out: in
# Swedish they are as often an article or a dummy subject ("det svenska biståndet",
# "finns det").
_POINTERS = word_set(
    "detta dessa denna dess deras där dit därifrån dem samma uppdraget dokumentet "
    "strategin förslaget utredningen promemorian regeringsuppdraget beslutet"
)
LONG_WORD = 10
MAX_CARRIED = 3
"""At most this many words of the previous question are carried into a follow-up."""
MAX_TURNS = 4
"""Only the last few earlier questions shape how a question is read."""


@dataclass(frozen=True)
class Reading:
    """A question as it is searched."""

    asked: str
    """What the user typed (whitespace folded, cut at MAX_QUESTION_CHARS)."""
    interpreted_as: str
    """What is searched: the question, plus the carried words for a follow-up."""
    topic: tuple[str, ...]
    """The topic words of this reading, rarest first, for the next question to carry."""
    carried: tuple[str, ...] = ()
    """Words taken from the previous question; empty when the question stands alone."""
    truncated: bool = False


@dataclass(frozen=True)
class Cues:
    """What the question itself says about leaning on the previous one."""

    opener: bool
    """Opens with och/men/samt … or a phrase such as "vad gäller"."""
    pointer: bool
    """Points back at something named before ("dessa", "uppdraget", "där")."""
    own_words: int
    """How many topic words of its own it has."""
    specific: int
    """How many of them name something specific: a word the corpus uses but rarely, or a
    name (a capitalised word inside the sentence) the corpus knows."""
    unknown_name: bool = False
    """It names something no passage does ("Uppsala" in "Vad kostar ett busskort i
    Uppsala?"): a topic of its own, which the previous question's words must not answer."""


def cues(question: str, rarity: dict[str, float], rare: float = 0.6) -> Cues:
    """The cues of `question`; `rarity` as for read_question. A word no passage uses counts
    as specific only when it is long (see LONG_WORD)."""
    low = " ".join(question.lower().split())
    words = WORD.findall(low)
    own = content_words(question)
    first = WORD.search(question)
    specific, unknown_name = 0, False
    for word in own:
        value = rarity.get(word.lower(), 1.0)
        is_name = word[:1].isupper() and not (first and first.group() == word)
        # A long word the corpus never uses is a compound that names something of the
        # user's own ("punktskattevaror"); a short one is more likely a word the corpus
        # says differently.
        unknown_compound = value >= 1.0 and len(word) >= LONG_WORD
        if unknown_compound or (value < 1.0 and (value >= rare or is_name)):
            specific += 1
        unknown_name = unknown_name or (is_name and value >= 1.0)
    return Cues(
        opener=bool(words) and (words[0] in _OPENERS or low.startswith(_LEANING_PHRASES)),
        pointer=any(w in _POINTERS for w in words),
        own_words=len(own),
        specific=specific,
        unknown_name=unknown_name,
    )


@dataclass(frozen=True)
class FollowUpThresholds:
    """Tuned on tests/data/conversations.jsonl with `make eval`."""

    rare: float = 0.6
    """A word at least this rare (IDF relative to an unknown word's) is specific."""
    own_topic: int = 2
    """A question with this many specific words names a topic of its own."""
    long_question: int = 6
    """So does one with this many topic words of its own, one of them specific: a
    follow-up is short ("Och när ska det redovisas?"), a question that spells out who,
    what and where stands alone."""
    similar: float | None = None
    """Cosine to the previous reading at which even a question with a topic of its own
    stays on the previous topic; on the model's own scale, so calibrated per model (None:
    never)."""

    @classmethod
    def for_model(cls, model_id: str) -> FollowUpThresholds:
        from .found import calibration

        stored = calibration(model_id).get("follow_up")
        return cls(**stored) if stored else cls()


def leans_on_previous(
    found: Cues, similarity: float, thresholds: FollowUpThresholds | None = None
) -> bool:
    """Whether a question with these cues, at this cosine to the previous reading, is a
    follow-up. A question that names no specific topic of its own leans on the previous
    one ("När trädde lagen i kraft?"); one that does is a new topic even when it opens with
    "Och" or says "uppdraget", unless it is very close in meaning to the previous one. One
    that names something the corpus never does is always a new topic."""
    if found.unknown_name:
        return False
    t = thresholds or FollowUpThresholds()
    long_enough = found.own_words >= t.long_question and found.specific >= 1
    if found.own_words == 0 or (found.specific < t.own_topic and not long_enough):
        return True
    return t.similar is not None and similarity >= t.similar


def read_question(
    question: str,
    previous: Reading | None,
    rarity: dict[str, float],
    similarity: float,
    thresholds: FollowUpThresholds | None = None,
) -> Reading:
    """`question` read after `previous` (None at the start of a conversation).

    `rarity` maps each topic word (lower case) of the question and of `previous` to its
    relative IDF (0–1), `similarity` is the question's cosine to `previous.interpreted_as`."""
    text, truncated = clean_question(question)
    own = content_words(text)
    own_lower = {w.lower() for w in own}

    def topic_order(word: str) -> tuple[bool, float]:
        # Names first ("Vinnova", "Norra Djurgårdsstaden"), then the rarest words: in a small
        # corpus every ordinary word is rare, and a name is what a follow-up is about.
        return (not word[:1].isupper(), -rarity.get(word.lower(), 1.0))

    ranked_own = sorted(own, key=topic_order)
    if previous is None or not text:
        return Reading(text, text, tuple(ranked_own), (), truncated)
    t = thresholds or FollowUpThresholds()
    if not leans_on_previous(cues(text, rarity, t.rare), similarity, t):
        return Reading(text, text, tuple(ranked_own), (), truncated)
    carried = tuple(w for w in previous.topic if w.lower() not in own_lower)[:MAX_CARRIED]
    topic = sorted(
        [*own, *(w for w in previous.topic if w.lower() not in own_lower)], key=topic_order
    )
    searched = f"{text} {' '.join(carried)}" if carried else text
    return Reading(text, searched, tuple(topic[:8]), carried, truncated)


def rarity_of(index: SearchIndex, words: list[str]) -> dict[str, float]:
    """Each word's (lower case) IDF in the index relative to that of a word no passage
    uses: 1.0 for unknown words, near 0 for words most passages contain."""
    analyzer = index.lexical.analyzer
    terms = {w.lower(): analyzer.terms(w) for w in words}
    idf = index.lexical.idf(sorted({t for found in terms.values() for t in found}))
    never = max(index.lexical.idf(["\x00never-a-term"]).values())
    rarity = {}
    for word, found in terms.items():
        # The word itself where the corpus uses it, else its rarest known compound part
        # ("punktskattevaror" → "punktskatt", "varor").
        known = [idf[t] for t in found if idf[t] < never - 1e-9]
        if found and idf[found[0]] < never - 1e-9:
            rarity[word] = idf[found[0]] / never
        else:
            rarity[word] = max(known) / never if known else 1.0
    return rarity


def read_conversation(
    index: SearchIndex,
    question: str,
    previous: list[str] | tuple[str, ...] = (),
    embed: Callable[[list[str]], np.ndarray] | None = None,
    thresholds: FollowUpThresholds | None = None,
) -> Reading:
    """`question` read after the earlier questions `previous` (oldest first): each earlier
    question is read in turn, so a chain of follow-ups keeps the topic it started from.
    `embed` turns questions into normalised vectors (the index's embedder by default)."""
    if embed is None:

        def embed(texts: list[str]) -> np.ndarray:
            return index.embedder.embed(texts, "query")

    thresholds = thresholds or FollowUpThresholds.for_model(index.embedder.model_id)
    text, truncated = clean_question(question)
    if not text:
        return Reading(text, text, (), (), truncated)
    reading: Reading | None = None
    for asked in [*previous[-MAX_TURNS:], question]:
        text, _ = clean_question(asked)
        if not text:
            continue  # an empty earlier turn says nothing about the topic
        words = content_words(text) + list(reading.topic if reading else ())
        similarity = 0.0
        if reading is not None:
            vectors = embed([text, reading.interpreted_as])
            similarity = float(vectors[0] @ vectors[1])
        reading = read_question(asked, reading, rarity_of(index, words), similarity, thresholds)
    assert reading is not None  # the question itself is not empty
    return reading
