"""Copy a whole store into another database (SQLite to PostgreSQL and back, or between two of a
kind): every conversation with its owners, tier and summary, every message, every embedding space
with its vectors as stored (nothing is embedded again); resumable, and verified at the end.

How it goes:

- The source is read in one snapshot (one transaction for the whole run) and must be at the
  package's newest revision; it is never written.
- The destination is created or upgraded by the package's own migrations. Empty, it gets the
  source's embedding spaces (ids, models, active flag) and every row keeps its id. Holding rows of
  its own, it is refused (`DestinationNotEmptyError`, nothing written), unless those rows are an
  unfinished copy of this source (the same rows under the same ids): the copy then goes on after
  the last conversation copied.
- With `merge=True` a destination holding rows of its own is added to: the source's spaces are
  matched by model (its active space must be the destination's), a conversation the destination
  already holds with the same content is skipped, and the others keep their ids where they are
  free, else take new ones (a conversation's messages all keep theirs or all take new ones).
- Conversations are copied in id order, in batches of about `batch_size` messages; each batch (its
  conversations, messages and vectors) is one transaction in the destination, so a copy killed at
  any moment leaves whole conversations, and running it again carries on.
- At the end every table is read again on both sides: counts and a content checksum per table
  (`TableCheck`), in the report; a difference raises `CopyVerificationError`.

Archive files of conversations below the full tier are not copied: the report counts those
conversations, and their archive directory is copied as files (see the README).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from memory.bulk import insert_columns
from memory.checksums import (
    CONVERSATION_CONTENT,
    CONVERSATIONS,
    MESSAGE_CONTENT,
    MESSAGES,
    SPACE_CONTENT,
    SPACES,
    Row,
    TableCheck,
    TableHash,
    conversation_digest,
    encode,
    encode_vector,
)
from memory.engine import create_engine, database_url, session_factory, sqlite_file, store_schema
from memory.errors import (
    CopyVerificationError,
    DestinationNotEmptyError,
    DuplicateError,
    EmbeddingSpaceError,
    ValidationError,
    translate_database_errors,
)
from memory.ids import allocate_ids
from memory.migration import current_revision, describe, ensure_schema, head_revision, require_head
from memory.models import EmbeddingSpace
from memory.owners import Owner, key_columns
from memory.validation import Matrix, check_count, check_flag
from memory.vectors import VectorRepository, store_for
from memory.vectors.base import VectorColumns
from memory.vectors.repository import epoch_column

#: Messages per destination transaction, by default and at most.
DEFAULT_BATCH_SIZE: Final = 2000
MAX_BATCH_SIZE: Final = 20_000
#: Conversations read per query (they are then cut into batches by their messages).
_PAGE: Final = 500
_BACKENDS: Final = ("sqlite", "postgresql")
_ADVANCE_SEQUENCE: Final = sa.text(
    "SELECT setval(s::regclass, greatest(:top, coalesce(pg_sequence_last_value(s::regclass), 0))) "
    "FROM (SELECT pg_get_serial_sequence(:table, 'id') AS s) AS q"
)
_NEXT_IDS: Final = sa.text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')::regclass) FROM generate_series(1, :n)"
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What `copy_store` did, and how the destination compares with the source at the end."""

    source: str
    dest: str
    #: True when the destination held conversations of its own, added to (`merge=True`).
    merged: bool
    #: Written by this run.
    conversations: int
    messages: int
    vectors: int
    #: Conversations the destination held already: copied by an earlier, interrupted run, or (in a
    #: merge) already there with the same content.
    skipped: int
    #: Conversations below the full tier, whose messages are in archive files this copy leaves out.
    archived: int
    #: Counts and content checksums per table, source against destination (in a merge, against
    #: the destination's copies of the source's rows).
    tables: tuple[TableCheck, ...]

    @property
    def verified(self) -> bool:
        return all(check.ok for check in self.tables)


