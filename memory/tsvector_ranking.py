"""The words side on PostgreSQL: the rarest terms find the messages, their stored `tsvector`s rank them.

Each term is a whitespace-separated piece of the query, bound as a parameter of `plainto_tsquery`
(which reads no operators): the server's parser reads it as it read the messages, into the
`tsquery` the term stands for. The queries are then only combined, as text the server made, with
`&` and `|`, and bound again.

The terms are split by how many messages hold each (`memory.rare_words`). For the column's most
common lexemes, its statistics (`pg_stats.most_common_elems`, once the table was analysed: a
sample's shares) give the estimate; the other terms are counted in the GIN index up to the common
threshold (each visits the heap rows it holds: GIN has no index-only scans). The store's size is
the planner's row estimate of `messages` (the highest id before the table is first analysed).

A message's score sums, over the finding and scoring terms it holds, each term's rarity among the
messages the query's terms hold (from their counts), scaled by BM25's length normalisation against
the candidates' average (a term held once: k1 = 1.2, b = 0.75), with `ts_rank` breaking ties. When
a message must hold several of the terms (a hybrid search), the GIN index alone finds the messages
that hold enough of them (a `tsquery` of "at least m of these"), so no other message is read; a
query of too many terms for that takes the rarest-first path of `rare_words.rank_rarest_first`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from memory import rare_words
from memory.identifiers import FULL_TEXT_COLUMN, model_name, sql
from memory.models import Message
from memory.rare_words import Split, needed_words, rank_rarest_first

_WORDS_NAME: Final = model_name(FULL_TEXT_COLUMN)
#: The stored `tsvector` of a message, as a column of `Message`'s table.
_WORDS: Final[sa.ColumnElement[Any]] = sa.literal_column(sql("messages.{c}", c=_WORDS_NAME), TSVECTOR)
#: The column's most common lexemes and their shares of the messages (in ANALYZE's sample; the
#: shares end with the least and the greatest of them), none before the table is first analysed.
_SHARES: Final = sql(
    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs FROM pg_stats AS s "
    "JOIN pg_namespace AS n ON n.nspname = s.schemaname "
    "JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = s.tablename "
    "WHERE c.oid = to_regclass('messages') AND s.attname = '{c}'",
    c=_WORDS_NAME,
)
#: Each term's `tsquery` as text, its lexemes (the first, and how many), with the store's size and
#: how many times the table was analysed: one statement of fixed text for any number of terms.
_TERMS: Final = (
    "WITH messages_table AS MATERIALIZED (SELECT to_regclass('messages') AS oid) "
    "SELECT plainto_tsquery('english', t.term)::text, l.lexemes[1], cardinality(l.lexemes), "
    "(SELECT reltuples FROM pg_class WHERE oid = (SELECT oid FROM messages_table)), "
    "(SELECT max(id) FROM messages), "
    "(SELECT pg_stat_get_analyze_count(oid) + pg_stat_get_autoanalyze_count(oid) FROM messages_table) "
    "FROM unnest(%s::text[]) WITH ORDINALITY AS t(term, position) "
    "CROSS JOIN LATERAL (SELECT tsvector_to_array(to_tsvector('english', t.term)) AS lexemes) AS l "
    "ORDER BY t.position"
)
#: Where a pooled connection keeps the statistics it read, with the table's analyse count then.
_SHARES_KEY: Final = "memory.lexeme_shares"
# Counting terms: a statement of a variable number of terms, run as driver SQL (compiling each shape
# costs more than running it). Only fixed text and `%s` marks; every value is bound.
_COUNT_UP_TO: Final = sql(
    "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE {c} @@ %s::tsquery LIMIT %s) AS held)",
    c=_WORDS_NAME,
)
#: The most terms a "held at least m of these" query is written with (beyond, the rarest find).
MAX_TOGETHER_TERMS: Final = 512


def rank_messages(
    connection: sa.Connection, terms: list[str], k: int, filters: list[Any], min_matched: float
) -> list[tuple[int, float]]:
    """The `k` best messages for `terms` (any of them, at least the fraction `min_matched` of those
    searched, rounded up), as `(id, score)`, best first.

    `terms` are distinct and non-empty; `filters` are conditions on `Message`.
    """
    queries, split = _split(connection, terms)
    if not queries:
        return []
    words = [*split.finding, *split.scoring]
    weights = _weights(split, words)
    ranking = _ranking(len(words), filters) if filters else _unfiltered(len(words))
    terms_values: dict[str, Any] = {f"q{i}": queries[word] for i, word in enumerate(words)}
    terms_values |= {f"w{i}": weight for i, weight in enumerate(weights)}

    def rank(finding: list[str], needed: int, found_by: str) -> list[tuple[int, float]]:
        values = {
            **terms_values,
            "finding": found_by,
            "any": _any_of([queries[word] for word in finding]),
            "needed": needed,
            "k": k,
        }
        return [(int(message_id), float(score)) for message_id, score in connection.execute(ranking, values)]

    needed = needed_words(split, min_matched)
    if needed > 1:
        together = _at_least(needed, [queries[word] for word in words])
        if together is not None:
            return rank(words, needed, together)
    return rank_rarest_first(
        split,
        k,
        min_matched,
        lambda _, finding, scoring, needed: rank(
            finding + scoring, needed, _any_of([queries[word] for word in finding])
        ),
    )


def split_terms(connection: sa.Connection, terms: list[str]) -> Split:
    """The terms by part, from how many messages hold each (counted up to the common threshold,
    unless the column's statistics show a term above it). `terms` hold at least one the server's
    parser does not read as a stopword."""
    return _split(connection, terms)[1]


@dataclass(frozen=True, slots=True)
class _Shares:
    """The column's statistics as a connection read them: each most common lexeme's share of the
    messages, the least of those shares, and the table's analyse count when they were read."""

    of: dict[str, float]
    least: float | None
    analysed: int


def _split(connection: sa.Connection, terms: list[str]) -> tuple[dict[str, str], Split]:
    """Each term's `tsquery` (as text), and the terms by part. A term the server's parser reads as
    stopwords only (an empty `tsquery`) is left out."""
    rows = connection.exec_driver_sql(_TERMS, (terms,)).all()  # a row per term: `terms` is not empty
    _, _, _, estimate, highest, analysed = rows[0]
    # The planner's estimate once the table was analysed (or vacuumed), else the highest id.
    messages = int(estimate) if estimate is not None and estimate > 0 else int(highest or 0)
    shares = _lexeme_shares(connection, int(analysed or 0))
    queries = {term: row[0] for term, row in zip(terms, rows, strict=True) if row[0]}
    known = {}
    for term, (_, lexeme, lexemes, *_) in zip(terms, rows, strict=True):
        if term in queries and lexemes == 1 and lexeme in shares.of:
            known[term] = round(shares.of[lexeme] * messages)
    # A lexeme left out of the most common ones is in fewer messages than the least common of them.
    one_lexeme_each = all(row[2] == 1 for term, row in zip(terms, rows, strict=True) if term not in known)
    others_below = round(shares.least * messages) if shares.least and one_lexeme_each else None

    def count(words: list[str], cap: int) -> dict[str, int]:
        statement = "SELECT " + ", ".join([_COUNT_UP_TO] * len(words))
        values = tuple(value for word in words for value in (queries[word], cap))
        row = connection.exec_driver_sql(statement, values).one()
        return {word: int(held) for word, held in zip(words, row, strict=True)}

    return queries, rare_words.split_words(list(queries), messages, count, known, others_below)


def _lexeme_shares(connection: sa.Connection, analysed: int) -> _Shares:
    """The column's statistics, read again only when the table was analysed since this pooled
    connection last read them (about 1,000 lexemes: reading them cost more than the rest of a
    search by words)."""
    info = connection.connection.info  # the pooled connection's own, kept across checkouts
    kept = info.get(_SHARES_KEY)
    if isinstance(kept, _Shares) and kept.analysed == analysed:
        return kept
    row = connection.exec_driver_sql(_SHARES).first()
    if row is None or row[0] is None:
        shares = _Shares({}, None, analysed)
    else:
        lexemes, frequencies = row
        least = frequencies[len(lexemes)] if len(frequencies) > len(lexemes) else None
        shares = _Shares(dict(zip(lexemes, frequencies, strict=False)), least, analysed)
    info[_SHARES_KEY] = shares
    return shares


def _ranking(terms: int, filters: list[Any]) -> sa.Select[Any]:
    """The messages `finding` (a `tsquery`) gives that pass `filters` and hold at least `needed` of
    the `terms` queries `q0`, `q1`, ... (weighing `w0`, `w1`, ...), best first, at most `k`, with
    their score. Every `tsquery` is a parameter of that type, read once per statement."""
    queries = [_WORDS.op("@@")(sa.bindparam(f"q{i}", type_=TSQUERY)) for i in range(terms)]
    held = sum((sa.case((query, 1), else_=0) for query in queries), sa.literal(0))
    weight = sum(
        (
            sa.case((query, sa.bindparam(f"w{i}", type_=sa.Float)), else_=0.0)
            for i, query in enumerate(queries)
        ),
        sa.literal(0.0),
    )
    candidates = (
        sa.select(
            Message.id.label("id"),
            weight.label("weight"),
            sa.cast(sa.func.length(_WORDS), sa.Float).label("lexemes"),
            sa.func.ts_rank(_WORDS, sa.bindparam("any", type_=TSQUERY)).label("density"),
        )
        .where(
            _WORDS.op("@@")(sa.bindparam("finding", type_=TSQUERY)),
            held >= sa.bindparam("needed", type_=sa.Integer),
            *filters,
        )
        .subquery()
    )
    # BM25's length normalisation with a term frequency of 1 (k1 = 1.2, b = 0.75): a word found in a
    # short message says more about it than one found in a long one.
    average = sa.func.avg(candidates.c.lexemes, type_=sa.Float).over()
    length = candidates.c.lexemes / sa.func.greatest(average, 1.0, type_=sa.Float)
    scored = sa.select(
        candidates.c.id,
        (candidates.c.weight * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * length))).label("score"),
        candidates.c.density,
    ).subquery()
    return (
        sa.select(scored.c.id, scored.c.score)
        .order_by(scored.c.score.desc(), scored.c.density.desc(), scored.c.id)
        .limit(sa.bindparam("k", type_=sa.Integer))
    )


