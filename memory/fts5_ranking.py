"""The words side on SQLite: the rarest words find the messages, FTS5's BM25 ranks them.

The words are split by how many messages hold each (`memory.rare_words`), counted in the FTS5 index
up to a cap. The finding words' candidates are ranked by FTS5's BM25 over those words; a scoring word
adds, to the candidates that hold it, as much as BM25 gives a word that many messages hold, held once
by a message of average length. When the query's words are in few messages together (a small store,
rare words) all of them find, and the ranking is FTS5's BM25 over all of them, as an unpruned search
gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from memory import rare_words
from memory.identifiers import FULL_TEXT_DATA, FULL_TEXT_NAME, FULL_TEXT_TABLE, sql
from memory.models import Message
from memory.rare_words import Split, rank_rarest_first, word_weight
from memory.statements import driver_execute

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

    def rank(split: Split, finding: list[str], scoring: list[str], needed: int) -> list[tuple[int, float]]:
        return _rank(connection, split, finding, scoring, filters, needed)

    return rank_rarest_first(split, k, min_matched, rank)


def split_words(connection: sa.Connection, words: list[str]) -> Split:
    """The words by part, from how many messages hold each (counted up to the common threshold)."""

    def count(words: list[str], cap: int) -> dict[str, int]:
        return _counts(connection, words, cap)

    return rare_words.split_words(words, _indexed_messages(connection), count)


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
) -> list[tuple[int, float]]:
    """The candidates the `finding` words give, scored and checked against `needed`, best first."""
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
        weights = np.array([0.0] + [word_weight(split.counts[word], split.messages) for word in scoring])
        scores = scores + np.bincount(rows_held, weights=weights[word_of + 1], minlength=len(ids))
        if needed > 1:
            passing = np.bincount(rows_held, minlength=len(ids)) >= needed
            ids, scores = ids[passing], scores[passing]
    best = np.lexsort((ids, -scores))
    return list(zip(ids[best].tolist(), scores[best].tolist(), strict=True))


def _found_by(
    connection: sa.Connection, finding: list[str], scoring: list[str], candidates_of: list[str]
) -> npt.NDArray[np.int64]:
    """Rows of `(index, message id)` for each of `finding` (index -1) and of `scoring` (its index)
    that a message holds; the scoring words only among the messages holding one of `candidates_of`."""
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
