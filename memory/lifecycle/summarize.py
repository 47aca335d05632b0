"""Summaries and key points of a conversation, for the colder tiers.

`Summarizer` is the protocol (messages in, a `Digest` out); a user's own may call a language model.
`ExtractiveSummarizer`, the default, needs none: it picks the conversation's own sentences, with the
store's embedder. Sentences nearest the conversation's centroid carry what it is about; each next
pick is the one that adds most (maximal marginal relevance: near the centroid, far from the picks
so far), so the key points do not repeat each other. The summary is the first few picks and the
key points the picks after them (a key point never repeats the summary); both keep the order the
sentences had in the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memory.embedding.base import Embedder
from memory.errors import ValidationError
from memory.models import Message

_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+|\n+")
_MIN_WORDS: Final = 4
_MAX_SENTENCE_CHARS: Final = 400
#: Read from messages of these roles; the others (system prompts, tool output) only when a
#: conversation has nothing else.
_SPOKEN: Final = frozenset({"user", "assistant"})


@dataclass(frozen=True, slots=True)
class Digest:
    """What a summarizer makes of a conversation: a brief summary and its key points."""

    summary: str
    key_points: tuple[str, ...]


@runtime_checkable
class Summarizer(Protocol):
    """Turns a conversation's messages (chronological) into a `Digest`."""

    def summarize(self, messages: Sequence[Message]) -> Digest: ...


class ExtractiveSummarizer:
    """The default `Summarizer`: the conversation's own sentences, chosen with `embedder` (see the
    module's docstring). The summary of `summary_sentences`, then `key_points` more sentences at
    most (7: in the key-points tier, search found the relevant conversation for 0.893 of
    bench/tiers.py's queries with 6, 0.901 with 7, 0.916 with 8; each costs a row and a vector);
    `relevance` (0 to 1) trades nearness to the centroid against difference from the picks."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        key_points: int = 7,
        summary_sentences: int = 2,
        relevance: float = 0.7,
        max_sentences: int = 400,
    ) -> None:
        for name, value in (
            ("key_points", key_points),
            ("summary_sentences", summary_sentences),
            ("max_sentences", max_sentences),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive int, not {value!r}")
        if isinstance(relevance, bool) or not isinstance(relevance, int | float) or not 0 <= relevance <= 1:
            raise ValidationError(f"relevance must be from 0 to 1, not {relevance!r}")
        self._embedder = embedder
        self._key_points = key_points
        self._summary_sentences = summary_sentences
        self._relevance = float(relevance)
        self._max_sentences = max_sentences

    def summarize(self, messages: Sequence[Message]) -> Digest:
        sentences = _sentences(messages, self._max_sentences)
        if not sentences:
            return Digest("", ())
        vectors = np.asarray(self._embedder.embed(sentences), dtype=np.float32)
        picks = _diverse_picks(vectors, self._summary_sentences + self._key_points, self._relevance)
        summary = " ".join(sentences[i] for i in sorted(picks[: self._summary_sentences]))
        key_points = tuple(sentences[i] for i in sorted(picks[self._summary_sentences :]))
        return Digest(summary, key_points)


def _sentences(messages: Sequence[Message], limit: int) -> list[str]:
    """Distinct sentences of the spoken messages (of all, if none is spoken), in order; at most
    `limit`, spread evenly over the conversation."""
    spoken = [m for m in messages if m.role in _SPOKEN] or list(messages)
    found: dict[str, None] = {}
    short: dict[str, None] = {}
    for message in spoken:
        for piece in _SENTENCE_END.split(message.content):
            sentence = " ".join(piece.split())[:_MAX_SENTENCE_CHARS]
            if sentence:
                (found if len(sentence.split()) >= _MIN_WORDS else short)[sentence] = None
    chosen = list(found or short)
    if len(chosen) > limit:
        chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, limit).round().astype(int)]
    return chosen


def _diverse_picks(vectors: npt.NDArray[np.float32], count: int, relevance: float) -> list[int]:
    """Indices of up to `count` rows by maximal marginal relevance around the rows' centroid."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    centroid = unit.mean(axis=0)
    length = float(np.linalg.norm(centroid))
    central = unit @ (centroid / length) if length > 0 else np.zeros(len(unit), dtype=np.float32)
    picks: list[int] = []
    nearest_pick = np.full(len(unit), -np.inf, dtype=np.float32)
    for _ in range(min(count, len(unit))):
        redundancy = np.where(np.isfinite(nearest_pick), nearest_pick, 0.0)
        score = relevance * central - (1 - relevance) * redundancy
        score[picks] = -np.inf
        best = int(np.argmax(score))
        picks.append(best)
        nearest_pick = np.maximum(nearest_pick, unit @ unit[best])
    return picks
