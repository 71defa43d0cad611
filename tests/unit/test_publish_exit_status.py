"""`hxbus publish` ends with the status of what refused its events: the broker's refusal
mid-run (3 unavailable, 4 not authorised) is not reported as a bad event (1)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hxbus.commands.publish import _Feed, _Report
from hxbus.exit_codes import ExitCode
from producers import PublishOutcome
from schemas import ExchangeEvent, load_agreement, parse_event
from schemas.errors import (
    BrokerUnavailable,
    HxError,
    Issue,
    NotAuthorized,
    ValidationFailed,
)

AGREEMENT = load_agreement()
EVENT_FILE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "events" / "person_alert_xuzhou.json"
)


def _event() -> ExchangeEvent:
    return parse_event(json.loads(EVENT_FILE.read_text(encoding="utf-8")), AGREEMENT)


def _status(errors: list[HxError | None]) -> int:
    """The exit status of a publish whose events ended with ``errors`` (None: sent)."""
    feed = _Feed([], AGREEMENT, _event().envelope.source, None)
    report = _Report(feed, io.StringIO())
    event = _event()
    for error in errors:
        report.outcome(PublishOutcome(event, error=error))
    return report.finish()


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ([None, None], ExitCode.OK),
        ([None, ValidationFailed([Issue("data.category", "not allowed")])], ExitCode.INVALID),
        ([None, BrokerUnavailable("delivery timed out")], ExitCode.UNAVAILABLE),
        ([NotAuthorized("topic write denied"), None], ExitCode.NOT_AUTHORISED),
        (
            [
                ValidationFailed([Issue("data.category", "not allowed")]),
                BrokerUnavailable("delivery timed out"),
            ],
            ExitCode.UNAVAILABLE,
        ),
        (
            [BrokerUnavailable("delivery timed out"), NotAuthorized("topic write denied")],
            ExitCode.NOT_AUTHORISED,
        ),
    ],
)
def test_the_exit_status_names_what_refused_the_events(
    errors: list[HxError | None], expected: ExitCode
) -> None:
    """A broker refusal outranks a bad event; a login/ACL refusal outranks an outage."""
    assert expected == _status(errors)
