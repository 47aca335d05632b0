"""Context recall: the messages to put in front of a model at one turn, within a token budget.

The recent messages of the conversation keep its thread; the ones most relevant to the turn bring
back what was said long ago (or in other conversations). When the budget is short, the newest recent
messages are kept first, then the relevant ones in order of relevance; what is kept is returned in
chronological order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final, Literal

from memory.conversations import ConversationRepository
from memory.errors import ValidationError
from memory.filters import SearchFilter
from memory.ingest import Transaction
from memory.models import Message
from memory.owners import Owner
from memory.search import SearchHit
from memory.validation import MAX_K

TokenCounter = Callable[[str], int]
RecallScope = Literal["conversation", "all"]
SCOPES: Final = ("conversation", "all")

# Words, and every other non-space character on its own: close to what subword tokenizers produce for
# English prose (they split rare words further, so this undercounts a little).
_TOKEN: Final = re.compile(r"\w+|[^\w\s]")


def approximate_tokens(text: str) -> int:
    """A tokenizer-free token count: words and punctuation marks, plus the two special tokens
    a sentence-transformer adds."""
    return len(_TOKEN.findall(text)) + 2


def recall_context(
    reading: Transaction,
    owner: Owner,
    search: Callable[[str, int, SearchFilter], list[SearchHit]],
    conversation_id: int,
    text: str | None,
    *,
    max_tokens: int,
    recent: int,
    k: int,
    scope: RecallScope,
    count_tokens: TokenCounter,
) -> list[Message]:
    """`MemoryManager.recall` on checked arguments: the conversation's `recent` latest messages and
    its query text (default: its latest user message) read in one transaction, then the `k` most
    relevant messages found by `search(text, depth, filter)`, all trimmed by `within_budget`; only
    `owner`'s conversations are seen."""
    with reading() as session:
        conversations = ConversationRepository(session, owner=owner)
        window = conversations.window(conversation_id, recent)
        if text is None:
            text = conversations.latest_text(conversation_id, "user")
    relevant: list[Message] = []
    if text and k:
        seen = {message.id for message in window}
        in_conversation = conversation_id if scope == "conversation" else None
        where = SearchFilter(conversation_id=in_conversation, owner=owner)
        hits = search(text, min(MAX_K, k + len(seen)), where)
        relevant = [hit.message for hit in hits if hit.message.id not in seen][:k]
    return within_budget(window, relevant, max_tokens, count_tokens)


def within_budget(
    recent: list[Message], relevant: Iterable[Message], max_tokens: int, count_tokens: TokenCounter
) -> list[Message]:
    """`recent` (chronological) newest first, then `relevant` in its order, as long as each fits in
    what is left of `max_tokens`; without duplicates, returned in chronological order."""
    kept: dict[int, Message] = {}
    used = 0
    for message in [*reversed(recent), *relevant]:
        if message.id in kept:
            continue
        cost = count_tokens(message.content)
        if cost < 0:
            raise ValidationError(f"the token counter returned {cost} for message {message.id}")
        if used + cost <= max_tokens:
            kept[message.id] = message
            used += cost
    return sorted(kept.values(), key=lambda message: (message.created_at, message.id))
