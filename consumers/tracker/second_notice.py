"""The second notice: an unanswered request or hit, sent again to the target's inbox.

Nlets and NCIC answer a missed hit-confirmation deadline with a *second request*: the same
request, sent again, saying so. Here it is built within the contract, changing no schema:

- **Same event type, same record identity.** An AssistanceRequest keeps its
  ``request_id``, an AlertHit its ``hit_id``, deadlines unchanged (what is owed and when
  does not move because it is late). The receiving bridge and local system see the item
  they already hold, and every answer keeps quoting the one id.
- **Marked twice.** For machines: ``causation_id`` (header ``ce_causationid``) is the
  message id of the original copy the target received — "sent because of that message",
  the way a confirmation names the hit it answers; ``correlation_id`` stays the
  conversation's. For the duty officer: the free text the contract gives each event
  (``description`` of a request, ``details`` of a hit) starts with ``SECOND NOTICE``
  and the deadline missed, so the marker survives every bridge and local format (and a
  field cut to length keeps its start).
- **Its own, derived message id** (uuid5 of the original's): receivers de-duplicate on
  message ids, so a new id is what lets it through; a derived one means a tracker that
  sends it again (a crash between the broker's acknowledgement and the tracker's note of
  it, or a second tracker) produces the same id, which receivers drop as a duplicate.
- **The original's source and issue time** (``ce_source``, ``ce_time``): the contract lets
  only the requester or reporter author the event (and sign it with its key), and checks
  ``ack_by`` against the issue time; the second notice repeats the request as issued. When
  it was sent is the Kafka record's timestamp.
- **Only to the target that did not answer** (``target``): a request to three agencies of
  which one is late goes again to that one only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas import ExchangeEvent
from schemas.timestamps import format_time

#: The first words of the text field of every second notice.
SECOND_NOTICE_MARK = "SECOND NOTICE"
#: The namespace of derived second-notice message ids (a fixed, random uuid).
_NAMESPACE = uuid.UUID("6d0f3b8e-2a47-4c55-9f1e-8b3a5c2d7e10")
#: The text field of each event type that carries the mark.
TEXT_FIELDS: dict[str, str] = {"AssistanceRequest": "description", "AlertHit": "details"}


def second_notice_id(original_message_id: str) -> str:
    """The message id of the second notice of the message ``original_message_id``."""
    return str(uuid.uuid5(_NAMESPACE, original_message_id))


def mark_text(original: str | None, missed: datetime) -> str:
    """The text field of a second notice: the mark, the deadline missed, the original text."""
    head = f"{SECOND_NOTICE_MARK}: no answer received by {format_time(missed)}."
    return f"{head} {original}" if original else head


def second_notice(original: ExchangeEvent, target: str, missed: datetime) -> ExchangeEvent:
    """The second notice of ``original`` (as ``target``'s inbox received it).

    ``missed`` is the deadline that passed unanswered (ack_by or respond_by).
    """
    envelope = original.envelope
    field = TEXT_FIELDS[envelope.event_type]
    record = dict(original.record)
    record[field] = mark_text(record.get(field), missed)
    notice_envelope = envelope.evolve(
        message_id=second_notice_id(envelope.message_id),
        causation_id=envelope.message_id,
        correlation_id=envelope.correlation_id or envelope.message_id,
        target=target,
    )
    return ExchangeEvent(notice_envelope, record)
