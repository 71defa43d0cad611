"""Times as hxbus writes them: RFC 3339 in UTC with milliseconds and ``Z``.

One formatter for every place a time becomes text: the ``ce_time`` header, the JSON form,
the dead-letter headers, validation messages, the audit trail, the command line and the
console. Parsing stays with each reader (a header, the JSON form and a province's ICD
accept different inputs), the written form is one.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z``: ``2024-05-01T08:00:00.123Z``."""
    # isoformat, not strftime: the same text (milliseconds truncated), in a third of the
    # time, once per message on the publisher's hot path (docs/benchmarks.md).
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
