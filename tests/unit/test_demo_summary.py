"""The demo's closing lines: what the tracker did (overdue, second notices) is read from its
``/metrics`` page and printed, so a newcomer sees the deadline side of the exchange too."""

from __future__ import annotations

from collections import Counter

from hxbus.demo import Summary, summary_lines
from hxbus.metrics_view import Scrape, View

TRACKER_PAGE = """\
# TYPE hx_requests_second_notices_total counter
hx_requests_second_notices_total{kind="request",target_agency="320300000000"} 2.0
hx_requests_second_notices_total{kind="hit_confirmation",target_agency="370800000000"} 1.0
# TYPE hx_requests_overdue gauge
hx_requests_overdue{kind="request",priority="IMMEDIATE",target_agency="320300000000"} 1.0
"""


def test_second_notices_are_summed_over_kinds_and_targets_from_the_tracker_page() -> None:
    scrape = Scrape(at=0.0)
    scrape.add_text(TRACKER_PAGE)

    assert 3.0 == View(scrape, None).total("hx_requests_second_notices_total").total


def test_summary_lines_name_overdue_items_and_second_notices() -> None:
    summary = Summary(
        published=Counter({"AssistanceRequest": 4}),
        overdue=1,
        second_notices=3,
        answered_in_time=5,
    )

    lines = summary_lines(summary)

    assert (
        "requests and hit confirmations answered in time: 5; overdue: 1; second notices sent: 3"
        in lines
    )


def test_summary_says_whether_it_ran_signed_on_a_secured_broker() -> None:
    """The first closing line says how the run was secured; --plain says it was not."""
    secured = Summary(secured=True, signing_agencies=10, signing_bridges=4)
    plain = Summary(secured=False, signing_agencies=10, signing_bridges=4)
    assert (
        "ran signed on a secured broker: Ed25519 signatures of 10 agencies verified by every "
        "receiver, audit records signed by 4 bridges; SASL/SCRAM logins per agency, bridge "
        "and auditor; ACLs",
        "ran signed (10 agencies, 4 bridges) on a PLAIN development broker: no logins, no "
        "ACLs (--plain)",
    ) == (summary_lines(secured)[0], summary_lines(plain)[0])
