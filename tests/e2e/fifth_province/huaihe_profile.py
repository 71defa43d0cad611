"""The Huaihe format (fictional): one JSON object per message, in a file ``<XXBH>.json``.

The envelope's keys are GA-style abbreviations — ``XXBH`` message id, ``XXLX`` event
type, ``FSDW`` sender, ``FSSJ`` sent at (RFC 3339), ``JSDW`` the agency a directed message
is for, ``GLBH`` correlation id, ``YYBH`` causation id, ``LLGZ`` traceparent — and ``NR``
holds the record in the exchange's JSON form (schemas/jsonform.py), except that the
contact's officer and phone are ``LXR`` and ``DH`` (the province's personal-data keys in
the agreement). Nothing is cut or dropped either way.

It lives in the test tree to prove that a province is added without touching hxbus: the
agreement names it as ``huaihe_profile:HuaiheProfile``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from bridge.profiles import LocalMessage, ParsedLocal, Profile
from schemas import Agreement, ExchangeEvent, load_agreement, parse_event, render_event
from schemas.errors import HxError, LocalFormatError

#: Exchange JSON-form attribute -> Huaihe key, in the order they are written.
ENVELOPE = {
    "id": "XXBH",
    "type": "XXLX",
    "source": "FSDW",
    "time": "FSSJ",
    "hxtarget": "JSDW",
    "correlationid": "GLBH",
    "causationid": "YYBH",
    "traceparent": "LLGZ",
    "data": "NR",
}
#: The contact's keys that Huaihe names its own way.
CONTACT = {"officer": "LXR", "phone": "DH"}


class HuaiheProfile(Profile):
    """Exchange events <-> Huaihe JSON messages."""

    name: ClassVar[str] = "huaihe"
    version: ClassVar[str] = "1.0"
    extension: ClassVar[str] = ".json"

    def __init__(self, agreement: Agreement | None = None) -> None:
        """The agreement checks what comes out of an outbox file (agencies, deadlines)."""
        self._agreement = agreement if agreement is not None else load_agreement()

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        form = render_event(event)
        document = {local: form[key] for key, local in ENVELOPE.items() if key in form}
        document["NR"] = _renamed(document["NR"], CONTACT)
        content = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        return LocalMessage(
            file_name=f"{event.envelope.message_id}{self.extension}",
            content=content.encode("utf-8"),
            media_type="application/json; charset=utf-8",
        )

    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        try:
            document = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            yield ParsedLocal(1, error=LocalFormatError("not a UTF-8 JSON document"))
            return
        if not isinstance(document, dict):
            yield ParsedLocal(1, error=LocalFormatError("a message is a JSON object"))
            return
        exchange = {local: key for key, local in ENVELOPE.items()}
        unknown = sorted(str(key) for key in document if key not in exchange)
        if unknown:
            yield ParsedLocal(1, error=LocalFormatError(f"{unknown[0]}: not a Huaihe key"))
            return
        form: dict[str, Any] = {"specversion": "1.0"}
        form.update({exchange[key]: value for key, value in document.items()})
        if isinstance(form.get("data"), dict):
            form["data"] = _renamed(form["data"], {v: k for k, v in CONTACT.items()})
        try:
            yield ParsedLocal(1, event=parse_event(form, self._agreement))
        except HxError as error:
            yield ParsedLocal(1, error=error)


def _renamed(record: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``record`` with its ``contact``'s keys renamed by ``names``."""
    contact = record.get("contact")
    if not isinstance(contact, dict):
        return record
    return {**record, "contact": {names.get(k, k): v for k, v in contact.items()}}
