"""Moving a store to another embedding model: every message embedded into the model's own space, which
then becomes the active one. Resumable: vectors already in the new space are kept, so a second run
after an interruption continues where the first stopped."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from memory.conversations import ConversationRepository
from memory.embedding.base import Embedder
from memory.ingest import Transaction, embed_checked
from memory.models import EmbeddingSpace, Message
from memory.owners import key_columns
from memory.spaces import SpaceRepository
from memory.transactions import Work
from memory.validation import Matrix
from memory.vectors import VectorRepository
from memory.vectors.base import VectorColumns
from memory.vectors.repository import epoch_column


def reindex(
    reading: Transaction, writing: Transaction, embedder: Embedder, batch_size: int
) -> EmbeddingSpace:
    """Embed every message with `embedder` into its space (created if needed), committing every
    `batch_size` messages with the model run outside the write lock; then, holding the write lock,
    embed what was added meanwhile and activate the space. Ends with exactly one vector per message.
    Returns the space, now active."""
    with writing() as session:
        spaces = SpaceRepository(session)
        space_id = (spaces.find(embedder) or spaces.create(embedder)).id
    last_id = 0
    while True:
        with reading() as session:
            batch = ConversationRepository(session).messages_after(last_id, batch_size)
            if not batch:
                break
            space = SpaceRepository(session).get(space_id)
            present = VectorRepository(session, space).present(m.id for m in batch)
        missing = [m for m in batch if m.id not in present]
        if missing:
            vectors = embed_unique(embedder, missing)
            with writing() as session:
                store_missing(session, space_id, missing, vectors)
        last_id = batch[-1].id
    with writing() as session:
        spaces = SpaceRepository(session)
        space = spaces.get(space_id)
        with_vector = set(VectorRepository(session, space).ids())
        conversations = ConversationRepository(session)
        missing_ids = [i for i in conversations.message_ids() if i not in with_vector]
        if missing_ids:
            missing = list(conversations.messages_by_id(missing_ids).values())
            store_missing(session, space_id, missing, embed_unique(embedder, missing))
        spaces.activate(space)
        return space


def embed_unique(embedder: Embedder, messages: list[Message]) -> dict[str, npt.NDArray[np.float32]]:
    texts = {m.content_hash: m.content for m in messages}
    return dict(zip(texts, embed_checked(embedder, list(texts.values())), strict=True))


def store_missing(
    session: Work, space_id: int, messages: list[Message], vectors: dict[str, npt.NDArray[np.float32]]
) -> None:
    """Store vectors for those of `messages` that still exist and still lack one (a concurrent
    delete or a second reindex may have come first)."""
    space = SpaceRepository(session).get(space_id)
    repository = VectorRepository(session, space)
    ids = [m.id for m in messages]
    conversations = ConversationRepository(session)
    alive = set(conversations.messages_by_id(ids)) - repository.present(ids)
    kept = [m for m in messages if m.id in alive]
    if kept:
        owners = conversations.owners_of(sorted({m.conversation_id for m in kept}))
        user_keys, agent_keys = key_columns([owners[m.conversation_id] for m in kept])
        columns = VectorColumns(
            ids=np.array([m.id for m in kept], dtype=np.int64),
            conversation_ids=np.array([m.conversation_id for m in kept], dtype=np.int64),
            roles=[m.role for m in kept],
            created_us=epoch_column([m.created_at for m in kept]),
            user_keys=user_keys,
            agent_keys=agent_keys,
        )
        repository.insert(columns, Matrix(np.stack([vectors[m.content_hash] for m in kept])))
