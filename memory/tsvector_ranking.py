"""The words side on PostgreSQL: the rarest terms find the messages, their stored `tsvector`s rank them.

The terms are split by how many messages hold each (`memory.rare_words`), counted in the GIN index
up to a cap; the store's size is the planner's row estimate of `messages` (the highest id before the
table is first analysed). Only the candidates of the finding terms are read, with the `tsvector` the
server stored for each (`messages.content_words`, migration 0011), and ranked in one statement: a
message's score is the sum, over the finding and scoring terms it holds, of each term's rarity among
the candidates (ln(1 + candidates / candidates holding it)), scaled by BM25's length normalisation
against the candidates' average (a term held once: k1 = 1.2, b = 0.75), with `ts_rank` breaking
ties (`ts_rank_cd` cost ten times as much: 20 us a candidate). With all of a query's terms finding
(a small store, rare terms) this is the ranking of every message holding any of them.

Each term is a whitespace-separated piece of the query, bound as a parameter of `plainto_tsquery`
(which reads no operators): the server's parser reads it as it read the messages.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR

from memory import rare_words
from memory.identifiers import FULL_TEXT_COLUMN, model_name, sql
from memory.models import Message
from memory.rare_words import Split, rank_rarest_first

_ENGLISH: Final[sa.ColumnElement[Any]] = sa.literal_column("'english'::regconfig")
_WORDS_NAME: Final = model_name(FULL_TEXT_COLUMN)
#: The stored `tsvector` of a message, as a column of `Message`'s table.
_WORDS: Final[sa.ColumnElement[Any]] = sa.literal_column(sql("messages.{c}", c=_WORDS_NAME), TSVECTOR)
# Statements of a variable number of terms are run as driver SQL (compiling each shape costs more
# than running it). Only fixed text and `%s` marks; every value is bound.
_COUNT_UP_TO: Final = sql(
    "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE {c} @@ plainto_tsquery('english', %s) "
    "LIMIT %s) AS held)",
    c=_WORDS_NAME,
)
_MESSAGES: Final = (
    "SELECT (SELECT reltuples FROM pg_class WHERE oid = to_regclass('messages')), "
    "(SELECT max(id) FROM messages)"
)


def rank_messages(
    connection: sa.Connection, terms: list[str], k: int, filters: list[Any], min_matched: float
) -> list[tuple[int, float]]:
    """The `k` best messages for `terms` (any of them, at least the fraction `min_matched` of those
    searched, rounded up), as `(id, score)`, best first.

    `terms` are distinct and non-empty; `filters` are conditions on `Message`.
    """
    split = split_terms(connection, terms)

    def rank(split: Split, finding: list[str], scoring: list[str], needed: int) -> list[tuple[int, float]]:
        statement = _ranking(finding, scoring, filters, needed).limit(k)
        return [(int(message_id), float(score)) for message_id, score in connection.execute(statement)]

    return rank_rarest_first(split, k, min_matched, rank)


def split_terms(connection: sa.Connection, terms: list[str]) -> Split:
    """The terms by part, from how many messages hold each (counted up to the common threshold)."""

    def count(terms: list[str], cap: int) -> dict[str, int]:
        statement = "SELECT " + ", ".join([_COUNT_UP_TO] * len(terms))
        values = tuple(value for term in terms for value in (term, cap))
        row = connection.exec_driver_sql(statement, values).one()
        return {term: int(held) for term, held in zip(terms, row, strict=True)}

    return rare_words.split_words(terms, _messages(connection), count)


def _messages(connection: sa.Connection) -> int:
    """About how many messages the store holds: the planner's estimate once the table was analysed
    (or vacuumed), else the highest id."""
    estimate, highest = connection.exec_driver_sql(_MESSAGES).one()
    if estimate is not None and estimate > 0:
        return int(estimate)
    return int(highest or 0)


def _ranking(finding: list[str], scoring: list[str], filters: list[Any], needed: int) -> sa.Select[Any]:
    """The candidates of the `finding` terms that hold at least `needed` of `finding` and `scoring`,
    best first, with their score."""
    # Each query once: as a scalar subquery, the server computes it once (an InitPlan), not per row.
    queries = [sa.select(_query(term)).scalar_subquery() for term in finding + scoring]
    holds = [sa.case((_WORDS.op("@@")(query), 1.0), else_=0.0) for query in queries]
    candidates = (
        sa.select(
            Message.id.label("id"),
            sa.func.ts_rank(_WORDS, _any_of(queries)).label("density"),
            sa.cast(sa.func.length(_WORDS), sa.Float).label("lexemes"),
            *(held.label(f"holds_{i}") for i, held in enumerate(holds)),
        )
        .where(_WORDS.op("@@")(_any_of([_query(term) for term in finding])), *filters)
        .subquery()
    )
    # A term weighs its rarity among the candidates: ln(1 + candidates / candidates holding it).
    total = sa.cast(sa.func.count().over(), sa.Float)
    weight: sa.ColumnElement[Any] = sa.literal(0.0)
    held: sa.ColumnElement[Any] = sa.literal(0.0)
    for i in range(len(queries)):
        holds_i = candidates.c[f"holds_{i}"]
        weight = weight + holds_i * sa.func.ln(
            1.0 + total / sa.func.greatest(sa.func.sum(holds_i).over(), 1.0)
        )
        held = held + holds_i
    # BM25's length normalisation with a term frequency of 1 (k1 = 1.2, b = 0.75): a word found in a
    # short message says more about it than one found in a long one.
    length = candidates.c.lexemes / sa.func.greatest(sa.func.avg(candidates.c.lexemes).over(), 1.0)
    scored = sa.select(
        candidates.c.id,
        (weight * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * length))).label("score"),
        held.label("held"),
        candidates.c.density,
    ).subquery()
    return (
        sa.select(scored.c.id, scored.c.score)
        .where(scored.c.held >= needed)
        .order_by(scored.c.score.desc(), scored.c.density.desc(), scored.c.id)
    )


def _query(term: str) -> sa.ColumnElement[Any]:
    return sa.func.plainto_tsquery(_ENGLISH, sa.literal(term, sa.Text))


def _any_of(queries: list[Any]) -> sa.ColumnElement[Any]:
    """A `tsquery` matching what any of `queries` matches."""
    query: sa.ColumnElement[Any] = queries[0]
    for other in queries[1:]:
        query = query.op("||")(other)
    return query
