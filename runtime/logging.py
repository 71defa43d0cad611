"""structlog set-up, done once by the entry point.

JSON lines when stderr is not a terminal, a console renderer when it is. Identity numbers
and names never reach a log line in clear: ``mask_personal_data`` runs on every event.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

#: Keys of the exchange's records whose values are personal data; their values are masked
#: wherever they appear. A province's local keys for the same (Jiangsu's ``XM``…) are in
#: its ``personal_data_keys`` (the agreement), added by ``configure_logging``.
PERSONAL_KEYS = frozenset(
    {"name", "name_pinyin", "aliases", "id_number", "birth_date", "phone", "officer"}
)
# An 18-character GB 11643 number (or 15-digit legacy one) anywhere inside a string.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?!\d)")


#: Shorter strings cannot hold an identity number (every log line's values are checked,
#: and most are short ids: skipping them keeps masking off the per-message cost).
_SHORTEST_ID_NUMBER = 15


def _hide_digits(match: re.Match[str]) -> str:
    number = match.group(0)
    return number[:6] + "*" * (len(number) - 6)


class PersonalDataMask:
    """structlog processor: mask names and identity numbers in every field of an event
    (by key: ``keys``; identity numbers also inside any text)."""

    def __init__(self, keys: Iterable[str] = PERSONAL_KEYS) -> None:
        self.keys = frozenset(keys)

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        keys, search = self.keys, _ID_NUMBER.search
        for key, value in event_dict.items():
            if key in keys:
                event_dict[key] = "***"
            elif type(value) is str:
                # Most values are short ids: judged here, without a call per field.
                if len(value) >= _SHORTEST_ID_NUMBER and search(value) is not None:
                    event_dict[key] = _ID_NUMBER.sub(_hide_digits, value)
            elif not isinstance(value, int | float | None):
                event_dict[key] = self._mask(value)
        return event_dict

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) < _SHORTEST_ID_NUMBER or _ID_NUMBER.search(value) is None:
                return value
            return _ID_NUMBER.sub(_hide_digits, value)
        if isinstance(value, dict):
            return {k: "***" if k in self.keys else self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value


#: The exchange's keys only (no province's): what runs before an agreement is read.
mask_personal_data = PersonalDataMask()


def value_free_traceback(error: BaseException) -> str:
    """The frames of ``error``'s traceback (files, lines, source) and its class, without
    its message: for logging a bug some input met, whose text may quote that input."""
    frames = traceback.format_tb(error.__traceback__)
    return "".join(frames) + type(error).__name__


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, personal_keys: Iterable[str] = ()
) -> None:
    """Configure structlog once; ``json`` defaults to "stderr is not a terminal";
    ``personal_keys`` (the agreement's ``personal_data_keys``) are masked besides the
    exchange's own."""
    render_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if render_json
        else structlog.dev.ConsoleRenderer()
    )
    global _JSON_CHAIN
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        PersonalDataMask(PERSONAL_KEYS | frozenset(personal_keys)),
        renderer,
    ]
    threshold = logging.getLevelName(level.upper())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_StderrLoggerFactory(),
        # Not cached: a cached logger would keep the stream it first saw.
        cache_logger_on_first_use=False,
    )
    _JSON_CHAIN = (tuple(processors), threshold) if render_json else None


#: The processors ``configure_logging`` installed for JSON output, and the lowest level
#: it lets through; None for console output. ``info_lines`` renders directly only while
#: those are the configured chain's last processors (a test's ``capture_logs`` swaps them
#: in place; ``hxbus bridge run`` puts its worker's processor in front of them).
_JSON_CHAIN: tuple[tuple[Any, ...], int] | None = None


def _json_tail(processors: Sequence[Any]) -> tuple[Any, ...] | None:
    """The processors configured in front of ``configure_logging``'s JSON chain, when the
    configured ``processors`` end with exactly that chain; None otherwise."""
    chain = _JSON_CHAIN
    if chain is None:
        return None
    own = chain[0]
    head = len(processors) - len(own)
    if head < 0 or any(a is not b for a, b in zip(processors[head:], own, strict=True)):
        return None
    return tuple(processors[:head])


def info_lines(
    logger: Any, event: str, rows: Sequence[Mapping[str, Any]], *, level: str = "info"
) -> None:
    """One info line ``event`` per row, as ``logger.info(event, **row)`` writes each
    (``level="warning"``: as ``logger.warning`` does, for a batch's dead letters).

    For a batch's canonical lines (one per message): with ``configure_logging``'s JSON
    output they are stamped with one clock read, given the context variables, masked by
    the same processor, rendered and written in one write (~10 us a line instead of ~20);
    processors configured in front of that chain (a worker's number) run on each line as
    they would. Same fields, same order, same values as one ``logger.info`` call per row.
    Otherwise (console, a test's capture, another configuration) the lines go through
    ``logger`` one by one.
    """
    if not rows:
        return
    chain = _JSON_CHAIN
    front = _json_tail(structlog.get_config()["processors"])
    if chain is None or front is None:
        method = getattr(logger, level)
        for row in rows:
            method(event, **row)
        return
    if logging.getLevelName(level.upper()) < chain[1]:
        return  # below the configured level
    _merge, _level, _stamper, format_exc, mask, renderer = chain[0]
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    context = structlog.contextvars.get_contextvars()
    bound = getattr(logger, "_context", None) or {}
    lines = []
    for row in rows:
        # The order structlog builds an event in: bound context, the call's fields, the
        # event; then each processor in turn (contextvars only where not already set).
        fields: MutableMapping[str, Any] = {**bound, **row}
        fields["event"] = event
        try:
            for processor in front:
                fields = processor(logger, level, fields)
        except structlog.DropEvent:
            continue  # a processor dropped this line, as it would drop the call's
        for key, value in context.items():
            fields.setdefault(key, value)
        fields["level"] = level
        fields["timestamp"] = stamp
        if "exc_info" in fields:
            fields = format_exc(logger, level, fields)
        lines.append(renderer(logger, level, mask(logger, level, fields)))
    with _WRITE_LOCK:
        # One write for the batch: processes sharing one log file (a bridge's workers)
        # never split each other's lines.
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


class _StderrLoggerFactory:
    """Loggers that write to whatever ``sys.stderr`` is when they write.

    ``PrintLoggerFactory(file=sys.stderr)`` binds the stream at configuration time; a test
    (or an embedding program) that swaps ``sys.stderr`` later would then write into a
    closed capture buffer.
    """

    def __call__(self, *args: Any) -> _StderrLogger:
        return _StderrLogger()


#: One line at a time: two threads of one process (a bridge's inbound and outbound sides)
#: must not interleave their lines.
_WRITE_LOCK = threading.Lock()


class _StderrLogger:
    def msg(self, message: str) -> None:
        # The line and its newline in one write: processes sharing one log file (a bridge's
        # workers, ``hxbus bridge run --workers``) then never split each other's lines,
        # as ``print`` (message, then newline: two writes) did.
        with _WRITE_LOCK:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg
