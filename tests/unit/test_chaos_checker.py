"""The chaos run's history checker (bench/chaos.py) finds each anomaly it exists for: a checker
that cannot fail proves nothing (issue 28)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bench.chaos import Journal, Observed, Op, Platform, judge

T = "ticket-1"


def reply(key: str, acked: bool = True, done_at: float = 1.0) -> Op:
    return Op(0, "user-reply", T, key, acked=acked, status=201 if acked else 0, attempts=1,
              done_at=done_at)  # fmt: skip


def entry(version: int, kind: str, body: str = "") -> dict[str, Any]:
    return {"version": version, "type": kind, "data": {"body": body} if body else {}}


def healthy() -> tuple[Observed, Journal, Platform]:
    """A run with nothing wrong: a submission, two replies, everything published and applied."""
    journal = Journal()
    journal.add(Op(0, "submit", None, "submit-a", acked=True, status=201, attempts=1,
                   ticket_after=T))  # fmt: skip
    journal.add(reply("r-1", done_at=1.0))
    journal.add(reply("r-2", done_at=2.0))
    journal.add(Op(0, "close", T, "close-1", acked=True, status=200, attempts=1, done_at=3.0))
    platform = Platform(sent=[{"event_id": "p-1", "type": "MemberJoined"}], poison=1)
    history = [entry(1, "TicketSubmitted"), entry(2, "UserReplied", "r-1"),
               entry(3, "UserReplied", "r-2"), entry(4, "TicketClosed")]  # fmt: skip
    observed = Observed(
        histories={T: history},
        titles=Counter({"submit-a": 1}),
        stored={(T, v) for v in range(1, 5)},
        published=[{"ticket_id": T, "version": v, "event_id": f"e{v}"} for v in range(1, 5)],
        applied=Counter({"p-1": 1}),
        dead_letters=1,
        derived={"n-1"},
        notifications=[json.dumps({"notification_id": "n-1", "kind": "reply"}).encode()],
        audit=(0, "audit passed"),
        converged_after=0.4,
    )
    return observed, journal, platform


def test_a_run_with_nothing_wrong_has_no_anomaly() -> None:
    assert judge(*healthy()) == []


def test_a_reply_without_any_answer_may_have_been_stored_once() -> None:
    observed, journal, platform = healthy()
    journal.add(Op(0, "user-reply", T, "r-5", status=0, attempts=12))
    observed.histories[T].append(entry(5, "UserReplied", "r-5"))
    assert judge(observed, journal, platform) == []


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (
            lambda o, j, p: o.histories[T].append(entry(5, "UserReplied", "r-1")),
            "acknowledged, 2 times",
        ),
        (lambda o, j, p: o.histories[T].pop(1), "acknowledged, 0 times"),
        (
            lambda o, j, p: (
                j.add(reply("r-3", acked=False))
                or o.histories[T].extend(
                    [entry(5, "UserReplied", "r-3"), entry(6, "UserReplied", "r-3")]
                )
            ),
            "(no answer), 2 times",
        ),
        (
            lambda o, j, p: (
                j.add(Op(0, "user-reply", T, "r-4", status=409, attempts=1))
                or o.histories[T].append(entry(5, "UserReplied", "r-4"))
            ),
            "not acknowledged (409), 1 times",
        ),
        (lambda o, j, p: o.histories[T].reverse(), "another order than acknowledged"),
        (lambda o, j, p: o.histories[T].pop(), "no TicketClosed"),
        (lambda o, j, p: o.titles.update({"submit-a": 1}), "submission submit-a: 2 tickets"),
        (lambda o, j, p: o.published.pop(2), "stored, never on tickets.events"),
        (
            lambda o, j, p: o.published.append({"ticket_id": T, "version": 2, "event_id": "other"}),
            "with 2 event ids",
        ),
        (lambda o, j, p: o.published.reverse(), "out of order"),
        (lambda o, j, p: o.applied.update({"p-1": 1}), "applied 2 times"),
        (lambda o, j, p: o.applied.clear(), "applied 0 times"),
        (lambda o, j, p: setattr(o, "dead_letters", 0), "poison: 1 sent, 0 dead-lettered"),
        (lambda o, j, p: o.notifications.clear(), "derived, never published"),
        (
            lambda o, j, p: o.notifications.append(b'{"notification_id": "n-1", "kind": "other"}'),
            "published as 2 documents",
        ),
        (
            lambda o, j, p: setattr(o, "audit", (1, "chain FAILED at position 7")),
            "audit verify failed",
        ),
        (lambda o, j, p: setattr(o, "converged_after", 6.0), "within 5 s"),
        (lambda o, j, p: setattr(o, "converged_after", None), "within 5 s"),
        (lambda o, j, p: o.histories[T].append(entry(5, "TicketClosed")), "closed 2 times"),
        (lambda o, j, p: o.list_differences.update({T: (None, "closed")}), "the list shows None"),
        (lambda o, j, p: o.unreadable.update({"ticket-2": 503}), "history answered 503"),
    ],
)
def test_each_anomaly_is_found(spoil: Any, expected: str) -> None:
    observed, journal, platform = healthy()
    spoil(observed, journal, platform)
    anomalies = judge(observed, journal, platform)
    assert any(expected in anomaly for anomaly in anomalies), anomalies
