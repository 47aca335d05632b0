"""Raw arguments in, typed and checked values out: the one place every argument is validated.

Each value is checked once, where it enters (the facade, or a public repository method a user calls);
below that, functions take the typed values (`MessageDraft`, `ConversationDraft`, `SearchFilter`,
`Matrix`, `Query`) and trust them. Every failure is a `ValidationError` raised before anything is
embedded or written.

sqlite-vec accepts NaN and Inf silently and then returns wrong neighbours, so finiteness is checked
here, in Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, NewType, TypeVar

import numpy as np
import numpy.typing as npt

from memory.errors import DimensionMismatchError, DuplicateError, ValidationError
from memory.filters import SearchFilter
from memory.models import ROLES
from memory.owners import EVERYONE, Owner

MAX_K: Final = 4096
DEFAULT_MAX_CONTENT_BYTES: Final = 1024 * 1024
#: Longest source id (the column is VARCHAR(255)).
MAX_SOURCE_ID: Final = 255
#: The longest user or agent id, in characters.
MAX_OWNER_ID: Final = 255
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
#: Marks a message that stands for an archived conversation (`memory.lifecycle.compact`); refused in
#: the metadata of messages from outside.
RESERVED_METADATA_KEY: Final = "memory_tier"
_MESSAGE_KEYS: Final = frozenset({"role", "content", "metadata", "created_at"})
_CONVERSATION_KEYS: Final = frozenset({"title", "metadata", "messages", "source_id", "created_at", "vectors"})

_Draft = TypeVar("_Draft")

#: Vectors that passed `as_matrix`: C-contiguous float32 of shape (n, dimensions), every row finite
#: with a usable length.
Matrix = NewType("Matrix", npt.NDArray[np.float32])
#: One vector that passed `as_vector`: float32 of shape (dimensions,).
Vector = NewType("Vector", npt.NDArray[np.float32])


# -- scalars -------------------------------------------------------------------------------------------


def check_id(value: Any, what: str) -> int:
    """An integer id (or count) that fits in 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{what} must be an int, not {value!r}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValidationError(f"{what} must fit in 64 bits, not {value!r}")
    return int(value)


def check_count(value: Any, what: str, *, minimum: int = 0) -> int:
    """An int of at least `minimum` (limits, offsets, budgets)."""
    count = check_id(value, what)
    if count < minimum:
        raise ValidationError(f"{what} must be at least {minimum}, not {value!r}")
    return count


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= MAX_K:
        raise ValidationError(f"k must be an int from 1 to {MAX_K}, not {k!r}")
    return int(k)


def check_role(role: Any) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return role


