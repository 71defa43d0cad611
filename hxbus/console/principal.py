"""Who the console shows the exchange to: one agency, or the auditor.

The console runs as one principal (``hxbus console --as``) and shows only what that
principal may read, by the agreement's rules (design.md, "Need to know"):

- an agency reads every alert shared with all partners, and an alert whose handling is
  NEED_TO_KNOW or ORIGINATOR_CONTROL only when it issued it or is in its ``share_with``
  (such alerts reach the console only as the copies in the agency's own inbox:
  ``hxbus.console.topic_reader``);
  it sees the requests and hit confirmations it owes or waits for;
- the auditor oversees the exchange: every alert's register entry (which holds no
  personal data: ids, kind, category, issuer, status, validity; and no restricted alert,
  which belongs to its recipients) and every tracked item;
- flows (message counts): an agency sees the pairs it is part of and every agency's
  broadcasts (which reach it); the auditor sees every pair.

An alert whose handling the console has not seen (only a status change of it was read)
is shown to its issuer and the auditor only: when in doubt, less.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Agreement
from schemas.errors import ConfigError

AUDITOR = "auditor"
#: Handling codes whose alerts only the issuer and ``share_with`` may read.
RESTRICTED_HANDLING = frozenset({"NEED_TO_KNOW", "ORIGINATOR_CONTROL"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The agency id the console runs as, or ``auditor``."""

    name: str

    @classmethod
    def parse(cls, text: str, agreement: Agreement) -> Principal:
        """``auditor`` or an agency id of the agreement; ConfigError naming ``--as`` otherwise."""
        if text == AUDITOR:
            return cls(AUDITOR)
        if text not in agreement.by_id:
            raise ConfigError(
                f"--as: {text!r} is neither 'auditor' nor an agency id of the agreement"
            )
        return cls(text)

    @property
    def is_auditor(self) -> bool:
        return self.name == AUDITOR

    def may_read_alert(self, issuer: str, readers: frozenset[str] | None) -> bool:
        """``readers`` None: shared with all partners; else the agencies besides the issuer
        that may read it (empty when the console has not seen the alert's handling)."""
        if self.is_auditor or self.name == issuer:
            return True
        return readers is None or self.name in readers

    def may_see_flow(self, source: str, target: str, broadcast: str) -> bool:
        """A flow of messages from ``source`` to ``target`` (``broadcast``: to everyone)."""
        return self.is_auditor or target == broadcast or self.name in (source, target)

    def may_read_item(self, requester: str, target: str) -> bool:
        """A request or hit confirmation: the auditor, or one of its two agencies."""
        return self.is_auditor or self.name in (requester, target)
