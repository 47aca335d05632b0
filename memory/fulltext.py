"""Keyword search over message content: SQLite FTS5 ranked by BM25, PostgreSQL `tsvector`s ranked
by BM25's weights.

The index is kept in step with every write, in the same transaction: by triggers on SQLite (an
FTS5 table, migration 0007), by the server on PostgreSQL (a stored generated `tsvector` column with a
GIN index, migration 0011).

User text never reaches a query parser: on SQLite it is split into words here, each double-quoted
as an FTS5 string (a word holds only letters, digits and underscores, so it cannot close the
quotes); on PostgreSQL each whitespace-separated piece is bound as a parameter of `plainto_tsquery`,
which reads no operators. On both, the rarest terms find the messages, the other rare ones only
score them, and the store's most common ones are its stopwords (`memory.rare_words`, with
`memory.fts5_ranking` and `memory.tsvector_ranking`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import sqlalchemy as sa

from memory import fts5_ranking, tsvector_ranking
from memory.errors import translate_database_errors
from memory.filters import SearchFilter
from memory.transactions import Work

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


def query_terms(text: str) -> list[str]:
    """The distinct whitespace-separated pieces of `text` that hold a word worth searching for, in
    order, at most `MAX_QUERY_WORDS`. PostgreSQL's parser reads each piece (`2.7.1`, `CLM-8042-41837`,
    `SearchIndexer.exe`) as it read the messages, so a piece matches the messages that hold it."""
    terms: dict[str, None] = {}
    for piece in text.split():
        if query_words(piece):
            terms.setdefault(piece)
            if len(terms) == MAX_QUERY_WORDS:
                break
    return list(terms)


def search_text(
    session: Work, text: str, k: int, where: SearchFilter, *, min_matched: float = 0.0
) -> list[tuple[int, float]]:
    """The `k` messages that best match the words of `text`, as `(message_id, score)`, best first.

    The query's terms are its words on SQLite (FTS5 splits text into words too) and its
    whitespace-separated pieces on PostgreSQL (`query_terms`). A message matches when it holds any
    of them, and at least the fraction `min_matched` of them (rounded up). Higher scores are better;
    the scales of the backends differ. On both, the messages are found by the store's rarest terms
    (`memory.rare_words`: the store's most common terms are its stopwords, other rare terms score
    the messages found). SQLite's score is FTS5's BM25; PostgreSQL, which has no BM25, sums each
    held term's rarity among the messages found (ln(1 + found / found holding it)), scaled by BM25's
    length normalisation, with `ts_rank` breaking ties (`memory.tsvector_ranking`). Arguments were
    made by `memory.validation`.
    """
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    terms = query_words(text) if sqlite else query_terms(text)
    if not terms:
        return []
    filters = where.message_clauses()
    rank = fts5_ranking.rank_messages if sqlite else tsvector_ranking.rank_messages
    with translate_database_errors("search message text"):
        return rank(connection, terms, k, filters, min_matched)


_SECURE_DELETE: Final = "INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', ?)"
_MERGE: Final = "INSERT INTO messages_fts (messages_fts) VALUES ('optimize')"
#: The first SQLite whose FTS5 has the `secure-delete` option.
SECURE_DELETE_SINCE: Final = (3, 42, 0)


@contextmanager
def erasing(connection: sa.Connection) -> Iterator[None]:
    """Inside the block, deleting a message removes its terms from the SQLite full-text index, in
    the segments that hold them (FTS5's `secure-delete` option, on for this block only: it makes
    every delete several times slower); an ordinary delete only masks them until segments merge.
    Before SQLite 3.42 the index is rewritten as one segment after the block instead. The table
    then needs FTS5 of SQLite 3.42 or later to be read."""
    version = tuple(int(part) for part in sqlite3_version(connection).split("."))
    if version < SECURE_DELETE_SINCE:
        yield
        connection.exec_driver_sql(_MERGE)
        return
    connection.exec_driver_sql(_SECURE_DELETE, (1,))
    yield
    connection.exec_driver_sql(_SECURE_DELETE, (0,))


def optimize(connection: sa.Connection) -> None:
    """Merge the SQLite full-text index into one segment, dropping the entries of deleted messages
    (FTS5 keeps them, masked, until segments merge); nothing on PostgreSQL, whose GIN index VACUUM
    cleans."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(_MERGE)


def sqlite3_version(connection: sa.Connection) -> str:
    return str(connection.exec_driver_sql("SELECT sqlite_version()").scalar_one())
