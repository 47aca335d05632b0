"""The words side on SQLite: the rarest words find the messages, FTS5's BM25 ranks them.

Ranking every message that holds any query word costs FTS5 over a microsecond a message (its
`bm25()`), and the common words of a store are in a large share of its messages: in a store of
German, French or code-heavy chats no English stopword list removes them. So each word's messages
are counted first (in the index, up to a cap), and the words take one of three parts:

- finding: the rarest words, while the messages they hold stay few (`FINDING_BUDGET`): they pick
  the candidates, ranked by FTS5's BM25 over them;
- scoring: the other rare words: they add to the score of the candidates that hold them, as much
  as BM25 gives a word that many messages hold, held once by a message of average length, and
  move to the finding part, rarest first, while no candidate passes (a filter, `min_matched`) and
  within `EXPANDING_BUDGET`;
- stopwords: the words that more than `COMMON_SHARE` of the store's messages hold (and at least
  `MIN_COMMON`): a stopword rule from the store's own statistics, for any language. They are left
  out, as the English stopwords are. A query of such words only is found by its rarest one, unless
  each is in over `COMMON_SHARE * ALL_COMMON_FACTOR` of the messages: then it finds nothing.

`min_matched` counts the finding and scoring words. When the query's words are in few messages
together (a small store, rare words) all of them find, and the ranking is FTS5's BM25 over all of
them, as an unpruned search gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from memory.identifiers import FULL_TEXT_DATA, FULL_TEXT_NAME, FULL_TEXT_TABLE, sql
from memory.models import Message
from memory.statements import driver_execute

#: A word held by more than this share of the store's messages (or `MIN_COMMON` messages, whichever
#: is more) is a stopword of the store. (With 200, hybrid recall@5 on bench/quality.py's demo corpus
#: of 2,922 messages fell from 0.731 to 0.721; with 1,000 it is unchanged.)
COMMON_SHARE: Final = 1 / 500
MIN_COMMON: Final = 1000
#: A query of stopwords only is found by the rarest, if it is in at most this multiple of the
#: common threshold's messages.
ALL_COMMON_FACTOR: Final = 8
#: The finding words' messages ranked by BM25 at most, as a multiple of the common threshold.
FINDING_BUDGET: Final = 1
#: More words are added to the finding side while no candidate passes (a filter, `min_matched`) and
#: the messages ranked stay within this multiple of the common threshold.
EXPANDING_BUDGET: Final = 8

# FTS5's BM25 constants (k1 = 1.2, b = 0.75): a word held once by a message of average length
# weighs idf * (k1 + 1) / (1 + k1) = idf.
_FTS: Final = sa.table(FULL_TEXT_TABLE, sa.column("rowid"), sa.column("rank"))
_FTS_MATCH: Final[sa.ColumnElement[Any]] = sa.literal_column(FULL_TEXT_TABLE)
# Statements of a variable number of words are run as driver SQL: compiling each shape with
# SQLAlchemy cost more than running it. Only fixed text and `?` marks; every value is bound.
_COUNT_UP_TO: Final = sql(
    "(SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?))", fts=FULL_TEXT_NAME
)
_HELD: Final = sql("SELECT ?, rowid FROM {fts} WHERE {fts} MATCH ?", fts=FULL_TEXT_NAME)
_SCORED: Final = sql("SELECT rowid, -rank FROM {fts} WHERE {fts} MATCH ?", fts=FULL_TEXT_NAME)
_AVERAGES: Final = sql("SELECT block FROM {data} WHERE id = 1", data=FULL_TEXT_DATA)


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


def fts5_query(words: Sequence[str]) -> str:
    """An FTS5 query matching any of `words` (each quoted as a string, never read as syntax)."""
    return " OR ".join(_phrase(word) for word in words)


def rank_messages(
    connection: sa.Connection, words: list[str], k: int, filters: list[Any], min_matched: float
) -> list[tuple[int, float]]:
    """The `k` best messages for `words` (any of them, at least the fraction `min_matched` of those
    searched, rounded up), as `(id, score)`, best first.

    `words` are distinct and non-empty; `filters` are conditions on `Message`.
    """
    split = split_words(connection, words)
    finding, scoring = list(split.finding), list(split.scoring)
    needed = math.ceil(min_matched * (len(finding) + len(scoring)))
    # A message holding `needed` of the n words holds one of any n - needed + 1 of them: with that
    # many of the rarest finding, no message that passes is missed (as far as the budget allows).
    complete = len(finding) + len(scoring) - needed + 1
    while (
        needed > 1
        and len(finding) < complete
        and scoring
        and _cost(split, finding + scoring[:1]) <= (EXPANDING_BUDGET * split.common)
    ):
        finding.append(scoring.pop(0))
    ranked: list[tuple[int, float]] = []
    while finding:
        ranked = _rank(connection, split, finding, scoring, filters, needed, k)
        if ranked or not scoring or _cost(split, finding + scoring[:1]) > EXPANDING_BUDGET * split.common:
            break
        finding.append(scoring.pop(0))
    return ranked


def _cost(split: Split, finding: list[str]) -> int:
    """The messages the `finding` words hold between them (at most: some hold several)."""
    return sum(split.counts[word] for word in finding)


def split_words(connection: sa.Connection, words: list[str]) -> Split:
    """The words by part, from how many messages hold each (counted up to the common threshold)."""
    messages = _indexed_messages(connection)
    common = max(MIN_COMMON, math.ceil(messages * COMMON_SHARE))
    counts = _counts(connection, words, common)
    rare = sorted((word for word in words if counts[word] < common), key=lambda word: counts[word])
    if not rare:  # stopwords only: the rarest, if it is not too common
        counts = _counts(connection, words, common * ALL_COMMON_FACTOR)
        rarest = min(words, key=lambda word: counts[word])
        finding = () if counts[rarest] >= common * ALL_COMMON_FACTOR else (rarest,)
        return Split(finding, (), counts, messages, common)
    taken, cost = 1, counts[rare[0]]
    while taken < len(rare) and cost + counts[rare[taken]] <= FINDING_BUDGET * common:
        cost += counts[rare[taken]]
        taken += 1
    return Split(tuple(rare[:taken]), tuple(rare[taken:]), counts, messages, common)


def _counts(connection: sa.Connection, words: list[str], cap: int) -> dict[str, int]:
    """How many messages hold each word, counted up to `cap`."""
    statement = "SELECT " + ", ".join([_COUNT_UP_TO] * len(words))
    values = [value for word in words for value in (_phrase(word), cap)]
    row = driver_execute(connection, statement, values).fetchone()
    return {word: int(count) for word, count in zip(words, row, strict=True)}


def _rank(
    connection: sa.Connection,
    split: Split,
    finding: list[str],
    scoring: list[str],
    filters: list[Any],
    needed: int,
    k: int,
) -> list[tuple[int, float]]:
    """The best `k` candidates the `finding` words give, scored and checked against `needed`."""
    if filters:
        statement = (
            sa.select(Message.id, -_FTS.c.rank)
            .select_from(_FTS.join(Message, Message.id == _FTS.c.rowid))
            .where(_FTS_MATCH.op("MATCH")(fts5_query(finding)), *filters)
        )
        rows = connection.execute(statement).all()
    else:  # the index's rowids are the messages' ids
        rows = driver_execute(connection, _SCORED, (fts5_query(finding),)).fetchall()
    if not rows:
        return []
    found = np.array(rows, dtype=np.float64)
    order = np.argsort(found[:, 0], kind="stable")
    ids, scores = found[order, 0].astype(np.int64), found[order, 1]
    # Which candidates hold each word: the finding words' own messages (few, by their choice), and
    # the scoring words' among the candidates only (FTS5 intersects them without reading them all).
    held_by = _found_by(connection, finding if needed > 1 else [], scoring, finding)
    if len(held_by):
        position = np.minimum(np.searchsorted(ids, held_by[:, 1]), len(ids) - 1)
        among = ids[position] == held_by[:, 1]
        rows_held, word_of = position[among], held_by[among, 0]
        weights = np.array([0.0] + [_weight(split.counts[word], split.messages) for word in scoring])
        scores = scores + np.bincount(rows_held, weights=weights[word_of + 1], minlength=len(ids))
        if needed > 1:
            passing = np.bincount(rows_held, minlength=len(ids)) >= needed
            ids, scores = ids[passing], scores[passing]
    best = np.lexsort((ids, -scores))[:k]
    return [(int(ids[i]), float(scores[i])) for i in best]


def _found_by(
    connection: sa.Connection, finding: list[str], scoring: list[str], candidates_of: list[str]
) -> npt.NDArray[np.int64]:
    """Rows of `(index, message id)` for each of `finding` (index -1) and of `scoring` (its index) that a
    message holds; the scoring words only among the messages holding one of `candidates_of`."""
    among = fts5_query(candidates_of)
    values = [v for word in finding for v in (-1, _phrase(word))]
    values += [v for index, word in enumerate(scoring) for v in (index, f"{_phrase(word)} AND ({among})")]
    if not values:
        return np.zeros((0, 2), dtype=np.int64)
    statement = " UNION ALL ".join([_HELD] * (len(values) // 2))
    rows = driver_execute(connection, statement, values).fetchall()
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _phrase(word: str) -> str:
    return f'"{word}"'


def _weight(count: int, messages: int) -> float:
    """BM25's weight of a word that `count` of `messages` hold, held once by a message of average
    length (FTS5's idf, floored at 1e-6 for words in over half the messages)."""
    return max(math.log((messages - count + 0.5) / (count + 0.5)), 1e-6)


def _indexed_messages(connection: sa.Connection) -> int:
    """How many messages the FTS5 index holds: the first varint of its averages record."""
    row = driver_execute(connection, _AVERAGES).fetchone()
    block = None if row is None else row[0]
    if not block:
        return 0
    value = 0
    for i, byte in enumerate(bytes(block)[:9]):
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value