@cache
def _unfiltered(terms: int) -> sa.Select[Any]:
    """`_ranking` without filters, built once per number of terms (building it cost about as much
    as running it)."""
    return _ranking(terms, [])


def _weights(split: Split, words: list[str]) -> list[float]:
    """Each word's weight: its rarity among the messages the query's words hold (counted once per
    word), ln(1 + held by all / held by it). (BM25's idf over the whole store ranked worse on
    bench/quality.py's queries by words alone: recall@5 0.592 against 0.632, MRR 0.691 against
    0.702; hybrid search the same.)"""
    pool = max(sum(split.counts[word] for word in words), 1)
    return [math.log(1.0 + pool / max(split.counts[word], 1)) for word in words]


def _any_of(queries: list[str]) -> str:
    """A `tsquery` (as text) matching what any of `queries` matches."""
    return " | ".join(f"( {query} )" for query in queries)


def _at_least(needed: int, queries: list[str]) -> str | None:
    """A `tsquery` (as text) matching what at least `needed` (>= 1) of `queries` match together,
    or None if it takes more than `MAX_TOGETHER_TERMS` terms to write.

    At least m of q1..qn: (q1 & at least m - 1 of q2..qn) | at least m of q2..qn; the index
    evaluates it per message with short cuts, so a message is checked in about n * m steps."""

    @cache
    def size(m: int, start: int) -> int:
        left = len(queries) - start
        if m == 1 or m == left:
            return left
        return 1 + size(m - 1, start + 1) + size(m, start + 1)

    if needed > len(queries) or size(needed, 0) > MAX_TOGETHER_TERMS:
        return None

    def written(m: int, start: int) -> str:
        rest = queries[start:]
        if m == 1:
            return _any_of(rest)
        if m == len(rest):
            return "( " + " & ".join(f"( {query} )" for query in rest) + " )"
        return f"( ( {rest[0]} ) & ( {written(m - 1, start + 1)} ) ) | {written(m, start + 1)}"

    return written(needed, 0)
