"""schemas.authority: every row of design.md's Authority table, passing and refused.

One table: a message as the rules see it (``Said``), against the same known facts, and
the rule expected to refuse it (None: it passes). The facts: Jining's alert ``A1``
(PERSON, NEED_TO_KNOW, shared with Shangqiu) and ``A2`` (VEHICLE, shared with every
partner), Shangqiu's hit ``H1`` on A1, Jining's request ``R1`` to Shangqiu and Huaibei.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers import FactStore, MemoryFacts, SqliteFacts
from schemas.agreement import inbox_owner
from schemas.authority import RULES, Said, judge, lesson
from schemas.authority_facts import AlertFacts, HitFacts, Lesson, NoFacts, RequestFacts
from schemas.errors import AuthorityRefused, AuthorityUnknown

XUZHOU, JINING, SHANGQIU, HUAIBEI = "320300000000", "370800000000", "411400000000", "340600000000"
A1, A2, A9 = "a1", "a2", "a9-unknown"
H1, H9 = "h1", "h9-unknown"
R1, R9 = "r1", "r9-unknown"


def facts() -> MemoryFacts:
    known = MemoryFacts()
    known.note(
        Lesson(alert=(A1, AlertFacts(JINING, "PERSON", 1, "NEED_TO_KNOW", frozenset({SHANGQIU}))))
    )
    known.note(Lesson(alert=(A2, AlertFacts(JINING, "VEHICLE", 2, "SHARE_ALL_PARTNERS"))))
    known.note(Lesson(hit=(H1, HitFacts(SHANGQIU, A1))))
    known.note(Lesson(request=(R1, RequestFacts(JINING, frozenset({SHANGQIU, HUAIBEI})))))
    return known


def alert(source: str, issuer: str, alert_id: str = A1, revision: int = 2, **more: Any) -> Said:
    record = {"alert_id": alert_id, "revision": revision, "issuing_agency": issuer, **more}
    return Said("PersonAlert", record, source)


def status(source: str, agency: str, alert_id: str = A1, kind: str = "PERSON") -> Said:
    record = {"alert_id": alert_id, "alert_kind": kind, "status": "WITHDRAWN", "agency": agency}
    return Said("AlertStatusChange", record, source)


def hit(source: str, reporter: str, target: str, alert_id: str = A1) -> Said:
    record = {"hit_id": "h2", "alert_id": alert_id, "reporting_agency": reporter}
    return Said("AlertHit", record, source, target, inbox_owner=target)


def confirmation(
    source: str, agency: str, target: str, hit_id: str = H1, alert_id: str = A1
) -> Said:
    record = {"hit_id": hit_id, "alert_id": alert_id, "agency": agency, "result": "CONFIRMED"}
    return Said("HitConfirmation", record, source, target, inbox_owner=target)


def request(
    source: str,
    requester: str,
    target: str,
    targets: tuple[str, ...] = (SHANGQIU, HUAIBEI),
    request_id: str = R1,
) -> Said:
    record = {
        "request_id": request_id,
        "requesting_agency": requester,
        "target_agencies": list(targets),
    }
    return Said("AssistanceRequest", record, source, target, inbox_owner=target)


def response(source: str, responder: str, target: str, request_id: str = R1) -> Said:
    record = {"request_id": request_id, "responding_agency": responder, "status": "ACCEPTED"}
    return Said("AssistanceResponse", record, source, target, inbox_owner=target)


CASES: list[tuple[str, Said, str | None]] = [
    # PersonAlert / VehicleAlert: signed by issuing_agency; revisions keep the issuer.
    ("revision by the issuer", alert(JINING, JINING), None),
    ("first revision of an alert not seen before", alert(XUZHOU, XUZHOU, A9, 1), None),
    ("lower revision by the issuer (copies out of order)", alert(JINING, JINING, revision=1), None),
    ("alert naming Jining signed by Xuzhou", alert(XUZHOU, JINING, A9, 1), "issuer_mismatch"),
    (
        "revision 5 of Jining's alert by Xuzhou",
        alert(XUZHOU, XUZHOU, revision=5),
        "revision_issuer_changed",
    ),
    # AlertStatusChange: by the alert's issuer, of the alert's kind.
    ("withdrawal by the issuer", status(JINING, JINING), None),
    ("withdrawal naming Jining signed by Xuzhou", status(XUZHOU, JINING), "status_not_by_issuer"),
    ("Xuzhou withdraws Jining's alert", status(XUZHOU, XUZHOU), "status_not_by_issuer"),
    (
        "status change of the wrong kind",
        status(JINING, JINING, kind="VEHICLE"),
        "status_kind_mismatch",
    ),
    ("status change of an unknown alert", status(JINING, JINING, A9), "alert_unknown"),
    # AlertHit: by reporting_agency, to the issuer's inbox, on an alert shared with it.
    ("hit to the issuer by a share_with agency", hit(SHANGQIU, SHANGQIU, JINING), None),
    ("hit on a shared-with-all alert", hit(XUZHOU, XUZHOU, JINING, A2), None),
    ("sender's copy of a hit", hit(SHANGQIU, SHANGQIU, SHANGQIU, A9), None),
    ("hit naming Shangqiu signed by Xuzhou", hit(XUZHOU, SHANGQIU, JINING), "hit_not_by_reporter"),
    ("hit sent to another than the issuer", hit(SHANGQIU, SHANGQIU, HUAIBEI), "hit_not_to_issuer"),
    (
        "hit on an alert not shared with the reporter",
        hit(XUZHOU, XUZHOU, JINING),
        "hit_alert_not_shared",
    ),
    ("hit on an unknown alert", hit(XUZHOU, XUZHOU, JINING, A9), "alert_unknown"),
    # HitConfirmation: by the alert's issuer, to the hit's reporter, about the hit's alert.
    ("confirmation by the issuer to the reporter", confirmation(JINING, JINING, SHANGQIU), None),
    (
        "confirmation naming Jining signed by Xuzhou",
        confirmation(XUZHOU, JINING, SHANGQIU),
        "confirmation_not_by_issuer",
    ),
    (
        "Xuzhou confirms a hit on Jining's alert",
        confirmation(XUZHOU, XUZHOU, SHANGQIU),
        "confirmation_not_by_issuer",
    ),
    (
        "confirmation naming another alert",
        confirmation(JINING, JINING, SHANGQIU, alert_id=A2),
        "confirmation_wrong_alert",
    ),
    (
        "confirmation to another than the reporter",
        confirmation(JINING, JINING, HUAIBEI),
        "confirmation_not_to_reporter",
    ),
    ("confirmation of an unknown hit", confirmation(JINING, JINING, SHANGQIU, H9), "hit_unknown"),
    # AssistanceRequest: by requesting_agency, each copy to one of target_agencies.
    ("request copy to a target", request(JINING, JINING, SHANGQIU), None),
    ("sender's copy of a request", request(JINING, JINING, JINING), None),
    (
        "request naming Jining signed by Xuzhou",
        request(XUZHOU, JINING, SHANGQIU),
        "request_not_by_requester",
    ),
    ("request copy to a non-target", request(JINING, JINING, XUZHOU), "request_copy_not_a_target"),
    (
        "Xuzhou re-issues Jining's request",
        request(XUZHOU, XUZHOU, SHANGQIU, (SHANGQIU,)),
        "request_not_by_requester",
    ),
    # AssistanceResponse: by a target of the request, to the requester.
    ("response by a target to the requester", response(SHANGQIU, SHANGQIU, JINING), None),
    (
        "response naming Shangqiu signed by Xuzhou",
        response(XUZHOU, SHANGQIU, JINING),
        "response_not_by_responder",
    ),
    ("response by an agency not asked", response(XUZHOU, XUZHOU, JINING), "response_not_a_target"),
    (
        "response to another than the requester",
        response(SHANGQIU, SHANGQIU, HUAIBEI),
        "response_not_to_requester",
    ),
    ("response to an unknown request", response(SHANGQIU, SHANGQIU, JINING, R9), "request_unknown"),
    # Any message read from an inbox: addressed to the inbox's agency.
    (
        "hit in an inbox not its target's",
        Said("AlertHit", hit(SHANGQIU, SHANGQIU, JINING).record, SHANGQIU, JINING, SHANGQIU),
        "target_not_inbox_owner",
    ),
    (
        "alert without target in an inbox",
        Said("PersonAlert", alert(JINING, JINING).record, JINING, None, SHANGQIU),
        "target_not_inbox_owner",
    ),
]


def refusing_rule(said: Said) -> str | None:
    """The rule that refuses ``said`` (its text starts with the rule id), None if it passes."""
    try:
        judge(said, facts())
    except AuthorityRefused as refused:
        return refused.rule if str(refused).startswith(f"{refused.rule}: ") else "unnamed"
    return None


@pytest.mark.parametrize(("said", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_table(said: Said, rule: str | None) -> None:
    """Each message passes, or is refused by exactly the rule of its row (one of RULES)."""
    found = refusing_rule(said)
    assert (rule, True) == (found, found is None or found in RULES)


def test_unknown_facts_are_retriable_refusals_are_not() -> None:
    """An alert, hit or request not known yet is retriable; a broken rule is not."""
    outcomes = []
    for said in (status(JINING, JINING, A9), status(XUZHOU, XUZHOU)):
        with pytest.raises(AuthorityRefused) as refused:
            judge(said, facts())
        outcomes.append((refused.value.rule, refused.value.retriable, refused.value.reason))
    assert [
        ("alert_unknown", True, "not_authorized"),
        ("status_not_by_issuer", False, "not_authorized"),
    ] == outcomes
    assert isinstance(AuthorityUnknown("alert_unknown", "x"), AuthorityRefused)


def test_stateless_rules_are_checked_without_facts() -> None:
    """With no facts (a desk before sending), the author rule still refuses."""
    with pytest.raises(AuthorityRefused) as refused:
        judge(alert(XUZHOU, JINING, A9, 1), NoFacts())
    assert "issuer_mismatch" == refused.value.rule


def test_refusal_names_ids_only() -> None:
    """The text names agencies and the alert id, not the record's other values."""
    said = alert(XUZHOU, XUZHOU, revision=5, subject={"name": "张三"}, reason="涉嫌诈骗")
    with pytest.raises(AuthorityRefused) as refused:
        judge(said, facts())
    text = str(refused.value)
    assert (True, False, False) == (A1 in text and JINING in text, "张三" in text, "诈骗" in text)