def check_roles(roles: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if roles is None:
        return None
    if isinstance(roles, str):
        roles = (roles,)
    checked = tuple(dict.fromkeys(check_role(role) for role in roles))
    if not checked:
        raise ValidationError("roles must name at least one role, or be None for all roles")
    return checked


def check_datetime(value: Any, what: str) -> datetime:
    """A datetime, made timezone-aware (naive means UTC)."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, not {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{what} must be True or False, not {value!r}")
    return value


def check_choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{what} must be one of {allowed}, not {value!r}")
    return value


# -- text and metadata ---------------------------------------------------------------------------------


def check_content(content: Any, max_bytes: int, what: str = "content") -> str:
    """Text that a text column of either backend can store, within `max_bytes` of UTF-8."""
    utf8(content, max_bytes, what)
    return str(content)


def utf8(content: Any, max_bytes: int, what: str) -> bytes:
    """The text's UTF-8 bytes, once it is known to be a str within the size limit, without NUL."""
    if not isinstance(content, str):
        raise ValidationError(f"{what} must be a str, not {type(content).__name__}")
    try:
        encoded = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode text (lone surrogate at {exc.start})") from None
    if len(encoded) > max_bytes:
        raise ValidationError(f"{what} is {len(encoded)} bytes, above the limit of {max_bytes} bytes")
    if b"\x00" in encoded:
        # PostgreSQL text cannot hold NUL; refused on SQLite too, so a store can move between them.
        raise ValidationError(f"{what} contains a NUL character (U+0000), which text columns cannot store")
    return encoded


def check_metadata(metadata: Any, max_bytes: int) -> dict[str, Any]:
    """A JSON object that comes back from the database exactly as given (a deep copy)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    if not metadata:
        return {}
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable with str keys: {exc}") from None
    if len(encoded) > max_bytes:
        raise ValidationError(f"metadata is above the limit of {max_bytes} bytes")
    result: dict[str, Any] = json.loads(encoded)  # a deep copy, exactly what the database will hold
    if result != dict(metadata):
        raise ValidationError(
            "metadata must come back from JSON unchanged: keys must be str and sequences lists "
            "(json would turn an int key 1 into '1' and a tuple into a list)"
        )
    return result


# -- messages and conversations ------------------------------------------------------------------------


class MessageDraft(NamedTuple):
    """A validated message, not yet stored (made by `draft_messages`)."""

    role: str
    content: str
    metadata: dict[str, Any]
    created_at: datetime | None
    #: sha256 of the content (see `memory.digests.content_hash`).
    content_hash: str


def draft_messages(messages: Iterable[Mapping[str, Any]], max_bytes: int) -> list[MessageDraft]:
    """Validate every message of a batch before anything is embedded or written."""
    if isinstance(messages, str | bytes | Mapping):
        raise ValidationError("messages must be an iterable of dicts with 'role' and 'content'")
    return _each(messages, "message", lambda raw: _draft(raw, max_bytes))


def _each(items: Iterable[Any], what: str, draft: Callable[[Any], _Draft]) -> list[_Draft]:
    """`draft` of every item, a failure named by the item's position; at least one item."""
    drafts = []
    for index, item in enumerate(items):
        try:
            drafts.append(draft(item))
        except ValidationError as exc:
            raise type(exc)(f"{what} {index}: {exc}") from None
    if not drafts:
        raise ValidationError(f"{what}s is empty: nothing to add")
    return drafts


def _draft(raw: Any, max_bytes: int) -> MessageDraft:
    # `type(raw) is dict` first: the ABC check of Mapping costs more than the rest of a draft.
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ValidationError(f"expected a dict with 'role' and 'content', got {type(raw).__name__}")
    if not raw.keys() <= _MESSAGE_KEYS:
        unknown = set(raw) - _MESSAGE_KEYS
        raise ValidationError(f"unknown keys {sorted(map(str, unknown))}; allowed: {sorted(_MESSAGE_KEYS)}")
    if "role" not in raw or "content" not in raw:
        raise ValidationError("'role' and 'content' are required")
    content, metadata, created_at = raw["content"], raw.get("metadata"), raw.get("created_at")
    encoded = utf8(content, max_bytes, "content")
    checked = {} if metadata is None else check_metadata(metadata, max_bytes)
    if RESERVED_METADATA_KEY in checked:
        raise ValidationError(
            f"the metadata key {RESERVED_METADATA_KEY!r} is memory's own: it marks the messages that "
            "stand for an archived conversation"
        )
    return MessageDraft(
        check_role(raw["role"]),
        content,
        checked,
        None if created_at is None else check_datetime(created_at, "created_at"),
        hashlib.sha256(encoded).hexdigest(),
    )


@dataclass(frozen=True, slots=True)
class ConversationDraft:
    """A validated conversation with its validated messages, not yet stored (made by
    `draft_conversation`). `vectors` are the caller's own embeddings of the messages, checked
    against the store's dimensions when the batch is put together (`None`: embed them)."""

    title: str | None
    metadata: dict[str, Any]
    source_id: str | None = None
    created_at: datetime | None = None
    messages: tuple[MessageDraft, ...] = ()
    vectors: Any = None

    @property
    def updated_at(self) -> datetime | None:
        """The time its messages bring it to: the latest message time, else its own creation time."""
        return max((m.created_at for m in self.messages if m.created_at), default=None) or self.created_at


def check_source_id(source_id: Any, what: str = "source_id") -> str:
    return check_content(source_id, MAX_SOURCE_ID, what)


def check_owner_id(value: Any, what: str) -> str:
    """A user or agent id: an opaque, non-empty str of at most 255 characters, storable as text."""
    utf8(value, 4 * MAX_OWNER_ID, what)
    if not 1 <= len(value) <= MAX_OWNER_ID:
        raise ValidationError(f"{what} must be 1 to {MAX_OWNER_ID} characters, not {len(value)}")
    return str(value)


def check_owner(user_id: Any = None, agent_id: Any = None, *, user_required: bool = False) -> Owner:
    """The owner with these ids (None: any; with `user_required`, a user id must be given)."""
    return Owner(
        None if user_id is None and not user_required else check_owner_id(user_id, "user_id"),
        None if agent_id is None else check_owner_id(agent_id, "agent_id"),
    )


def narrowed(owner: Owner, user_id: Any, agent_id: Any) -> Owner | None:
    """`owner` further restricted to the user and agent filters of a call (checked here); None when
    they exclude each other (a scope asked for another user's conversations: nothing matches)."""
    wanted = check_owner(user_id, agent_id)
    if owner.user_id is not None and wanted.user_id not in (None, owner.user_id):
        return None
    if owner.agent_id is not None and wanted.agent_id not in (None, owner.agent_id):
        return None
    user = owner.user_id if owner.user_id is not None else wanted.user_id
    agent = owner.agent_id if owner.agent_id is not None else wanted.agent_id
    return Owner(user, agent)


def draft_conversation(item: Any, max_bytes: int) -> ConversationDraft:
    """One conversation given as a dict with the keyword arguments of `create_conversation`."""
    if not isinstance(item, Mapping):
        raise ValidationError(f"expected a dict, got {type(item).__name__}")
    unknown = set(item) - _CONVERSATION_KEYS
    if unknown:
        raise ValidationError(f"unknown keys {sorted(map(str, unknown))}")
    title, source_id, created_at = item.get("title"), item.get("source_id"), item.get("created_at")
    messages = item.get("messages")
    return ConversationDraft(
        title=None if title is None else check_content(title, max_bytes, "title"),
        metadata=check_metadata(item.get("metadata"), max_bytes),
        source_id=None if source_id is None else check_source_id(source_id),
        created_at=None if created_at is None else check_datetime(created_at, "created_at"),
        messages=tuple(draft_messages(messages, max_bytes)) if messages is not None else (),
        vectors=item.get("vectors"),
    )


def draft_conversations(items: Iterable[Any], max_bytes: int) -> list[ConversationDraft]:
    """A batch of conversations (dicts, or drafts already made by `draft_conversation`), each checked
    once; two with the same source id are refused before anything is embedded."""
    if isinstance(items, Mapping | str | bytes):
        raise ValidationError("conversations must be an iterable of dicts")

    def draft(item: Any) -> ConversationDraft:
        return item if isinstance(item, ConversationDraft) else draft_conversation(item, max_bytes)

    drafts = _each(items, "conversation", draft)
    source_ids = [draft.source_id for draft in drafts if draft.source_id is not None]
    if len(set(source_ids)) != len(source_ids):
        raise DuplicateError("two conversations of the batch have the same source id")
    return drafts


# -- vectors -------------------------------------------------------------------------------------------


def as_vector(value: Any, dimensions: int) -> Vector:
    """One vector of `dimensions` finite floats, as float32 of shape `(dimensions,)`."""
    matrix = as_matrix(value, dimensions, allow_single=True)
    if matrix.shape[0] != 1 or np.ndim(value) != 1:
        raise ValidationError(f"expected one vector of shape ({dimensions},), got shape {np.shape(value)}")
    return Vector(matrix[0])


def as_matrix(value: Any, dimensions: int, *, allow_single: bool = True) -> Matrix:
    """Vectors as a C-contiguous float32 matrix of shape `(n, dimensions)`, n >= 1.

    Accepts a list/tuple of numbers, a list of such lists, or a numpy array of shape `(dimensions,)`
    or `(n, dimensions)`. Rejects strings, non-numeric values, NaN/Inf and wrong shapes.
    """
    array = _as_float_array(value)
    if array.ndim == 1 and allow_single:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValidationError(f"expected shape ({dimensions},) or (n, {dimensions}), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValidationError("expected at least one vector, got an empty batch")
    if array.shape[1] != dimensions:
        raise DimensionMismatchError(
            f"expected vectors of {dimensions} dimensions, got {array.shape[1]}; embed with the model "
            "of this embedding space, or reindex into a new space"
        )
    if array.dtype == np.float32 and array.flags.c_contiguous:  # an embedder's output, usually
        matrix = array
    else:
        with np.errstate(over="ignore"):  # overflow becomes Inf, rejected just below
            matrix = np.ascontiguousarray(array, dtype=np.float32)
    # One pass finds every unusable row: NaN or Inf make the squared length NaN or Inf; so does a
    # length too large for float32, and a zero (or underflowing) one makes it 0. Cosine distance needs
    # a usable length, computed in float32 as sqlite-vec and the index compute it.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squared_norms = np.einsum("ij,ij->i", matrix, matrix)
    if not (np.isfinite(squared_norms).all() and squared_norms.all()):
        unusable = ~np.isfinite(squared_norms) | (squared_norms == 0)
        row = int(np.argmax(unusable))
        if not np.isfinite(matrix[row]).all():
            raise ValidationError(f"vector {row} has NaN or infinite values (after conversion to float32)")
        raise ValidationError(
            f"vector {row} has zero length, or one too small or too large for float32 (cosine distance "
            "is undefined for it)"
        )
    return Matrix(matrix)


def _as_float_array(value: Any) -> npt.NDArray[Any]:
    if isinstance(value, str | bytes | bytearray | memoryview):
        raise ValidationError(
            f"a vector must be a list or numpy array of numbers, not {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"a vector must be a rectangular array of numbers: {exc}") from exc
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise ValidationError(
            f"a vector must hold real numbers, got dtype {array.dtype} (e.g. strings, None or objects)"
        )
    return array


def matrix_for(given: Any, dimensions: int, rows: int) -> Matrix:
    """The caller's vectors for `rows` messages: exactly one checked row per message."""
    matrix = as_matrix(given, dimensions, allow_single=False)
    if len(matrix) != rows:
        raise ValidationError(f"got {len(matrix)} vectors for {rows} messages")
    return matrix


# -- search --------------------------------------------------------------------------------------------


def search_filter(
    *,
    conversation_id: Any = None,
    roles: Any = None,
    since: Any = None,
    until: Any = None,
    owner: Owner = EVERYONE,
) -> SearchFilter:
    """Every filter of a search, checked, in one value; `owner` is already an `Owner`."""
    return SearchFilter(
        conversation_id=None if conversation_id is None else check_id(conversation_id, "conversation_id"),
        roles=check_roles(roles),
        since=None if since is None else check_datetime(since, "since"),
        until=None if until is None else check_datetime(until, "until"),
        owner=owner,
    )


@dataclass(frozen=True, slots=True)
class Query:
    """A checked search query: its text (None for a vector query) and/or its vector (None until the
    text is embedded)."""

    text: str | None
    vector: Vector | None


def check_query(query: Any, dimensions: int, max_bytes: int, needs_text: bool) -> Query:
    """A text query (any str within the size limit) or a vector of the store's dimensions."""
    if isinstance(query, str):
        return Query(check_content(query, max_bytes, "query"), None)
    if needs_text:
        raise ValidationError("a text search needs a str query, not a vector")
    return Query(None, as_vector(query, dimensions))