def copy_store(
    source: str | os.PathLike[str] | Engine,
    dest: str | os.PathLike[str] | Engine,
    *,
    merge: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every conversation, message, embedding space and vector of `source` into `dest` (URLs,
    SQLite file paths or engines), ids kept; see the module's notes. `progress(done, total)` is
    called after each batch, in messages. Raises `DestinationNotEmptyError` for a destination with
    data of its own unless `merge`, and `CopyVerificationError` if the copy does not check out."""
    merge = check_flag(merge, "merge")
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    if batch_size > MAX_BATCH_SIZE:
        raise ValidationError(f"batch_size must be at most {MAX_BATCH_SIZE}, not {batch_size}")
    with _engine(source, "source", create=False) as source_engine:
        with translate_database_errors(f"open {describe(source_engine)}"), source_engine.connect() as c:
            require_head(c)
        with _engine(dest, "destination", create=True) as dest_engine:
            _refuse_same(source_engine, dest_engine)
            action = f"copy {describe(source_engine)} to {describe(dest_engine)}"
            with translate_database_errors(action), _snapshot(source_engine) as reading:
                return _Copy(reading, dest_engine, batch_size, progress).run(merge)


class _Conversation(NamedTuple):
    row: Row
    messages: list[Row]


class _Copy:
    def __init__(
        self, reading: Session, dest_engine: Engine, batch_size: int, progress: Progress | None
    ) -> None:
        self._source = reading
        self._dest_engine = dest_engine
        self._writing = session_factory(dest_engine, write=True)
        self._reading = session_factory(dest_engine)
        self._batch_size = batch_size
        self._progress = progress
        #: Source space -> its destination space, once known.
        self._spaces: list[tuple[EmbeddingSpace, EmbeddingSpace]] = []
        self._merge = False

    def run(self, merge: bool) -> CopyReport:
        held = self._prepare_destination(merge)
        self._merge = held and merge
        start = 0
        if held and not merge:
            start = self._resume_point()
        elif self._merge:
            self._map_spaces()
            self._refuse_conflicts()
        else:
            self._mirror_spaces()
        copied = self._copy_from(start)
        tables = self._checks(upto=None)
        report = CopyReport(
            source=describe(self._source.get_bind().engine),
            dest=describe(self._dest_engine),
            merged=self._merge,
            conversations=copied[0],
            messages=copied[1],
            vectors=copied[2],
            skipped=copied[3],
            archived=self._archived(),
            tables=tuple(tables),
        )
        if not report.verified:
            wrong = ", ".join(
                f"{t.table} ({t.source_rows} rows in the source, {t.dest_rows} in the destination"
                f"{'' if t.source_rows != t.dest_rows else ', different content'})"
                for t in tables
                if not t.ok
            )
            raise CopyVerificationError(
                f"the copy in {report.dest} does not match {report.source}: {wrong}; was either "
                "written meanwhile? Run the copy again (it carries on), or start it into an empty one"
            )
        return report

    # -- the destination before anything is copied ------------------------------------------------------

    def _prepare_destination(self, merge: bool) -> bool:
        """Bring the destination to the newest schema and tell whether it holds rows of its own;
        refuse (before any change) one that does and is behind, unless merging."""
        with self._dest_engine.connect() as connection:
            revision = current_revision(connection)
            held = revision is not None and _holds_rows(connection)
        if held and not merge and revision != head_revision():
            raise self._not_empty("it is at an older schema revision")
        ensure_schema(self._dest_engine, migrate=None)
        if held:
            return True
        with self._reading() as session:
            return any(VectorRepository(session, space).count() for space in _spaces(session))

    def _not_empty(self, why: str) -> DestinationNotEmptyError:
        return DestinationNotEmptyError(
            f"{describe(self._dest_engine)} already holds conversations, messages or vectors that are "
            f"not an unfinished copy of {describe(self._source.get_bind().engine)} ({why}); nothing was "
            "written: copy into an empty database, or pass merge=True (--merge) to add to it"
        )

    def _resume_point(self) -> int:
        """The last conversation id of an unfinished copy of this source in the destination (which
        must hold exactly the source's first conversations, its spaces and nothing else)."""
        source_spaces = _spaces(self._source)
        with self._reading() as session:
            dest_spaces = _spaces(session)
            last = session.execute(sa.select(sa.func.max(CONVERSATIONS.c.id))).scalar_one()
        if [_space_row(s) for s in source_spaces] != [_space_row(s) for s in dest_spaces]:
            raise self._not_empty("its embedding spaces differ")
        self._spaces = list(zip(source_spaces, dest_spaces, strict=True))
        if last is None or not all(check.ok for check in self._checks(upto=int(last))):
            raise self._not_empty("its rows differ from the source's")
        return int(last)

    def _mirror_spaces(self) -> None:
        """Give an empty destination the source's embedding spaces, ids and all (one transaction;
        its own empty spaces are dropped or taken over)."""
        source_spaces = _spaces(self._source)
        with self._writing() as session, session.begin():
            connection = session.connection()
            present = {space.id: space for space in _spaces(session)}
            connection.execute(sa.update(SPACES).values(is_active=False))
            mirrored: list[EmbeddingSpace] = []
            for space in source_spaces:
                held = present.pop(space.id, None)
                values = {column: getattr(space, column) for column in (*SPACE_CONTENT, "created_at")}
                if held is None:
                    connection.execute(sa.insert(SPACES).values(id=space.id, is_active=False, **values))
                elif held.dimensions != space.dimensions:
                    store_for(session, held).drop()
                if held is None or held.dimensions != space.dimensions:
                    store_for(session, _detached_space(space)).create()
                connection.execute(sa.update(SPACES).where(SPACES.c.id == space.id).values(**values))
                mirrored.append(_detached_space(space))
            for leftover in present.values():
                store_for(session, leftover).drop()
                connection.execute(sa.delete(SPACES).where(SPACES.c.id == leftover.id))
            active = [space.id for space in source_spaces if space.is_active]
            connection.execute(sa.update(SPACES).where(SPACES.c.id.in_(active)).values(is_active=True))
            _advance_sequences(connection, [SPACES])
        self._spaces = list(zip(source_spaces, mirrored, strict=True))

    def _map_spaces(self) -> None:
        """A merge: each source space goes to the destination's space of the same model (created
        when there is none); the source's active space must be the destination's."""
        source_spaces = _spaces(self._source)
        with self._reading() as session:
            dest_spaces = _spaces(session)
        by_model = {_model_of(space): space for space in dest_spaces}
        for space in source_spaces:
            found = by_model.get(_model_of(space))
            if space.is_active and (found is None or not found.is_active):
                active = next((s for s in dest_spaces if s.is_active), None)
                raise EmbeddingSpaceError(
                    f"the source's vectors were made by {space.model!r} ({space.dimensions} dimensions) and "
                    f"the destination's by {active.model if active else None!r}; nothing was written: "
                    "reindex one of them to the other's model first (`memory reindex --model NAME`)"
                )
        with self._writing() as session, session.begin():
            for space in source_spaces:
                found = by_model.get(_model_of(space))
                if found is None:
                    values = {column: getattr(space, column) for column in (*SPACE_CONTENT, "created_at")}
                    new = session.execute(
                        sa.insert(SPACES).values(is_active=False, **values).returning(SPACES.c.id)
                    ).scalar_one()
                    found = _detached_space(space, space_id=int(new))
                    store_for(session, found).create()
                    by_model[_model_of(space)] = found
                self._spaces.append((space, found))

    def _refuse_conflicts(self) -> None:
        """A merge: a source conversation whose owner and source id the destination holds with
        other content cannot be added (the source id is unique per owner); say which, first."""
        conflicts: list[str] = []
        with self._reading() as session:
            connection = session.connection()
            for batch in self._batches(0, None, only_sourced=True):
                for conversation in batch:
                    row = conversation.row
                    clauses = [
                        sa.func.coalesce(CONVERSATIONS.c.user_id, "") == (row["user_id"] or ""),
                        sa.func.coalesce(CONVERSATIONS.c.agent_id, "") == (row["agent_id"] or ""),
                        CONVERSATIONS.c.source_id == row["source_id"],
                    ]
                    held = _first(
                        connection.execute(sa.select(CONVERSATIONS).where(*clauses)).mappings().first()
                    )
                    if held is None:
                        continue
                    messages = _messages_of(connection, [held["id"]]).get(held["id"], [])
                    if conversation_digest(held, messages) != _digest(conversation):
                        conflicts.append(f"{row['source_id']!r} (conversation {row['id']})")
        if conflicts:
            raise DuplicateError(
                f"{describe(self._dest_engine)} holds other conversations with the owners and source ids of "
                f"{len(conflicts)} of the source's: {', '.join(conflicts[:5])}; nothing was written"
            )

    # -- copying ------------------------------------------------------------------------------------------

    def _copy_from(self, start: int) -> tuple[int, int, int, int]:
        total = _count(self._source.connection(), MESSAGES)
        done = _count(self._source.connection(), MESSAGES, upto=start) if start else 0
        copied = [0, 0, 0, 0]
        skipped = _count(self._source.connection(), CONVERSATIONS, upto=start) if start else 0
        if self._progress is not None:
            self._progress(done, total)
        for batch in self._batches(start, None):
            with self._writing() as session, session.begin():
                written = self._write(session, batch)
            copied = [a + b for a, b in zip(copied, written, strict=True)]
            done += sum(len(c.messages) for c in batch)
            if self._progress is not None:
                self._progress(done, total)
        return copied[0], copied[1], copied[2], copied[3] + skipped

    def _write(self, session: Session, batch: list[_Conversation]) -> tuple[int, int, int, int]:
        """One batch in one destination transaction: conversations, messages, then vectors."""
        connection = session.connection()
        skipped = 0
        if self._merge:
            found = self._counterparts(connection, batch)
            batch = [c for c, held in zip(batch, found, strict=True) if held is None]
            skipped = len(found) - len(batch)
        if not batch:
            return 0, 0, 0, skipped
        conversation_ids = self._insert_conversations(connection, batch)
        message_ids = self._insert_messages(connection, batch, conversation_ids)
        vectors = 0
        owners = {c.row["id"]: Owner(c.row["user_id"], c.row["agent_id"]) for c in batch}
        messages = [m for c in batch for m in c.messages]
        for source_space, dest_space in self._spaces:
            found_vectors = VectorRepository(self._source, source_space).fetch([m["id"] for m in messages])
            rows = [m for m in messages if m["id"] in found_vectors]
            if not rows:
                continue
            user_keys, agent_keys = key_columns([owners[m["conversation_id"]] for m in rows])
            columns = VectorColumns(
                ids=np.array([message_ids[m["id"]] for m in rows], dtype=np.int64),
                conversation_ids=np.array([conversation_ids[m["conversation_id"]] for m in rows], np.int64),
                roles=[m["role"] for m in rows],
                created_us=epoch_column([m["created_at"] for m in rows]),
                user_keys=user_keys,
                agent_keys=agent_keys,
            )
            matrix = Matrix(np.stack([found_vectors[m["id"]] for m in rows]).astype(np.float32))
            VectorRepository(session, dest_space).insert(columns, matrix)
            vectors += len(rows)
        return len(batch), len(messages), vectors, skipped

    def _insert_conversations(self, connection: Connection, batch: list[_Conversation]) -> dict[int, int]:
        """Insert the batch's conversations; their destination ids by source id."""
        wanted = [c.row["id"] for c in batch]
        taken = _taken(connection, CONVERSATIONS, wanted) if self._merge else set()
        keep = [c.row for c in batch if c.row["id"] not in taken]
        move = [c.row for c in batch if c.row["id"] in taken]
        ids = {row["id"]: row["id"] for row in keep}
        _insert_rows(connection, CONVERSATIONS, keep)
        if move:
            new_ids = _new_ids(connection, CONVERSATIONS, len(move))
            ids.update(zip((row["id"] for row in move), new_ids, strict=True))
            _insert_rows(connection, CONVERSATIONS, [{**row, "id": ids[row["id"]]} for row in move])
        return ids

    def _insert_messages(
        self, connection: Connection, batch: list[_Conversation], conversation_ids: dict[int, int]
    ) -> dict[int, int]:
        """Insert the batch's messages (a conversation's all keep their ids, or all take new ones, so
        their order stays); their destination ids by source id."""
        wanted = [m["id"] for c in batch for m in c.messages]
        taken = _taken(connection, MESSAGES, wanted) if self._merge else set()
        keep: list[Row] = []
        move: list[Row] = []
        for conversation in batch:
            clash = any(m["id"] in taken for m in conversation.messages)
            (move if clash else keep).extend(conversation.messages)
        ids = {m["id"]: m["id"] for m in keep}
        rows = [{**m, "conversation_id": conversation_ids[m["conversation_id"]]} for m in keep]
        _insert_rows(connection, MESSAGES, rows, staged=True)
        if move:
            ids.update(zip((m["id"] for m in move), _new_ids(connection, MESSAGES, len(move)), strict=True))
            rows = [
                {**m, "id": ids[m["id"]], "conversation_id": conversation_ids[m["conversation_id"]]}
                for m in move
            ]
            _insert_rows(connection, MESSAGES, rows, staged=True)
        _advance_sequences(connection, [CONVERSATIONS, MESSAGES])
        return ids

    def _counterparts(self, connection: Connection, batch: list[_Conversation]) -> list[int | None]:
        """The destination's conversation holding each one's content: the same id, or in a merge,
        one of the same owner and times with the same digest (None: not there)."""
        if not self._merge:
            present = _taken(connection, CONVERSATIONS, [c.row["id"] for c in batch])
            return [c.row["id"] if c.row["id"] in present else None for c in batch]
        found: list[int | None] = []
        for conversation in batch:
            row = conversation.row
            user = CONVERSATIONS.c.user_id
            query = sa.select(CONVERSATIONS).where(
                user.is_(None) if row["user_id"] is None else user == row["user_id"],
                CONVERSATIONS.c.updated_at == row["updated_at"],
                CONVERSATIONS.c.created_at == row["created_at"],
            )
            candidates = [dict(c) for c in connection.execute(query.order_by(CONVERSATIONS.c.id)).mappings()]
            held = _messages_of(connection, [c["id"] for c in candidates]) if candidates else {}
            digest = _digest(conversation)
            match = next(
                (c["id"] for c in candidates if conversation_digest(c, held.get(c["id"], [])) == digest), None
            )
            found.append(match)
        return found

    # -- reading the source -------------------------------------------------------------------------------

    def _batches(
        self, after: int, upto: int | None, *, only_sourced: bool = False
    ) -> Iterator[list[_Conversation]]:
        """The source's conversations after id `after` (up to `upto`), in id order, with their
        messages, in batches of about `batch_size` messages (a longer conversation is a batch)."""
        connection = self._source.connection()
        while True:
            query = sa.select(CONVERSATIONS).where(CONVERSATIONS.c.id > after)
            if upto is not None:
                query = query.where(CONVERSATIONS.c.id <= upto)
            if only_sourced:
                query = query.where(CONVERSATIONS.c.source_id.is_not(None))
            rows = connection.execute(query.order_by(CONVERSATIONS.c.id).limit(_PAGE)).mappings().all()
            if not rows:
                return
            counts = _message_counts(connection, [row["id"] for row in rows])
            taken, size = 0, 0
            while taken < len(rows):
                size += counts.get(rows[taken]["id"], 0)
                if taken and size > self._batch_size:
                    break
                taken += 1
            chosen = rows[:taken]
            messages = _messages_of(connection, [row["id"] for row in chosen])
            yield [_Conversation(dict(row), messages.get(row["id"], [])) for row in chosen]
            after = chosen[-1]["id"]

    def _archived(self) -> int:
        query = sa.select(sa.func.count()).where(CONVERSATIONS.c.tier != "full")
        return int(self._source.execute(query).scalar_one())

    # -- verification ---------------------------------------------------------------------------------------

    def _checks(self, *, upto: int | None) -> list[TableCheck]:
        """Each table of the source (its conversations up to `upto`) against the destination: the
        same rows (ids included) in a copy; in a merge, the destination's copies of them."""
        ids = not self._merge
        hashes: dict[str, tuple[TableHash, TableHash]] = {
            "embedding_spaces": (TableHash(), TableHash()),
            "conversations": (TableHash(), TableHash()),
            "messages": (TableHash(), TableHash()),
        }
        space_columns = ("id", *SPACE_CONTENT, "created_at", "is_active") if ids else SPACE_CONTENT
        for source_space, dest_space in self._spaces:
            hashes["embedding_spaces"][0].add(encode(_space_row(source_space), space_columns))
            hashes["embedding_spaces"][1].add(encode(_space_row(dest_space), space_columns))
            hashes[source_space.vector_table] = (TableHash(), TableHash())
        conversation_columns = ("id", *CONVERSATION_CONTENT) if ids else CONVERSATION_CONTENT
        message_columns = ("id", "conversation_id", *MESSAGE_CONTENT) if ids else MESSAGE_CONTENT
        with self._reading() as session:
            connection = session.connection()
            for batch in self._batches(0, upto):
                counterparts = self._counterparts(connection, batch)
                held = [i for i in counterparts if i is not None]
                rows = {
                    row["id"]: dict(row)
                    for row in connection.execute(
                        sa.select(CONVERSATIONS).where(CONVERSATIONS.c.id.in_(held))
                    )
                    .mappings()
                    .all()
                }
                messages = _messages_of(connection, held)
                pairs = [
                    (
                        c.row,
                        c.messages,
                        None if i is None else rows.get(i),
                        [] if i is None else messages.get(i, []),
                    )
                    for c, i in zip(batch, counterparts, strict=True)
                ]
                for source_row, source_messages, dest_row, dest_messages in pairs:
                    hashes["conversations"][0].add(encode(source_row, conversation_columns))
                    for message in source_messages:
                        hashes["messages"][0].add(encode(message, message_columns))
                    if dest_row is not None:
                        hashes["conversations"][1].add(encode(dest_row, conversation_columns))
                        for message in dest_messages:
                            hashes["messages"][1].add(encode(message, message_columns))
                source_ids = [m["id"] for _, ms, _, _ in pairs for m in ms]
                dest_ids = [m["id"] for _, _, _, ms in pairs for m in ms]
                for source_space, dest_space in self._spaces:
                    source_hash, dest_hash = hashes[source_space.vector_table]
                    _hash_vectors(source_hash, VectorRepository(self._source, source_space), source_ids, ids)
                    _hash_vectors(dest_hash, VectorRepository(session, dest_space), dest_ids, ids)
            totals = {
                "conversations": _count(connection, CONVERSATIONS),
                "messages": _count(connection, MESSAGES),
            }
            for source_space, dest_space in self._spaces:
                totals[source_space.vector_table] = VectorRepository(session, dest_space).count()
            totals["embedding_spaces"] = _count(connection, SPACES)
        return [
            TableCheck(
                table=name,
                source_rows=source.rows,
                # A copy holds nothing else: its own counts; a merge, the copies found.
                dest_rows=dest.rows if self._merge else totals[name],
                source_checksum=source.hexdigest(),
                dest_checksum=dest.hexdigest(),
            )
            for name, (source, dest) in hashes.items()
        ]


# -- helpers ------------------------------------------------------------------------------------------------


@contextmanager
def _engine(location: str | os.PathLike[str] | Engine, role: str, *, create: bool) -> Iterator[Engine]:
    """An engine for the source or the destination (one made here is disposed of at the end); a URL
    of another database, or without its driver, is a `ValidationError`."""
    if isinstance(location, Engine):
        yield location
        return
    url = database_url(location)
    if url.get_backend_name() not in _BACKENDS:
        raise ValidationError(
            f"the {role} must be a SQLite or PostgreSQL database, not {url.get_backend_name()!r} "
            f"({url.render_as_string(hide_password=True)})"
        )
    try:
        engine = create_engine(url, create=create)
    except (sa_exc.ArgumentError, ImportError) as exc:
        raise ValidationError(
            f"cannot open the {role} {url.render_as_string(hide_password=True)}: {exc} (PostgreSQL URLs "
            "look like postgresql+psycopg://user:password@host/db, with memory[postgres] installed)"
        ) from exc
    try:
        yield engine
    finally:
        engine.dispose()


def _refuse_same(source: Engine, dest: Engine) -> None:
    source_file, dest_file = sqlite_file(source.url), sqlite_file(dest.url)
    if source_file is not None and dest_file is not None:
        same = os.path.realpath(source_file) == os.path.realpath(dest_file)
    else:
        same = (source.url.render_as_string(hide_password=True), store_schema(source)) == (
            dest.url.render_as_string(hide_password=True),
            store_schema(dest),
        ) and source.url.get_backend_name() != "sqlite"
    if same:
        raise ValidationError(f"the source and the destination are the same store ({describe(source)})")


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Session]:
    """A session reading the source in one snapshot until the end (PostgreSQL: REPEATABLE READ)."""
    connection = engine.connect()
    try:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as session:
            yield session
    finally:
        connection.close()


def _spaces(session: Session) -> list[EmbeddingSpace]:
    spaces = session.execute(sa.select(SPACES).order_by(SPACES.c.id)).mappings().all()
    return [EmbeddingSpace(**dict(space)) for space in spaces]


def _detached_space(space: EmbeddingSpace, *, space_id: int | None = None) -> EmbeddingSpace:
    values = {column: getattr(space, column) for column in (*SPACE_CONTENT, "created_at", "is_active")}
    return EmbeddingSpace(id=space.id if space_id is None else space_id, **values)


def _space_row(space: EmbeddingSpace) -> dict[str, Any]:
    return {column: getattr(space, column) for column in ("id", *SPACE_CONTENT, "created_at", "is_active")}


def _model_of(space: EmbeddingSpace) -> tuple[str, int, str | None]:
    return space.model, space.dimensions, space.fingerprint


def _holds_rows(connection: Connection) -> bool:
    query = sa.select(sa.exists(sa.select(CONVERSATIONS.c.id)) | sa.exists(sa.select(MESSAGES.c.id)))
    return bool(connection.execute(query).scalar_one())


def _count(connection: Connection, table: sa.Table, *, upto: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if upto is not None:
        column = table.c.conversation_id if table is MESSAGES else table.c.id
        query = query.where(column <= upto)
    return int(connection.execute(query).scalar_one())


def _message_counts(connection: Connection, conversation_ids: list[int]) -> dict[int, int]:
    query = (
        sa.select(MESSAGES.c.conversation_id, sa.func.count())
        .where(MESSAGES.c.conversation_id.in_(conversation_ids))
        .group_by(MESSAGES.c.conversation_id)
    )
    return {int(c): int(n) for c, n in connection.execute(query)}


def _messages_of(connection: Connection, conversation_ids: Sequence[int]) -> dict[int, list[Row]]:
    """The messages of these conversations, in id order, by conversation."""
    found: dict[int, list[Row]] = {}
    for start in range(0, len(conversation_ids), _PAGE):
        chunk = list(conversation_ids[start : start + _PAGE])
        query = sa.select(MESSAGES).where(MESSAGES.c.conversation_id.in_(chunk)).order_by(MESSAGES.c.id)
        for row in connection.execute(query).mappings():
            found.setdefault(row["conversation_id"], []).append(dict(row))
    return found


def _digest(conversation: _Conversation) -> str:
    return conversation_digest(conversation.row, conversation.messages)


def _taken(connection: Connection, table: sa.Table, ids: list[int]) -> set[int]:
    taken: set[int] = set()
    for start in range(0, len(ids), _PAGE):
        query = sa.select(table.c.id).where(table.c.id.in_(ids[start : start + _PAGE]))
        taken.update(int(i) for i in connection.execute(query).scalars())
    return taken


def _first(row: sa.RowMapping | None) -> Row | None:
    return None if row is None else dict(row)


def _insert_rows(
    connection: Connection, table: sa.Table, rows: Sequence[Row], *, staged: bool = False
) -> None:
    if rows:
        columns = {column.key: [row[column.key] for row in rows] for column in table.c}
        insert_columns(connection, table, columns, staged=staged)


def _new_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
    """`count` unused ids, ascending: past every id on SQLite (see `memory.ids`), from the table's
    sequence on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return list(allocate_ids(connection, table, count))
    _advance_sequences(connection, [table])
    return sorted(int(i) for i in connection.execute(_NEXT_IDS, {"table": table.name, "n": count}).scalars())


def _advance_sequences(connection: Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: move each table's id sequence past the ids given explicitly (never back)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        top = connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
        if top is not None:
            connection.execute(_ADVANCE_SEQUENCE, {"top": int(top), "table": table.name})


def _hash_vectors(hash_: TableHash, vectors: VectorRepository, message_ids: list[int], ids: bool) -> None:
    found: dict[int, npt.NDArray[np.float32]] = vectors.fetch(message_ids) if message_ids else {}
    for message_id in message_ids:
        vector = found.get(message_id)
        if vector is not None:
            hash_.add(encode_vector(vector, message_id if ids else None))
