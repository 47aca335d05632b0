"""The words side in stores where words are common: the rarest words find (`memory.rare_words`), and
the top results are the ones an unpruned ranking gives where they must be (exact codes, rare words,
filters), on both backends; on SQLite they are checked against FTS5's own BM25 over all the query's
words."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from memory import MemoryManager
from memory.fts5_ranking import fts5_query, split_words
from memory.fulltext import query_terms, query_words
from memory.rare_words import MIN_COMMON, Split
from memory.testing import FakeEmbedder
from memory.tsvector_ranking import split_terms

pytestmark = pytest.mark.both_backends

# More messages than MIN_COMMON hold the common words, so they are stopwords of the store on
# SQLite; a few hold rare ones. The words are not English, so no stopword list knows them.
FILLERS = MIN_COMMON + 150
COMMON = "pèx daux schirraus nou"


@pytest.fixture
def store(memory_manager: MemoryManager) -> dict[str, int]:
    """Conversation ids and message ids of a store of common words with a few rare ones."""
    first = memory_manager.create_conversation("first")
    second = memory_manager.create_conversation("second")
    fillers = [
        {"role": ("user", "assistant")[i % 2], "content": f"{COMMON} zöt{i % 40} filler {i}"}
        for i in range(FILLERS)
    ]
    memory_manager.add_messages(first.id, fillers[: FILLERS // 2])
    memory_manager.add_messages(second.id, fillers[FILLERS // 2 :])
    rare = [
        ("code", first.id, "user", f"{COMMON} claim CLM-8042-41837 was rejected"),
        ("both", first.id, "user", f"{COMMON} wolkenkratzer glühbirne"),
        ("one", first.id, "assistant", f"{COMMON} wolkenkratzer"),
        ("other", second.id, "user", f"{COMMON} glühbirne und wolkenkratzer, wolkenkratzer"),
        ("other_role", second.id, "assistant", f"{COMMON} glühbirne"),
    ]
    ids = {"first": first.id, "second": second.id}
    for label, conversation_id, role, content in rare:
        (message,) = memory_manager.add_messages(conversation_id, [{"role": role, "content": content}])
        ids[label] = message.id
    return ids


def unpruned(manager: MemoryManager, text: str, k: int, where: str = "", **values: object) -> list[int]:
    """FTS5's BM25 over every word of `text`, as the words side ranked before pruning (SQLite)."""
    query = fts5_query(query_words(text))
    with manager.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
                f"WHERE messages_fts MATCH :query {where} ORDER BY rank, m.id LIMIT :k"
            ),
            {"query": query, "k": k, **values},
        ).all()
    return [row[0] for row in rows]


def found(manager: MemoryManager, text: str, k: int = 3, mode: str = "text", **filters: object) -> list[int]:
    return [hit.message.id for hit in manager.search(text, k=k, mode=mode, **filters)]  # type: ignore[arg-type]


