"""Henan 豫 (Shangqiu): GB18030 fixed-width records, one per CRLF line (icd/henan.md).

Inbound, one exchange event becomes one 67-byte header plus the body of its record type,
laid out by the tables of ``bridge.profiles.henan_layouts``. What does not fit is handled
as the ICD says: text is cut at a character boundary, more target agencies than five (this
province's first) or linked alerts than three are cut; each cut sets the record's flag byte
to ``T`` and is listed in ``LocalMessage.truncated``. Fields the format has no place for
are listed in ``dropped``. A value the ICD cannot express (no code, an id too long) is a
``TranslationError`` naming the field.

Times are written in Asia/Shanghai to the second: the exchange's milliseconds are below
the ICD's resolution and are not reported as a loss. The contract's reader rules apply to
default symbols that have no Henan code: priority UNKNOWN is written as ROUTINE and
handling OTHER as ORIGINATOR_CONTROL (docs/record-shapes.md).

Outbound, a batch file yields one ``ParsedLocal`` per line: the event, or an error naming
the line, the field and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bridge.formats.fixed_width import FieldValue, FixedRecord, FixedWidthFormat, split_lines
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.codes import decode_code, encode_code
from bridge.profiles.henan_layouts import (
    BOOLEAN_CODES,
    BY_EVENT_TYPE,
    BY_RECORD_TYPE,
    SPECS,
    TRUNCATED_FLAG,
    ListField,
    RecordSpec,
)
from bridge.profiles.paths import dropped_paths, get_path, set_path
from bridge.unexpected import unexpected_error
from schemas import Agreement, Envelope, ExchangeEvent, load_agreement
from schemas.errors import LocalFormatError, TranslationError

ZONE = ZoneInfo("Asia/Shanghai")
FORMAT = FixedWidthFormat(
    [spec.line_layout for spec in SPECS], ZONE, flag_field="truncation_flag", flag=TRUNCATED_FLAG
)

#: The exchange paths each record type carries (its field names), computed once.
_CARRIED = {spec.record_type: frozenset(f.name for f in spec.layout.fields) for spec in SPECS}

#: Default symbols without a Henan code, written as the contract tells a reader to read them.
READER_RULES: dict[str, dict[str, str]] = {
    "priority": {"UNKNOWN": "ROUTINE"},
    "handling": {"OTHER": "ORIGINATOR_CONTROL"},
}


class HenanProfile(Profile):
    """Exchange events <-> Henan fixed-width records."""

    name: ClassVar[str] = "henan"
    version: ClassVar[str] = "1.0"
    extension: ClassVar[str] = ".dat"

    def __init__(self, agreement: Agreement | None = None) -> None:
        """``agreement`` names the agencies of the provinces that speak this format
        (default: the repository's agreement); none when no province does."""
        agreement = agreement if agreement is not None else load_agreement()
        self._home_agencies = frozenset(
            a.id
            for key in agreement.provinces_with_profile(self.name)
            for a in agreement.agencies_of(key)
        )

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """One record, one line, in a file ``<message id>.dat``."""
        envelope = event.envelope
        spec = BY_EVENT_TYPE.get(envelope.event_type)
        if spec is None:
            raise TranslationError(f"{envelope.event_type}: not an event type of the Henan ICD")
        values, list_cuts = self._body_values(spec, event.record)
        values.update(
            message_id=envelope.message_id,
            sender=envelope.source,
            sent_at=envelope.created_at,
            truncation_flag=TRUNCATED_FLAG if list_cuts else None,
        )
        encoded = FORMAT.encode_reporting(FixedRecord(spec.record_type, values))
        truncated = (*list_cuts, *encoded.truncated)
        return LocalMessage(
            file_name=f"{envelope.message_id}{self.extension}",
            content=encoded.data,
            media_type=FORMAT.media_type,
            truncated=tuple(sorted(truncated, key=_field_order(spec))),
            dropped=dropped_paths(event.record, _CARRIED[spec.record_type]),
        )

    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        """One ``ParsedLocal`` per line of a batch file, in order."""
        empty = True
        for line in split_lines(content):
            empty = False
            try:
                record = FORMAT.decode_line(line)
                yield ParsedLocal(line.number, event=_event(record, line.number))
            except LocalFormatError as exc:
                yield ParsedLocal(line.number, error=LocalFormatError(f"{origin}: {exc}"))
            except Exception as exc:  # a bug on one line must not lose the batch's others
                where = f"{origin}: line {line.number}"
                error = unexpected_error(self.name, "parse", exc, where)
                yield ParsedLocal(line.number, error=error)
        if empty:
            error = LocalFormatError(f"{origin}: line 1: the file has no records")
            yield ParsedLocal(1, error=error)

    # -- inbound ---------------------------------------------------------------------------

    def _body_values(
        self, spec: RecordSpec, record: Mapping[str, Any]
    ) -> tuple[dict[str, FieldValue], list[str]]:
        values: dict[str, FieldValue] = {}
        cuts: list[str] = []
        for field in spec.layout.fields:
            path = field.name
            value = get_path(record, path)
            if path in spec.lists:
                joined, cut = self._join_list(path, value or [], spec.lists[path])
                values[path] = joined
                if cut:
                    cuts.append(path)
            elif value is None:
                values[path] = None
            elif path in spec.codes:
                symbol = READER_RULES.get(path, {}).get(value, value)
                values[path] = encode_code(spec.codes[path], symbol, path)
            elif path in spec.booleans:
                values[path] = BOOLEAN_CODES[bool(value)]
            else:
                values[path] = value
        return values, cuts

    def _join_list(self, path: str, items: list[str], form: ListField) -> tuple[str | None, bool]:
        """Several values run together; cut (home agencies first) or refuse when too many."""
        if form.table is not None:
            table = form.table
            items = [encode_code(table, item, f"{path}[{i}]") for i, item in enumerate(items)]
        cut = len(items) > form.max_items
        if cut and not form.cut_when_full:
            raise TranslationError(f"{path}: {len(items)} values, the field holds {form.max_items}")
        if cut:
            if form.home_first:
                items = _home_first(items, self._home_agencies)
            items = items[: form.max_items]
        for i, item in enumerate(items):
            if len(item) != form.item_width:
                raise TranslationError(
                    f"{path}[{i}]: has {len(item)} characters, each value holds {form.item_width}"
                )
        return ("".join(items) or None), cut


# -- outbound ------------------------------------------------------------------------------


def _event(record: FixedRecord, number: int) -> ExchangeEvent:
    """The exchange event of one decoded line (ids as sent; the publisher validates them)."""
    spec = BY_RECORD_TYPE[record.record_type]
    values = record.values
    _require(values, ("message_id", "sender", "sent_at"), number)
    if values["truncation_flag"] not in (None, TRUNCATED_FLAG):
        raise LocalFormatError(f"line {number}: truncation_flag: is neither T nor blank")
    created_at = values["sent_at"]
    assert isinstance(created_at, datetime)  # a DATETIME field, checked non-blank above
    envelope = Envelope(
        event_type=spec.event_type,
        source=str(values["sender"]),
        message_id=str(values["message_id"]).lower(),
        created_at=created_at,
    )
    body = {f.name: values[f.name] for f in spec.layout.fields}
    return ExchangeEvent(envelope, _record(spec, body, number))


def _record(spec: RecordSpec, body: Mapping[str, FieldValue], number: int) -> dict[str, Any]:
    """The record form of one decoded body: codes resolved, groups built, gaps filled."""
    absent_groups = {
        group
        for group in spec.optional_groups
        if all(v is None for k, v in body.items() if k.startswith(f"{group}."))
    }
    required = [
        f.name
        for f in spec.layout.fields
        if f.name not in spec.optional
        and f.name not in spec.lists
        and f.name.split(".")[0] not in absent_groups
    ]
    _require(body, required, number)
    record: dict[str, Any] = {}
    for path, raw in body.items():
        set_path(record, path, _value(spec, path, raw, number))
    for group in absent_groups:
        record[group] = None
    for path, empty in spec.not_carried.items():
        if path.split(".")[0] not in absent_groups:
            set_path(record, path, [] if isinstance(empty, list) else None)
    return record


def _value(spec: RecordSpec, path: str, raw: FieldValue, number: int) -> Any:
    where = f"line {number}: {path}"
    if path in spec.lists:
        return _split_list(str(raw or ""), spec.lists[path], where)
    if raw is None:
        return None
    if path in spec.codes:
        return decode_code(spec.codes[path], str(raw), where)
    if path in spec.booleans:
        for flag, code in BOOLEAN_CODES.items():
            if raw == code:
                return flag
        raise LocalFormatError(f"{where}: is neither 1 nor 0")
    return raw


def _split_list(text: str, form: ListField, where: str) -> list[str]:
    width = form.item_width
    if len(text) % width:
        raise LocalFormatError(f"{where}: is not a run of {width}-character values")
    items = [text[i : i + width] for i in range(0, len(text), width)]
    if form.table is None:
        return items
    return [decode_code(form.table, item, f"{where}[{i}]") for i, item in enumerate(items)]


def _require(values: Mapping[str, FieldValue], names: Collection[str], number: int) -> None:
    for name in names:
        if values[name] is None:
            raise LocalFormatError(f"line {number}: {name}: required, but blank")


def _home_first(items: list[str], home: frozenset[str]) -> list[str]:
    """This province's agencies first, each group in its original order."""
    return sorted(items, key=lambda item: item not in home)


def _field_order(spec: RecordSpec) -> Callable[[str], int]:
    order = {f.name: i for i, f in enumerate(spec.layout.fields)}
    return lambda path: order.get(path, len(order))
