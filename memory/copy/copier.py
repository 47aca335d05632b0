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
- On PostgreSQL, a copy into an empty store (or its own unfinished copy) drops the HNSW indexes
  while it loads the vectors and builds them once at the end.
- At the end every table is read again on both sides: counts and a content checksum per table
  (`TableCheck`), in the report; a difference raises `CopyVerificationError`.

- Archive files (the messages of conversations below the full tier) are copied with their
  conversations when both archive directories are known (given, or beside a SQLite file): each is
  read and verified against the checksum the source recorded, and written into the destination's
  directory, flushed, before the batch that refers to it commits. A merge copies none (a
  conversation may take a new id there); the report counts the archived conversations.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from memory.copy.checksums import (
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
from memory.copy.rows import (
    StoredConversation,
    advance_sequences,
    conversation_batches,
    conversations_by_id,
    count_rows,
    holds_rows,
    insert_rows,
    messages_of,
    new_ids,
    taken_ids,
)
from memory.copy.spaces import (
    SPACE_COLUMNS,
    SpacePairs,
    check_mergeable,
    merge_spaces,
    mirror_spaces,
    read_spaces,
    space_row,
)
from memory.engine import create_engine, database_url, session_factory, sqlite_file, store_schema
from memory.errors import (
    CopyVerificationError,
    DestinationNotEmptyError,
    DuplicateError,
    ValidationError,
    translate_database_errors,
)
from memory.lifecycle.archive import archive_dir_of, archive_path, read_archive, write_archives
from memory.migration import current_revision, describe, ensure_schema, head_revision, require_head
from memory.models import EmbeddingSpace
from memory.owners import Owner, key_columns
from memory.validation import Matrix, check_count, check_flag
from memory.vectors import VectorRepository
from memory.vectors.base import VectorColumns
from memory.vectors.repository import epoch_column

#: Messages per destination transaction, by default and at most.
DEFAULT_BATCH_SIZE: Final = 2000
MAX_BATCH_SIZE: Final = 20_000
_BACKENDS: Final = ("sqlite", "postgresql")

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
    #: Conversations below the full tier, whose messages are in archive files.
    archived: int
    #: Counts and content checksums per table, source against destination (in a merge, against
    #: the destination's copies of the source's rows).
    tables: tuple[TableCheck, ...]
    #: Archive files this run copied into the destination's archive directory (`archive_dir`; None:
    #: the archives were not copied, for want of a directory or in a merge).
    archives_copied: int = 0
    archive_dir: str | None = None

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
    source_archive_dir: str | os.PathLike[str] | None = None,
    dest_archive_dir: str | os.PathLike[str] | None = None,
) -> CopyReport:
    """Copy every conversation, message, embedding space and vector of `source` into `dest` (URLs,
    SQLite file paths or engines), ids kept, and the archive files of archived conversations from
    `source_archive_dir` into `dest_archive_dir` (each defaults to `<file>.archive/` beside a
    SQLite file); see the module's notes. `progress(done, total)` is called after each batch, in
    messages. Raises `DestinationNotEmptyError` for a destination with data of its own unless
    `merge`, `ArchiveError` for a missing or damaged source archive (the batches before it stay
    copied), and `CopyVerificationError` if the copy does not check out."""
    merge = check_flag(merge, "merge")
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    if batch_size > MAX_BATCH_SIZE:
        raise ValidationError(f"batch_size must be at most {MAX_BATCH_SIZE}, not {batch_size}")
    with _engine(source, "source", create=False) as source_engine:
        with translate_database_errors(f"open {describe(source_engine)}"), source_engine.connect() as c:
            require_head(c)
        with _engine(dest, "destination", create=True) as dest_engine:
            _refuse_same(source_engine, dest_engine)
            archives = (
                _archive_dir(source_archive_dir, source_engine, existing=True),
                _archive_dir(dest_archive_dir, dest_engine, existing=False),
            )
            if archives[0] is not None and archives[0] == archives[1]:
                shared = archives[0]
                raise ValidationError(f"the source and the destination share an archive directory: {shared}")
            action = f"copy {describe(source_engine)} to {describe(dest_engine)}"
            with translate_database_errors(action), _snapshot(source_engine) as reading:
                return _Copy(reading, dest_engine, batch_size, progress, archives).run(merge)