def test_inbox_owner_of_topics() -> None:
    """The agency of hx.inbox.<id>; None for a broadcast or any other topic."""
    assert (JINING, None, None) == (
        inbox_owner(f"hx.inbox.{JINING}"),
        inbox_owner("hx.alerts.person"),
        inbox_owner("t-loop"),
    )


# -- what passing messages teach, and the two stores ---------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FactStore]:
    made: FactStore = MemoryFacts() if request.param == "memory" else SqliteFacts(tmp_path / "f.db")
    yield made
    made.close()


def test_facts_merge_issuer_first_union_of_share_with_highest_handling(store: FactStore) -> None:
    """Revision 2 narrows the handling: issuer and kind stay, share_with is the union, the
    highest revision's handling wins, an older revision arriving late changes none of it."""
    first = alert(JINING, JINING, A1, 1, handling="SHARE_ALL_PARTNERS", share_with=[])
    second = alert(JINING, JINING, A1, 2, handling="NEED_TO_KNOW", share_with=[SHANGQIU])
    for said in (first, second, first):
        taught = lesson(said)
        assert taught is not None
        store.note(taught)
    store.commit()
    assert AlertFacts(JINING, "PERSON", 2, "NEED_TO_KNOW", frozenset({SHANGQIU})) == store.alert(A1)


def test_facts_of_hits_and_requests_and_rollback(store: FactStore) -> None:
    """A hit teaches its reporter and alert, request copies the union of targets; what was
    noted after the last commit is forgotten by a rollback."""
    for said in (
        hit(SHANGQIU, SHANGQIU, JINING),
        request(JINING, JINING, SHANGQIU, (SHANGQIU,)),
        request(JINING, JINING, HUAIBEI, (HUAIBEI,)),
    ):
        taught = lesson(said)
        assert taught is not None
        store.note(taught)
    store.commit()
    late = lesson(request(JINING, JINING, XUZHOU, (XUZHOU,), request_id="r2"))
    assert late is not None
    store.note(late)
    store.rollback()
    assert (
        HitFacts(SHANGQIU, A1),
        RequestFacts(JINING, frozenset({SHANGQIU, HUAIBEI})),
        None,
    ) == (store.hit("h2"), store.request(R1), store.request("r2"))
