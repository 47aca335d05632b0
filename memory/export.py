"""Export conversations as JSON Lines, the format the JSONL importer reads back: every conversation
of a session's database, or those a manager or a scope sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.engine import session_factory
from memory.facade import MemoryFacade
from memory.models import Conversation, Message
from memory.owners import EVERYONE, Owner


def export_jsonl(source: Session | MemoryFacade, out: IO[str]) -> int:
    """Write one line per conversation, oldest id first; returns how many were written. `source` is
    a session (every conversation of its database) or a manager or scope (the conversations it sees).

    A conversation's `id` is its source id when it was imported, else its id in this database, so
    importing the export elsewhere and exporting again gives the same file.
    """
    if isinstance(source, MemoryFacade):
        with session_factory(source.engine)() as session:
            return _export(session, out, source.owner)
    return _export(source, out, EVERYONE)


def _export(session: Session, out: IO[str], owner: Owner) -> int:
    written = 0
    for conversation in _conversations(session, owner):
        out.write(json.dumps(conversation_record(session, conversation), ensure_ascii=False) + "\n")
        written += 1
    return written


def conversation_record(session: Session, conversation: Conversation) -> dict[str, Any]:
    messages = session.scalars(
        sa.select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.created_at, Message.id)
    )
    return {
        "id": conversation.source_id or str(conversation.id),
        "title": conversation.title,
        "metadata": conversation.meta,
        "created_at": _iso(conversation.created_at),
        "messages": [
            {"role": m.role, "content": m.content, "created_at": _iso(m.created_at), "metadata": m.meta}
            for m in messages
        ],
    }


def _conversations(session: Session, owner: Owner, page: int = 200) -> Iterator[Conversation]:
    """The owner's conversations by keyset pagination on id: bounded memory, none read twice."""
    last_id = 0
    mine = owner.conversation_clauses(Conversation)
    while True:
        batch = list(
            session.scalars(
                sa.select(Conversation)
                .where(Conversation.id > last_id, *mine)
                .order_by(Conversation.id)
                .limit(page)
            )
        )
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        session.expunge_all()


def _iso(value: datetime) -> str:
    return value.isoformat()
