"""Helpers of the request-tracker tests: fixture events re-timed, and deliveries of them.

Not a test module; imported by ``test_tracker*.py`` and the tracker's broker test.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from consumers import Delivery
from schemas import Agreement, ExchangeEvent, parse_event, render_event
from schemas.timestamps import format_time

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def _fixture(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return obj


def hit(
    agreement: Agreement,
    at: datetime,
    *,
    reporter: str = "340600000000",
    issuer: str = "370800000000",
    priority: str = "IMMEDIATE",
    confirmation_requested: bool = True,
) -> ExchangeEvent:
    """An AlertHit from ``reporter`` to ``issuer``'s inbox, issued at ``at``."""
    obj = _fixture("alert_hit_huaibei.json")
    obj.update(id=str(uuid.uuid4()), time=format_time(at), source=reporter, hxtarget=issuer)
    obj["data"].update(
        hit_id=str(uuid.uuid4()),
        reporting_agency=reporter,
        observed_at=format_time(at - timedelta(minutes=5)),
        priority=priority,
        confirmation_requested=confirmation_requested,
    )
    return parse_event(obj, agreement)


def alert_of(agreement: Agreement, of_hit: ExchangeEvent, at: datetime) -> ExchangeEvent:
    """The alert ``of_hit`` names: a VehicleAlert of the hit's target (its issuer), shared
    with every partner, issued at ``at`` (receivers judge a hit against its alert)."""
    obj = _fixture("vehicle_alert_jining.json")
    issuer = of_hit.envelope.target
    obj.update(id=str(uuid.uuid4()), time=format_time(at), source=issuer)
    obj["data"].update(
        alert_id=of_hit.record["alert_id"],
        issuing_agency=issuer,
        issued_at=format_time(at),
        valid_until=format_time(at + timedelta(days=30)),
    )
    return parse_event(obj, agreement)


def confirmation(agreement: Agreement, of_hit: ExchangeEvent, at: datetime) -> ExchangeEvent:
    """The issuer's HitConfirmation of ``of_hit``, answered at ``at``."""
    obj = _fixture("hit_confirmation_jining.json")
    issuer = of_hit.envelope.target
    reporter = of_hit.record["reporting_agency"]
    obj.update(
        id=str(uuid.uuid4()),
        time=format_time(at),
        source=issuer,
        hxtarget=reporter,
        correlationid=of_hit.envelope.message_id,
        causationid=of_hit.envelope.message_id,
    )
    obj["data"].update(
        hit_id=of_hit.record["hit_id"],
        alert_id=of_hit.record["alert_id"],
        confirmed_at=format_time(at),
        agency=issuer,
    )
    return parse_event(obj, agreement)


def request(
    agreement: Agreement,
    at: datetime,
    *,
    ack_in: timedelta,
    respond_in: timedelta,
    requester: str = "320300000000",
    targets: tuple[str, ...] = ("370800000000",),
    priority: str = "IMMEDIATE",
) -> ExchangeEvent:
    """An AssistanceRequest issued at ``at`` (not yet fanned out: no target)."""
    obj = _fixture("assistance_request_xuzhou.json")
    message_id = str(uuid.uuid4())
    obj.update(id=message_id, time=format_time(at), source=requester, correlationid=message_id)
    obj["data"].update(
        request_id=str(uuid.uuid4()),
        requesting_agency=requester,
        target_agencies=list(targets),
        priority=priority,
        ack_by=format_time(at + ack_in),
        respond_by=format_time(at + respond_in),
    )
    return parse_event(obj, agreement)


def copy_for(event: ExchangeEvent, target: str) -> ExchangeEvent:
    """The copy of a request that ``target``'s inbox receives (as the Publisher routes it)."""
    from producers import fan_out_message_id  # the tests may use both roles

    envelope = event.envelope.evolve(
        message_id=fan_out_message_id(event.envelope.message_id, target), target=target
    )
    return ExchangeEvent(envelope, event.record)


def response(
    agreement: Agreement, of_request: ExchangeEvent, responder: str, status: str, at: datetime
) -> ExchangeEvent:
    """``responder``'s AssistanceResponse to ``of_request`` with ``status``, given at ``at``."""
    obj = _fixture("assistance_response_jining.json")
    requester = of_request.record["requesting_agency"]
    obj.update(
        id=str(uuid.uuid4()),
        time=format_time(at),
        source=responder,
        hxtarget=requester,
        correlationid=of_request.envelope.correlation_id,
        causationid=of_request.envelope.message_id,
    )
    obj["data"].update(
        response_id=str(uuid.uuid4()),
        request_id=of_request.record["request_id"],
        responding_agency=responder,
        status=status,
        responded_at=format_time(at),
    )
    return parse_event(obj, agreement)


def delivery(event: ExchangeEvent, offset: int = 0) -> Delivery:
    """``event`` as the consumer runtime hands it to a handler (value bytes not needed)."""
    target = event.envelope.target or "000000000000"
    return Delivery(
        topic=f"hx.inbox.{target}",
        partition=0,
        offset=offset,
        key=None,
        value=b"",
        header_list=[],
        headers={},
        envelope=event.envelope,
        event_type=event.event_type,
        record=event.record,
        timestamp=event.envelope.created_at,
    )


def rendered(event: ExchangeEvent) -> str:
    return json.dumps(render_event(event), ensure_ascii=False)
