"""The envelope in Kafka headers: the CloudEvents 1.0 Kafka binding, binary mode.

Written by the publisher beside every value, read back by every consumer before the
signature check. Every attribute is a ``ce_<name>`` header, the extension attributes too
(``ce_correlationid``, ``ce_causationid``, ``ce_traceparent``, ``ce_hxtarget``), so that
any CloudEvents SDK reads them; ``content-type`` carries datacontenttype. The schema
fingerprint is in the value (Avro single-object encoding); an ``hx_fingerprint`` header is
optional and, when present, must match it. ``HEADERS`` below is the table docs/contract.md
shows. Header values are UTF-8 bytes. A required header that is absent, repeated, not
UTF-8 or not of its form is a ``MissingHeader`` naming it: the message goes to the DLQ,
because no retry can repair it. A header repeated is refused as well, because the
signature layer and the envelope must agree on one value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.envelope import EVENT_TYPES, Envelope
from schemas.errors import Issue, MissingHeader, ValidationFailed
from schemas.record_check import UUID_PATTERN
from schemas.timestamps import format_time

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"

CE_SPECVERSION = "ce_specversion"
CE_ID = "ce_id"
CE_SOURCE = "ce_source"
CE_TYPE = "ce_type"
CE_TIME = "ce_time"
CONTENT_TYPE_HEADER = "content-type"
# The extension attributes. CloudEvents names are lower-case letters and digits only, and
# the Kafka binding sends attribute <name> as header ce_<name>. The constants keep their
# earlier Python names so that code written against them is unaffected by the rename.
HX_CORRELATION_ID = "ce_correlationid"
HX_CAUSATION_ID = "ce_causationid"
HX_TRACEPARENT = "ce_traceparent"
HX_TARGET = "ce_hxtarget"
#: Optional: the value carries the fingerprint; when this header is present it must match.
HX_FINGERPRINT = "hx_fingerprint"


@dataclass(frozen=True, slots=True)
class HeaderSpec:
    """One row of the header table of docs/contract.md."""

    name: str
    required: bool
    meaning: str


#: Every header an exchange message may carry, in the order the publisher writes them
#: (the signature's two last). docs/contract.md renders this table.
HEADERS: tuple[HeaderSpec, ...] = (
    HeaderSpec(CE_SPECVERSION, True, "CloudEvents spec version: `1.0`"),
    HeaderSpec(CE_ID, True, "message id: a lower-case uuid, unique per message (dedupe key)"),
    HeaderSpec(CE_SOURCE, True, "the sending agency's id (12 digits); must be the signer"),
    HeaderSpec(CE_TYPE, True, "event type (`PersonAlert`, …); must match the value's schema"),
    HeaderSpec(CE_TIME, True, "created_at: RFC 3339 with offset (written in UTC, `Z`, ms)"),
    HeaderSpec(
        CONTENT_TYPE_HEADER,
        True,
        "datacontenttype: `application/avro` (Avro single-object encoding)",
    ),
    HeaderSpec(HX_CORRELATION_ID, False, "the conversation this message belongs to"),
    HeaderSpec(HX_CAUSATION_ID, False, "ce_id of the message that caused this one"),
    HeaderSpec(HX_TRACEPARENT, False, "W3C Trace Context traceparent (invalid: ignored)"),
    HeaderSpec(HX_TARGET, False, "directed messages: the agency whose inbox carries it"),
    HeaderSpec(
        HX_FINGERPRINT,
        False,
        "writer schema fingerprint, 16 hex digits; the value carries it, so this header is "
        "optional, and when present it must equal the value's",
    ),
    HeaderSpec(
        "hx_signature",
        False,
        "Ed25519 signature, base64 (docs/signing.md); required once the agreement has keys",
    ),
    HeaderSpec("hx_key_id", False, "signing key: 16 hex digits of SHA-256 of the public key"),
)

_SPEC_VERSION_BYTES = SPEC_VERSION.encode()
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
_AGENCY_ID = re.compile(r"[0-9]{6}000000")
_FINGERPRINT_HEX = re.compile(r"[0-9a-f]{16}")
#: W3C Trace Context ``traceparent``, version 00 (an invalid one is dropped, as W3C says).
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


def envelope_headers(
    envelope: Envelope, fingerprint: bytes | None = None
) -> list[tuple[str, bytes]]:
    """The Kafka headers of one message: CloudEvents attributes, extensions included.

    Optional envelope values (correlation, causation, traceparent, target) are left out
    when None. The publisher writes no ``hx_fingerprint`` (the value carries it); a caller
    that passes ``fingerprint`` (the writer schema's) gets the optional header as well.
    """
    created_at = envelope.created_at
    if created_at.tzinfo is None:
        raise ValidationFailed([Issue("created_at", "must be a timezone-aware datetime (UTC)")])
    headers = [
        (CE_SPECVERSION, _SPEC_VERSION_BYTES),
        (CE_ID, envelope.message_id.encode()),
        (CE_SOURCE, _encoded(envelope.source)),
        (CE_TYPE, _encoded(envelope.event_type)),
        (CE_TIME, _time_bytes(created_at)),
        (CONTENT_TYPE_HEADER, _CONTENT_TYPE_BYTES),
    ]
    if fingerprint is not None:
        headers.append((HX_FINGERPRINT, fingerprint.hex().encode()))
    if envelope.correlation_id is not None:
        headers.append((HX_CORRELATION_ID, envelope.correlation_id.encode()))
    if envelope.causation_id is not None:
        headers.append((HX_CAUSATION_ID, envelope.causation_id.encode()))
    if envelope.traceparent is not None:
        headers.append((HX_TRACEPARENT, envelope.traceparent.encode()))
    if envelope.target is not None:
        headers.append((HX_TARGET, _encoded(envelope.target)))
    return headers


# Per message on the publisher's hot path (docs/benchmarks.md, the publish profile): the
# few texts every header repeats (event types, agency ids) are encoded once, and the time
# of an event's copies (they share created_at) is formatted once.
_ENCODED: dict[str, bytes] = {}
_ENCODED_LIMIT = 4_096
_last_time: tuple[datetime, bytes] = (datetime(1970, 1, 1, tzinfo=UTC), b"")


def _encoded(text: str) -> bytes:
    encoded = _ENCODED.get(text)
    if encoded is None:
        if len(_ENCODED) >= _ENCODED_LIMIT:  # never in practice: agencies and types are few
            _ENCODED.clear()
        encoded = _ENCODED[text] = text.encode()
    return encoded


def _time_bytes(moment: datetime) -> bytes:
    global _last_time
    last = _last_time  # one tuple, read and replaced whole: safe between threads
    if last[0] == moment and last[1]:
        return last[1]
    encoded = format_time(moment).encode()
    _last_time = (moment, encoded)
    return encoded


def parse_headers(headers: Sequence[tuple[str, bytes]]) -> tuple[Envelope, dict[str, bytes]]:
    """The envelope the headers describe, and every header by name (for the signature).

    Raises ``MissingHeader`` naming the first required header that is absent or malformed
    (spec version other than 1.0, an id that is not a uuid, a source or target that is not
    an agency id, an unknown event type, a time without offset, another content type, an
    ``hx_fingerprint`` present but not 16 hex digits) and any header that appears twice.
    """
    by_name: dict[str, bytes] = {}
    for name, value in headers:
        if name in by_name:
            raise MissingHeader(f"{name}: appears twice; a message carries each header once")
        by_name[name] = value if value is not None else b""
    texts = _Texts(by_name)
    if texts.required(CE_SPECVERSION) != SPEC_VERSION:
        raise MissingHeader(f"{CE_SPECVERSION}: must be {SPEC_VERSION}")
    if texts.required(CONTENT_TYPE_HEADER) != CONTENT_TYPE:
        raise MissingHeader(f"{CONTENT_TYPE_HEADER}: must be {CONTENT_TYPE}")
    event_type = texts.required(CE_TYPE)
    if event_type not in EVENT_TYPES:
        raise MissingHeader(f"{CE_TYPE}: {event_type!r} is not an event type of the contract")
    if HX_FINGERPRINT in by_name:
        texts.matching(HX_FINGERPRINT, _FINGERPRINT_HEX, "16 lower-case hex digits")
    traceparent = texts.optional(HX_TRACEPARENT)
    target = texts.optional(HX_TARGET)
    if target is not None and not _AGENCY_ID.fullmatch(target):
        raise MissingHeader(f"{HX_TARGET}: {target!r} is not an agency id (12 digits)")
    envelope = Envelope(
        event_type=event_type,
        source=texts.matching(CE_SOURCE, _AGENCY_ID, "an agency id (6-digit code + 000000)"),
        message_id=texts.matching(CE_ID, UUID_PATTERN, "a lower-case uuid"),
        created_at=_parse_time(texts.required(CE_TIME)),
        correlation_id=texts.optional(HX_CORRELATION_ID),
        causation_id=texts.optional(HX_CAUSATION_ID),
        traceparent=traceparent if traceparent and _TRACEPARENT.fullmatch(traceparent) else None,
        target=target,
    )
    return envelope, by_name


class _Texts:
    """Header values as text, each failure a MissingHeader naming the header."""

    def __init__(self, by_name: dict[str, bytes]) -> None:
        self._by_name = by_name

    def optional(self, name: str) -> str | None:
        raw = self._by_name.get(name)
        if not raw:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MissingHeader(f"{name}: not UTF-8") from None

    def required(self, name: str) -> str:
        text = self.optional(name)
        if text is None:
            raise MissingHeader(f"{name}: required header is absent or empty")
        return text

    def matching(self, name: str, pattern: re.Pattern[str], form: str) -> str:
        text = self.required(name)
        if not pattern.fullmatch(text):
            raise MissingHeader(f"{name}: {text[:60]!r} is not {form}")
        return text


def _parse_time(text: str) -> datetime:
    """An RFC 3339 time with an offset (any offset), as a UTC datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MissingHeader(f"{CE_TIME}: {text[:40]!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise MissingHeader(f"{CE_TIME}: {text[:40]!r} has no UTC offset (RFC 3339 needs one)")
    return moment.astimezone(UTC)
