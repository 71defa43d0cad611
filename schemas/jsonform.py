"""The exchange's JSON form: CloudEvents 1.0 JSON events, parsed, rendered and read from files.

``{"specversion": "1.0", "type": "PersonAlert", "source": "<agency id>", "id": "<uuid>",
"time": "<RFC 3339>", "data": {...}}`` plus the extension attributes ``correlationid``,
``causationid`` (message ids, so uuids), ``traceparent`` (W3C) and ``hxtarget`` (the
agency a directed event goes to). ``id`` and ``time`` may be left out (a new uuid and
``now`` are filled in); ``datacontenttype``, if given, is ``application/json``. Any
other attribute is refused: it could not travel on, and a misspelt ``hxtraget`` should
not silently turn a directed event into one without target.

Rendering is the inverse on normalised input: times ``YYYY-MM-DDTHH:MM:SS.mmmZ``, dates
``YYYY-MM-DD``, enums by name, absent optionals left out, absent arrays ``[]``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from schemas.agreement import Agreement
from schemas.edge import edge_issues, json_int, text_rule
from schemas.envelope import Envelope, ExchangeEvent, new_message_id, utc_now_ms
from schemas.errors import Issue, UnreadableInput, ValidationFailed
from schemas.models.types import normalise_uuid, parse_timestamp
from schemas.timestamps import format_time
from schemas.validation import envelope_issues, validate_event

SPECVERSION = "1.0"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_TRACEPARENT_RULE = (
    "must be a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)
#: Envelope attribute → extension attribute of the JSON form.
_EXTENSIONS = (
    ("correlation_id", "correlationid"),
    ("causation_id", "causationid"),
    ("traceparent", "traceparent"),
    ("target", "hxtarget"),
)
_ATTRIBUTES = frozenset(
    {"specversion", "type", "source", "id", "time", "datacontenttype", "data"}
    | {name for _, name in _EXTENSIONS}
)


def parse_event(obj: Any, agreement: Agreement, *, now: datetime | None = None) -> ExchangeEvent:
    """One JSON event as an ExchangeEvent; ValidationFailed listing every issue found.

    Envelope issues are named by attribute (``source``), data issues by ``data.<path>``.
    """
    if not isinstance(obj, Mapping):
        raise ValidationFailed([Issue("", "an event must be a JSON object")])
    issues = [
        Issue(_shown_key(key), "is not an attribute of an exchange event")
        for key in obj
        if key not in _ATTRIBUTES
    ]
    issues.extend(
        issue
        for key in _ATTRIBUTES - {"data"}
        if key in obj
        for issue in edge_issues(obj[key], key)
    )
    if "specversion" not in obj:
        issues.append(Issue("specversion", "is required"))
    elif obj["specversion"] != SPECVERSION:
        issues.append(Issue("specversion", f'must be "{SPECVERSION}" (CloudEvents 1.0)'))
    if obj.get("datacontenttype", "application/json") != "application/json":
        issues.append(Issue("datacontenttype", "must be application/json when given"))
    event_type = _required_text(obj, "type", issues)
    source = _required_text(obj, "source", issues)
    message_id = _optional(obj, "id", normalise_uuid, issues)
    created_at = _optional(obj, "time", parse_timestamp, issues)
    extensions = {
        field: _optional(obj, name, _EXTENSION_RULES[name], issues) for field, name in _EXTENSIONS
    }
    envelope = Envelope(
        event_type=event_type or "",
        source=source or "",
        message_id=message_id or new_message_id(),
        created_at=created_at or (utc_now_ms() if now is None else parse_timestamp(now)),
        **extensions,
    )
    reported = {issue.path for issue in issues}  # one issue per attribute is enough
    data = obj.get("data")
    if not isinstance(data, Mapping):
        issues.append(Issue("data", "is required" if data is None else "must be an object"))
        issues.extend(i for i in envelope_issues(envelope, agreement) if i.path not in reported)
        raise ValidationFailed(issues)
    try:
        event = validate_event(envelope, data, agreement)
    except ValidationFailed as failed:
        issues.extend(i for i in failed.issues if i.path not in reported)
    if issues:
        raise ValidationFailed(issues)
    return event


def render_event(event: ExchangeEvent) -> dict[str, Any]:
    """The JSON form of an event (a dict ready for ``json.dumps(..., ensure_ascii=False)``)."""
    envelope = event.envelope
    rendered: dict[str, Any] = {
        "specversion": SPECVERSION,
        "type": envelope.event_type,
        "source": envelope.source,
        "id": envelope.message_id,
        "time": format_time(envelope.created_at),
    }
    for field, name in _EXTENSIONS:
        value = getattr(envelope, field)
        if value is not None:
            rendered[name] = value
    rendered["data"] = _render_value(event.record)
    return rendered


def read_events(
    source: str | Path | IO[bytes] | IO[str],
    agreement: Agreement,
    *,
    now: datetime | None = None,
) -> Iterator[tuple[int, ExchangeEvent | ValidationFailed]]:
    """Each event of a file (one JSON event, pretty or not, or NDJSON) with its line number.

    An event that breaks a rule is yielded as its ValidationFailed; input that is not
    UTF-8 JSON at all raises UnreadableInput naming the file and line.
    """
    for line, value in read_json_values(source):
        try:
            yield line, parse_event(value, agreement, now=now)
        except ValidationFailed as failed:
            yield line, failed
        except Exception as exc:  # a bug in a rule: this event is refused, the file goes on
            rule = f"hxbus could not check this event ({type(exc).__name__}); please report it"
            yield line, ValidationFailed([Issue("", rule)])


def read_json_values(source: str | Path | IO[bytes] | IO[str]) -> Iterator[tuple[int, Any]]:
    """Every JSON value of a file or stream, with the line it starts on (1-based).

    Values may span lines (pretty-printed) or share them; blank lines are skipped; a
    UTF-8 byte order mark is ignored. UnreadableInput on bytes that are not UTF-8, text
    that is not JSON, or a value the input ends in the middle of.
    """
    if isinstance(source, str | Path):
        name = str(source)
        try:
            stream: IO[Any] = open(source, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise UnreadableInput(f"{name}: cannot read: {exc.strerror}") from exc
    else:
        name, stream = str(getattr(source, "name", "<stream>")), source
    try:
        yield from _values_of_lines(name, _text_lines(name, stream))
    finally:
        if stream is not source:
            stream.close()


def _text_lines(name: str, stream: IO[Any]) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnreadableInput(
                    f"{name}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                    f"at column {exc.start + 1})"
                ) from None
        else:
            text = raw
        yield text.removeprefix("\ufeff") if number == 1 else text


def _values_of_lines(name: str, lines: Iterator[str]) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder(parse_int=json_int)
    buffer, first_line, line_number = "", 1, 0
    for line_number, text in enumerate(lines, 1):
        if not buffer:
            if not text.strip():
                continue
            first_line = line_number
        buffer += text
        if text.rstrip().endswith(("}", "]")):
            buffer, first_line = yield from _decode_buffer(
                name, decoder, buffer, first_line, at_end=False
            )
    if buffer.strip():
        yield from _decode_buffer(name, decoder, buffer, first_line, at_end=True)


def _decode_buffer(
    name: str, decoder: json.JSONDecoder, buffer: str, first_line: int, *, at_end: bool
) -> Generator[tuple[int, Any], None, tuple[str, int]]:
    """Yield the complete values in ``buffer``; return what is left and the line it starts on."""
    position = _skip_space(buffer, 0)
    while position < len(buffer):
        try:
            value, end = decoder.raw_decode(buffer, position)
        except json.JSONDecodeError as exc:
            start = first_line + buffer.count("\n", 0, position)
            if exc.pos >= len(buffer.rstrip()):
                if not at_end:
                    return buffer[position:], start
                raise UnreadableInput(
                    f"{name}:{start}: the JSON value that starts here is cut off at the end"
                ) from None
            line = first_line + buffer.count("\n", 0, exc.pos)
            raise UnreadableInput(f"{name}:{line}: not JSON: {exc.msg}") from None
        except RecursionError:
            start = first_line + buffer.count("\n", 0, position)
            raise UnreadableInput(f"{name}:{start}: JSON nested too deeply") from None
        except ValueError as exc:  # a conversion json could not make; not seen since json_int
            start = first_line + buffer.count("\n", 0, position)
            raise UnreadableInput(f"{name}:{start}: not JSON hxbus reads: {exc}") from None
        yield first_line + buffer.count("\n", 0, position), value
        position = _skip_space(buffer, end)
    return "", first_line


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _render_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _render_value(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_render_value(item) for item in value]
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _shown_key(key: Any) -> str:
    """An unknown attribute's name as an issue path: printable, short, never raw."""
    text = key if isinstance(key, str) else str(key)
    if text_rule(text) is not None or not text.isprintable() or len(text) > 64:
        return "(an attribute whose name is not printable text)"
    return text


def _required_text(obj: Mapping[str, Any], key: str, issues: list[Issue]) -> str | None:
    value = obj.get(key)
    if value is None:
        issues.append(Issue(key, "is required"))
        return None
    if not isinstance(value, str):
        issues.append(Issue(key, "must be text"))
        return None
    return value


def _optional(
    obj: Mapping[str, Any], key: str, rule: Callable[[str], Any], issues: list[Issue]
) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        issues.append(Issue(key, "must be text"))
        return None
    try:
        return rule(value)
    except ValueError as exc:
        issues.append(Issue(key, str(exc)))
        return None


def _traceparent(value: str) -> str:
    match = _TRACEPARENT.fullmatch(value)
    if (
        match is None
        or match[1] == "ff"
        or (match[1] == "00" and match[5] is not None)
        or match[2] == "0" * 32
        or match[3] == "0" * 16
    ):
        raise ValueError(_TRACEPARENT_RULE)
    return value


def _agency_id(value: str) -> str:
    return value  # checked against the agreement by validate_event


_EXTENSION_RULES: dict[str, Callable[[str], Any]] = {
    "correlationid": normalise_uuid,
    "causationid": normalise_uuid,
    "traceparent": _traceparent,
    "hxtarget": _agency_id,
}
