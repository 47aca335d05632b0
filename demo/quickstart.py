"""Open the embedded SQLite store, add a conversation with vectors, run one vector search."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

import memory
from memory import Conversation, EmbeddingSpace, Message, VectorRepository

DB = Path(__file__).resolve().parent / "quickstart.db"


def toy_vector(text: str, dimensions: int) -> np.ndarray:
    """A deterministic bag-of-words vector: enough to show storage and search without a model."""
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in text.lower().split():
        vector[
            int.from_bytes(hashlib.sha256(word.strip(".,?!").encode()).digest()[:4], "big") % dimensions
        ] += 1
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def main() -> int:
    DB.unlink(missing_ok=True)
    url = f"sqlite:///{DB}"
    memory.upgrade(url)
    engine = memory.create_engine(url)
    texts = [
        ("user", "How long should I rest the brisket after smoking it?"),
        ("assistant", "Rest the brisket wrapped for at least an hour before slicing."),
        ("user", "Remind me which train goes from Lyon to Turin."),
        ("assistant", "The TGV from Lyon Part-Dieu to Turin Porta Susa runs twice a day."),
    ]
    with memory.session_factory(engine, write=True).begin() as session:
        space = session.query(EmbeddingSpace).filter_by(is_active=True).one()
        vectors = VectorRepository(session, space)
        conversation = Conversation(title="quickstart")
        messages = [
            Message(
                conversation=conversation,
                role=role,
                content=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
            )
            for role, text in texts
        ]
        session.add_all([conversation, *messages])
        session.flush()
        for message in messages:
            vectors.add(
                message.id,
                toy_vector(message.content, space.dimensions),
                conversation_id=conversation.id,
                role=message.role,
                created_at=message.created_at,
            )
        query = "which train goes to Turin"
        hits = vectors.search(toy_vector(query, space.dimensions), k=2)
        by_id = {m.id: m for m in messages}
        print(f"database: {DB}\nquery: {query!r}")
        for message_id, distance in hits:
            print(f"  {distance:.3f}  [{by_id[message_id].role}] {by_id[message_id].content}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
