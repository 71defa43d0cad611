"""What one input comes to, in words a test can compare: each unit refused with its reason
(line and rule), or accepted with its event. Shared by the regression samples' tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fuzz_targets import AGREEMENT, CODEC, PROFILE_OBJECTS, InboundTarget, keep_promises

from schemas import ExchangeEvent, parse_event, read_events, render_event, validate_event
from schemas.errors import HxError


@dataclass(frozen=True, slots=True)
class Outcome:
    """One unit of an input: the line, and the refusal's text or the accepted event."""

    line: int
    refusal: str | None = None
    event: ExchangeEvent | None = None

    def rendered(self) -> dict[str, Any]:
        assert self.event is not None
        return render_event(self.event)


def outcomes(target: str, data: bytes) -> list[Outcome]:
    """Every unit of ``data`` through ``target`` (``outbound-<province>``, ``json-form``,
    ``avro-decode``); an accepted unit must also keep every promise of the oracle."""
    if target.startswith("outbound-"):
        province = target.removeprefix("outbound-")
        return list(_outbound(province, data))
    if target == "json-form":
        return list(_json_form(data))
    if target.startswith("inbound-"):  # a valid event: rendered and read back, or Wrong
        InboundTarget(target.removeprefix("inbound-")).check(data)
        return [Outcome(1, event=parse_event(json.loads(data), AGREEMENT))]
    if target == "avro-decode":
        try:
            event_type, record = CODEC.decode(data)
        except HxError as exc:
            return [Outcome(1, refusal=str(exc))]
        CODEC.encode(event_type, record)  # what decodes must encode again
        return [Outcome(1)]
    raise ValueError(target)


def _outbound(province: str, data: bytes) -> Any:
    for unit in PROFILE_OBJECTS[province].from_local(data, "sample"):
        if unit.error is not None:
            yield Outcome(unit.line, refusal=str(unit.error))
            continue
        assert unit.event is not None
        try:
            event = validate_event(unit.event.envelope, unit.event.record, AGREEMENT)
        except HxError as exc:
            yield Outcome(unit.line, refusal=str(exc))
            continue
        keep_promises(event, province)
        yield Outcome(unit.line, event=event)


class _Lines:
    name = "sample.json"

    def __init__(self, data: bytes) -> None:
        self._lines = data.splitlines(keepends=True)

    def __iter__(self) -> Any:
        return iter(self._lines)


def _json_form(data: bytes) -> Any:
    try:
        for line, outcome in read_events(_Lines(data), AGREEMENT):
            if isinstance(outcome, HxError):
                yield Outcome(line, refusal=str(outcome))
            else:
                keep_promises(outcome, None)
                yield Outcome(line, event=outcome)
    except HxError as exc:
        yield Outcome(1, refusal=str(exc))


def as_json(event: ExchangeEvent) -> str:
    return json.dumps(render_event(event), ensure_ascii=False)
