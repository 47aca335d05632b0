"""The retention policy (tiers by age, importance keeps a conversation in full longer, a bad policy is
refused) and the extractive summarizer (the conversation's own central, non-repeating sentences),
with the real model where the choice of sentences is the point."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import memory
from memory import Message, ValidationError
from memory.lifecycle.retention import TIERS, RetentionPolicy, is_marked
from memory.lifecycle.summarize import Digest, ExtractiveSummarizer, Summarizer


def test_tiers_follow_age_with_the_default_thresholds() -> None:
    policy = RetentionPolicy()
    assert [policy.tier(age, 0.0) for age in (0, 30, 31, 90, 91, 365, 366, 5000)] == [
        "full",
        "full",
        "key_points",
        "key_points",
        "summary",
        "summary",
        "metadata",
        "metadata",
    ]
    assert policy.tier(5000, 0.0, pinned=True) == "full"


def test_important_conversations_age_slower() -> None:
    policy = RetentionPolicy()
    routine = ["user", "assistant"]
    engaged = ["user", "assistant"] * 20
    assert policy.importance(routine, {}) < policy.important_at <= policy.importance(engaged, {})
    assert policy.importance(routine, {"is_starred": True}) == pytest.approx(0.2 + 0.4 * 2 / 40 + 0.4 / 20)
    assert is_marked({"important": True}) and not is_marked({"is_starred": "yes"})
    assert policy.tier(60, policy.importance(routine, {})) == "key_points"
    assert policy.tier(60, policy.importance(engaged, {})) == "full"
    assert policy.tier(60, 0.0, marked=True) == "full"  # marked: important whatever its score
    assert policy.tier(89, 1.0) == "full" and policy.tier(100, 1.0) == "key_points"
    assert policy.tier(91, 0.0) == "summary"
    one_sided = ["user"] * 40
    assert policy.importance(one_sided, {}) == pytest.approx(0.4)  # long, but no exchange


@pytest.mark.parametrize(
    "options",
    [
        {"full_days": 100},  # after key_points_days
        {"key_points_days": 400},  # after summary_days
        {"full_days": -1},
        {"summary_days": float("inf")},
        {"summary_days": float("nan")},
        {"important_at": 1.5},
        {"important_factor": 0.5},
        {"long_conversation": 0},
        {"long_exchange": True},
    ],
)
def test_a_policy_out_of_order_or_out_of_range_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(**options)  # type: ignore[arg-type]


def test_tiers_are_named_from_hot_to_cold() -> None:
    assert TIERS == ("full", "key_points", "summary", "metadata")


def _messages(*turns: tuple[str, str]) -> list[Message]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Message(
            id=i + 1, conversation_id=1, role=role, content=text, created_at=now, meta={}, content_hash=""
        )
        for i, (role, text) in enumerate(turns)
    ]


BREAD = _messages(
    ("user", "Hi there! My sourdough starter has been sluggish all week. It barely rises after feeding."),
    ("assistant", "Sorry to hear that. A sluggish starter is usually too cold: keep it around 24 to 26 °C."),
    ("user", "Thanks! The kitchen is about 17 °C at night. Should I feed it more often?"),
    (
        "assistant",
        "Feed it twice a day with equal weights of flour and water, and use some whole rye flour. "
        "Put it in the oven with only the light on to keep it warm. Ok.",
    ),
    ("user", "Great, thanks a lot! I will try the oven light trick tonight."),
)


def test_the_default_summarizer_keeps_the_conversations_own_sentences_in_order() -> None:
    summarizer = ExtractiveSummarizer(memory.FakeEmbedder(64), key_points=3, summary_sentences=2)
    assert isinstance(summarizer, Summarizer)
    digest = summarizer.summarize(BREAD)
    all_text = " ".join(m.content for m in BREAD)
    assert len(digest.key_points) == 3 and all(point in all_text for point in digest.key_points)
    order = [all_text.index(point) for point in digest.key_points]
    assert order == sorted(order)
    assert digest.summary and all(part in all_text for part in digest.summary.split(". ") if part)
    assert "Ok." not in digest.key_points  # too short to carry anything
    assert ExtractiveSummarizer(memory.FakeEmbedder(8)).summarize([]) == Digest("", ())


def test_the_default_summarizer_does_not_repeat_itself() -> None:
    repeated = _messages(
        *[("user", "The boiler pressure dropped below one bar again this morning.")] * 5,
        ("assistant", "Top the boiler up to 1.5 bar with the filling loop under it."),
        ("user", "The radiators upstairs stay cold even with the pressure fixed."),
    )
    digest = ExtractiveSummarizer(memory.FakeEmbedder(64), key_points=3).summarize(repeated)
    # Three distinct sentences: two make the summary, the third is the one key point left (a key
    # point never repeats the summary, nor another key point).
    assert len(digest.key_points) == 1 and digest.key_points[0] not in digest.summary
    picked = [*digest.key_points, digest.summary]
    assert all(any(line in part for part in picked) for line in {m.content for m in repeated})


@pytest.mark.model
def test_with_the_real_model_the_key_points_are_the_substance_not_the_pleasantries() -> None:
    digest = ExtractiveSummarizer(memory.SentenceTransformerEmbedder(), key_points=3).summarize(BREAD)
    pleasantries = {"Hi there!", "Sorry to hear that.", "Thanks!", "Great, thanks a lot!", "Ok."}
    assert len(digest.key_points) == 3 and not pleasantries & set(digest.key_points)
    assert not any(p in digest.summary for p in pleasantries)
    assert any("starter" in point for point in [*digest.key_points, digest.summary])


@pytest.mark.parametrize("options", [{"key_points": 0}, {"summary_sentences": -1}, {"relevance": 2}])
def test_a_bad_summarizer_option_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        ExtractiveSummarizer(memory.FakeEmbedder(8), **options)  # type: ignore[arg-type]
