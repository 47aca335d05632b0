"""Keyword search over message content: SQLite FTS5 ranked by BM25, PostgreSQL `tsvector` by cover density.

The index is made by migration 0007 and kept in step with every write, in the same transaction: by
triggers on SQLite (an FTS5 table), by the server on PostgreSQL (a GIN expression index).

User text never reaches a query parser: it is split into words here, and each word is either
double-quoted as an FTS5 string (a word holds only letters, digits and underscores, so it cannot
close the quotes) or bound as a parameter of `plainto_tsquery`. Words are ORed: BM25 then ranks
the messages that hold the rarest of them first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.errors import translate_database_errors
from memory.identifiers import FULL_TEXT_TABLE
from memory.models import Message

_T = TypeVar("_T")

#: The words of a query that are searched for (the rest are ignored: a long query is mostly context).
MAX_QUERY_WORDS: Final = 64
#: PostgreSQL indexes the first this-many characters of a message: a `tsvector` cannot exceed 1 MB,
#: which a 1 MiB message of distinct words would. (The same expression is frozen in migration 0007.)
POSTGRES_INDEXED_CHARS: Final = 100_000

_WORD: Final = re.compile(r"\w+")
# English function words: they match most messages, cost the most to look up and rank nothing
# (PostgreSQL's 'english' configuration drops the same words; FTS5's tokenizer keeps them).
_STOPWORD_LIST: Final = (
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can did do does doing don down during each few for from further had has have "
    "having he her here hers herself him himself his how i if in into is it its itself just me more most "
    "my myself no nor not now of off on once only or other our ours ourselves out over own s same she "
    "should so some such t than that the their theirs them themselves then there these they this those "
    "through to too under until up very was we were what when where which while who whom why will with "
    "you your yours yourself yourselves"
)
_STOPWORDS: Final = frozenset(_STOPWORD_LIST.split())
_FTS: Final = sa.table(FULL_TEXT_TABLE, sa.column("rowid"), sa.column("rank"))
_FTS_MATCH: Final[sa.ColumnElement[Any]] = sa.literal_column(FULL_TEXT_TABLE)
_ENGLISH: Final[sa.ColumnElement[Any]] = sa.literal_column("'english'::regconfig")


def query_words(text: str) -> list[str]:
    """The distinct words of `text` worth searching for, lower-cased, in order, at most `MAX_QUERY_WORDS`."""
    words: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group().strip("_")
        if word and word not in _STOPWORDS:
            words.setdefault(word)
            if len(words) == MAX_QUERY_WORDS:
                break
    return list(words)


def fts5_query(words: list[str]) -> str:
    """An FTS5 query matching any of `words` (each quoted as a string, never read as syntax)."""
    return " OR ".join(f'"{word}"' for word in words)


def search_text(
    session: Session,
    text: str,
    k: int,
    *,
    min_matched: float = 0.0,
    conversation_id: int | None = None,
    roles: tuple[str, ...] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[int, float]]:
    """The `k` messages that best match the words of `text`, as `(message_id, score)`, best first.

    A message matches when it holds any of the words, and at least the fraction `min_matched` of
    them (rounded up). The score is BM25 on SQLite and `ts_rank_cd` on PostgreSQL (higher is better;
    the two scales differ). Arguments arrive validated; `since` is inclusive and `until` exclusive.
    """
    words = query_words(text)
    if not words:
        return []
    filters: list[Any] = []
    if conversation_id is not None:
        filters.append(Message.conversation_id == conversation_id)
    if roles is not None:
        filters.append(Message.role.in_(roles))
    if since is not None:
        filters.append(Message.created_at >= since)
    if until is not None:
        filters.append(Message.created_at < until)
    needed = math.ceil(min_matched * len(words))
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        if needed > 1:
            filters.append(_words_held(words, _fts5_holds) >= needed)
        score: sa.ColumnElement[Any] = -_FTS.c.rank  # FTS5's rank is bm25(): more negative is better
        statement = (
            sa.select(Message.id, score)
            .select_from(_FTS.join(Message, Message.id == _FTS.c.rowid))
            .where(_FTS_MATCH.op("MATCH")(fts5_query(words)), *filters)
            .order_by(_FTS.c.rank, Message.id)
        )
    else:
        document = sa.func.to_tsvector(_ENGLISH, sa.func.left(Message.content, POSTGRES_INDEXED_CHARS))
        queries = [sa.func.plainto_tsquery(_ENGLISH, sa.literal(word, sa.Text)) for word in words]
        query: sa.ColumnElement[Any] = queries[0]
        for word_query in queries[1:]:
            query = query.op("||")(word_query)
        if needed > 1:
            filters.append(_words_held(queries, lambda word_query: document.op("@@")(word_query)) >= needed)
        score = sa.func.ts_rank_cd(document, query)
        statement = (
            sa.select(Message.id, score)
            .where(document.op("@@")(query), *filters)
            .order_by(score.desc(), Message.id)
        )
    with translate_database_errors("search message text"):
        rows = connection.execute(statement.limit(k)).all()
    return [(int(message_id), float(value)) for message_id, value in rows]


def _fts5_holds(word: str) -> sa.ColumnElement[bool]:
    """Whether the message holds `word` (the rowids that match it are collected once per statement)."""
    matching = (
        sa.text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :word")
        .bindparams(sa.bindparam("word", fts5_query([word]), unique=True))
        .columns(sa.column("rowid", sa.Integer))
    )
    return Message.id.in_(matching)


def _words_held(words: list[_T], holds: Callable[[_T], sa.ColumnElement[bool]]) -> sa.ColumnElement[int]:
    """How many of `words` a message holds, as an SQL expression."""
    count: sa.ColumnElement[int] = sa.literal(0)
    for word in words:
        count = count + sa.case((holds(word), 1), else_=0)
    return count
