"""Every error hxbus raises on purpose, in one tree.

The consumer loop decides retry-or-DLQ from ``retriable`` on the class, never from the
message text. Library exceptions (kafka-python, fastavro, httpx, lxml) are wrapped at one
boundary each and re-raised as one of these ``from exc``.

    HxError
    ├── ConfigError                 the agreement or the settings are wrong (startup)
    ├── ContractError               an event breaks the exchange contract
    │   ├── ValidationFailed        domain rules broken; carries every (path, rule) issue
    │   │   └── DuplicateAlert      a new alert for a subject its issuer already has live
    │   ├── DecodeError             bytes that are not a decodable hxbus message
    │   │   ├── BadMagic            not Avro single-object encoding
    │   │   ├── UnknownSchema       fingerprint not in the catalog
    │   │   └── TruncatedBody       body ends early or does not match the writer schema
    │   ├── MissingHeader           a required CloudEvents / hx_ header is absent
    │   ├── UnreadableInput         a file of JSON events that is not UTF-8 JSON at all
    │   └── IncompatibleSchema      a schema change breaks FULL_TRANSITIVE compatibility
    ├── SecurityError               signature missing, forged, tampered; signer not source
    │   └── AuthorityRefused        signed by its source, but the source may not say it
    │       └── AuthorityUnknown    the alert, hit or request it names is unknown (retriable)
    ├── TranslationError            an exchange value the local format cannot express
    ├── LocalFormatError            local bytes that do not parse (outbound)
    ├── BrokerError                 Kafka said no or did not answer      (retriable)
    │   ├── BrokerUnavailable       no connection / delivery timed out   (retriable)
    │   └── NotAuthorized           the broker refused by ACL           (not retriable)
    ├── BenchFailed                 hxbus bench could not measure (a send or bridge failed)
    ├── StateBusy                   another worker holds a state file's lock too long (retriable)
    └── SinkError                   a local system did not take a delivery
        ├── SinkUnavailable         down, 5xx, timeout: try again        (retriable)
        └── SinkRejected            4xx other than 409: will never take it
            └── SinkConflict        the message id is there with other content

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


class HxError(Exception):
    """Root of every hxbus error. ``retriable`` tells the consumer loop what to do."""

    retriable: bool = False
    #: Short, closed-set name used as the DLQ reason and as a metrics label.
    reason: str = "error"


class ConfigError(HxError):
    """Raised at start-up when the agreement file or the settings are invalid."""

    reason = "config"


class ContractError(HxError):
    """Raised when an event or its bytes break the exchange contract."""

    reason = "contract"


@dataclass(frozen=True, slots=True)
class Issue:
    """One broken rule: ``path`` is the dotted field path, ``rule`` says what is wrong."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule


class ValidationFailed(ContractError):
    """Raised when an event breaks the domain rules; lists every issue found."""

    reason = "invalid"

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("; ".join(str(i) for i in self.issues))


class DecodeError(ContractError):
    """Raised when bytes from the bus are not a decodable hxbus message."""

    reason = "undecodable"


class BadMagic(DecodeError):
    """Raised when a value does not start with the Avro single-object marker C3 01."""


class UnknownSchema(DecodeError):
    """Raised when the writer fingerprint is not in the schema catalog."""

    reason = "unknown_schema"


class TruncatedBody(DecodeError):
    """Raised when the Avro body ends early or does not match the writer schema."""


class MissingHeader(ContractError):
    """Raised when a required CloudEvents or hx_ header is absent or malformed."""

    reason = "bad_headers"


class UnreadableInput(ContractError):
    """Raised when a file handed to hxbus is missing, not UTF-8 or not JSON (names file:line)."""

    reason = "unreadable"


class IncompatibleSchema(ContractError):
    """Raised by the evolution guard when a schema breaks FULL_TRANSITIVE compatibility."""

    reason = "incompatible_schema"


class SecurityError(HxError):
    """Raised when a signature is missing, forged or tampered, or signer is not the source."""

    reason = "signature"


