"""Who or what an alert is about, as a key that can be compared without being read.

The duplicate check before entry (one live alert per subject per agency) and the alert
register compare alerts by subject: a person by the GB 11643 identity number, a vehicle
by its plate number (with its province character). Both are personal data. The register
keeps them on a topic that outlives the alerts and lists them to operators, so what it
stores is a pseudonym: SHA-256 over a domain-separated form of the normalised value,
128 bits in hex. Equal subjects give equal keys; a key does not show the number to
anyone who reads a listing or the register topic.

It is pseudonymisation, not anonymisation: the space of identity numbers and plates is
small enough that someone holding a key and time can test candidates. The register topic
is therefore read under the same ACL as the alert topics themselves, which carry the
numbers in clear.

Need-to-know alerts are never in the register (design.md "Need to know"), so their
subjects are not compared by these keys in anything an agency reads. The operator's
lookup service (``consumers.lookup``) indexes them by ``lookup_token``: HMAC-SHA256 of the
subject key under a secret lookup key that only that service holds. A member holding a
token cannot test candidate numbers against it without the key; what a member may learn
is the service's hit/no-hit answer, one rate-limited, counted question at a time.

The value must already be normalised by the models (a 15-digit legacy number converted,
a plate upper-cased), which is what the publisher's validated record holds and what
decoded records off the bus hold.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Event types that open an alert on a subject.
ALERT_TYPES = frozenset({"PersonAlert", "VehicleAlert"})

#: Bump when the derivation changes: keys of two versions never compare equal.
_DOMAIN = "hxbus-subject-v1"


@dataclass(frozen=True, slots=True)
class Subject:
    """The subject of an alert: its pseudonymous ``key`` and the field ``path`` it came from."""

    key: str
    path: str


def subject_key(kind: str, value: str) -> str:
    """The pseudonymous key of a ``kind`` ("person" or "vehicle") subject ``value``."""
    digest = hashlib.sha256(f"{_DOMAIN}|{kind}|{value.strip().upper()}".encode()).hexdigest()
    return f"{kind}:{digest[:32]}"


#: Bump when the keyed derivation changes.
_LOOKUP_DOMAIN = b"hxbus-lookup-v1|"


def lookup_token(lookup_key: bytes, key: str) -> str:
    """The keyed token of a subject key (``subject_key``) under the operator's lookup key."""
    if not lookup_key:
        raise ValueError("the lookup key is empty")
    digest = hmac.new(lookup_key, _LOOKUP_DOMAIN + key.encode(), hashlib.sha256).hexdigest()
    return f"token:{digest}"


def subject_of(event_type: str, record: Mapping[str, Any]) -> Subject | None:
    """The subject of an alert record, or None (not an alert, or no identity number).

    A PersonAlert without ``subject.id_number`` (an unidentified person) has no key: two
    such alerts cannot be told to be the same person by the bus, so none is refused.
    """
    if event_type == "PersonAlert":
        subject = record.get("subject") or {}
        number = subject.get("id_number")
        if not number:
            return None
        return Subject(subject_key("person", number), "subject.id_number")
    if event_type == "VehicleAlert":
        plate = record.get("plate") or {}
        number = plate.get("number")
        if not number:
            return None
        return Subject(subject_key("vehicle", number), "plate.number")
    return None
