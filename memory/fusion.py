"""Reciprocal Rank Fusion: one ranking from several, by rank alone (scores of different kinds never mix)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

#: The constant of Cormack, Clarke and Buettcher (SIGIR 2009): a document at rank r of a ranking
#: scores 1 / (RRF_CONSTANT + r); it damps the weight of the very top ranks.
RRF_CONSTANT: Final = 60


@dataclass(frozen=True, slots=True)
class Fused:
    """An item of the fused ranking: its fused score and the rankings it came from."""

    item: int
    score: float
    sources: frozenset[str]


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], limit: int, *, constant: int = RRF_CONSTANT
) -> list[Fused]:
    """The best `limit` items of the named `rankings` (each best first, ranks from 1), fused.

    Ties go to the item with the better best rank, then the smaller item.
    """
    scores: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    sources: dict[int, set[str]] = {}
    for name, ranking in rankings.items():
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (constant + rank)
            best_rank[item] = min(best_rank.get(item, rank), rank)
            sources.setdefault(item, set()).add(name)
    order = sorted(scores, key=lambda item: (-scores[item], best_rank[item], item))
    return [Fused(item, scores[item], frozenset(sources[item])) for item in order[:limit]]