def test_an_exact_code_among_common_words_is_found_first(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    for mode in ("text", "hybrid"):
        assert found(memory_manager, f"{COMMON} CLM-8042-41837", mode=mode)[0] == store["code"]
    if memory_manager.engine.dialect.name == "sqlite":
        assert found(memory_manager, f"{COMMON} 41837", k=1) == unpruned(memory_manager, f"{COMMON} 41837", 1)


def test_rare_words_rank_as_bm25_over_all_the_words_ranks_them(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    hits = found(memory_manager, "wolkenkratzer glühbirne", k=5)
    assert set(hits) == {store["both"], store["one"], store["other"], store["other_role"]}
    assert set(hits[:2]) == {store["both"], store["other"]}  # the two that hold both words
    if memory_manager.engine.dialect.name == "sqlite":
        query = f"{COMMON} wolkenkratzer glühbirne"
        assert found(memory_manager, query, k=2) == unpruned(memory_manager, query, 2)
        assert found(memory_manager, "wolkenkratzer glühbirne", k=5) == unpruned(
            memory_manager, "wolkenkratzer glühbirne", 5
        )


def test_filters_apply_to_the_pruned_words_side(memory_manager: MemoryManager, store: dict[str, int]) -> None:
    query = f"{COMMON} wolkenkratzer glühbirne"
    in_second = found(memory_manager, query, k=5, conversation_id=store["second"])
    # First the messages that hold rare words (then, on PostgreSQL, those of common words only).
    assert in_second[0] == store["other"] and set(in_second[:2]) == {store["other"], store["other_role"]}
    users = found(memory_manager, query, k=5, roles="user")
    assert set(users[:2]) == {store["both"], store["other"]}
    assert (
        found(memory_manager, query, k=5, mode="hybrid", conversation_id=store["first"], roles="assistant")[0]
        == store["one"]
    )
    if memory_manager.engine.dialect.name == "sqlite":
        # The messages that hold only stopwords of the store are left out; the others rank as before.
        assert (
            in_second
            == unpruned(memory_manager, query, 5, "AND m.conversation_id = :c", c=store["second"])[:2]
        )
        assert users == unpruned(memory_manager, query, 5, "AND m.role = 'user'")[:2]


def test_a_filter_that_keeps_none_of_the_rarest_words_messages_still_finds(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    """The rarest word is only in the first conversation; in the second, the next one finds."""
    hits = found(memory_manager, "claim wolkenkratzer", k=5, conversation_id=store["second"])
    assert hits == [store["other"]]


def test_the_store_s_common_words_are_its_stopwords(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    query = f"{COMMON} wolkenkratzer glühbirne zöt7"
    with memory_manager.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            split = split_words(connection, query_words(query))
        else:
            split = split_terms(connection, query_terms(query))
    assert split.finding == ("wolkenkratzer", "glühbirne", "zöt7")  # rarest first
    assert split.scoring == ()
    assert split.counts["pèx"] == split.common  # counted only up to the threshold
    # A query of common words only is found by them (they are in fewer than 8x the threshold)...
    assert len(found(memory_manager, COMMON, k=5)) == 5
    # ...but a hybrid search's words side, which needs half the words held, finds nothing for it
    # (it would rank the messages that hold one stopword): the vector side finds alone.
    hybrid = memory_manager.search(COMMON, k=5, mode="hybrid")
    assert len(hybrid) == 5 and all(hit.sources == {"vector"} for hit in hybrid)
    with_rare = memory_manager.search(f"{COMMON} wolkenkratzer", k=5, mode="hybrid")
    assert any("text" in hit.sources for hit in with_rare)


def test_a_query_of_the_most_words_searched_runs(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    """64 words (the most a query searches), each counted and checked in one statement."""
    query = " ".join([*(f"unbekannt{i}" for i in range(70)), COMMON, "wolkenkratzer"])
    assert len(query_words(query)) == 64
    assert found(memory_manager, f"wolkenkratzer {query}", k=5)[0] in {
        store["both"],
        store["one"],
        store["other"],
    }
    assert found(memory_manager, query, k=5) == []  # its known words are beyond the 64th


def _holding(manager: MemoryManager, words: list[str]) -> dict[int, int]:
    """Message id -> how many of `words` its content holds (as a word, any case)."""
    with manager.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, content FROM messages")).all()
    held = {}
    for message_id, content in rows:
        tokens = set(query_words(content))
        held[message_id] = sum(word in tokens for word in words)
    return held


@pytest.mark.parametrize("rare_words", [4, 12])
def test_a_hybrid_words_side_finds_exactly_the_messages_holding_half_the_words(
    memory_manager: MemoryManager, store: dict[str, int], rare_words: int
) -> None:
    """Half the query's rare words (rounded up) must be held: in one index look-up on PostgreSQL up
    to 10 words ("at least m of these"), beyond that by the rarest words and a check per message."""
    from memory.filters import SearchFilter
    from memory.fulltext import search_text
    from memory.sessions import Transactions

    words = [f"selten{i}" for i in range(rare_words)]
    conversation = memory_manager.create_conversation("mixes")
    rng = __import__("random").Random(rare_words)
    memory_manager.add_messages(
        conversation.id,
        [
            {"role": "user", "content": " ".join([COMMON, *rng.sample(words, rng.randint(1, rare_words))])}
            for _ in range(120)
        ],
    )
    needed = -(-rare_words // 2)
    expected = {i for i, held in _holding(memory_manager, words).items() if held >= needed}
    with Transactions(memory_manager.engine).reading() as unit:
        found = search_text(unit, " ".join(words), 1000, SearchFilter(), min_matched=0.5)
    assert expected and {message_id for message_id, _ in found} == expected
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.postgres_only
def test_once_analysed_postgresql_takes_the_words_counts_from_its_statistics(
    memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    """Before ANALYZE every word is counted in the index; after it (the sample is the whole small
    table, so its shares are exact) the column's most common lexemes give the same counts, uncounted."""
    query = query_terms(f"{COMMON} wolkenkratzer glühbirne zöt7")

    def split_counting() -> tuple[Split, list[object]]:
        counted: list[object] = []

        def spy(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
            if "count(*)" in statement and isinstance(parameters, tuple | list):
                counted.extend(parameters)

        with memory_manager.engine.connect() as connection:
            sa.event.listen(connection, "before_cursor_execute", spy)
            return split_terms(connection, query), counted

    with memory_manager.engine.connect() as connection:  # no statistics yet, whatever autovacuum did
        connection.exec_driver_sql("ALTER TABLE messages SET (autovacuum_enabled = false)")
        connection.exec_driver_sql("DELETE FROM pg_statistic WHERE starelid = 'messages'::regclass")
        connection.commit()
    before, counted_before = split_counting()
    with memory_manager.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE messages")
    after, counted_after = split_counting()
    assert before.finding == ("wolkenkratzer", "glühbirne", "zöt7")
    assert after == before
    assert "'pèx'" in counted_before and len(counted_before) == 2 * len(query)
    assert counted_after == []


@pytest.mark.parametrize("space_told", ["before", "after"])
def test_a_hybrid_search_on_a_server_runs_its_words_side_on_another_connection(
    memory_manager: MemoryManager, store: dict[str, int], space_told: str
) -> None:
    """The words side started apart (`WordsApart.start`, before the transaction) gives the hits,
    sources and distances of the one run in the transaction, on another connection. It measures the
    distances of what it found when it was told the space searched before it found them; else the
    search's own connection measures them."""
    import math
    import threading

    from memory.filters import SearchFilter
    from memory.models import EmbeddingSpace
    from memory.search import WordsApart, search_messages
    from memory.sessions import Transactions
    from memory.spaces import open_space
    from memory.transactions import Unit
    from memory.validation import Vector

    told = threading.Event()

    class Told(WordsApart):
        def search_in(self, space: EmbeddingSpace) -> None:
            super().search_in(space)
            told.set()

    transactions = Transactions(memory_manager.engine)

    def alongside(work):  # type: ignore[no-untyped-def]
        def waiting(unit: Unit):  # type: ignore[no-untyped-def]
            assert space_told == "after" or told.wait(10)
            return work(unit)

        return transactions.alongside(waiting)

    measured_by: list[str] = []

    @sa.event.listens_for(memory_manager.engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "embedding <=>" in statement and "ANY" in statement:
            measured_by.append(threading.current_thread().name)

    # The meaning of a filler, the words of rare messages: fusion takes hits of the words alone.
    text = "wolkenkratzer glühbirne CLM-8042-41837"
    vector = Vector(memory_manager.embedder.embed([f"{COMMON} zöt7 filler 7"])[0])
    try:
        with transactions.reading() as unit:
            space = open_space(unit, memory_manager.embedder)
            here = search_messages(unit, space, vector, 5, SearchFilter(), text=text, mode="hybrid")
        measured_by.clear()
        words = Told.start(alongside, vector, text, 5, "hybrid", SearchFilter())
        if words is not None and space_told == "after":
            words.result()  # found before the search began: not measured there
        with transactions.reading() as unit:
            apart = search_messages(
                unit, space, vector, 5, SearchFilter(), text=text, mode="hybrid", words=words
            )
    finally:
        transactions.close()
        sa.event.remove(memory_manager.engine, "before_cursor_execute", seen)
    on_server = memory_manager.engine.dialect.name != "sqlite"
    assert (words is not None) == on_server
    assert [(h.message.id, h.sources) for h in apart] == [(h.message.id, h.sources) for h in here]
    rare = {store[label] for label in ("code", "both", "one", "other", "other_role")}
    assert {h.message.id for h in apart if h.sources == {"text"}} & rare
    assert [h.distance for h in apart] == pytest.approx([h.distance for h in here], abs=1e-6)
    assert not any(math.isnan(h.distance) for h in apart)
    if on_server:
        apart_measured = ["memory-alongside" in name for name in measured_by]
        assert apart_measured == ([True] if space_told == "before" else [False])


def test_hybrid_searches_from_more_threads_than_the_pool_holds_all_finish(
    memory_url: str, fake_embedder: FakeEmbedder, memory_manager: MemoryManager, store: dict[str, int]
) -> None:
    """A words side apart takes a connection only while one is idle: with one connection for six
    threads, every hybrid search still finishes (none waits for a connection its own thread holds)
    with the hits of a search alone."""
    from concurrent.futures import ThreadPoolExecutor

    text = "wolkenkratzer glühbirne CLM-8042-41837"
    alone = [(h.message.id, h.sources) for h in memory_manager.search(text, k=5, mode="hybrid")]
    with MemoryManager(
        memory_url, embedder=fake_embedder, pool_size=1, max_overflow=0, pool_timeout=20
    ) as narrow:

        def search(_: int) -> list[tuple[int, frozenset[str]]]:
            return [(h.message.id, h.sources) for h in narrow.search(text, k=5, mode="hybrid")]

        with ThreadPoolExecutor(6) as threads:
            results = list(threads.map(search, range(24)))
    assert results == [alone] * 24
