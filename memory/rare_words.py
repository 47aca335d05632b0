"""The words side's pruning, on either backend: the rarest words find the messages, the other rare
words score them, the store's most common words are its stopwords.

Ranking every message that holds any query word costs the index a few microseconds a message, and
the common words of a store are in a large share of its messages: in a store of German, French or
code-heavy chats no English stopword list removes them. So each word's messages are counted first
(in the index, up to a cap), and the words take one of three parts:

- finding: the rarest words, while the messages they hold stay few (`FINDING_BUDGET`): they pick
  the candidates, and only those are ranked;
- scoring: the other rare words: they add to the score of the candidates that hold them, and move
  to the finding part, rarest first, while no candidate passes (a filter, `min_matched`) and within
  `EXPANDING_BUDGET`;
- stopwords: the words that more than `COMMON_SHARE` of the store's messages hold (and at least
  `MIN_COMMON`): a stopword rule from the store's own statistics, for any language. They are left
  out, as the English stopwords are. A query of such words only is found by its rarest one, unless
  each is in over `COMMON_SHARE * ALL_COMMON_FACTOR` of the messages: then it finds nothing. A
  search that needs a share of the words held (`min_matched`, a hybrid search's words side) finds
  nothing for it either: it would rank the messages that hold one stopword.

`min_matched` counts the finding and scoring words. When the query's words are in few messages
together (a small store, rare words) all of them find. The backends count and rank in their own
index: `memory.fts5_ranking` (SQLite, BM25) and `memory.tsvector_ranking` (PostgreSQL).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

#: A word held by more than this share of the store's messages (or `MIN_COMMON` messages, whichever
#: is more) is a stopword of the store. (With 200, hybrid recall@5 on bench/quality.py's demo corpus
#: of 2,922 messages fell from 0.731 to 0.721; with 1,000 it is unchanged.)
COMMON_SHARE: Final = 1 / 500
MIN_COMMON: Final = 1000
#: A query of stopwords only is found by the rarest, if it is in at most this multiple of the
#: common threshold's messages.
ALL_COMMON_FACTOR: Final = 8
#: The finding words' messages ranked at most, as a multiple of the common threshold.
FINDING_BUDGET: Final = 1
#: More words are added to the finding side while no candidate passes (a filter, `min_matched`) and
#: the messages ranked stay within this multiple of the common threshold.
EXPANDING_BUDGET: Final = 8

#: How many messages hold each of some words, counted up to a cap: `count(words, cap)`.
Counter = Callable[[list[str], int], dict[str, int]]


@dataclass(frozen=True, slots=True)
class Split:
    """The query's words by part: `finding` and `scoring` (each rarest first; the others are
    stopwords), with the words' counts of messages (exact below the cap they were counted to), the
    messages in the index, and the common threshold."""

    finding: tuple[str, ...]
    scoring: tuple[str, ...]
    counts: dict[str, int]
    messages: int
    common: int

    @property
    def stopwords_only(self) -> bool:
        """The query's words are all stopwords of the store (its rarest finds alone)."""
        return bool(self.finding) and self.counts[self.finding[0]] >= self.common


#: Ranks the candidates of the `finding` words: `rank(split, finding, scoring, needed)` gives
#: `(message id, score)` best first, of the candidates that hold at least `needed` of the words.
Ranker = Callable[[Split, list[str], list[str], int], list[tuple[int, float]]]


def split_words(
    words: list[str],
    messages: int,
    count: Counter,
    known: Mapping[str, int] | None = None,
    others_below: int | None = None,
) -> Split:
    """`words` (distinct, non-empty) by part, from how many of the store's `messages` hold each
    (`count`, up to the common threshold).

    `known` holds estimates of some words' counts from the store's statistics (PostgreSQL's most
    common lexemes, in a sample of the messages): they stand for the counts of those words, which
    are not counted. Other words are counted, unless the statistics say each is held by fewer than
    `others_below` messages, below the common threshold, and only one of them is not a stopword
    (then it alone finds and scores, whatever its count: `others_below` stands for it).
    """
    common = max(MIN_COMMON, math.ceil(messages * COMMON_SHARE))
    if not words:
        return Split((), (), {}, messages, common)
    estimated = dict(known or {})
    unknown = [word for word in words if word not in estimated]
    if (
        len(unknown) == 1
        and others_below is not None
        and others_below < common
        and all(held >= common for held in estimated.values())
    ):
        estimated[unknown.pop()] = others_below

    def counted(cap: int) -> dict[str, int]:
        found = count(unknown, cap) if unknown else {}
        return found | {word: min(held, cap) for word, held in estimated.items()}

    counts = counted(common)
    rare = sorted((word for word in words if counts[word] < common), key=lambda word: counts[word])
    if not rare:  # stopwords only: the rarest, if it is not too common
        counts = counted(common * ALL_COMMON_FACTOR)
        rarest = min(words, key=lambda word: counts[word])
        finding = () if counts[rarest] >= common * ALL_COMMON_FACTOR else (rarest,)
        return Split(finding, (), counts, messages, common)
    taken, cost = 1, counts[rare[0]]
    while taken < len(rare) and cost + counts[rare[taken]] <= FINDING_BUDGET * common:
        cost += counts[rare[taken]]
        taken += 1
    return Split(tuple(rare[:taken]), tuple(rare[taken:]), counts, messages, common)


def needed_words(split: Split, min_matched: float) -> int:
    """How many of the split's finding and scoring words a message must hold: the fraction
    `min_matched` of them, rounded up."""
    return math.ceil(min_matched * (len(split.finding) + len(split.scoring)))


def rank_rarest_first(split: Split, k: int, min_matched: float, rank: Ranker) -> list[tuple[int, float]]:
    """The `k` best messages for the split's words (at least the fraction `min_matched` of the
    finding and scoring words, rounded up), as `(id, score)`, best first: ranked by `rank`, with more
    words finding while no candidate passes and the budget allows; none for stopwords only when
    `min_matched` is above 0."""
    if min_matched > 0 and split.stopwords_only:
        return []
    finding, scoring = list(split.finding), list(split.scoring)
    needed = needed_words(split, min_matched)
    budget = EXPANDING_BUDGET * split.common
    # A message holding `needed` of the n words holds one of any n - needed + 1 of them: with that
    # many of the rarest finding, no message that passes is missed (as far as the budget allows),
    # in one round instead of one per word added.
    complete = len(finding) + len(scoring) - needed + 1
    while needed > 1 and len(finding) < complete and scoring and _cost(split, finding, scoring[0]) <= budget:
        finding.append(scoring.pop(0))
    ranked: list[tuple[int, float]] = []
    while finding:
        ranked = rank(split, finding, scoring, needed)
        if ranked or not scoring or _cost(split, finding, scoring[0]) > budget:
            break
        finding.append(scoring.pop(0))
    return ranked[:k]


def _cost(split: Split, finding: list[str], added: str) -> int:
    """The messages the `finding` words and `added` hold between them (at most: some hold several)."""
    return sum(split.counts[word] for word in finding) + split.counts[added]


def word_weight(count: int, messages: int) -> float:
    """BM25's weight of a word that `count` of `messages` hold, held once by a message of average
    length (FTS5's idf, floored at 1e-6 for words in over half the messages). `messages` may be an
    estimate below `count`."""
    return max(math.log((max(messages, count) - count + 0.5) / (count + 0.5)), 1e-6)
