"""The hit/no-hit lookup: "is there a live alert on this subject, and whom do I contact?"

Need-to-know alerts are not in the alert register every agency reads, yet the duplicate
check before entry must still see them (design.md "Need to know": at most that an alert
exists on a subject and which agency to contact, as in the EU's Prüm exchanges). So an
agency asks the operator's lookup service (``consumers.lookup``) one subject at a time:

- request: ``hx.lookup.requests`` (every agency WRITE, only the operator READ, short
  retention), JSON ``{"v": 1, "request_id", "subject_key"}`` keyed by the agency id, with
  CloudEvents headers (``ce_source`` the asking agency) and signed by the agency's
  Ed25519 key like any message. ``subject_key`` is the pseudonymous key of
  ``schemas.subjects`` (never the number in clear).
- reply: ``hx.lookup.replies.<agency>`` (operator WRITE, that agency READ), JSON
  ``{"v": 1, "request_id", "hit", "issuers", "alert_ids", "refused"}``: on a hit the
  agencies to contact; the alert ids only of the asker's own alerts; ``refused`` a
  closed-set reason (``rate_limited``, ``unverified``, ``malformed``) when not answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LOOKUP_REQUESTS = "hx.lookup.requests"
#: The lookup service's own index (operator only; nobody else has an ACL on it).
LOOKUP_INDEX = "hx.lookup.index"
LOOKUP_VERSION = 1
REQUEST_TYPE = "hx.lookup.LookupRequest"
#: Why a request was not answered (closed set: metric label and reply field).
REFUSALS: tuple[str, ...] = ("rate_limited", "unverified", "malformed")


def lookup_replies_topic(agency_id: str) -> str:
    """Where the lookup service answers ``agency_id``."""
    return f"hx.lookup.replies.{agency_id}"


@dataclass(frozen=True, slots=True)
class LookupRequest:
    request_id: str
    subject_key: str

    def to_json(self) -> bytes:
        data = {"v": LOOKUP_VERSION, "request_id": self.request_id, "subject_key": self.subject_key}
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LookupRequest:
        """The request; ValueError for anything else."""
        data = _object(raw)
        request_id, key = data.get("request_id"), data.get("subject_key")
        if not isinstance(request_id, str) or not isinstance(key, str) or not key:
            raise ValueError("a lookup request needs request_id and subject_key strings")
        return cls(request_id, key)


@dataclass(frozen=True, slots=True)
class LookupReply:
    request_id: str
    hit: bool = False
    #: The agencies whose live alert is on the subject (whom to contact).
    issuers: tuple[str, ...] = ()
    #: The asker's own live alerts on the subject (never another agency's ids).
    alert_ids: tuple[str, ...] = ()
    refused: str | None = None

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "v": LOOKUP_VERSION,
            "request_id": self.request_id,
            "hit": self.hit,
            "issuers": list(self.issuers),
            "alert_ids": list(self.alert_ids),
            "refused": self.refused,
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LookupReply:
        data = _object(raw)
        return cls(
            request_id=str(data["request_id"]),
            hit=bool(data.get("hit")),
            issuers=tuple(str(a) for a in data.get("issuers") or ()),
            alert_ids=tuple(str(a) for a in data.get("alert_ids") or ()),
            refused=data.get("refused"),
        )


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One restricted alert in the lookup service's index: no field of the alert but its
    id, issuer, revision, status and validity, and the keyed token of its subject."""

    alert_id: str
    issuer: str
    token: str | None = None
    revision: int = 0
    status: str = "ACTIVE"
    valid_until: str | None = None
    changed_at: str | None = None

    def to_json(self) -> bytes:
        data = {
            "v": LOOKUP_VERSION,
            "alert_id": self.alert_id,
            "issuer": self.issuer,
            "token": self.token,
            "revision": self.revision,
            "status": self.status,
            "valid_until": self.valid_until,
            "changed_at": self.changed_at,
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> IndexEntry:
        data = _object(raw)
        return cls(
            alert_id=str(data["alert_id"]),
            issuer=str(data["issuer"]),
            token=data.get("token"),
            revision=int(data.get("revision") or 0),
            status=str(data.get("status") or "ACTIVE"),
            valid_until=data.get("valid_until"),
            changed_at=data.get("changed_at"),
        )


def _object(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("v") != LOOKUP_VERSION:
        raise ValueError(f"not a lookup message of version {LOOKUP_VERSION}")
    return data
