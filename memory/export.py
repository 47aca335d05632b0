"""Export every conversation as JSON Lines, the format the JSONL importer reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.models import Conversation, Message


def export_jsonl(session: Session, out: IO[str]) -> int:
    """Write one line per conversation, oldest id first; returns how many were written.

    A conversation's `id` is its source id when it was imported, else its id in this database, so
    importing the export elsewhere and exporting again gives the same file.
    """
    written = 0
    for conversation in _conversations(session):
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


def _conversations(session: Session, page: int = 200) -> Iterator[Conversation]:
    """Keyset pagination by id: bounded memory, and no conversation is read twice."""
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                sa.select(Conversation).where(Conversation.id > last_id).order_by(Conversation.id).limit(page)
            )
        )
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        session.expunge_all()


def _iso(value: datetime) -> str:
    return value.isoformat()
