"""Search over the active space: by meaning (nearest vectors), by words (full-text), or both fused."""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Literal

from memory.conversations import ConversationRepository
from memory.filters import SearchFilter
from memory.fulltext import search_text
from memory.fusion import reciprocal_rank_fusion
from memory.models import EmbeddingSpace, Message
from memory.transactions import Alongside, Unit, Work
from memory.validation import MAX_K, Vector
from memory.vectors import VectorRepository
from memory.vectors.indexes import IndexCache

SearchMode = Literal["vector", "text", "hybrid"]
SEARCH_MODES: Final = ("vector", "text", "hybrid")
#: How deep each side of a hybrid search looks before fusing: a message ranked 40th by words and
#: 10th by meaning can beat one that only a single side ranks first.
HYBRID_DEPTH: Final = 50
#: In a hybrid search, the words side only votes for messages that hold at least half the query's
#: words: otherwise one shared common word ranks a message there, and fusion rewards messages both
#: sides found over the nearest paraphrase (the words side alone still ranks partial matches).
HYBRID_MIN_MATCHED: Final = 0.5

_VECTOR: Final = frozenset({"vector"})


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message found by a search.

    `distance` is the cosine distance between the query and the message's vector (`score` is
    1 - distance), whichever side found it; nan when the message has no vector in the active space,
    and in a text-mode search, which runs no model.
    `sources` says which side(s) found it: "vector", "text" or both. `text_score` is the full-text
    relevance (BM25 on SQLite, term rarity on PostgreSQL; higher is better) when words found it,
    and `fusion_score` the Reciprocal Rank Fusion score in hybrid searches.
    """

    message: Message
    distance: float
    sources: frozenset[str] = _VECTOR
    text_score: float | None = None
    fusion_score: float | None = None
    #: The tier of the message's conversation ("full", "key_points", "summary", "metadata"): below
    #: full, the message is one that stands for the archived conversation (`memory.lifecycle.compact`).
    tier: str = "full"
    #: The title of the message's conversation (read with the message).
    conversation_title: str | None = None

    @property
    def score(self) -> float:
        return 1.0 - self.distance


def search_messages(
    session: Work,
    space: EmbeddingSpace,
    query: Vector | None,
    k: int,
    where: SearchFilter,
    *,
    text: str | None = None,
    mode: SearchMode = "vector",
    indexes: IndexCache | None = None,
    words: WordsApart | None = None,
) -> list[SearchHit]:
    """The best `k` messages for the query in `space`, loaded in the same transaction.

    `query` is the query's embedding; `text` its words (needed by "text" and "hybrid"; "hybrid"
    without text is a vector search). Every argument was made by `memory.validation`. `indexes`
    picks the in-memory index (or the server's approximate one) the vector side searches with.
    `words` is a hybrid search's words side already started elsewhere (`WordsApart.start`).
    """
    index = None if indexes is None else indexes.for_space(space)
    approximate = indexes is not None and indexes.approximate
    vectors = VectorRepository(session, space, index=index, approximate=approximate)
    if mode == "text" and text is not None:
        matches = search_text(session, text, k, where)
        distances = _distances(vectors, query, [message_id for message_id, _ in matches])
        return _hits(
            session,
            where,
            [
                (message_id, distances[message_id], frozenset({"text"}), score, None)
                for message_id, score in matches
            ],
        )
    if query is None:
        raise ValueError("only a text search runs without a query vector")
    if mode == "vector" or text is None:
        nearest = vectors.nearest(query, k, where)
        return _hits(
            session, where, [(message_id, distance, _VECTOR, None, None) for message_id, distance in nearest]
        )
    depth = _hybrid_depth(k)
    measured: dict[int, float] | None = None
    if words is not None:
        words.search_in(space)
        nearest = vectors.nearest(query, depth, where, precise=k)
        matches, measured = words.result()
    else:
        # The words side runs on this thread while the in-memory index scans the vectors on its own.
        nearest, matches = vectors.nearest_with(
            query,
            depth,
            where,
            lambda: search_text(session, text, depth, where, min_matched=HYBRID_MIN_MATCHED),
            precise=k,
        )
    fused = reciprocal_rank_fusion(
        {
            "vector": [message_id for message_id, _ in nearest],
            "text": [message_id for message_id, _ in matches],
        },
        k,
    )
    known = dict(nearest)
    text_scores = dict(matches)
    if measured is None:
        measured = _distances(vectors, query, [hit.item for hit in fused if hit.item not in known])
    return _hits(
        session,
        where,
        [
            (
                hit.item,
                known[hit.item] if hit.item in known else measured[hit.item],
                hit.sources,
                text_scores.get(hit.item),
                hit.score,
            )
            for hit in fused
        ],
    )


class WordsApart:
    """A hybrid search's words side, started on a connection of its own (`start`: on a server) once
    the caller's transaction holds its connection, for `search_messages(words=...)` to take while
    that connection searches the vectors. It reads what is committed, as the caller's transaction
    does (not what the caller's transaction wrote: start it in one that only reads).

    `search_messages` tells it the space it searches (`search_in`); if it knows it by the time it has
    found its messages (it usually does: the space is read first), it measures their distances to
    the query there too, on its own connection."""

    def __init__(self) -> None:
        self._space: EmbeddingSpace | None = None
        self._found: Future[tuple[list[tuple[int, float]], dict[int, float] | None]]

    @classmethod
    def start(
        cls,
        alongside: Alongside,
        query: Vector | None,
        text: str | None,
        k: int,
        mode: SearchMode,
        where: SearchFilter,
    ) -> WordsApart | None:
        """The words side started, or None (nothing started) for any search but a hybrid one, and
        when `alongside` has no connection to spare (and on SQLite)."""
        if mode != "hybrid" or text is None or query is None:
            return None
        words = cls()
        depth = _hybrid_depth(k)

        def find(unit: Unit) -> tuple[list[tuple[int, float]], dict[int, float] | None]:
            matches = search_text(unit, text, depth, where, min_matched=HYBRID_MIN_MATCHED)
            space = words._space
            if space is None:
                return matches, None
            ids = [message_id for message_id, _ in matches]
            return matches, _distances(VectorRepository(unit, space), query, ids)

        found = alongside(find)
        if found is None:
            return None
        words._found = found
        return words

    def search_in(self, space: EmbeddingSpace) -> None:
        """The space searched, for the distances (called by `search_messages`)."""
        self._space = space

    def result(self) -> tuple[list[tuple[int, float]], dict[int, float] | None]:
        """The messages found, and their distances in the space searched if they were measured."""
        return self._found.result()


def _hybrid_depth(k: int) -> int:
    return min(MAX_K, max(k, HYBRID_DEPTH))


def _distances(vectors: VectorRepository, query: Vector | None, message_ids: list[int]) -> dict[int, float]:
    """Cosine distances from `query` to the stored vectors of `message_ids` (nan where none is stored,
    and for all of them without a query vector)."""
    found = {} if query is None else vectors.distances(query, message_ids)
    return {message_id: found.get(message_id, math.nan) for message_id in message_ids}


def _hits(
    session: Work,
    where: SearchFilter,
    found: Iterable[tuple[int, float, frozenset[str], float | None, float | None]],
) -> list[SearchHit]:
    """The hits' messages with their conversations' tiers and titles, loaded through the filter's
    owner (one query): a vector found by its owner key is confirmed on the owner's real ids here."""
    rows = list(found)
    messages = ConversationRepository(session, owner=where.owner).hit_messages([row[0] for row in rows])
    hits = []
    for message_id, distance, sources, text_score, fusion_score in rows:
        if message_id in messages:
            message, tier, title = messages[message_id]
            hits.append(SearchHit(message, distance, sources, text_score, fusion_score, tier, title))
    return hits