class _Copy:
    """One run of `copy_store`: the source's snapshot, the destination's engine, and the pairs of
    embedding spaces the vectors go between."""

    def __init__(
        self,
        reading: Session,
        dest_engine: Engine,
        batch_size: int,
        progress: Progress | None,
        archives: tuple[Path | None, Path | None],
    ) -> None:
        self._archives = archives
        self._archives_copied = 0
        self._source = reading
        self._dest_engine = dest_engine
        self._writing = session_factory(dest_engine, write=True)
        self._reading = session_factory(dest_engine)
        self._batch_size = batch_size
        self._progress = progress
        self._spaces: SpacePairs = []
        self._merge = False

    def run(self, merge: bool) -> CopyReport:
        held = self._prepare_destination(merge)
        self._merge = held and merge
        start = 0
        source_spaces = read_spaces(self._source)
        if held and not merge:
            start = self._resume_point(source_spaces)
            if count_rows(self._source.connection(), CONVERSATIONS) > count_rows(
                self._source.connection(), CONVERSATIONS, upto=start
            ):
                self._search_indexes(rebuild=False)
        elif self._merge:
            with self._reading() as session:
                dest_spaces = read_spaces(session)
            check_mergeable(source_spaces, dest_spaces)
            self._refuse_conflicts()
            with self._writing() as session, session.begin():
                self._spaces = merge_spaces(session, source_spaces, dest_spaces)
        else:
            with self._writing() as session, session.begin():
                self._spaces = mirror_spaces(session, source_spaces)
            self._search_indexes(rebuild=False)
        conversations, messages, vectors, skipped = self._copy_from(start)
        if not self._merge:
            self._search_indexes(rebuild=True)
        tables = tuple(self._checks(upto=None))
        report = CopyReport(
            source=describe(self._source.get_bind().engine),
            dest=describe(self._dest_engine),
            merged=self._merge,
            conversations=conversations,
            messages=messages,
            vectors=vectors,
            skipped=skipped,
            archived=self._archived(),
            tables=tables,
            archives_copied=self._archives_copied,
            archive_dir=None if self._copies_archives() is None else str(self._archives[1]),
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
                "written meanwhile? Run the copy again into an empty database"
            )
        return report

    # -- the destination before anything is copied ------------------------------------------------------

    def _prepare_destination(self, merge: bool) -> bool:
        """Bring the destination to the newest schema and tell whether it holds rows of its own;
        refuse (before any change) one that does and is behind, unless merging."""
        with self._dest_engine.connect() as connection:
            revision = current_revision(connection)
            held = revision is not None and holds_rows(connection)
        if held and not merge and revision != head_revision():
            raise self._not_empty("it is at an older schema revision")
        ensure_schema(self._dest_engine, migrate=None)
        if held:
            return True
        with self._reading() as session:
            return any(VectorRepository(session, space).count() for space in read_spaces(session))

    def _not_empty(self, why: str) -> DestinationNotEmptyError:
        return DestinationNotEmptyError(
            f"{describe(self._dest_engine)} already holds conversations, messages or vectors that are "
            f"not an unfinished copy of {describe(self._source.get_bind().engine)} ({why}); nothing was "
            "written: copy into an empty database, or pass merge=True (--merge) to add to it"
        )

    def _resume_point(self, source_spaces: list[EmbeddingSpace]) -> int:
        """The last conversation id of an unfinished copy of this source in the destination (which
        must hold exactly the source's first conversations, its spaces and nothing else)."""
        with self._reading() as session:
            dest_spaces = read_spaces(session)
            last = session.execute(sa.select(sa.func.max(CONVERSATIONS.c.id))).scalar_one()
        if [space_row(s) for s in source_spaces] != [space_row(s) for s in dest_spaces]:
            raise self._not_empty("its embedding spaces differ")
        self._spaces = list(zip(source_spaces, dest_spaces, strict=True))
        if last is None or not all(check.ok for check in self._checks(upto=int(last))):
            raise self._not_empty("its rows differ from the source's")
        return int(last)

    def _refuse_conflicts(self) -> None:
        """A merge: a source conversation whose owner and source id the destination holds with
        other content cannot be added (the source id is unique per owner); say which, first."""
        conflicts: list[str] = []
        batches = conversation_batches(
            self._source.connection(), 0, None, self._batch_size, only_sourced=True
        )
        with self._reading() as session:
            connection = session.connection()
            for conversation in (c for batch in batches for c in batch):
                row = conversation.row
                query = sa.select(CONVERSATIONS).where(
                    sa.func.coalesce(CONVERSATIONS.c.user_id, "") == (row["user_id"] or ""),
                    sa.func.coalesce(CONVERSATIONS.c.agent_id, "") == (row["agent_id"] or ""),
                    CONVERSATIONS.c.source_id == row["source_id"],
                )
                held = connection.execute(query).mappings().first()
                if held is None:
                    continue
                messages = messages_of(connection, [held["id"]]).get(held["id"], [])
                if conversation_digest(dict(held), messages) != conversation.digest():
                    conflicts.append(f"{row['source_id']!r} (conversation {row['id']})")
        if conflicts:
            raise DuplicateError(
                f"{describe(self._dest_engine)} holds other conversations with the owners and source ids of "
                f"{len(conflicts)} of the source's: {', '.join(conflicts[:5])}; nothing was written"
            )

    def _search_indexes(self, *, rebuild: bool) -> None:
        """A copy into an empty store (or its own unfinished copy) loads its vectors without the
        approximate-search indexes (PostgreSQL's HNSW), built once at the end (or by the run that
        finishes an interrupted copy; nothing when they are there): several times cheaper than
        inserting into them batch by batch."""
        with self._writing() as session, session.begin():
            for _, dest_space in self._spaces:
                vectors = VectorRepository(session, dest_space)
                if rebuild:
                    vectors.build_approximate_index()
                else:
                    vectors.drop_approximate_index()

    # -- copying ------------------------------------------------------------------------------------------

    def _copy_from(self, start: int) -> tuple[int, int, int, int]:
        """Copy the conversations after id `start`, a batch per transaction; what was written
        (conversations, messages, vectors) and skipped."""
        source = self._source.connection()
        total = count_rows(source, MESSAGES)
        done = count_rows(source, MESSAGES, upto=start)
        written = [0, 0, 0, count_rows(source, CONVERSATIONS, upto=start)]
        if self._progress is not None:
            self._progress(done, total)
        for batch in conversation_batches(source, start, None, self._batch_size):
            with self._writing() as session, session.begin():
                counts = self._write(session, batch)
            written = [a + b for a, b in zip(written, counts, strict=True)]
            done += sum(len(c.messages) for c in batch)
            if self._progress is not None:
                self._progress(done, total)
        return written[0], written[1], written[2], written[3]

    def _write(self, session: Session, batch: list[StoredConversation]) -> tuple[int, int, int, int]:
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
        self._copy_archives(batch)
        owners = {c.row["id"]: Owner(c.row["user_id"], c.row["agent_id"]) for c in batch}
        messages = [m for c in batch for m in c.messages]
        vectors = 0
        for source_space, dest_space in self._spaces:
            stored = VectorRepository(self._source, source_space).fetch([m["id"] for m in messages])
            rows = [m for m in messages if m["id"] in stored]
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
            matrix = Matrix(np.stack([stored[m["id"]] for m in rows]).astype(np.float32))
            VectorRepository(session, dest_space).insert(columns, matrix)
            vectors += len(rows)
        return len(batch), len(messages), vectors, skipped

    def _copies_archives(self) -> tuple[Path, Path] | None:
        source, dest = self._archives
        return None if source is None or dest is None or self._merge else (source, dest)

    def _copy_archives(self, batch: list[StoredConversation]) -> None:
        """The batch's archive files, each verified against the checksum the source recorded, written
        into the destination's directory and flushed (before the batch commits: a file left by a
        copy killed before the commit is written again by the next run, or swept by `compact`)."""
        directories = self._copies_archives()
        archived = [c.row for c in batch if c.row["tier"] != "full" and c.row["archive_checksum"]]
        if directories is None or not archived:
            return
        source, dest = directories
        records = []
        for row in archived:
            created = row["created_at"]
            path = archive_path(source, row["id"], created.year, created.month)
            record = read_archive(path, expected=row["archive_checksum"])
            records.append((archive_path(dest, row["id"], created.year, created.month), record))
        write_archives(records)
        self._archives_copied += len(records)

    def _insert_conversations(
        self, connection: Connection, batch: list[StoredConversation]
    ) -> dict[int, int]:
        """Insert the batch's conversations; their destination ids by source id."""
        taken = taken_ids(connection, CONVERSATIONS, [c.row["id"] for c in batch]) if self._merge else set()
        keep = [c.row for c in batch if c.row["id"] not in taken]
        move = [c.row for c in batch if c.row["id"] in taken]
        ids = {row["id"]: row["id"] for row in keep}
        insert_rows(connection, CONVERSATIONS, keep)
        if move:
            ids.update(
                zip((row["id"] for row in move), new_ids(connection, CONVERSATIONS, len(move)), strict=True)
            )
            insert_rows(connection, CONVERSATIONS, [{**row, "id": ids[row["id"]]} for row in move])
        return ids

    def _insert_messages(
        self, connection: Connection, batch: list[StoredConversation], conversation_ids: dict[int, int]
    ) -> dict[int, int]:
        """Insert the batch's messages (a conversation's all keep their ids, or all take new ones, so
        their order stays); their destination ids by source id."""
        wanted = [m["id"] for c in batch for m in c.messages]
        taken = taken_ids(connection, MESSAGES, wanted) if self._merge else set()
        keep: list[Row] = []
        move: list[Row] = []
        for conversation in batch:
            clash = any(m["id"] in taken for m in conversation.messages)
            (move if clash else keep).extend(conversation.messages)
        ids = {m["id"]: m["id"] for m in keep}
        rows = [{**m, "conversation_id": conversation_ids[m["conversation_id"]]} for m in keep]
        insert_rows(connection, MESSAGES, rows, staged=True)
        if move:
            ids.update(zip((m["id"] for m in move), new_ids(connection, MESSAGES, len(move)), strict=True))
            rows = [
                {**m, "id": ids[m["id"]], "conversation_id": conversation_ids[m["conversation_id"]]}
                for m in move
            ]
            insert_rows(connection, MESSAGES, rows, staged=True)
        advance_sequences(connection, [CONVERSATIONS, MESSAGES])
        return ids

    def _counterparts(self, connection: Connection, batch: list[StoredConversation]) -> list[int | None]:
        """The destination's conversation holding each one's content: the same id in a copy; in a
        merge, one of the same user and times with the same digest (None: not there)."""
        if not self._merge:
            present = taken_ids(connection, CONVERSATIONS, [c.row["id"] for c in batch])
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
            held = messages_of(connection, [c["id"] for c in candidates]) if candidates else {}
            digest = conversation.digest()
            found.append(
                next(
                    (c["id"] for c in candidates if conversation_digest(c, held.get(c["id"], [])) == digest),
                    None,
                )
            )
        return found

    def _archived(self) -> int:
        query = sa.select(sa.func.count()).where(CONVERSATIONS.c.tier != "full")
        return int(self._source.execute(query).scalar_one())

    # -- verification ---------------------------------------------------------------------------------------

    def _checks(self, *, upto: int | None) -> list[TableCheck]:
        """Each table of the source (its conversations up to `upto`) against the destination: the
        same rows, ids included, in a copy (which must hold nothing else); in a merge, the
        destination's copies of them, ids left out."""
        ids = not self._merge
        hashes: dict[str, tuple[TableHash, TableHash]] = {
            "embedding_spaces": (TableHash(), TableHash()),
            "conversations": (TableHash(), TableHash()),
            "messages": (TableHash(), TableHash()),
        }
        space_columns = SPACE_COLUMNS if ids else SPACE_CONTENT
        for source_space, dest_space in self._spaces:
            hashes["embedding_spaces"][0].add(encode(space_row(source_space), space_columns))
            hashes["embedding_spaces"][1].add(encode(space_row(dest_space), space_columns))
            hashes[source_space.vector_table] = (TableHash(), TableHash())
        conversation_columns = ("id", *CONVERSATION_CONTENT) if ids else CONVERSATION_CONTENT
        message_columns = ("id", "conversation_id", *MESSAGE_CONTENT) if ids else MESSAGE_CONTENT
        with self._reading() as session:
            connection = session.connection()
            for batch in conversation_batches(self._source.connection(), 0, upto, self._batch_size):
                counterparts = self._counterparts(connection, batch)
                held = [i for i in counterparts if i is not None]
                rows, messages = conversations_by_id(connection, held), messages_of(connection, held)
                source_ids: list[int] = []
                dest_ids: list[int] = []
                for conversation, counterpart in zip(batch, counterparts, strict=True):
                    hashes["conversations"][0].add(encode(conversation.row, conversation_columns))
                    for message in conversation.messages:
                        hashes["messages"][0].add(encode(message, message_columns))
                        source_ids.append(message["id"])
                    if counterpart is None:
                        continue
                    hashes["conversations"][1].add(encode(rows[counterpart], conversation_columns))
                    for message in messages.get(counterpart, []):
                        hashes["messages"][1].add(encode(message, message_columns))
                        dest_ids.append(message["id"])
                for source_space, dest_space in self._spaces:
                    source_hash, dest_hash = hashes[source_space.vector_table]
                    _hash_vectors(source_hash, VectorRepository(self._source, source_space), source_ids, ids)
                    _hash_vectors(dest_hash, VectorRepository(session, dest_space), dest_ids, ids)
            # A copy holds nothing else: its own counts are compared; a merge, the copies found.
            totals = {
                "embedding_spaces": count_rows(connection, SPACES),
                "conversations": count_rows(connection, CONVERSATIONS),
                "messages": count_rows(connection, MESSAGES),
            }
            for source_space, dest_space in self._spaces:
                totals[source_space.vector_table] = VectorRepository(session, dest_space).count()
        return [
            TableCheck(
                table=name,
                source_rows=source.rows,
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


def _archive_dir(given: str | os.PathLike[str] | None, engine: Engine, *, existing: bool) -> Path | None:
    """The archive directory given, else the default beside a SQLite file (with `existing`, if it
    is there); None for a server's without one."""
    if given is not None:
        return Path(given).resolve()
    database = sqlite_file(engine.url)
    default = None if database is None else archive_dir_of(Path(database).resolve())
    return None if default is None or (existing and not default.is_dir()) else default


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


def _hash_vectors(hash_: TableHash, vectors: VectorRepository, message_ids: list[int], ids: bool) -> None:
    """Add the vectors of these messages (those that have one in the space), in the order given."""
    found: dict[int, npt.NDArray[np.float32]] = vectors.fetch(message_ids) if message_ids else {}
    for message_id in message_ids:
        vector = found.get(message_id)
        if vector is not None:
            hash_.add(encode_vector(vector, message_id if ids else None))
