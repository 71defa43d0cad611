"""What an agency issued under need-to-know: its own copies, read back from its own inbox.

A need-to-know alert never touches the broadcast topics (``producers.routing``): its
issuer gets one directed copy of every revision and status change in its own inbox, its
record of what it issued. A publisher that starts later (``hxbus publish``, a bridge's
outbox) reads them back here to learn where each of its restricted alerts went — a
status change goes to the current recipients, a narrowing revision withdraws the alert
from those it drops — with the agency's own login (it reads its own inbox and nothing
else directed), the way ``load_register`` reads the register for the duplicate check.

Only copies whose envelope names the issuer as both source and target count, and only
when they verify (when the agreement has keys): any partner may write into the inbox, so
a planted "copy" must not redirect the issuer's next status change.

``learn_audiences`` is what every publisher that starts later runs (``hxbus publish``, a
bridge's outbox thread, the drill's duty desk after a restart): those copies for the
restricted alerts, and the alert register for the broadcast ones (a broadcast alert's
status change is routed only when the publisher knows the alert too).

Limits: the inbox keeps 90 days (deploy/agencies.toml); an alert whose every copy aged
out is not known here, and its status change is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from consumers.alert_register.register import load_register
from consumers.alert_register.state import AlertRegister
from consumers.delivery import Delivery
from consumers.reading import MessageReader
from runtime import Settings, Verifier, open_consumer
from runtime.kafka import Record
from runtime.topic_end import beginnings, read_to_end
from schemas import Codec, inbox_topic
from schemas.audiences import ALERT_KIND_OF, AudienceBook, broadcast_audience, is_restricted

log = structlog.get_logger("hxbus.issued_copies")

#: The event types an issuer's own copies hold.
COPY_TYPES = frozenset({"PersonAlert", "VehicleAlert", "AlertStatusChange"})
_AUTHOR = {"PersonAlert": "issuing_agency", "VehicleAlert": "issuing_agency"}


@dataclass(frozen=True, slots=True)
class IssuedCopy:
    """One copy an agency sent itself: event type and decoded record."""

    event_type: str
    record: dict[str, object]


def is_issuer_copy(delivery: Delivery) -> bool:
    """An alert (or its status change) its source addressed to itself."""
    envelope = delivery.envelope
    if delivery.event_type not in COPY_TYPES or envelope.target != envelope.source:
        return False
    author = _AUTHOR.get(delivery.event_type, "agency")
    return delivery.record.get(author) == envelope.source


#: ``COPY_TYPES`` as the ``ce_type`` header spells them.
_COPY_TYPE_HEADERS = frozenset(t.encode() for t in COPY_TYPES)


def may_be_issuer_copy(record: Record) -> bool:
    """Whether the record's headers could make it an issuer copy (``is_issuer_copy``: an
    alert or status change addressed to its own source). Most inbox traffic is not, and
    is left before its value is decoded and its signature verified — as ``is_issuer_copy``
    would leave it after. For the lookup service, which follows every inbox: the time it
    spent on the rest was time a desk's duplicate-check question waited."""
    headers = dict(record.headers)
    source = headers.get("ce_source")
    return (
        headers.get("ce_type") in _COPY_TYPE_HEADERS
        and bool(source)
        and source == headers.get("ce_hxtarget")
    )


def is_shared_copy(delivery: Delivery) -> bool:
    """A need-to-know alert (or its status change) its issuer addressed to the agency whose
    inbox carries it: the issuer itself, or one of the alert's ``share_with``."""
    envelope = delivery.envelope
    target = envelope.target
    if delivery.event_type not in COPY_TYPES or target is None:
        return False
    if delivery.topic != inbox_topic(target):
        return False
    author = _AUTHOR.get(delivery.event_type, "agency")
    if delivery.record.get(author) != envelope.source:
        return False  # signed by someone else than the issuer: not the issuer's word
    if delivery.event_type not in ALERT_KIND_OF:
        return True
    record = delivery.record
    shared = target == envelope.source or target in (record.get("share_with") or ())
    return is_restricted(record.get("handling")) and shared


def read_issued_copies(
    settings: Settings,
    agencies: Iterable[str],
    *,
    verifier: Verifier | None = None,
    codec: Codec | None = None,
) -> list[IssuedCopy]:
    """The issuer's own copies in the inboxes of ``agencies``, in offset order per partition."""
    return _read_copies(settings, agencies, is_issuer_copy, verifier, codec)


def read_shared_copies(
    settings: Settings,
    agency: str,
    *,
    verifier: Verifier | None = None,
    codec: Codec | None = None,
) -> list[IssuedCopy]:
    """The need-to-know alerts ``agency`` issued or was shared with, and their status
    changes: the copies in its own inbox (``is_shared_copy``), in offset order per
    partition. What ``hxbus alerts`` and the console show an agency beside the register."""
    return _read_copies(settings, [agency], is_shared_copy, verifier, codec)


def _read_copies(
    settings: Settings,
    agencies: Iterable[str],
    accept: Callable[[Delivery], bool],
    verifier: Verifier | None,
    codec: Codec | None,
) -> list[IssuedCopy]:
    reader = MessageReader(codec or Codec(), verifier)
    topics = [inbox_topic(agency) for agency in agencies]
    copies: list[IssuedCopy] = []
    skipped = 0
    consumer = open_consumer(settings)
    try:
        for record in read_to_end(consumer, beginnings(consumer, topics)):
            read = reader.read(record)
            if not isinstance(read, Delivery):
                skipped += 1
                continue
            if accept(read):
                copies.append(IssuedCopy(read.event_type, dict(read.record)))
    finally:
        consumer.close()
    log.info("inbox_copies_loaded", inboxes=len(topics), copies=len(copies), skipped=skipped)
    return copies


def learn_audiences(
    book: AudienceBook,
    settings: Settings,
    agencies: Iterable[str],
    *,
    verifier: Verifier | None = None,
    register: AlertRegister | None = None,
) -> AudienceBook:
    """Fill ``book`` with where the alerts of ``agencies`` went, and return it: the
    restricted ones from the issuers' own copies (``read_issued_copies``), the broadcast
    ones from the alert register (``register`` when the caller loaded it already, else
    loaded here). ``HxError`` when the broker cannot be read: the caller decides whether
    to go on knowing less (its unknown alerts' status changes are then refused, never
    guessed)."""
    issuers = list(dict.fromkeys(agencies))
    if register is None:
        register, _ = load_register(settings, verifier=verifier)
    for agency in issuers:
        for state in register.states(agency=agency):
            book.add(
                broadcast_audience(state.alert_id, state.kind, state.issuing_agency, state.revision)
            )
    for copy in read_issued_copies(settings, issuers, verifier=verifier):
        book.note(copy.event_type, copy.record)
    return book