class AuthorityRefused(SecurityError):
    """Raised when a well-signed message breaks a rule of design.md's Authority table.

    ``rule`` is one of ``schemas.authority.RULES``; the message names the rule in words
    and only agency, alert, hit and request ids, never a value of a personal field.
    ``field`` is the record field (or envelope attribute) the rule is about.
    """

    reason = "not_authorized"

    def __init__(self, rule: str, text: str, field: str = "") -> None:
        self.rule = rule
        self.field = field
        super().__init__(f"{rule}: {text}")


class AuthorityUnknown(AuthorityRefused):
    """Raised when a receiver cannot judge a message yet: the alert, hit or request it
    names is not known to it (nor to the alert register). Retriable: the message it
    depends on may still be on its way on another topic; past the retry policy's
    ``unknown_after`` it is dead-lettered as ``not_authorized``."""

    retriable = True


class TranslationError(HxError):
    """Raised when the local format cannot express an exchange value at all (ICD rule)."""

    reason = "untranslatable"


class LocalFormatError(HxError):
    """Raised when local bytes (outbound) do not parse; names line, field and rule."""

    reason = "local_format"


class DuplicateAlert(ValidationFailed):
    """Raised when a new alert names a subject that already has a live alert of its issuer.

    A ``ValidationFailed``: refused before anything is sent, reported like any broken rule
    (the subject's field path, and the existing alert to revise instead).
    """

    reason = "duplicate_alert"


class BrokerError(HxError):
    """Raised when Kafka refuses or fails a request; retriable unless a subclass says not."""

    retriable = True
    reason = "broker"


class BrokerUnavailable(BrokerError):
    """Raised when the broker cannot be reached or a delivery timed out."""

    reason = "broker_unavailable"


class NotAuthorized(BrokerError):
    """Raised when the broker refuses an operation by ACL or authentication."""

    retriable = False
    reason = "not_authorized"


class SinkError(HxError):
    """Raised when a local system did not take a delivery."""

    reason = "sink"


class SinkUnavailable(SinkError):
    """Raised when a local system is down, answers 5xx or times out: try again later."""

    retriable = True
    reason = "sink_unavailable"


class SinkRejected(SinkError):
    """Raised when a local system refuses a delivery for good (4xx other than 409)."""

    reason = "sink_rejected"


class SinkConflict(SinkRejected):
    """Raised when the local system holds this message id with different content."""

    reason = "sink_conflict"


class BenchFailed(HxError):
    """Raised by ``hxbus bench`` when a run cannot be measured: a send or a bridge failed."""

    reason = "bench"


class StateBusy(HxError):
    """Raised when another worker of the group held a state file's write lock (SQLite,
    ``runtime.state_db``) past the busy timeout: the message is tried again, not refused."""

    retriable = True
    reason = "state_busy"


# -- error text without personal data ----------------------------------------------------

#: A quoted stretch of an error text: where Python's and the libraries' messages put the
#: offending input ("invalid literal for int() with base 10: '张三'").
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def without_value(error: BaseException) -> str:
    """The text of a library's parse error with every quoted input replaced by ``…``.

    For wrapping a ``ValueError`` of ``int()``, ``date.fromisoformat()`` and the like into
    an hxbus error: the rule stays, the value goes (design.md, Audit and personal data).
    """
    return _QUOTED.sub("…", str(error)) or type(error).__name__


def public_text(error: BaseException) -> str:
    """What of ``error`` may go into a log line, a DLQ header or an audit ``reason``.

    hxbus's own errors name the field path and the rule, never the value: their text.
    A broken rule set (``ValidationFailed``) gives only the paths of the broken rules,
    since a rule may quote part of the value it checks (``check character is 7``). Any
    other exception is a bug met by some input, and its text may hold that input: only
    its class name.
    """
    if isinstance(error, ValidationFailed):
        paths = sorted({issue.path or "(event)" for issue in error.issues})
        return f"broken rules at {', '.join(paths)}"
    if isinstance(error, HxError):
        return str(error) or type(error).__name__
    return type(error).__name__
